// Package tikv is the tikv-server stand-in: tikv-server's command line and config file, the
// start-up checks tikv-cvm's settings must pass, registration as a store with PD over PD's gRPC
// API (as TiKV's node bootstrap does: GetMembers, AllocID, IsBootstrapped, Bootstrap, PutStore,
// then StoreHeartbeat), and the status server (/status, /metrics) with mutual TLS. It stores no
// data: its data dir holds the store's identity, so a store keeps its ID across restarts and
// refuses another cluster, as TiKV does.
package tikv

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/keepalive"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"tikv-cvm.test/standins/internal/tlsx"
	"tikv-cvm.test/standins/internal/wire"
)

// reservedOpenFDs is components/server/src/common.rs RESERVED_OPEN_FDS; with rocksdb's and
// raftdb's max-open-files (40960 each by default) TiKV needs 82920 descriptors.
const reservedOpenFDs = 1000

// storeHeartbeatInterval is raftstore.pd-store-heartbeat-tick-interval's default.
const storeHeartbeatInterval = 10 * time.Second

// Main runs tikv-server with args (without the program name) and returns the exit code.
func Main(args []string) int {
	m, err := parseArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	version := wire.Version("v8.5.7")
	if m.flags["version"] {
		fmt.Printf("TiKV\nRelease Version:   %s\nGit Commit Hash:   %s\n", strings.TrimPrefix(version, "v"), wire.GitHash)
		return 0
	}
	if m.flags["help"] {
		fmt.Println("TiKV (tikv-cvm end-to-end test stand-in)\n\nUSAGE:\n    tikv-server [FLAGS] [OPTIONS]")
		return 0
	}
	path, _ := m.value("config")
	cfg, err := loadConfig(path)
	if err != nil {
		// main.rs panics with this message.
		fmt.Fprintf(os.Stderr, "invalid auto generated configuration file %s, err %v\n", path, err)
		return 101
	}
	if err := cfg.applyArgs(m); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if m.flags["config-check"] {
		if err := cfg.validate(); err != nil {
			fmt.Fprintf(os.Stderr, "invalid configuration: %v\n", err)
			return 1
		}
		if len(cfg.unrecognized) > 0 {
			fmt.Fprintf(os.Stderr, "unknown configuration options: %s\n", strings.Join(cfg.unrecognized, ", "))
			return 1
		}
		fmt.Println("config check successful")
		return 0
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds | log.LUTC)
	if cfg.logFile != "" {
		f, err := os.OpenFile(cfg.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "failed to open log file %s: %v\n", cfg.logFile, err)
			return 1
		}
		log.SetOutput(f)
	}
	log.Printf("[INFO] Welcome to TiKV: tikv-cvm end-to-end stand-in, release %s", version)
	if len(cfg.unrecognized) > 0 {
		log.Printf("[WARN] unknown configuration options: %s (tikv-server ignores them; --config-check refuses them)", strings.Join(cfg.unrecognized, ", "))
	}
	if err := run(cfg, version); err != nil {
		log.Printf("[FATAL] %v", err)
		return 1
	}
	return 0
}

// validate is the part of TikvConfig::validate that tikv-cvm's memory figures must pass.
func (c *tikvConfig) validate() error {
	total := memoryLimit()
	if c.memoryUsageLimit != 0 && c.memoryUsageLimit > total {
		return fmt.Errorf("memory_usage_limit is greater than system memory capacity (%d)", total)
	}
	limit := c.memoryUsageLimit
	block := c.blockCache
	if block == 0 {
		block = uint64(float64(total) * 0.45) // BLOCK_CACHE_RATE
	}
	if limit == 0 {
		limit = min(uint64(float64(block)/0.45*0.75), total) // MEMORY_USAGE_LIMIT_RATE
	}
	if block+c.writeBufferLimit > limit {
		return fmt.Errorf("The sum of `storage.block-cache.capacity` and `rocksdb.write-buffer-limit` is greater than memory-usage-limit: %d + %d > %d",
			block, c.writeBufferLimit, limit)
	}
	if c.dataDir == "" {
		return errors.New("storage.data-dir can't be empty")
	}
	if _, err := (tlsx.Files{CA: c.caPath, Cert: c.certPath, Key: c.keyPath}).Enabled(); err != nil {
		return fmt.Errorf("security: %v", err)
	}
	return nil
}

// memoryLimit is SysQuota::memory_limit_in_bytes: the cgroup's limit, else physical memory.
func memoryLimit() uint64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if data, err := os.ReadFile(p); err == nil {
			if n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64); err == nil && n < 1<<60 {
				return n
			}
		}
	}
	var info syscall.Sysinfo_t
	if err := syscall.Sysinfo(&info); err == nil {
		return info.Totalram * uint64(info.Unit)
	}
	return 1 << 62
}

// checkOpenFiles is tikv_util::config::check_max_open_fds: raise the limit, and when that is
// impossible real TiKV exits. The stand-in says so loudly and goes on, so a test host whose
// limit is capped can still run it (see the program's tikv-cvm:nofileLimit).
func (c *tikvConfig) checkOpenFiles() {
	rocks := c.rocksdbMaxFiles
	if c.titanEnabled {
		rocks *= 2
	}
	expect := uint64(reservedOpenFDs + rocks + c.raftdbMaxFiles)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Printf("[ERROR] check_max_open_fds failed: %v", err)
		return
	}
	if lim.Cur >= expect {
		return
	}
	prev := lim.Cur
	want := lim
	want.Cur = expect
	if want.Max < expect {
		want.Max = expect
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
		return
	}
	log.Printf("[FATAL in real TiKV, stand-in continues] the maximum number of open file descriptors is too small, got %d, expect greater or equal to %d", prev, expect)
}

type storeIdent struct {
	ClusterID uint64 `json:"cluster_id"`
	StoreID   uint64 `json:"store_id"`
}

func run(cfg *tikvConfig, version string) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("invalid configuration: %v", err)
	}
	cfg.checkOpenFiles()
	files := tlsx.Files{CA: cfg.caPath, Cert: cfg.certPath, Key: cfg.keyPath}
	tlsOn, _ := files.Enabled()
	if tlsOn {
		if err := files.Check(); err != nil {
			return err
		}
	}
	dataDir, err := filepath.Abs(cfg.dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	// TiKV refuses to start over a panic mark (components/server/src/server.rs).
	if _, err := os.Stat(filepath.Join(dataDir, "panic_mark_file")); err == nil {
		return fmt.Errorf("panic_mark_file %s exists, there must be something wrong with the db; do not remove it and force the TiKV node to restart", filepath.Join(dataDir, "panic_mark_file"))
	}
	unlock, err := lockDir(dataDir)
	if err != nil {
		return err
	}
	defer unlock()
	if err := checkLastConfig(dataDir); err != nil {
		return err
	}
	if cfg.reserveSpace > 0 {
		log.Printf("[INFO] real TiKV would reserve %d bytes in %s (storage.reserve-space); the stand-in does not", cfg.reserveSpace, filepath.Join(dataDir, "space_placeholder_file"))
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer cancel()

	// Port 20160: TiKV's gRPC server; nothing calls it in the test, but it is held as TiKV holds it.
	var creds credentials.TransportCredentials = insecure.NewCredentials()
	if tlsOn {
		creds = credentials.NewTLS(files.Server(cfg.certAllowedCN, "h2"))
	}
	grpcLn, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	client, err := newPDClient(cfg.pdEndpoints, files, tlsOn)
	if err != nil {
		return err
	}
	st := &store{cfg: cfg, version: version, dataDir: dataDir, pd: client, start: time.Now()}
	if st.raw, err = openRawData(dataDir); err != nil {
		return err
	}
	var peerTLS *tls.Config
	if tlsOn {
		if peerTLS, err = files.Client(); err != nil {
			return err
		}
		if st.memberCN, err = commonName(cfg.certPath); err != nil {
			return err
		}
	}
	st.peerHTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: peerTLS}, Timeout: 5 * time.Second}

	// TiKV's gRPC port: RawKV for clients (rawkv.go) and the standard health service client-go
	// asks about a store it cannot reach (tikv/tikv components/server/src/server.rs registers it).
	// Client-go pings every 10 s on idle connections (config TiKVClient.GrpcKeepAliveTime); TiKV's
	// grpcio server accepts that, where grpc-go's default policy answers "too_many_pings".
	grpcSrv := grpc.NewServer(grpc.Creds(creds), grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}))
	tikvpb.RegisterTikvServer(grpcSrv, &rawService{s: st})
	healthSrv := health.NewServer()
	healthpb.RegisterHealthServer(grpcSrv, healthSrv)
	go func() { _ = grpcSrv.Serve(grpcLn) }()
	defer grpcSrv.Stop()

	if err := st.join(ctx); err != nil {
		return err
	}
	go st.keepCaughtUp(ctx)

	statusSrv := &http.Server{Handler: st.statusHandler(), ReadHeaderTimeout: 5 * time.Second}
	var statusLn net.Listener
	if tlsOn {
		statusLn, err = tls.Listen("tcp", cfg.statusAddr, files.Server(cfg.certAllowedCN, "http/1.1"))
	} else {
		statusLn, err = net.Listen("tcp", cfg.statusAddr)
	}
	if err != nil {
		return err
	}
	go func() { _ = statusSrv.Serve(statusLn) }()
	log.Printf("[INFO] TiKV is ready to serve: store %d, status on %s", st.ident.StoreID, cfg.statusAddr)
	st.heartbeat(ctx)
	log.Printf("[INFO] got signal to exit")
	// A short grace: gRPC streams from stores never go idle, so a longer one only delays the stop.
	shutdown, done := context.WithTimeout(context.Background(), time.Second)
	defer done()
	_ = statusSrv.Shutdown(shutdown)
	return nil
}

// checkLastConfig: TiKV keeps the last config in last_tikv.toml and refuses a changed data dir.
func checkLastConfig(dataDir string) error {
	path := filepath.Join(dataDir, "last_tikv.toml")
	want := fmt.Sprintf("[storage]\ndata-dir = %q\n", dataDir)
	if data, err := os.ReadFile(path); err == nil && string(data) != want {
		return fmt.Errorf("critical config check failed: storage.data-dir changed (%s has %q)", path, strings.TrimSpace(string(data)))
	}
	return os.WriteFile(path, []byte(want), 0o644)
}

func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: another TiKV uses this data dir: %w", dir, err)
	}
	return func() { f.Close() }, nil
}

type store struct {
	cfg     *tikvConfig
	version string
	dataDir string
	pd      *pdClient
	start   time.Time
	ident   storeIdent
	beats   int
	// RawKV (rawdata.go, rawkv.go, replicate.go).
	raw      *rawData
	caughtUp atomic.Bool
	peerHTTP *http.Client
	memberCN string
}

func (s *store) identPath() string { return filepath.Join(s.dataDir, "standin-tikv", "store.json") }

func (s *store) saveIdent() error {
	data, _ := json.Marshal(s.ident)
	if err := os.MkdirAll(filepath.Dir(s.identPath()), 0o700); err != nil {
		return err
	}
	return os.WriteFile(s.identPath(), data, 0o600)
}

func (s *store) meta() *metapb.Store {
	advertise := s.cfg.advertiseAddr
	if advertise == "" {
		advertise = s.cfg.addr
	}
	status := s.cfg.advertiseStatusAddr
	if status == "" {
		status = s.cfg.statusAddr
	}
	var labels []*metapb.StoreLabel
	for k, v := range s.cfg.labels {
		labels = append(labels, &metapb.StoreLabel{Key: k, Value: v})
	}
	return &metapb.Store{
		Id: s.ident.StoreID, Address: advertise, StatusAddress: status, Labels: labels,
		Version: strings.TrimPrefix(s.version, "v"), GitHash: wire.GitHash,
		StartTimestamp: s.start.Unix(), DeployPath: "/",
	}
}

// join is node.rs's start: check the cluster ID, get a store ID, bootstrap the cluster if no
// store has, then put the store. Retries while PD is unreachable, as TiKV does.
func (s *store) join(ctx context.Context) error {
	if data, err := os.ReadFile(s.identPath()); err == nil {
		if err := json.Unmarshal(data, &s.ident); err != nil {
			return fmt.Errorf("read %s: %w", s.identPath(), err)
		}
	}
	for {
		err := s.tryJoin(ctx)
		if err == nil {
			return nil
		}
		var fatal fatalError
		if errors.As(err, &fatal) {
			return err
		}
		log.Printf("[WARN] joining PD: %v; retrying", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

type fatalError struct{ error }

func (s *store) tryJoin(ctx context.Context) error {
	clusterID, err := s.pd.connect(ctx)
	if err != nil {
		return err
	}
	if s.ident.ClusterID != 0 && s.ident.ClusterID != clusterID {
		return fatalError{fmt.Errorf("cluster ID mismatch, local %d != remote %d, you are trying to connect to another cluster, please reconnect to the correct PD", s.ident.ClusterID, clusterID)}
	}
	if s.ident.StoreID == 0 {
		id, err := s.pd.allocID(ctx)
		if err != nil {
			return err
		}
		s.ident = storeIdent{ClusterID: clusterID, StoreID: id}
		if err := s.saveIdent(); err != nil {
			return fatalError{err}
		}
		log.Printf("[INFO] bootstrap store: cluster %d, store %d", clusterID, id)
	}
	bootstrapped, err := s.pd.isBootstrapped(ctx)
	if err != nil {
		return err
	}
	if !bootstrapped {
		regionID, err := s.pd.allocID(ctx)
		if err != nil {
			return err
		}
		peerID, err := s.pd.allocID(ctx)
		if err != nil {
			return err
		}
		region := &metapb.Region{Id: regionID, RegionEpoch: &metapb.RegionEpoch{ConfVer: 1, Version: 1},
			Peers: []*metapb.Peer{{Id: peerID, StoreId: s.ident.StoreID}}}
		if err := s.pd.bootstrap(ctx, s.meta(), region); err != nil {
			return err
		}
		log.Printf("[INFO] bootstrap cluster %d with store %d, region %d", clusterID, s.ident.StoreID, regionID)
	}
	if err := s.pd.putStore(ctx, s.meta()); err != nil {
		return err
	}
	log.Printf("[INFO] put store %d (%s) to PD", s.ident.StoreID, s.meta().Address)
	return nil
}

func (s *store) heartbeat(ctx context.Context) {
	for {
		stats := &pdpb.StoreStats{StoreId: s.ident.StoreID, StartTime: uint32(s.start.Unix()), IsBusy: false}
		var fs syscall.Statfs_t
		if err := syscall.Statfs(s.dataDir, &fs); err == nil {
			stats.Capacity = fs.Blocks * uint64(fs.Bsize)
			stats.Available = fs.Bavail * uint64(fs.Bsize)
		}
		if s.cfg.capacity > 0 {
			stats.Capacity = s.cfg.capacity
		}
		stats.UsedSize = 1 << 20
		if err := s.pd.storeHeartbeat(ctx, stats); err != nil {
			log.Printf("[WARN] store heartbeat: %v", err)
		} else {
			s.beats++
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(storeHeartbeatInterval):
		}
	}
}

func (s *store) statusHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(http.ResponseWriter, *http.Request) {})
	s.rawHandlers(mux)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE tikv_store_size_bytes gauge\ntikv_store_size_bytes{type=\"capacity\"} %d\n", s.cfg.capacity)
		fmt.Fprintf(w, "# TYPE tikv_pd_heartbeat_message_total counter\ntikv_pd_heartbeat_message_total{type=\"store\"} %d\n", s.beats)
		fmt.Fprintf(w, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %d\n", s.start.Unix())
	})
	return mux
}
