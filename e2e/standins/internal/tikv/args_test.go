package tikv

import (
	"strings"
	"testing"
)

// The command line tikv-cvm passes (lib/clusterConfig.ts tikvArgs) parses; what clap 2 refuses, the
// stand-in refuses with clap's message.
func TestParseArgs(t *testing.T) {
	m, err := parseArgs([]string{"--addr=0.0.0.0:20160", "--advertise-addr=10.0.1.11:20160", "--status-addr=0.0.0.0:20180",
		"--advertise-status-addr=10.0.1.11:20180", "--data-dir=/data", "--pd=10.0.1.11:2379,10.0.1.12:2379", "--config=/etc/tikv/tikv.toml"})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.values["pd-endpoints"]; len(got) != 2 || got[1] != "10.0.1.12:2379" {
		t.Fatalf("pd endpoints %v", got)
	}
	if v, _ := m.value("data-dir"); v != "/data" {
		t.Fatalf("data dir %q", v)
	}
	short, err := parseArgs([]string{"-C/etc/tikv.toml", "-s", "/data", "--store=/other"})
	if err == nil || !strings.Contains(err.Error(), "provided more than once") {
		t.Fatalf("--store after -s must be refused as a repeat: %v %v", short, err)
	}
	for _, bad := range [][]string{{"--foo"}, {"--addr"}, {"--config-check=yes"}, {"positional"}, {"--log-level", "loud"}} {
		if _, err := parseArgs(bad); err == nil || !strings.HasPrefix(err.Error(), "error: ") {
			t.Errorf("%v: want clap's error, got %v", bad, err)
		}
	}
	if _, err := parseArgs([]string{"--foo"}); !strings.Contains(err.Error(), "Found argument '--foo' which wasn't expected") {
		t.Errorf("unknown flag message: %v", err)
	}
}

func TestReadableSize(t *testing.T) {
	for in, want := range map[any]uint64{"2048MB": 2048 << 20, "1.5GiB": 3 << 29, int64(1024): 1024, "512": 512, " 4 G ": 4 << 30} {
		got, err := readableSize(in)
		if err != nil || got != want {
			t.Errorf("%v: got %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []any{"10XB", "", "MB", 1.5, int64(-1)} {
		if _, err := readableSize(in); err == nil {
			t.Errorf("%v: want an error", in)
		}
	}
}
