package host

// A CVM's boot, run detached from the plugin (the engine kills the plugin after each command):
// cloud-init's write_files, then the boot units the user data wrote, emulated: the data-disk
// script (lib/dataDisk.ts), then dockerd as the docker.service drop-in starts it, with the written
// daemon.json moved into the host's root as e2e/hosts.ts moveDaemonJson does.

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"tikv-cvm.test/tencentcloud/cloud"
)

// StartBoot starts `<self> boot <id>` inside the host's namespace, in a session of its own so it
// outlives the plugin; its output goes to the host's boot.log.
func (e Env) StartBoot(instanceID, netns string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir := e.HostDir(instanceID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "boot.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("nsenter", "--net=/run/netns/"+netns, self, "boot", instanceID)
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}

type bootState struct {
	id, dir, userData string
	generation        int
}

// errGone: the instance was deleted or reinstalled while this boot ran.
var errGone = errors.New("instance deleted or reinstalled: this boot stops")

// Boot is the `boot <instance id>` command. Exit status 0 also when the instance went away.
func Boot(instanceID string) int {
	env, err := FromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "boot:", err)
		return 2
	}
	store := &cloud.Store{Dir: env.CloudDir}
	logger := log.New(os.Stderr, fmt.Sprintf("boot %s: ", instanceID), log.LstdFlags|log.Lmicroseconds)
	var b bootState
	if err := store.View(func(st *cloud.State) error {
		r := st.Get(cloud.Instance, instanceID)
		if r == nil || r.Host == nil {
			return errGone
		}
		b = bootState{id: r.ID, dir: env.HostDir(r.ID), userData: r.Str("userData"), generation: r.Host.Generation}
		return nil
	}); err != nil {
		logger.Print(err)
		return 0
	}
	current := func() error {
		return store.View(func(st *cloud.State) error {
			r := st.Get(cloud.Instance, instanceID)
			if r == nil || r.Host == nil || r.Host.Generation != b.generation {
				return errGone
			}
			return nil
		})
	}
	start := time.Now()
	logger.Printf("booting (generation %d)", b.generation)
	err = env.boot(logger, b, current)
	switch {
	case errors.Is(err, errGone):
		logger.Print(err)
		return 0
	case err != nil:
		logger.Printf("FAILED after %.1f s: %v", time.Since(start).Seconds(), err)
		return 1
	}
	logger.Printf("up after %.1f s", time.Since(start).Seconds())
	return 0
}

type writeFile struct {
	Path        string `yaml:"path"`
	Content     string `yaml:"content"`
	Permissions string `yaml:"permissions"`
	Encoding    string `yaml:"encoding"`
}

func (e Env) boot(logger *log.Logger, b bootState, current func() error) error {
	// cloud-init: the user data is base64 cloud-config (write_files; packages and runcmd are what
	// the emulated units below stand for).
	raw, err := base64.StdEncoding.DecodeString(b.userData)
	if err != nil {
		return fmt.Errorf("user data is not base64: %w", err)
	}
	if !strings.HasPrefix(string(raw), "#cloud-config") {
		return fmt.Errorf("user data is not #cloud-config; the stand-in boots only cloud-config")
	}
	var cfg struct {
		WriteFiles []writeFile `yaml:"write_files"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("cloud-config: %w", err)
	}
	for _, f := range cfg.WriteFiles {
		if err := writeUnder(b.dir, f); err != nil {
			return err
		}
		logger.Printf("write_files: %s (%s)", f.Path, f.Permissions)
	}
	if err := current(); err != nil {
		return err
	}

	// tikv-data-disk.service: the script with the unit's Environment= and the paths moved into
	// the host's root.
	unit, err := readUnit(filepath.Join(b.dir, "etc/systemd/system/tikv-data-disk.service"))
	if err != nil {
		return err
	}
	script := filepath.Join(b.dir, "usr/local/sbin/tikv-data-disk")
	if starts := unit.get("Service", "ExecStart"); len(starts) > 0 && starts[len(starts)-1] != "" {
		script = filepath.Join(b.dir, starts[len(starts)-1])
	}
	envFile := filepath.Join(b.dir, "run/tikv-data-disk/docker.env")
	cmd := exec.Command(script)
	cmd.Env = os.Environ()
	for _, kv := range unit.get("Service", "Environment") {
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env,
		"TIKV_DATA_DISK_BY_ID="+filepath.Join(b.dir, "dev/disk/by-id"),
		"TIKV_DATA_DISK_MOUNT="+DataMount(b.dir),
		"TIKV_DATA_DISK_ENV="+envFile,
		"TIKV_DATA_DISK_QUARANTINE="+filepath.Join(b.dir, "run/tikv-data-disk/no-data-disk"),
	)
	cmd.Stdout, cmd.Stderr = logger.Writer(), logger.Writer()
	logger.Printf("tikv-data-disk.service: %s", script)
	t := time.Now()
	if err := cmd.Run(); err != nil {
		// docker.service only Wants= the unit: Docker still starts, on whatever root it wrote.
		logger.Printf("tikv-data-disk.service failed after %.1f s: %v", time.Since(t).Seconds(), err)
	} else {
		logger.Printf("tikv-data-disk.service done in %.1f s", time.Since(t).Seconds())
	}
	if err := current(); err != nil {
		return err
	}

	// docker.service with the drop-in: EnvironmentFile= and ExecStart=.
	dropIn, err := readUnit(filepath.Join(b.dir, "etc/systemd/system/docker.service.d/override.conf"))
	if err != nil {
		return err
	}
	vars := map[string]string{}
	for _, f := range dropIn.get("Service", "EnvironmentFile") {
		p := filepath.Join(b.dir, strings.TrimPrefix(f, "-"))
		m, err := readEnvFile(p)
		if err != nil {
			return fmt.Errorf("docker.service: EnvironmentFile %s: %w (without it Docker does not start)", f, err)
		}
		for k, v := range m {
			vars[k] = v
		}
	}
	var execStart string
	for _, s := range dropIn.get("Service", "ExecStart") {
		execStart = s // an empty ExecStart= resets; the last one counts
	}
	args, err := dockerdArgs(execStart, vars)
	if err != nil {
		return err
	}
	daemonJSON, err := e.moveDaemonJSON(b.dir)
	if err != nil {
		return err
	}
	// The registry a real CVM pulls from is reachable before anyone dials its Docker API, so the
	// stand-in's "registry" (the saved images) must be too: a first dockerd on the unix socket
	// only loads them, then the real one starts with the user data's daemon.json.
	preload, err := unixOnly(daemonJSON)
	if err != nil {
		return err
	}
	sock := filepath.Join(b.dir, "docker.sock")
	first, err := startDockerd(logger, b.dir, append(append([]string{}, args...), "--config-file", preload))
	if err != nil {
		return err
	}
	client := unixClient(sock)
	if err := waitPing(client, sock, current); err != nil {
		_ = first.Kill()
		return err
	}
	if err := loadImages(logger, client, e.Images); err != nil {
		_ = first.Kill()
		return err
	}
	_ = first.Signal(syscall.SIGTERM)
	if _, err := first.Wait(); err != nil {
		return fmt.Errorf("the image-loading dockerd: %w", err)
	}
	logger.Printf("images loaded; starting dockerd as docker.service does")

	real, err := startDockerd(logger, b.dir, append(args, "--config-file", daemonJSON))
	if err != nil {
		return err
	}
	_ = real.Release()
	if err := waitPing(client, sock, current); err != nil {
		return err
	}
	logger.Printf("dockerd answers on %s", sock)
	return nil
}

// startDockerd starts dockerd in a session of its own (it outlives this boot), logging to dockerd.log.
func startDockerd(logger *log.Logger, dir string, args []string) (*os.Process, error) {
	dlog, err := os.OpenFile(filepath.Join(dir, "dockerd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer dlog.Close()
	d := exec.Command("dockerd", args...)
	d.Stdout, d.Stderr = dlog, dlog
	d.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	logger.Printf("docker.service: dockerd %s", strings.Join(args, " "))
	if err := d.Start(); err != nil {
		return nil, err
	}
	return d.Process, nil
}

// waitPing waits up to 120 s for dockerd's API on its unix socket.
func waitPing(client *http.Client, sock string, current func() error) error {
	deadline := time.Now().Add(120 * time.Second)
	for {
		if err := current(); err != nil {
			return err
		}
		resp, err := client.Get("http://docker/_ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd did not answer on %s within 120 s (see dockerd.log)", sock)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// unixOnly writes a copy of the moved daemon.json that serves the unix socket only.
func unixOnly(daemonJSON string) (string, error) {
	b, err := os.ReadFile(daemonJSON)
	if err != nil {
		return "", err
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", err
	}
	var unix []any
	hosts, _ := cfg["hosts"].([]any)
	for _, h := range hosts {
		if s, _ := h.(string); strings.HasPrefix(s, "unix://") {
			unix = append(unix, s)
		}
	}
	cfg["hosts"] = unix
	out, _ := json.MarshalIndent(cfg, "", "  ")
	p := strings.TrimSuffix(daemonJSON, ".json") + ".preload.json"
	return p, os.WriteFile(p, append(out, '\n'), 0o644)
}

// writeUnder writes one write_files entry at its path under the host's root.
func writeUnder(root string, f writeFile) error {
	if f.Path == "" || !filepath.IsAbs(f.Path) {
		return fmt.Errorf("write_files: path %q is not absolute", f.Path)
	}
	content := []byte(f.Content)
	switch f.Encoding {
	case "", "text/plain":
	case "b64", "base64":
		var err error
		if content, err = base64.StdEncoding.DecodeString(f.Content); err != nil {
			return fmt.Errorf("write_files %s: %w", f.Path, err)
		}
	default:
		return fmt.Errorf("write_files %s: encoding %q not emulated", f.Path, f.Encoding)
	}
	mode := os.FileMode(0o644) // cloud-init's default
	if f.Permissions != "" {
		m, err := strconv.ParseUint(f.Permissions, 8, 32)
		if err != nil {
			return fmt.Errorf("write_files %s: permissions %q: %w", f.Path, f.Permissions, err)
		}
		mode = os.FileMode(m)
	}
	p := filepath.Join(root, filepath.Clean(f.Path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, content, mode); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

type unitFile map[string]map[string][]string

func (u unitFile) get(section, key string) []string { return u[section][key] }

// readUnit reads a systemd unit file's sections and keys (repeated keys in order; no quoting).
func readUnit(path string) (unitFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("the user data did not write %s: %w", path, err)
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			continue
		}
		u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
	}
	return u, sc.Err()
}

func readEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			m[k] = strings.Trim(v, `"`)
		}
	}
	return m, nil
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// dockerdArgs turns the drop-in's ExecStart into dockerd's arguments: ${VAR} expanded from the
// EnvironmentFile (one argument each, as systemd does), the binary dropped, and --containerd
// dropped: each test host's dockerd runs its own containerd (the machine's is shared).
func dockerdArgs(execStart string, vars map[string]string) ([]string, error) {
	fields := strings.Fields(execStart)
	if len(fields) == 0 || filepath.Base(fields[0]) != "dockerd" {
		return nil, fmt.Errorf("docker.service drop-in: ExecStart %q does not run dockerd", execStart)
	}
	var args []string
	for _, f := range fields[1:] {
		if strings.HasPrefix(f, "--containerd=") || f == "-H" || strings.HasPrefix(f, "fd://") {
			continue
		}
		var missing []string
		f = varRef.ReplaceAllStringFunc(f, func(m string) string {
			name := strings.Trim(m, "${}")
			v, ok := vars[name]
			if !ok {
				missing = append(missing, name)
			}
			return v
		})
		if len(missing) > 0 {
			return nil, fmt.Errorf("docker.service: %s not set by the EnvironmentFile", strings.Join(missing, ", "))
		}
		args = append(args, f)
	}
	return args, nil
}

// moveDaemonJSON writes the user data's /etc/docker/daemon.json with its paths moved into the
// host's root, plus what a second engine on a shared machine needs, exactly as e2e/hosts.ts
// moveDaemonJson does, except data-root: that comes from --data-root (the data-disk unit).
func (e Env) moveDaemonJSON(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "etc/docker/daemon.json"))
	if err != nil {
		return "", fmt.Errorf("the user data did not write /etc/docker/daemon.json: %w", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", fmt.Errorf("/etc/docker/daemon.json: %w", err)
	}
	for _, k := range []string{"tlscacert", "tlscert", "tlskey"} {
		p, ok := cfg[k].(string)
		if !ok || !strings.HasPrefix(p, "/etc/docker/") {
			return "", fmt.Errorf("/etc/docker/daemon.json: unexpected %s %v", k, cfg[k])
		}
		cfg[k] = filepath.Join(root, p)
	}
	hosts, _ := cfg["hosts"].([]any)
	moved := []any{"unix://" + filepath.Join(root, "docker.sock")}
	sawUnix := false
	for _, h := range hosts {
		s, _ := h.(string)
		switch {
		case s == "unix:///var/run/docker.sock":
			sawUnix = true
		case strings.HasPrefix(s, "tcp://"):
			moved = append(moved, s)
		default:
			return "", fmt.Errorf("/etc/docker/daemon.json: unexpected host %q", s)
		}
	}
	if !sawUnix || len(moved) != 2 {
		return "", fmt.Errorf("/etc/docker/daemon.json: unexpected hosts %v", hosts)
	}
	cfg["hosts"] = moved
	if _, ok := cfg["data-root"]; ok {
		return "", fmt.Errorf("/etc/docker/daemon.json sets data-root, which the docker.service drop-in passes as a flag: dockerd refuses both")
	}
	cfg["exec-root"] = filepath.Join(root, "exec")
	cfg["pidfile"] = filepath.Join(root, "docker.pid")
	cfg["storage-driver"] = "vfs"
	cfg["iptables"] = false
	cfg["bridge"] = "none"
	out, _ := json.MarshalIndent(cfg, "", "  ")
	p := filepath.Join(root, "daemon.standin.json")
	return p, os.WriteFile(p, append(out, '\n'), 0o644)
}

func unixClient(sock string) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Minute,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
	}
}

// loadImages loads each `docker save` tarball whose tags the engine lacks. This stands for the
// registry (or mirror) a real CVM pulls pingcap/pd and pingcap/tikv from.
func loadImages(logger *log.Logger, client *http.Client, tarballs []string) error {
	for _, p := range tarballs {
		tags, err := savedTags(p)
		if err != nil {
			return err
		}
		missing := false
		for _, t := range tags {
			resp, err := client.Get("http://docker/images/" + url.PathEscape(t) + "/json")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode == 404 {
				missing = true
			}
		}
		if !missing && len(tags) > 0 {
			logger.Printf("images: %s present already", strings.Join(tags, ", "))
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		t := time.Now()
		resp, err := client.Post("http://docker/images/load?quiet=1", "application/x-tar", f)
		f.Close()
		if err != nil {
			return fmt.Errorf("loading %s: %w", p, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.Contains(string(body), `"error"`) {
			return fmt.Errorf("loading %s: %d %s", p, resp.StatusCode, strings.TrimSpace(string(body)))
		}
		logger.Printf("images: loaded %s (%s) in %.1f s", p, strings.Join(tags, ", "), time.Since(t).Seconds())
	}
	return nil
}

// savedTags reads the RepoTags of a `docker save` tarball's manifest.json.
func savedTags(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("TIKV_CVM_STANDIN_IMAGES: %w", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: no manifest.json: not a `docker save` tarball", path)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if h.Name == "manifest.json" {
			var m []struct {
				RepoTags []string `json:"RepoTags"`
			}
			if err := json.NewDecoder(tr).Decode(&m); err != nil {
				return nil, fmt.Errorf("%s: manifest.json: %w", path, err)
			}
			var tags []string
			for _, e := range m {
				tags = append(tags, e.RepoTags...)
			}
			return tags, nil
		}
	}
}
