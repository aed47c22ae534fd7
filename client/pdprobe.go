package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// pdProbe checks what this client's certificate opens of PD, through each gateway it is given
// (TIKV_CVM_PD, the stack's clientCommands) and at PD's own client port beside it (pdPort):
//   - the gateway answers GetMembers, with every member's client URL pointing at a gateway;
//   - the gateway refuses a call only stores make (AllocID) and PD's HTTP API (pd-ctl's routes);
//   - PD itself refuses the certificate.
//
// One line per check; exit status 0 when everything is as above, 1 otherwise.
func pdProbe(gateways []string, tlsDir string, pdPort string) int {
	if tlsDir == "" {
		fmt.Fprintln(os.Stderr, "pd-probe needs the client's certificate (--tls-dir or TIKV_CVM_TLS_DIR)")
		return 2
	}
	cfg, err := clientTLS(tlsDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	failed := 0
	report := func(ok bool, format string, args ...any) {
		verdict := "as expected"
		if !ok {
			verdict, failed = "UNEXPECTED", failed+1
		}
		fmt.Printf("%s: %s\n", verdict, fmt.Sprintf(format, args...))
	}
	for _, gw := range gateways {
		host, gwPort, err := net.SplitHostPort(gw)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		conn, err := grpc.NewClient(gw, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		pd := pdpb.NewPDClient(conn)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		members, err := pd.GetMembers(ctx, &pdpb.GetMembersRequest{})
		if err != nil {
			report(false, "gateway %s: GetMembers failed: %v", gw, err)
		} else {
			var urls []string
			allGateways := len(members.GetMembers()) > 0
			for _, m := range members.GetMembers() {
				for _, u := range m.GetClientUrls() {
					urls = append(urls, u)
					allGateways = allGateways && strings.HasSuffix(u, ":"+gwPort)
				}
			}
			report(allGateways, "gateway %s: GetMembers answered; members' client URLs %s", gw, strings.Join(urls, " "))
		}
		_, err = pd.AllocID(ctx, &pdpb.AllocIDRequest{})
		report(status.Code(err) == codes.PermissionDenied, "gateway %s: AllocID (a store's call): %v", gw, err)
		cancel()
		conn.Close()

		code, err := httpGet(cfg, "https://"+gw+"/pd/api/v1/members")
		report(err == nil && code == http.StatusForbidden, "gateway %s: PD's HTTP API: HTTP %d %v", gw, code, err)
		direct := net.JoinHostPort(host, pdPort)
		code, err = httpGet(cfg, "https://"+direct+"/pd/api/v1/members")
		report(err != nil, "PD %s itself, HTTP API with this certificate: HTTP %d, %v", direct, code, err)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func clientTLS(tlsDir string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(tlsDir, "cert.pem"), filepath.Join(tlsDir, "key.pem"))
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(filepath.Join(tlsDir, "ca.pem"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: []tls.Certificate{pair}}, nil
}

// httpGet sends one GET over HTTP/2 (the gateway speaks nothing else), or HTTP/1.1 where the
// server offers only that (PD's HTTP API negotiates either).
func httpGet(cfg *tls.Config, url string) (int, error) {
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: cfg.Clone(), ForceAttemptHTTP2: true},
	}
	res, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}
