package host

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The drop-in's ExecStart as lib/cloudInit.ts dockerDropIn writes it.
const execStart = "/usr/bin/dockerd --containerd=/run/containerd/containerd.sock --data-root=${TIKV_DOCKER_DATA_ROOT} --label=${TIKV_DOCKER_LABEL}"

func TestDockerdArgs(t *testing.T) {
	args, err := dockerdArgs(execStart, map[string]string{"TIKV_DOCKER_DATA_ROOT": "/h/var/lib/tikv-data/docker", "TIKV_DOCKER_LABEL": "tikv-cvm.data-disk=disk-1"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(args, " ") != "--data-root=/h/var/lib/tikv-data/docker --label=tikv-cvm.data-disk=disk-1" {
		t.Fatalf("args %q", args)
	}
	// No EnvironmentFile values: Docker does not start (systemd would refuse the unit too).
	if _, err := dockerdArgs(execStart, map[string]string{}); err == nil {
		t.Fatal("missing variables accepted")
	}
	if _, err := dockerdArgs("/usr/bin/containerd", nil); err == nil {
		t.Fatal("a non-dockerd ExecStart accepted")
	}
}

func writeDaemonJSON(t *testing.T, root string, cfg map[string]any) {
	t.Helper()
	p := filepath.Join(root, "etc/docker/daemon.json")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func rendered() map[string]any {
	return map[string]any{
		"tls": true, "tlsverify": true,
		"tlscacert": "/etc/docker/tls/ca.pem", "tlscert": "/etc/docker/tls/server-cert.pem", "tlskey": "/etc/docker/tls/server-key.pem",
		"hosts":        []any{"unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"},
		"live-restore": true,
	}
}

func TestMoveDaemonJSON(t *testing.T) {
	root := t.TempDir()
	writeDaemonJSON(t, root, rendered())
	p, err := Env{}.moveDaemonJSON(root)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	b, _ := os.ReadFile(p)
	_ = json.Unmarshal(b, &got)
	if got["tlscacert"] != filepath.Join(root, "etc/docker/tls/ca.pem") {
		t.Fatalf("tlscacert %v", got["tlscacert"])
	}
	hosts := got["hosts"].([]any)
	if hosts[0] != "unix://"+filepath.Join(root, "docker.sock") || hosts[1] != "tcp://0.0.0.0:2376" {
		t.Fatalf("hosts %v", hosts)
	}
	if _, ok := got["data-root"]; ok {
		t.Fatal("data-root set in the file: it comes from --data-root")
	}
	if got["storage-driver"] != "vfs" || got["iptables"] != false || got["bridge"] != "none" || got["live-restore"] != true {
		t.Fatalf("settings %v", got)
	}
	// dockerd refuses data-root in both the file and the flags: so does the stand-in.
	cfg := rendered()
	cfg["data-root"] = "/var/lib/docker"
	writeDaemonJSON(t, root, cfg)
	if _, err := (Env{}).moveDaemonJSON(root); err == nil {
		t.Fatal("data-root in daemon.json accepted")
	}
}

func TestWriteUnder(t *testing.T) {
	root := t.TempDir()
	if err := writeUnder(root, writeFile{Path: "/etc/docker/tls/server-key.pem", Content: "k", Permissions: "0400"}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(root, "etc/docker/tls/server-key.pem"))
	if err != nil || st.Mode().Perm() != 0o400 {
		t.Fatalf("%v %v", st, err)
	}
	if err := writeUnder(root, writeFile{Path: "relative"}); err == nil {
		t.Fatal("relative path accepted")
	}
}

func TestReadUnit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "u.service")
	_ = os.WriteFile(p, []byte("[Service]\nEnvironment=TIKV_DATA_DISK_ID=disk-1\nEnvironment=TIKV_DATA_DISK_WAIT_SECONDS=600\nExecStart=\nExecStart=/usr/bin/dockerd -H x\n"), 0o644)
	u, err := readUnit(p)
	if err != nil {
		t.Fatal(err)
	}
	if env := u.get("Service", "Environment"); len(env) != 2 || env[1] != "TIKV_DATA_DISK_WAIT_SECONDS=600" {
		t.Fatalf("env %v", env)
	}
	if ex := u.get("Service", "ExecStart"); len(ex) != 2 || ex[0] != "" {
		t.Fatalf("ExecStart %v", ex)
	}
}
