package tikv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tikv.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUnrecognizedKeys(t *testing.T) {
	cfg, err := loadConfig(writeConfig(t, `
memory-usage-limit = "2048MB"
memroy-usage-limit = "1GB"
[storage]
reserve-spce = "2GB"
[storage.block-cache]
capacity = "1024MB"
[server]
anything-server-has = 1
[security]
ca-path = "/ca.pem"
cert-allowed-cn = ["tikv-cvm-member"]
[nonsense]
x = 1
`))
	if err != nil {
		t.Fatal(err)
	}
	want := "memroy-usage-limit, nonsense, storage.reserve-spce"
	if got := strings.Join(cfg.unrecognized, ", "); got != want {
		t.Fatalf("unrecognized: got %q, want %q", got, want)
	}
	if cfg.blockCache != 1024<<20 || cfg.memoryUsageLimit != 2048<<20 || len(cfg.certAllowedCN) != 1 {
		t.Fatalf("values: %+v", cfg)
	}
}

func TestWrongTypeIsFatal(t *testing.T) {
	if _, err := loadConfig(writeConfig(t, "[storage.block-cache]\ncapacity = true\n")); err == nil {
		t.Fatal("a boolean capacity must be refused")
	}
}

// TikvConfig::validate: block cache + write buffers must fit in memory-usage-limit.
func TestMemoryValidation(t *testing.T) {
	cfg, err := loadConfig(writeConfig(t, "memory-usage-limit = \"1GB\"\n[storage.block-cache]\ncapacity = \"900MB\"\n[rocksdb]\nwrite-buffer-limit = \"200MB\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), "is greater than memory-usage-limit") {
		t.Fatalf("want the memory-usage-limit error, got %v", err)
	}
	cfg.writeBufferLimit = 0
	if err := cfg.validate(); err != nil {
		t.Fatalf("900MB of block cache fits in 1GB: %v", err)
	}
}

// server.labels in the file are the store's labels (src/server/config.rs Config.labels); a label
// value that is not a string is refused, as serde refuses it.
func TestServerLabelsFromFile(t *testing.T) {
	cfg, err := loadConfig(writeConfig(t, "[server.labels]\nzone = \"ap-guangzhou-4\"\nhost = \"tikv-host-2\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.labels["zone"] != "ap-guangzhou-4" || cfg.labels["host"] != "tikv-host-2" || len(cfg.labels) != 2 {
		t.Fatalf("labels: %v", cfg.labels)
	}
	if _, err := loadConfig(writeConfig(t, "[server.labels]\nzone = 4\n")); err == nil {
		t.Fatal("a label that is not a string must be refused")
	}
}
