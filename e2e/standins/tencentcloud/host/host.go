// Package host makes the machine-side things the stand-in cloud's resources stand for: a CVM is a
// network namespace on a bridge with a root directory, its CBS disks are sparse files on loop
// devices, an EIP is a second address on the CVM's eth0. Needs root, iproute2, util-linux,
// e2fsprogs and dockerd. The shapes follow e2e/hosts.ts (createNetwork, startHost, killNamespace).
package host

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Env is the stand-in's machine-side configuration, from the environment the e2e sets.
type Env struct {
	// CloudDir: cloud.json, hosts/<instance id>/ (a host's root), disks/<disk id>.img.
	CloudDir string
	// BridgeNetns holds bridge br0 that every host's eth0 is plugged into.
	BridgeNetns string
	// NetnsPrefix names hosts' namespaces: <prefix><n>.
	NetnsPrefix string
	// EIPPool: EIPs are addresses of this /24 from .10 up, added to the host's eth0.
	EIPPool *net.IPNet
	// Images: `docker save` tarballs loaded into a host's dockerd once it is up. They stand for
	// the registry a real CVM pulls its images from.
	Images []string
}

// FromEnv reads TIKV_CVM_STANDIN_*. Only the cloud directory is required for every call; the rest
// is checked where a host is made.
func FromEnv() (Env, error) {
	e := Env{
		CloudDir:    os.Getenv("TIKV_CVM_STANDIN_CLOUD_DIR"),
		BridgeNetns: os.Getenv("TIKV_CVM_STANDIN_BRIDGE_NETNS"),
		NetnsPrefix: os.Getenv("TIKV_CVM_STANDIN_NETNS_PREFIX"),
	}
	if e.CloudDir == "" {
		return e, fmt.Errorf("TIKV_CVM_STANDIN_CLOUD_DIR is not set: the Tencent Cloud stand-in keeps its cloud (cloud.json, hosts, disks) there")
	}
	abs, err := filepath.Abs(e.CloudDir)
	if err != nil {
		return e, err
	}
	e.CloudDir = abs
	if p := os.Getenv("TIKV_CVM_STANDIN_EIP_POOL"); p != "" {
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return e, fmt.Errorf("TIKV_CVM_STANDIN_EIP_POOL=%q: %w", p, err)
		}
		e.EIPPool = n
	}
	for _, p := range strings.Split(os.Getenv("TIKV_CVM_STANDIN_IMAGES"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			e.Images = append(e.Images, p)
		}
	}
	return e, nil
}

// NeedHosts says what is missing to make a host.
func (e Env) NeedHosts() error {
	var missing []string
	if e.BridgeNetns == "" {
		missing = append(missing, "TIKV_CVM_STANDIN_BRIDGE_NETNS (the netns holding bridge br0)")
	}
	if e.NetnsPrefix == "" {
		missing = append(missing, "TIKV_CVM_STANDIN_NETNS_PREFIX (hosts' netns names: <prefix><n>)")
	}
	if e.EIPPool == nil {
		missing = append(missing, "TIKV_CVM_STANDIN_EIP_POOL (e.g. 10.213.1.0/24)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("the Tencent Cloud stand-in cannot make a CVM without %s", strings.Join(missing, ", "))
	}
	return nil
}

// HostDir is a host's root directory.
func (e Env) HostDir(instanceID string) string { return filepath.Join(e.CloudDir, "hosts", instanceID) }

// DiskPath is a CBS disk's backing file.
func (e Env) DiskPath(diskID string) string { return filepath.Join(e.CloudDir, "disks", diskID+".img") }

func run(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func netnsExists(ns string) bool {
	_, err := os.Stat("/run/netns/" + ns)
	return err == nil
}

// CreateNetwork makes the host's namespace and its eth0 on the bridge with the private address
// (prefix length from the subnet). Safe to repeat.
func (e Env) CreateNetwork(netns, veth, address string, prefixLen int) error {
	if err := e.NeedHosts(); err != nil {
		return err
	}
	if !netnsExists(e.BridgeNetns) {
		return fmt.Errorf("bridge netns %s does not exist (TIKV_CVM_STANDIN_BRIDGE_NETNS): the test makes it with bridge br0", e.BridgeNetns)
	}
	if !netnsExists(netns) {
		if _, err := run("ip", "netns", "add", netns); err != nil {
			return err
		}
	}
	if _, err := run("ip", "-n", netns, "link", "show", "eth0"); err != nil {
		_, _ = run("ip", "-n", e.BridgeNetns, "link", "del", veth)
		if _, err := run("ip", "link", "add", veth, "netns", e.BridgeNetns, "type", "veth", "peer", "name", "eth0", "netns", netns); err != nil {
			return err
		}
	}
	steps := [][]string{
		{"-n", e.BridgeNetns, "link", "set", veth, "master", "br0", "up"},
		{"-n", netns, "link", "set", "lo", "up"},
		{"-n", netns, "addr", "replace", fmt.Sprintf("%s/%d", address, prefixLen), "dev", "eth0"},
		{"-n", netns, "link", "set", "eth0", "up"},
	}
	for _, s := range steps {
		if _, err := run("ip", s...); err != nil {
			return err
		}
	}
	return nil
}

// Readdress moves the host's private address (ModifyInstancesVpcAttribute).
func (e Env) Readdress(netns, oldIP, newIP string, prefixLen int) error {
	if oldIP != "" {
		_, _ = run("ip", "-n", netns, "addr", "del", fmt.Sprintf("%s/%d", oldIP, prefixLen), "dev", "eth0")
	}
	_, err := run("ip", "-n", netns, "addr", "replace", fmt.Sprintf("%s/%d", newIP, prefixLen), "dev", "eth0")
	return err
}

func (e Env) eipPrefix() int {
	if e.EIPPool == nil {
		return 24
	}
	ones, _ := e.EIPPool.Mask.Size()
	return ones
}

// AddEIP puts the EIP on the host's eth0, in the pool's prefix (the operator's link is there).
// The machine's neighbour entry for the address is dropped: an EIP moved to another instance must
// answer at once, as the cloud's NAT re-points it, not after the old MAC address goes stale.
func (e Env) AddEIP(netns, address string) error {
	if _, err := run("ip", "-n", netns, "addr", "replace", fmt.Sprintf("%s/%d", address, e.eipPrefix()), "dev", "eth0"); err != nil {
		return err
	}
	_, _ = run("ip", "neigh", "flush", "to", address)
	return nil
}

// RemoveEIP takes the EIP off the host.
func (e Env) RemoveEIP(netns, address string) error {
	if !netnsExists(netns) {
		return nil
	}
	out, _ := run("ip", "-n", netns, "-o", "addr", "show", "dev", "eth0")
	if !strings.Contains(out, " "+address+"/") {
		return nil
	}
	_, err := run("ip", "-n", netns, "addr", "del", fmt.Sprintf("%s/%d", address, e.eipPrefix()), "dev", "eth0")
	return err
}

// KillNamespace kills every process in a network namespace (dockerd, containerd, shims,
// containers, the boot process) and waits for them to go, as e2e/hosts.ts killNamespace.
func KillNamespace(netns string) {
	if !netnsExists(netns) {
		return
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := run("ip", "netns", "pids", netns)
		pids := strings.Fields(out)
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// MountsUnder lists mount points under dir, deepest first.
func MountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 {
			m := strings.ReplaceAll(f[1], `\040`, " ")
			if m == dir || strings.HasPrefix(m, dir+"/") {
				out = append(out, m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// UnmountUnder unmounts everything under dir and fails if anything stays mounted.
func UnmountUnder(dir string) error {
	for i := 0; i < 3; i++ {
		ms := MountsUnder(dir)
		if len(ms) == 0 {
			return nil
		}
		for _, m := range ms {
			_ = syscall.Unmount(m, syscall.MNT_DETACH)
		}
	}
	if ms := MountsUnder(dir); len(ms) > 0 {
		return fmt.Errorf("still mounted under %s: %s", dir, strings.Join(ms, ", "))
	}
	return nil
}

// RemoveTree deletes a directory after making sure nothing is mounted in it: a data disk mounted
// there must never be emptied by a host's removal.
func RemoveTree(dir string) error {
	if err := UnmountUnder(dir); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// DestroyHost is a CVM's termination: its processes, mounts, namespace, link and root go.
func (e Env) DestroyHost(netns, veth, hostDir string) error {
	KillNamespace(netns)
	if err := UnmountUnder(hostDir); err != nil {
		return err
	}
	if netnsExists(netns) {
		if _, err := run("ip", "netns", "del", netns); err != nil {
			return err
		}
	}
	if e.BridgeNetns != "" && netnsExists(e.BridgeNetns) {
		_, _ = run("ip", "-n", e.BridgeNetns, "link", "del", veth)
	}
	return RemoveTree(hostDir)
}

// WipeRoot empties a host's root (the system disk) for a reinstall; attached data disks are
// unmounted first and their files untouched.
func WipeRoot(netns, hostDir string) error {
	KillNamespace(netns)
	if err := UnmountUnder(hostDir); err != nil {
		return err
	}
	entries, err := os.ReadDir(hostDir)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, en := range entries {
		if en.Name() == "boot.log" {
			continue // the console log survives, as the cloud's console output does
		}
		if err := os.RemoveAll(filepath.Join(hostDir, en.Name())); err != nil {
			return err
		}
	}
	return nil
}

// CreateDisk makes a CBS disk's sparse backing file of sizeGB (kept if it exists: a retry).
func (e Env) CreateDisk(diskID string, sizeGB int64) error {
	p := e.DiskPath(diskID)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() < sizeGB<<30 {
		return f.Truncate(sizeGB << 30)
	}
	return nil
}

// ResizeDisk grows the backing file; an attached disk's loop device learns the new size.
func (e Env) ResizeDisk(diskID string, sizeGB int64, loop string) error {
	if err := os.Truncate(e.DiskPath(diskID), sizeGB<<30); err != nil {
		return err
	}
	if loop != "" {
		_, err := run("losetup", "-c", loop)
		return err
	}
	return nil
}

// DeleteDisk removes the backing file.
func (e Env) DeleteDisk(diskID string) error {
	err := os.Remove(e.DiskPath(diskID))
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

func byIDLink(hostDir, diskID string) string {
	return filepath.Join(hostDir, "dev", "disk", "by-id", "virtio-"+diskID)
}

// AttachDisk gives the disk a loop device and the guest's /dev/disk/by-id/virtio-<disk id> link
// (under the host's root) to it. Reuses a loop device already backing the file.
func (e Env) AttachDisk(diskID, hostDir string) (string, error) {
	p := e.DiskPath(diskID)
	out, _ := run("losetup", "-j", p)
	loop := ""
	if f := strings.SplitN(strings.TrimSpace(out), ":", 2); len(f) == 2 {
		loop = f[0]
	}
	if loop == "" {
		o, err := run("losetup", "-f", "--show", p)
		if err != nil {
			return "", err
		}
		loop = strings.TrimSpace(o)
	}
	return loop, LinkDisk(hostDir, diskID, loop)
}

// LinkDisk (re)makes a disk's by-id link in a host's root.
func LinkDisk(hostDir, diskID, loop string) error {
	link := byIDLink(hostDir, diskID)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	_ = os.Remove(link)
	return os.Symlink(loop, link)
}

// DataMount is where the user data's script mounts the data disk (lib/dataDisk.ts DATA_DISK_MOUNT).
func DataMount(hostDir string) string { return filepath.Join(hostDir, "var", "lib", "tikv-data") }

// DetachDisk takes a disk away from a running host: a dockerd on it is stopped (with everything
// else in the host's namespace), the disk unmounted, its link removed, its loop device freed.
func (e Env) DetachDisk(diskID, hostDir, netns, loop string) error {
	mnt := DataMount(hostDir)
	if len(MountsUnder(mnt)) > 0 && loopMountedAt(loop, mnt) {
		KillNamespace(netns)
		if err := UnmountUnder(mnt); err != nil {
			return err
		}
	}
	_ = os.Remove(byIDLink(hostDir, diskID))
	if loop != "" {
		if _, err := run("losetup", "-d", loop); err != nil && !strings.Contains(err.Error(), "No such device") {
			return err
		}
	}
	return nil
}

func loopMountedAt(loop, mnt string) bool {
	if loop == "" {
		return true
	}
	out, err := run("findmnt", "-n", "-o", "SOURCE", "--mountpoint", mnt)
	return err != nil || strings.TrimSpace(out) == loop
}
