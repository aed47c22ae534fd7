package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// probe dials each store named on the command line directly (not through PD) with this client's
// certificate and sends one RawGet: "answered" or "refused", one line per store. It shows what a
// store itself admits, which the data path through PD cannot (PD may refuse first). Exit status
// 0 when every store answered, 3 when every store refused, 1 otherwise.
func probe(args []string, tlsDir string) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	key := fs.String("key", "tikv-cvm/probe", "the key each store is asked for (RawGet); found values are printed")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: tikv-cvm-client probe [--key K] STORE_ADDR...")
		return 2
	}
	creds := insecure.NewCredentials()
	if tlsDir != "" {
		pair, err := tls.LoadX509KeyPair(filepath.Join(tlsDir, "cert.pem"), filepath.Join(tlsDir, "key.pem"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		caPEM, err := os.ReadFile(filepath.Join(tlsDir, "ca.pem"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: []tls.Certificate{pair}})
	}
	answered := 0
	for _, addr := range fs.Args() {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
		var res *kvrpcpb.RawGetResponse
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			res, err = tikvpb.NewTikvClient(conn).RawGet(ctx, &kvrpcpb.RawGetRequest{Key: []byte(*key)})
			cancel()
			conn.Close()
		}
		if err != nil {
			fmt.Printf("store %s refused: %v\n", addr, err)
			continue
		}
		answered++
		switch {
		case res.GetRegionError() != nil:
			fmt.Printf("store %s answered: region error %s\n", addr, res.GetRegionError().GetMessage())
		case res.GetNotFound():
			fmt.Printf("store %s answered: %s not found\n", addr, *key)
		default:
			fmt.Printf("store %s answered: %s = %q\n", addr, *key, res.GetValue())
		}
	}
	switch answered {
	case len(fs.Args()):
		return 0
	case 0:
		return 3
	default:
		return 1
	}
}
