package tikv

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// TiKV's configuration file as serde reads it into TikvConfig (src/config/mod.rs at v8.5.7,
// kebab-case keys): a wrong type is fatal ("invalid auto generated configuration file"); an
// unknown key is ignored, and reported only by `tikv-server --config-check`
// (server::setup::ensure_no_unrecognized_config). The stand-in reports unknown keys in its log
// in both cases, so the end-to-end test can refuse them.
//
// Sections tikv-cvm writes are checked key by key ([storage], [storage.block-cache],
// [security]); the others TiKV defines are accepted whole, with the few keys read here typed.
var topLevelScalars = []string{
	"cfg-path", "log-level", "log-file", "log-format", "log-rotation-timespan", "log-rotation-size",
	"slow-log-file", "slow-log-threshold", "panic-when-unexpected-key-or-data", "enable-io-snoop",
	"abort-on-panic", "memory-usage-limit", "memory-usage-high-water",
}

var topLevelSections = []string{
	"log", "memory", "quota", "readpool", "server", "storage", "pd", "metric", "raftstore", "coprocessor",
	"coprocessor-v2", "rocksdb", "raftdb", "raft-engine", "security", "import", "backup", "log-backup",
	"pessimistic-txn", "gc", "split", "cdc", "resolved-ts", "resource-metering", "causal-ts",
	"resource-control", "in-memory-engine",
}

// Fully known sections: src/storage/config.rs Config and BlockCacheConfig, components/security
// SecurityConfig. Values are sub-tables.
var knownKeys = map[string][]string{
	"storage": {"data-dir", "engine", "gc-ratio-threshold", "max-key-size", "scheduler-concurrency",
		"scheduler-worker-pool-size", "scheduler-pending-write-threshold", "reserve-space", "reserve-raft-space",
		"enable-async-apply-prewrite", "api-version", "enable-ttl", "background-error-recovery-window",
		"ttl-check-poll-interval", "txn-status-cache-capacity", "memory-quota", "flow-control", "block-cache",
		"io-rate-limit", "max-ts"},
	"storage.block-cache": {"shared", "capacity", "num-shard-bits", "strict-capacity-limit", "high-pri-pool-ratio",
		"low-pri-pool-ratio", "memory-allocator"},
	"security": {"ca-path", "cert-path", "key-path", "cert-allowed-cn", "redact-info-log", "encryption"},
}

// tikvConfig is what the stand-in reads of the file, after command-line overrides.
type tikvConfig struct {
	raw          map[string]any
	unrecognized []string

	memoryUsageLimit uint64 // 0: unset
	blockCache       uint64 // 0: unset
	writeBufferLimit uint64
	raftEngineMemory uint64
	reserveSpace     uint64
	rocksdbMaxFiles  int64
	raftdbMaxFiles   int64
	titanEnabled     bool

	addr, advertiseAddr, statusAddr, advertiseStatusAddr string
	dataDir                                              string
	pdEndpoints                                          []string
	labels                                               map[string]string
	capacity                                             uint64
	logFile                                              string
	caPath, certPath, keyPath                            string
	certAllowedCN                                        []string
}

func loadConfig(path string) (*tikvConfig, error) {
	c := &tikvConfig{raw: map[string]any{}, rocksdbMaxFiles: 40960, raftdbMaxFiles: 40960,
		addr: "127.0.0.1:20160", statusAddr: "127.0.0.1:20180", dataDir: "./", pdEndpoints: []string{"127.0.0.1:2379"}}
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := toml.Decode(string(data), &c.raw); err != nil {
		return nil, err
	}
	c.unrecognized = unrecognized(c.raw)
	sec := func(path ...string) map[string]any {
		m := c.raw
		for _, p := range path {
			next, _ := m[p].(map[string]any)
			if next == nil {
				return map[string]any{}
			}
			m = next
		}
		return m
	}
	var errs []string
	size := func(m map[string]any, key, name string) uint64 {
		v, ok := m[key]
		if !ok {
			return 0
		}
		n, err := readableSize(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", name, err))
		}
		return n
	}
	str := func(m map[string]any, key, name string) string {
		v, ok := m[key]
		if !ok {
			return ""
		}
		s, isString := v.(string)
		if !isString {
			errs = append(errs, fmt.Sprintf("%s: invalid type: %T, expected a string", name, v))
		}
		return s
	}
	integer := func(m map[string]any, key, name string, fallback int64) int64 {
		v, ok := m[key]
		if !ok {
			return fallback
		}
		n, isInt := v.(int64)
		if !isInt {
			errs = append(errs, fmt.Sprintf("%s: invalid type: %T, expected i32", name, v))
		}
		return n
	}
	c.memoryUsageLimit = size(c.raw, "memory-usage-limit", "memory-usage-limit")
	c.blockCache = size(sec("storage", "block-cache"), "capacity", "storage.block-cache.capacity")
	c.reserveSpace = size(sec("storage"), "reserve-space", "storage.reserve-space")
	c.writeBufferLimit = size(sec("rocksdb"), "write-buffer-limit", "rocksdb.write-buffer-limit")
	c.raftEngineMemory = size(sec("raft-engine"), "memory-limit", "raft-engine.memory-limit")
	c.rocksdbMaxFiles = integer(sec("rocksdb"), "max-open-files", "rocksdb.max-open-files", 40960)
	c.raftdbMaxFiles = integer(sec("raftdb"), "max-open-files", "raftdb.max-open-files", 40960)
	if t, ok := sec("rocksdb", "titan")["enabled"].(bool); ok {
		c.titanEnabled = t
	}
	if v := str(sec("storage"), "data-dir", "storage.data-dir"); v != "" {
		c.dataDir = v
	}
	for key, dst := range map[string]*string{"addr": &c.addr, "advertise-addr": &c.advertiseAddr, "status-addr": &c.statusAddr, "advertise-status-addr": &c.advertiseStatusAddr} {
		if v := str(sec("server"), key, "server."+key); v != "" {
			*dst = v
		}
	}
	// server.labels: a table of strings (src/server/config.rs Config.labels, HashMap<String, String>);
	// --labels on the command line replaces it (applyArgs).
	if v, ok := sec("server")["labels"]; ok {
		table, isTable := v.(map[string]any)
		if !isTable {
			errs = append(errs, fmt.Sprintf("server.labels: invalid type: %T, expected a map", v))
		}
		c.labels = map[string]string{}
		for k := range table {
			c.labels[k] = str(table, k, "server.labels."+k)
		}
	}
	c.caPath = str(sec("security"), "ca-path", "security.ca-path")
	c.certPath = str(sec("security"), "cert-path", "security.cert-path")
	c.keyPath = str(sec("security"), "key-path", "security.key-path")
	if v, ok := sec("security")["cert-allowed-cn"]; ok {
		list, isList := v.([]any)
		if !isList {
			errs = append(errs, fmt.Sprintf("security.cert-allowed-cn: invalid type: %T, expected a sequence", v))
		}
		for _, e := range list {
			cn, isString := e.(string)
			if !isString {
				errs = append(errs, fmt.Sprintf("security.cert-allowed-cn: invalid type: %T, expected a string", e))
			}
			c.certAllowedCN = append(c.certAllowedCN, cn)
		}
	}
	if eps, ok := sec("pd")["endpoints"].([]any); ok {
		c.pdEndpoints = nil
		for _, e := range eps {
			if s, ok := e.(string); ok {
				c.pdEndpoints = append(c.pdEndpoints, s)
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return c, nil
}

// unrecognized lists the keys TikvConfig would not read, as dotted paths.
func unrecognized(raw map[string]any) []string {
	var out []string
	for key, value := range raw {
		switch {
		case contains(topLevelScalars, key):
		case contains(topLevelSections, key):
			if _, isTable := value.(map[string]any); !isTable {
				out = append(out, key)
			}
		default:
			out = append(out, key)
		}
	}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		allowed, checked := knownKeys[prefix]
		if !checked {
			return
		}
		for key, value := range m {
			if !contains(allowed, key) {
				out = append(out, prefix+"."+key)
				continue
			}
			if sub, isTable := value.(map[string]any); isTable {
				walk(prefix+"."+key, sub)
			}
		}
	}
	for _, section := range []string{"storage", "security"} {
		if m, ok := raw[section].(map[string]any); ok {
			walk(section, m)
		}
	}
	sort.Strings(out)
	return out
}

// readableSize parses TiKV's ReadableSize (components/tikv_util/src/config.rs, FromStr): an
// integer is bytes; a string is a number and one of B, K/KB/KiB, M/MB/MiB, ... (binary units).
func readableSize(v any) (uint64, error) {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return 0, fmt.Errorf("invalid size %d", x)
		}
		return uint64(x), nil
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return 0, fmt.Errorf("%q is not a valid size.", x)
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || strings.IndexByte(".eE-+", s[i]) >= 0) {
			i++
		}
		num, unit := s[:i], strings.TrimSpace(s[i:])
		mult := map[string]float64{"K": 1 << 10, "KB": 1 << 10, "KiB": 1 << 10, "M": 1 << 20, "MB": 1 << 20, "MiB": 1 << 20,
			"G": 1 << 30, "GB": 1 << 30, "GiB": 1 << 30, "T": 1 << 40, "TB": 1 << 40, "TiB": 1 << 40,
			"P": 1 << 50, "PB": 1 << 50, "PiB": 1 << 50, "B": 1, "": 1}
		m, ok := mult[unit]
		if !ok {
			return 0, fmt.Errorf("only B, KB, KiB, MB, MiB, GB, GiB, TB, TiB, PB, and PiB are supported: %q", x)
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid size string: %q", x)
		}
		return uint64(f * m), nil
	default:
		return 0, fmt.Errorf("invalid type: %T, expected a size string", v)
	}
}

// applyArgs is server::setup::overwrite_config_with_cmd_args.
func (c *tikvConfig) applyArgs(m matches) error {
	set := func(name string, dst *string) {
		if v, ok := m.value(name); ok {
			*dst = v
		}
	}
	set("log-file", &c.logFile)
	set("addr", &c.addr)
	set("advertise-addr", &c.advertiseAddr)
	set("status-addr", &c.statusAddr)
	set("advertise-status-addr", &c.advertiseStatusAddr)
	set("data-dir", &c.dataDir)
	if eps, ok := m.values["pd-endpoints"]; ok {
		c.pdEndpoints = eps
	}
	if labels, ok := m.values["labels"]; ok {
		c.labels = map[string]string{}
		for _, l := range labels {
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				return fmt.Errorf("invalid label: %q", l)
			}
			c.labels[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if v, ok := m.value("capacity"); ok {
		n, err := readableSize(v)
		if err != nil {
			return fmt.Errorf("invalid capacity: %v", err)
		}
		c.capacity = n
	}
	return nil
}
