package pd

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/pflag"
)

// config mirrors the keys of pd-server's Config (tikv/pd server/config/config.go at v8.5.7). The
// sections tikv-cvm writes ([pd-server], [replication], [security]) are typed key by key, so an
// unknown key there is reported exactly as PD reports it ("Config contains undefined item");
// the other sections PD defines are accepted whole.
type config struct {
	ClientUrls          string `toml:"client-urls"`
	PeerUrls            string `toml:"peer-urls"`
	AdvertiseClientUrls string `toml:"advertise-client-urls"`
	AdvertisePeerUrls   string `toml:"advertise-peer-urls"`
	Name                string `toml:"name"`
	DataDir             string `toml:"data-dir"`
	InitialCluster      string `toml:"initial-cluster"`
	InitialClusterState string `toml:"initial-cluster-state"`
	InitialClusterToken string `toml:"initial-cluster-token"`
	Join                string `toml:"join"`
	LeaderLease         int64  `toml:"lease"`
	LogFileDeprecated   string `toml:"log-file"`
	LogLevelDeprecated  string `toml:"log-level"`

	MaxConcurrentTSOProxyStreamings int               `toml:"max-concurrent-tso-proxy-streamings"`
	TSOProxyRecvFromClientTimeout   string            `toml:"tso-proxy-recv-from-client-timeout"`
	TSOSaveInterval                 string            `toml:"tso-save-interval"`
	TSOUpdatePhysicalInterval       string            `toml:"tso-update-physical-interval"`
	EnableLocalTSO                  bool              `toml:"enable-local-tso"`
	ClusterVersion                  string            `toml:"cluster-version"`
	Labels                          map[string]string `toml:"labels"`
	QuotaBackendBytes               string            `toml:"quota-backend-bytes"`
	AutoCompactionMode              string            `toml:"auto-compaction-mode"`
	AutoCompactionRetention         string            `toml:"auto-compaction-retention"`
	TickInterval                    string            `toml:"tick-interval"`
	ElectionInterval                string            `toml:"election-interval"`
	PreVote                         bool              `toml:"enable-prevote"`
	MaxRequestBytes                 uint              `toml:"max-request-bytes"`

	Log           map[string]any `toml:"log"`
	Metric        map[string]any `toml:"metric"`
	Schedule      map[string]any `toml:"schedule"`
	LabelProperty map[string]any `toml:"label-property"`
	Dashboard     map[string]any `toml:"dashboard"`
	ReplicationMd map[string]any `toml:"replication-mode"`
	Keyspace      map[string]any `toml:"keyspace"`
	MicroService  map[string]any `toml:"micro-service"`
	Controller    map[string]any `toml:"controller"`

	PDServer    pdServerConfig    `toml:"pd-server"`
	Replication replicationConfig `toml:"replication"`
	Security    securityConfig    `toml:"security"`

	// From flags only.
	logFile string

	warnings []string
}

type pdServerConfig struct {
	UseRegionStorage               bool     `toml:"use-region-storage"`
	MaxGapResetTS                  string   `toml:"max-gap-reset-ts"`
	KeyType                        string   `toml:"key-type"`
	RuntimeServices                string   `toml:"runtime-services"`
	MetricStorage                  string   `toml:"metric-storage"`
	DashboardAddress               string   `toml:"dashboard-address"`
	FlowRoundByDigit               int      `toml:"flow-round-by-digit"`
	MinResolvedTSPersistenceInterv string   `toml:"min-resolved-ts-persistence-interval"`
	ServerMemoryLimit              float64  `toml:"server-memory-limit"`
	ServerMemoryLimitGCTrigger     float64  `toml:"server-memory-limit-gc-trigger"`
	EnableGOGCTuner                bool     `toml:"enable-gogc-tuner"`
	GCTunerThreshold               float64  `toml:"gc-tuner-threshold"`
	BlockSafePointV1               bool     `toml:"block-safe-point-v1"`
}

type replicationConfig struct {
	MaxReplicas               uint64   `toml:"max-replicas"`
	LocationLabels            []string `toml:"location-labels"`
	StrictlyMatchLabel        bool     `toml:"strictly-match-label"`
	EnablePlacementRules      bool     `toml:"enable-placement-rules"`
	EnablePlacementRulesCache bool     `toml:"enable-placement-rules-cache"`
	IsolationLevel            string   `toml:"isolation-level"`
}

type securityConfig struct {
	CAPath        string         `toml:"cacert-path"`
	CertPath      string         `toml:"cert-path"`
	KeyPath       string         `toml:"key-path"`
	CertAllowedCN []string       `toml:"cert-allowed-cn"`
	RedactInfoLog any            `toml:"redact-info-log"`
	Encryption    map[string]any `toml:"encryption"`
}

// addFlags is pd-server's flag set (cmd/pd-server/main.go addFlags at v8.5.7).
func addFlags(fs *pflag.FlagSet) {
	fs.BoolP("version", "V", false, "print version information and exit")
	fs.StringP("config", "", "", "config file")
	fs.BoolP("config-check", "", false, "check config file validity and exit")
	fs.StringP("name", "", "", "human-readable name for this pd member")
	fs.StringP("data-dir", "", "", "path to the data directory (default 'default.${name}')")
	fs.StringP("client-urls", "", "", "urls for client traffic")
	fs.StringP("advertise-client-urls", "", "", "advertise urls for client traffic (default '${client-urls}')")
	fs.StringP("peer-urls", "", "", "urls for peer traffic")
	fs.StringP("advertise-peer-urls", "", "", "advertise urls for peer traffic (default '${peer-urls}')")
	fs.StringP("initial-cluster", "", "", "initial cluster configuration for bootstrapping, e,g. pd=http://127.0.0.1:2380")
	fs.StringP("join", "", "", "join to an existing cluster (usage: cluster's '${advertise-client-urls}'")
	fs.StringP("metrics-addr", "", "", "prometheus pushgateway address, leaves it empty will disable prometheus push")
	fs.StringP("log-level", "L", "", "log level: debug, info, warn, error, fatal (default 'info')")
	fs.StringP("log-file", "", "", "log file path")
	fs.StringP("cacert", "", "", "path of file that contains list of trusted TLS CAs")
	fs.StringP("cert", "", "", "path of file that contains X509 certificate in PEM format")
	fs.StringP("key", "", "", "path of file that contains X509 key in PEM format")
	fs.BoolP("force-new-cluster", "", false, "force to create a new one-member cluster")
}

// parseConfig follows Config.Parse and Adjust: the file first, then flags that were set win.
func parseConfig(fs *pflag.FlagSet) (*config, error) {
	c := &config{}
	if path, _ := fs.GetString("config"); path != "" {
		meta, err := toml.DecodeFile(path, c)
		if err != nil {
			return nil, err
		}
		if undecoded := meta.Undecoded(); len(undecoded) > 0 {
			parts := make([]string, 0, len(undecoded))
			for _, k := range undecoded {
				parts = append(parts, k.String())
			}
			c.warnings = append(c.warnings, "Config contains undefined item: "+strings.Join(parts, ", "))
		}
	}
	override := func(dst *string, flag string) {
		if fs.Changed(flag) {
			*dst, _ = fs.GetString(flag)
		}
	}
	override(&c.Name, "name")
	override(&c.DataDir, "data-dir")
	override(&c.ClientUrls, "client-urls")
	override(&c.AdvertiseClientUrls, "advertise-client-urls")
	override(&c.PeerUrls, "peer-urls")
	override(&c.AdvertisePeerUrls, "advertise-peer-urls")
	override(&c.InitialCluster, "initial-cluster")
	override(&c.Join, "join")
	override(&c.Security.CAPath, "cacert")
	override(&c.Security.CertPath, "cert")
	override(&c.Security.KeyPath, "key")
	c.logFile = c.LogFileDeprecated
	override(&c.logFile, "log-file")

	if c.Name == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, err
		}
		c.Name = "pd-" + host
	}
	if c.DataDir == "" {
		c.DataDir = "default." + c.Name
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.ClientUrls == "" {
		c.ClientUrls = "http://127.0.0.1:2379"
	}
	if c.AdvertiseClientUrls == "" {
		c.AdvertiseClientUrls = c.ClientUrls
	}
	if c.PeerUrls == "" {
		c.PeerUrls = "http://127.0.0.1:2380"
	}
	if c.AdvertisePeerUrls == "" {
		c.AdvertisePeerUrls = c.PeerUrls
	}
	if c.InitialCluster == "" && c.Join == "" {
		c.InitialCluster = c.Name + "=" + strings.Split(c.AdvertisePeerUrls, ",")[0]
	}
	if c.Replication.MaxReplicas == 0 {
		c.Replication.MaxReplicas = 3
	}
	return c, nil
}

// validate is Config.Validate: the two start-up refusals tikv-cvm's flags must avoid.
func (c *config) validate() error {
	if c.Join != "" && c.InitialCluster != "" {
		return errors.New("-initial-cluster and -join can not be provided at the same time")
	}
	dataDir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return err
	}
	logFile, err := filepath.Abs(c.logFile)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(dataDir, filepath.Dir(logFile))
	if err != nil {
		return err
	}
	if !strings.HasPrefix(rel, "..") {
		return errors.New("log directory shouldn't be the subdirectory of data directory")
	}
	return nil
}

// listenURL is the one URL of a comma-separated list PD would listen on; the stand-in takes one.
func listenURL(list, what string) (*url.URL, error) {
	first := strings.Split(list, ",")[0]
	u, err := url.Parse(first)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%s: %q is not an http(s) URL", what, first)
	}
	return u, nil
}

// initialMembers parses --initial-cluster: name=peerURL,...
func initialMembers(spec string) ([][2]string, error) {
	var out [][2]string
	for _, part := range strings.Split(spec, ",") {
		name, peer, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" || peer == "" {
			return nil, fmt.Errorf("--initial-cluster: %q is not name=url", part)
		}
		out = append(out, [2]string{name, peer})
	}
	return out, nil
}
