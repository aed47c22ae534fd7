// Package pd is the pd-server stand-in: PD's flags and config file, its HTTP API as far as
// tikv-cvm and pd-ctl use it, its gRPC API as far as a TiKV store uses it to join, mutual TLS
// on both ports, and a replicated cluster state kept in the data dir. See member.go and sim.go
// for what is simulated.
package pd

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/spf13/cobra"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"google.golang.org/grpc"

	"tikv-cvm.test/standins/internal/tlsx"
	"tikv-cvm.test/standins/internal/wire"
)

// Main runs pd-server with args (without the program name) and returns the exit code.
func Main(args []string) int {
	code := 0
	root := &cobra.Command{
		Use:   "pd-server",
		Short: "Placement Driver server (tikv-cvm end-to-end test stand-in)",
		Run: func(cmd *cobra.Command, _ []string) {
			code = start(cmd)
		},
	}
	addFlags(root.Flags())
	root.SetArgs(args)
	root.SetOutput(os.Stdout)
	if err := root.Execute(); err != nil {
		root.Println(err)
		return 1
	}
	return code
}

func start(cmd *cobra.Command) int {
	fs := cmd.Flags()
	cfg, err := parseConfig(fs)
	if err != nil {
		cmd.Println(err)
		return 0 // pd-server's start() returns after printing, exit status 0
	}
	version := wire.Version("v8.5.7")
	if v, _ := fs.GetBool("version"); v {
		fmt.Printf("Release Version: %s\nEdition: Community\nGit Commit Hash: %s\n", version, wire.GitHash)
		return 0
	}
	if check, _ := fs.GetBool("config-check"); check {
		// configutil.PrintConfigCheckMsg
		if len(cfg.warnings) == 0 {
			fmt.Println("config check successful")
		} else {
			fmt.Println(strings.Join(cfg.warnings, "\n"))
		}
		return 0
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds | log.LUTC)
	if cfg.logFile != "" {
		f, err := os.OpenFile(cfg.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			log.Fatalf("[FATAL] initialize logger error: %v", err)
		}
		log.SetOutput(f)
	}
	log.Printf("[INFO] Welcome to Placement Driver (PD): tikv-cvm end-to-end stand-in, release %s", version)
	for _, w := range cfg.warnings {
		log.Printf("[WARN] %s", w)
	}
	if err := run(cfg, version); err != nil {
		log.Printf("[FATAL] %v", err)
		return 1
	}
	return 0
}

func run(cfg *config, version string) error {
	files := tlsx.Files{CA: cfg.Security.CAPath, Cert: cfg.Security.CertPath, Key: cfg.Security.KeyPath}
	tlsOn, err := files.Enabled()
	if err != nil {
		return err
	}
	if tlsOn {
		if err := files.Check(); err != nil {
			return err
		}
	}
	clientURL, err := listenURL(cfg.ClientUrls, "client-urls")
	if err != nil {
		return err
	}
	peerURL, err := listenURL(cfg.PeerUrls, "peer-urls")
	if err != nil {
		return err
	}
	for _, u := range []string{cfg.ClientUrls, cfg.PeerUrls, cfg.AdvertiseClientUrls, cfg.AdvertisePeerUrls} {
		if strings.HasPrefix(u, "https://") != tlsOn {
			return fmt.Errorf("URL %s does not match the TLS configuration (security paths set: %v)", u, tlsOn)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	unlock, err := lockDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()

	var clientTLS *tls.Config
	if tlsOn {
		if clientTLS, err = files.Client(); err != nil {
			return err
		}
	}
	transport := &http.Transport{TLSClientConfig: clientTLS, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}
	joining := false
	if cfg.Join != "" {
		initial, err := prepareJoin(cfg, &http.Client{Transport: transport, Timeout: 5 * time.Second})
		if err != nil {
			return err
		}
		cfg.InitialCluster, joining = initial, initial != ""
	}

	n := &node{
		dir:        cfg.DataDir,
		peerClient: &http.Client{Transport: transport, Timeout: peerTimeout},
		ready:      make(chan struct{}),
		kick:       make(chan struct{}, 1),
	}
	advertisedPeers := strings.Split(cfg.AdvertisePeerUrls, ",")
	n.self = member{
		Name: cfg.Name, MemberID: memberID(cfg.Name, advertisedPeers[0]),
		PeerURLs: advertisedPeers, ClientURLs: strings.Split(cfg.AdvertiseClientUrls, ","),
	}
	state := &clusterState{}
	found, err := load(n.statePath(), state)
	if err != nil {
		return fmt.Errorf("read %s: %w", n.statePath(), err)
	}
	var local localState
	if _, err := load(n.localPath(), &local); err != nil {
		return fmt.Errorf("read %s: %w", n.localPath(), err)
	}
	if !found {
		// An empty data dir: the members come from --initial-cluster, read only now (as etcd does).
		initial, err := initialMembers(cfg.InitialCluster)
		if err != nil {
			return err
		}
		state = &clusterState{MaxReplicas: cfg.Replication.MaxReplicas, LocationLabels: cfg.Replication.LocationLabels, IsolationLevel: cfg.Replication.IsolationLevel, Stores: map[uint64]*storeRecord{}, OtherSchedulers: append([]string{}, defaultSchedulers...)}
		seen := false
		for _, m := range initial {
			state.Members = append(state.Members, member{Name: m[0], MemberID: memberID(m[0], m[1]), PeerURLs: []string{m[1]}})
			if m[0] == cfg.Name {
				seen = true
			}
		}
		if !seen {
			return fmt.Errorf("couldn't find local name %q in the initial cluster configuration", cfg.Name)
		}
		if joining {
			// initial-cluster-state=existing: the state comes from the leader.
			n.joining = true
			log.Printf("[INFO] empty data dir %s: member %s joins a cluster of %d", cfg.DataDir, cfg.Name, len(initial))
		} else {
			log.Printf("[INFO] empty data dir %s: bootstrapping member %s of %d", cfg.DataDir, cfg.Name, len(initial))
		}
	} else {
		log.Printf("[INFO] restarting member %s with cluster %d (revision %d) from %s", cfg.Name, state.ClusterID, state.Revision, cfg.DataDir)
	}
	if state.Stores == nil {
		state.Stores = map[uint64]*storeRecord{}
	}
	for i, m := range state.Members {
		n.order = append(n.order, m.Name)
		if m.Name == cfg.Name {
			state.Members[i].MemberID = n.self.MemberID
		}
	}
	n.state, n.term = state, local.Term
	// Kept at once: from now on this member restarts as itself (see statePath).
	n.mu.Lock()
	n.saveLocked()
	n.mu.Unlock()

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer cancel()

	// Peer port first: members must find each other before anyone serves clients.
	peerSrv := &http.Server{Handler: n.peerHandler(), ReadHeaderTimeout: 5 * time.Second}
	// etcd's PeerTLSInfo.AllowedCNs is the whole list; ClientTLSInfo's only when it has two or more
	// names (tikv/pd server/config/config.go GenEmbedEtcdConfig, "compatibility with #2305").
	peerLn, err := listen(peerURL.Host, tlsOn, files, cfg.Security.CertAllowedCN)
	if err != nil {
		return err
	}
	go func() { _ = peerSrv.Serve(peerLn) }()
	go n.run(ctx)
	go func() {
		t := time.NewTicker(tickInterval)
		defer t.Stop()
		for {
			n.markReady()
			select {
			case <-ctx.Done():
				return
			case <-n.ready:
				return
			case <-t.C:
			}
		}
	}()
	go n.simulate(ctx)

	log.Printf("[INFO] waiting for a quorum of %d member(s) before serving clients on %s", len(state.Members)/2+1, cfg.ClientUrls)
	select {
	case <-ctx.Done():
		return nil
	case <-n.ready:
	}
	scheme := "http"
	if tlsOn {
		scheme = "https"
	}
	a := &api{n: n, version: version, startTime: time.Now(), client: &http.Client{Transport: transport, Timeout: 5 * time.Second}, scheme: scheme}
	grpcSrv := grpc.NewServer()
	pdpb.RegisterPDServer(grpcSrv, &pdService{n: n, version: version})
	httpHandler := a.handler()
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			grpcSrv.ServeHTTP(w, r)
			return
		}
		httpHandler.ServeHTTP(w, r)
	})
	clientSrv := &http.Server{ReadHeaderTimeout: 5 * time.Second}
	var clientLn net.Listener
	if tlsOn {
		clientSrv.Handler = mux
		if err := http2.ConfigureServer(clientSrv, &http2.Server{}); err != nil {
			return err
		}
		var clientCN []string
		if len(cfg.Security.CertAllowedCN) > 1 {
			clientCN = cfg.Security.CertAllowedCN
		}
		clientLn, err = tls.Listen("tcp", clientURL.Host, files.Server(clientCN, "h2", "http/1.1"))
	} else {
		clientSrv.Handler = h2c.NewHandler(mux, &http2.Server{})
		clientLn, err = net.Listen("tcp", clientURL.Host)
	}
	if err != nil {
		return err
	}
	go func() { _ = clientSrv.Serve(clientLn) }()
	log.Printf("[INFO] serving clients on %s (cluster %d)", cfg.ClientUrls, n.status().ClusterID)
	<-ctx.Done()
	log.Printf("[INFO] got signal to exit")
	// A short grace: gRPC streams from stores never go idle, so a longer one only delays the stop.
	shutdown, done := context.WithTimeout(context.Background(), time.Second)
	defer done()
	_ = clientSrv.Shutdown(shutdown)
	_ = peerSrv.Shutdown(shutdown)
	return nil
}

func listen(host string, tlsOn bool, files tlsx.Files, allowedCN []string) (net.Listener, error) {
	if tlsOn {
		return tls.Listen("tcp", host, files.Server(allowedCN, "http/1.1"))
	}
	return net.Listen("tcp", host)
}

// lockDir holds an exclusive lock on the data dir, as etcd's WAL lock does: two members on
// one volume fail instead of corrupting it.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir %s is in use by another process: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
