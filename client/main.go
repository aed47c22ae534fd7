// Command tikv-cvm-client is a TiKV client for a tikv-cvm cluster, built on the real client
// (github.com/tikv/client-go/v2): a smoke check that writes, reads, scans and deletes keys, and
// a YCSB-style workload that prints throughput and latency percentiles. It reads the PD
// endpoints and its certificate the way the stack's clientCommands hand them over (client/README.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pingcap/log"
	"github.com/tikv/client-go/v2/config"
	"github.com/tikv/client-go/v2/rawkv"
	"go.uber.org/zap/zapcore"
)

const usage = `usage: tikv-cvm-client [--pd host:2389,...] [--tls-dir DIR] COMMAND [flags]

commands:
  smoke   write, read, scan and delete keys; exit 1 on any mismatch
  write   write a tagged key set (write --tag T --keys N)
  check   read a tagged key set back, by get and by scan
  bench   a YCSB-style RawKV workload: throughput and latency percentiles
  probe   dial stores directly (STORE_ADDR...): does each admit this certificate?
  pd-probe  what this certificate opens of PD: the gateways answer a TiKV client's calls only,
          PD itself nothing (pd-probe [--pd-port 2379])

The PD endpoints come from --pd or TIKV_CVM_PD; the client's ca.pem, cert.pem and key.pem from
--tls-dir or TIKV_CVM_TLS_DIR (none: plain connections, for a cluster without clusterTls).
`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	global := flag.NewFlagSet("tikv-cvm-client", flag.ContinueOnError)
	pd := global.String("pd", os.Getenv("TIKV_CVM_PD"), "PD endpoints, comma-separated host:port")
	tlsDir := global.String("tls-dir", os.Getenv("TIKV_CVM_TLS_DIR"), "directory with ca.pem, cert.pem, key.pem")
	connectTimeout := global.Duration("connect-timeout", 30*time.Second, "how long to keep trying to reach PD")
	verbose := global.Bool("v", false, "client-go's own logs at info level (default: warnings)")
	global.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	if err := global.Parse(args); err != nil {
		return 2
	}
	if global.NArg() == 0 {
		global.Usage()
		return 2
	}
	// client-go's own log goes to stderr, so stdout carries only what this tool reports.
	level := "warn"
	if *verbose {
		level = "info"
	}
	if lg, props, err := log.InitLoggerWithWriteSyncer(&log.Config{Level: level}, zapcore.AddSync(os.Stderr), zapcore.AddSync(os.Stderr)); err == nil {
		log.ReplaceGlobals(lg, props)
	}
	if *pd == "" && global.Arg(0) != "probe" {
		fmt.Fprintln(os.Stderr, "no PD endpoints: pass --pd or set TIKV_CVM_PD (the stack's clientCommands set it)")
		return 2
	}
	cmd, rest := global.Arg(0), global.Args()[1:]
	ctx := context.Background()
	connect := func() (*rawkv.Client, error) {
		return connectRaw(ctx, strings.Split(*pd, ","), *tlsDir, *connectTimeout)
	}
	if cmd == "probe" {
		return probe(rest, *tlsDir)
	}
	if cmd == "pd-probe" {
		probeFlags := flag.NewFlagSet("pd-probe", flag.ContinueOnError)
		pdPort := probeFlags.String("pd-port", "2379", "PD's own client port beside each gateway")
		if err := probeFlags.Parse(rest); err != nil {
			return 2
		}
		return pdProbe(strings.Split(*pd, ","), *tlsDir, *pdPort)
	}
	var err error
	switch cmd {
	case "smoke":
		err = smoke(ctx, connect, rest)
	case "write":
		err = writeSet(ctx, connect, rest)
	case "check":
		err = checkSet(ctx, connect, rest)
	case "bench":
		err = bench(ctx, connect, rest)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAILED: %v\n", err)
		return 1
	}
	return 0
}

// connectRaw opens a RawKV client over mutual TLS with the certificate in tlsDir.
func connectRaw(ctx context.Context, pd []string, tlsDir string, timeout time.Duration) (*rawkv.Client, error) {
	var security config.Security
	if tlsDir != "" {
		security = config.NewSecurity(filepath.Join(tlsDir, "ca.pem"), filepath.Join(tlsDir, "cert.pem"), filepath.Join(tlsDir, "key.pem"), nil)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := rawkv.NewClientWithOpts(ctx, pd, rawkv.WithSecurity(security))
	if err != nil {
		return nil, fmt.Errorf("connect to PD %v: %w", pd, err)
	}
	return c, nil
}
