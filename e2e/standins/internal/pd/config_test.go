package pd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func parse(t *testing.T, toml string, args ...string) (*config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("pd-server", pflag.ContinueOnError)
	addFlags(fs)
	if toml != "" {
		path := filepath.Join(t.TempDir(), "pd.toml")
		if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config="+path)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return parseConfig(fs)
}

func TestUndefinedItemsWarnAsPD(t *testing.T) {
	cfg, err := parse(t, "[pd-server]\ndashbord-address = \"none\"\n[replication]\nmax-replicas = 3\n[schedule]\nanything = 1\n", "--name=pd1", "--data-dir=/data")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.warnings, "|"); got != "Config contains undefined item: pd-server.dashbord-address" {
		t.Fatalf("warnings: %q", got)
	}
}

func TestStartupRefusals(t *testing.T) {
	if _, err := parse(t, "", "--name=pd1", "--data-dir=/data", "--log-file=/data/log/pd.log"); err == nil || !strings.Contains(err.Error(), "log directory shouldn't be the subdirectory of data directory") {
		t.Errorf("log file in the data dir: %v", err)
	}
	if _, err := parse(t, "", "--name=pd1", "--initial-cluster=pd1=http://a:2380", "--join=http://b:2379"); err == nil {
		t.Error("--join with --initial-cluster must be refused")
	}
	if _, err := parse(t, "", "--nmae=pd1"); err == nil || !strings.Contains(err.Error(), "unknown flag: --nmae") {
		t.Errorf("unknown flag: %v", err)
	}
	if _, err := parse(t, "[security]\ncert-allowed-cn = \"one\"\n"); err == nil {
		t.Error("a string where PD wants a list must be refused")
	}
}
