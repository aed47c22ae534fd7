package main

// The client against a cluster of the e2e's stand-ins (one PD, three TiKV) on loopback, over
// mutual TLS with certificates made to the program's spec (lib/clusterConfig.ts CLUSTER_CN,
// components/clusterTls.ts), reaching PD through PD's client gateway (../gateway, run with the
// node on PATH) as clients of a stack do: the real client-go writes, reads, scans and deletes;
// PD itself, and the gateway beyond a client's calls, refuse the client's certificate;
// a certificate with a name the stores do not admit, or from another CA (the Docker CA), is
// refused; data survives each store's restart in turn.
// The stand-ins are built from ../e2e/standins.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return testCA{cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes ca.pem, cert.pem, key.pem into dir.
func (ca testCA) issue(t *testing.T, dir, cn, ou string, usages []x509.ExtKeyUsage) string {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	subject := pkix.Name{CommonName: cn, Organization: []string{"tikv-cvm test"}}
	if ou != "" {
		subject.OrganizationalUnit = []string{ou}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: usages,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"ca.pem":   ca.pem,
		"cert.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"key.pem":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// freePorts picks n distinct free ports, holding each until all are picked (one released early
// could be handed out again).
func freePorts(t *testing.T, n int) []int {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// The names PD and TiKV admit, as lib/clusterConfig.ts renders them (PD_ALLOWED_CN, TIKV_ALLOWED_CN).
const (
	pdAllowedCN   = `["tikv-cvm-member", "tikv-cvm-prometheus", "tikv-cvm-admin"]`
	tikvAllowedCN = `["tikv-cvm-member", "tikv-cvm-prometheus", "tikv-cvm-client"]`
)

type cluster struct {
	t       *testing.T
	bin     string
	dir     string
	member  string
	pd      string // PD's own client address
	gateway string // PD's client gateway, where the client is sent
	tikv    []*exec.Cmd
	tikvArg [][]string
	stores  []string
}

func (c *cluster) start(name string, args ...string) *exec.Cmd {
	log, err := os.Create(filepath.Join(c.dir, name+".log"))
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func startCluster(t *testing.T, ca testCA) *cluster {
	if testing.Short() {
		t.Skip("starts a stand-in cluster")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "standin")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "e2e", "standins")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build stand-ins: %v\n%s", err, out)
	}
	c := &cluster{t: t, bin: bin, dir: dir}
	c.member = ca.issue(t, filepath.Join(dir, "member"), "tikv-cvm-member", "", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth})
	ports := freePorts(t, 9)
	pdPort, peerPort := ports[0], ports[1]
	c.pd = fmt.Sprintf("127.0.0.1:%d", pdPort)
	pdConf := filepath.Join(dir, "pd.toml")
	os.WriteFile(pdConf, []byte(fmt.Sprintf("[replication]\nmax-replicas = 3\n[security]\ncacert-path = %q\ncert-path = %q\nkey-path = %q\ncert-allowed-cn = %s\n",
		c.member+"/ca.pem", c.member+"/cert.pem", c.member+"/key.pem", pdAllowedCN)), 0o600)
	peer := fmt.Sprintf("https://127.0.0.1:%d", peerPort)
	c.start("pd1", "pd-server", "--name=pd1", "--data-dir="+filepath.Join(dir, "pd1"),
		"--client-urls=https://"+c.pd, "--advertise-client-urls=https://"+c.pd,
		"--peer-urls="+peer, "--advertise-peer-urls="+peer, "--initial-cluster=pd1="+peer, "--config="+pdConf)
	tikvConf := filepath.Join(dir, "tikv.toml")
	os.WriteFile(tikvConf, []byte(fmt.Sprintf("[security]\nca-path = %q\ncert-path = %q\nkey-path = %q\ncert-allowed-cn = %s\n",
		c.member+"/ca.pem", c.member+"/cert.pem", c.member+"/key.pem", tikvAllowedCN)), 0o600)
	for i := 1; i <= 3; i++ {
		addr, status := fmt.Sprintf("127.0.0.1:%d", ports[2*i]), fmt.Sprintf("127.0.0.1:%d", ports[2*i+1])
		args := []string{"tikv-server", "--addr=" + addr, "--advertise-addr=" + addr, "--status-addr=" + status,
			"--data-dir=" + filepath.Join(dir, fmt.Sprintf("tikv%d", i)), "--pd=" + c.pd, "--config=" + tikvConf}
		c.tikvArg = append(c.tikvArg, args)
		c.stores = append(c.stores, addr)
		c.tikv = append(c.tikv, c.start(fmt.Sprintf("tikv%d", i), args...))
	}
	c.startGateway(ports[8])
	return c
}

// startGateway runs gateway/pd-client-gateway.js as components/pdClientGateway.ts does, on loopback.
func (c *cluster) startGateway(port int) {
	node, err := exec.LookPath("node")
	if err != nil {
		c.t.Fatalf("PD's client gateway runs on Node.js, which is not on PATH: %v", err)
	}
	c.gateway = fmt.Sprintf("127.0.0.1:%d", port)
	log, err := os.Create(filepath.Join(c.dir, "gateway.log"))
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("..", "gateway", "pd-client-gateway.js"))
	cmd.Env = append(os.Environ(),
		"TIKV_CVM_GATEWAY_LISTEN_HOST=127.0.0.1",
		fmt.Sprintf("TIKV_CVM_GATEWAY_PORT=%d", port),
		"TIKV_CVM_GATEWAY_PD=https://"+c.pd,
		"TIKV_CVM_GATEWAY_ALLOWED_CN=tikv-cvm-client",
		"TIKV_CVM_GATEWAY_TLS_DIR="+c.member,
	)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if conn, err := net.Dial("tcp", c.gateway); err == nil {
			conn.Close()
			return
		}
	}
	c.dumpLogs()
	c.t.Fatal("PD's client gateway did not listen")
}

// dumpLogs prints the tail of every member's log, for a failure's reader.
func (c *cluster) dumpLogs() {
	logs, _ := filepath.Glob(filepath.Join(c.dir, "*.log"))
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 25 {
			lines = lines[len(lines)-25:]
		}
		c.t.Logf("--- %s\n%s", filepath.Base(l), strings.Join(lines, "\n"))
	}
}

func (c *cluster) restartTikv(i int) {
	_ = c.tikv[i].Process.Signal(os.Interrupt)
	_ = c.tikv[i].Wait()
	c.tikv[i] = c.start(fmt.Sprintf("tikv%d-again", i+1), c.tikvArg[i]...)
}

// client runs the tool's own command line, as the container would.
func (c *cluster) client(tlsDir string, args ...string) (string, int) {
	r, w, _ := os.Pipe()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, w
	code := run(append([]string{"--pd", c.gateway, "--tls-dir", tlsDir, "--connect-timeout", "5s"}, args...))
	os.Stdout, os.Stderr = stdout, stderr
	w.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r)
	return buf.String(), code
}

func TestClientAgainstStandinCluster(t *testing.T) {
	clusterCA := newCA(t, "cluster CA")
	c := startCluster(t, clusterCA)
	client := clusterCA.issue(t, filepath.Join(c.dir, "client"), "tikv-cvm-client", "app", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth})

	// Wait for the stores to register and catch up (the first connection may find no leader yet).
	deadline := time.Now().Add(90 * time.Second)
	var out string
	code := 1
	for time.Now().Before(deadline) {
		if out, code = c.client(client, "smoke", "--keys", "30", "--tag", "first"); code == 0 {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if code != 0 {
		c.dumpLogs()
		t.Fatalf("smoke never passed:\n%s", out)
	}
	for _, want := range []string{"put     30 keys", "get     30 keys", "-> 30 keys in order", "delete  30 keys; get and scan find none", "OK: RawKV"} {
		if !strings.Contains(out, want) {
			t.Errorf("smoke output lacks %q:\n%s", want, out)
		}
	}

	if out, code := c.client(client, "write", "--keys", "50", "--tag", "kept"); code != 0 {
		t.Fatalf("write: %s", out)
	}
	// The stand-in's stores stand for Raft replicas: each one holds the key, not only the one the
	// client wrote through (docs/e2e.md).
	out, code = c.client(client, append([]string{"probe", "--key", string(keyOf("kept", 7))}, c.stores...)...)
	if want := fmt.Sprintf("= %q", valueOf("kept", 7)); code != 0 || strings.Count(out, want) != len(c.stores) {
		t.Fatalf("every store holds the key (want %s %d times):\n%s", want, len(c.stores), out)
	}
	// Every store holds every key: restart each in turn and read everything back.
	for i := range c.tikv {
		c.restartTikv(i)
		ok := false
		for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
			if out, code = c.client(client, "check", "--keys", "50", "--tag", "kept"); code == 0 {
				ok = true
				break
			}
		}
		if !ok {
			c.dumpLogs()
			t.Fatalf("after restarting tikv%d: %s", i+1, out)
		}
	}

	// A name not admitted, and a certificate of another CA (as the Docker CA's operator
	// certificate is), are refused at the TLS handshake: nothing is read or written.
	other := clusterCA.issue(t, filepath.Join(c.dir, "other"), "someone-else", "", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth})
	dockerCA := newCA(t, "docker CA")
	operator := dockerCA.issue(t, filepath.Join(c.dir, "operator"), "operator", "", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth})
	// The operator's certificate next to the cluster CA, so only the server's check can refuse it.
	os.WriteFile(filepath.Join(operator, "ca.pem"), clusterCA.pem, 0o600)
	if out, code := c.client(client, append([]string{"probe"}, c.stores...)...); code != 0 {
		t.Fatalf("the client's own certificate, straight to the stores: %s", out)
	}
	for name, dir := range map[string]string{"unadmitted name": other, "Docker CA": operator} {
		out, code := c.client(dir, "check", "--keys", "1", "--tag", "kept")
		if code == 0 {
			t.Errorf("%s: the cluster answered:\n%s", name, out)
		}
		if !strings.Contains(out, "FAILED") {
			t.Errorf("%s: no failure reported:\n%s", name, out)
		}
		// The stores themselves refuse it too, not only PD.
		if out, code := c.client(dir, append([]string{"probe"}, c.stores...)...); code != 3 {
			t.Errorf("%s: straight to the stores, exit %d (want 3, every store refused):\n%s", name, code, out)
		}
	}

	// What the client's certificate opens of PD: a TiKV client's calls through the gateway, and
	// nothing of PD itself (its HTTP API, pd-ctl's routes) or of the stores' calls.
	_, pdPort, _ := net.SplitHostPort(c.pd)
	out, code = c.client(client, "pd-probe", "--pd-port", pdPort)
	if code != 0 || strings.Count(out, "as expected") != 4 {
		c.dumpLogs()
		t.Fatalf("pd-probe (exit %d):\n%s", code, out)
	}
	t.Logf("pd-probe:\n%s", out)
	// The control: PD's HTTP API answers the member's certificate at the same address.
	memberTLS, err := clientTLS(c.member)
	if err != nil {
		t.Fatal(err)
	}
	if status, err := httpGet(memberTLS, "https://"+c.pd+"/pd/api/v1/members"); err != nil || status != 200 {
		t.Fatalf("PD's HTTP API with the member's certificate: HTTP %d %v", status, err)
	}

	out, code = c.client(client, "bench", "--duration", "3s", "--records", "200", "--threads", "4")
	if code != 0 {
		t.Fatalf("bench: %s", out)
	}
	if !strings.Contains(out, "RESULT {") || !strings.Contains(out, "p99") {
		t.Fatalf("bench printed no figures:\n%s", out)
	}
	t.Logf("bench:\n%s", out)
}
