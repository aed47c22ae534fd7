// Package cloud is the Tencent Cloud stand-in's model: what exists (State), the ids the cloud hands
// out, and the rules the provider and the cloud API enforce (rules.go). It knows nothing of gRPC
// and touches no host: the provider translates requests into these calls, and the host package
// makes a CVM out of what the model records. A test fixture, never offered to users.
package cloud

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"syscall"
	"time"
)

// Kind is a resource type, the same on both routes (the provider maps tokens to kinds).
type Kind string

const (
	VPC                       Kind = "vpc"
	Subnet                    Kind = "subnet"
	SecurityGroup             Kind = "securityGroup"
	SecurityGroupRuleSet      Kind = "securityGroupRuleSet"
	Instance                  Kind = "instance"
	EIP                       Kind = "eip"
	EIPAssociation            Kind = "eipAssociation"
	KeyPair                   Kind = "keyPair"
	CBSStorage                Kind = "cbsStorage"
	CBSStorageAttachment      Kind = "cbsStorageAttachment"
	CBSSnapshotPolicy         Kind = "cbsSnapshotPolicy"
	CBSSnapshotPolicyAttached Kind = "cbsSnapshotPolicyAttachment"
	PlacementGroup            Kind = "placementGroup"
)

// Props are plain JSON-shaped values (string, float64, bool, []any, map[string]any, nil), with
// Unknown{} for a value not known yet (preview).
type Props = map[string]any

// Unknown stands for a value the engine does not know yet.
type Unknown struct{}

// IsUnknown reports whether v is, or contains, an unknown value.
func IsUnknown(v any) bool {
	switch t := v.(type) {
	case Unknown:
		return true
	case []any:
		for _, e := range t {
			if IsUnknown(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range t {
			if IsUnknown(e) {
				return true
			}
		}
	}
	return false
}

// Resource is one thing the cloud holds.
type Resource struct {
	Kind Kind   `json:"kind"`
	ID   string `json:"id"`
	// Inputs as last applied (camelCase Pulumi names).
	Inputs Props `json:"inputs"`
	// Computed are the attributes the cloud fills in (publicIp, instanceStatus, ...).
	Computed Props     `json:"computed"`
	Created  time.Time `json:"created"`

	// Instance: the host that stands for the CVM.
	Host *HostRecord `json:"host,omitempty"`
	// CBS storage attachment: the loop device backing the disk while it is attached.
	Loop string `json:"loop,omitempty"`
}

// HostRecord is where a CVM lives on this machine.
type HostRecord struct {
	Index int    `json:"index"`
	Netns string `json:"netns"`
	// Veth is the bridge-side end of the host's link.
	Veth string `json:"veth"`
	// Generation grows with every (re)install; a boot process of an older generation stops.
	Generation int `json:"generation"`
}

// Outputs are what the provider returns: every input, then the computed attributes.
func (r *Resource) Outputs() Props {
	out := Props{}
	for k, v := range r.Inputs {
		out[k] = v
	}
	for k, v := range r.Computed {
		out[k] = v
	}
	return out
}

// Str reads a string input ("" when absent or not a string).
func (r *Resource) Str(key string) string { return str(r.Inputs, key) }

func str(p Props, key string) string {
	s, _ := p[key].(string)
	return s
}

func num(p Props, key string) (float64, bool) {
	f, ok := p[key].(float64)
	return f, ok
}

func boolean(p Props, key string) bool {
	b, _ := p[key].(bool)
	return b
}

// State is the whole cloud, kept in cloud.json.
type State struct {
	Resources map[string]*Resource `json:"resources"`
	// NextHost numbers the hosts' network namespaces.
	NextHost int `json:"nextHost"`
}

// Get returns a resource of the kind, or nil.
func (s *State) Get(kind Kind, id string) *Resource {
	r := s.Resources[id]
	if r == nil || r.Kind != kind {
		return nil
	}
	return r
}

// All returns the resources of a kind, by id.
func (s *State) All(kind Kind) []*Resource {
	var out []*Resource
	for _, r := range s.Resources {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// NewID makes an id shaped like the cloud's: prefix, dash, 8 lowercase letters and digits.
func (s *State) NewID(prefix string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		for i := range b {
			b[i] = alphabet[int(b[i])%len(alphabet)]
		}
		id := prefix + "-" + string(b)
		if _, taken := s.Resources[id]; !taken {
			return id
		}
	}
}

// SDKError is an error as the Tencent Cloud SDK prints it (tencentcloud-sdk-go
// common/errors/errors.go, TencentCloudSDKError.Error).
func SDKError(code, message string) error {
	return fmt.Errorf("[TencentCloudSDKError] Code=%s, Message=%s, RequestId=%s", code, message, requestID())
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Store is cloud.json under a directory, shared by every process of the stand-in (the plugin of
// each `pulumi` command, and the boot processes) under an exclusive flock.
type Store struct {
	Dir string
}

// ErrNoDir is returned when TIKV_CVM_STANDIN_CLOUD_DIR is not set.
var ErrNoDir = errors.New("TIKV_CVM_STANDIN_CLOUD_DIR is not set: the Tencent Cloud stand-in keeps its cloud (cloud.json, hosts, disks) there")

// OpenStore opens the cloud in TIKV_CVM_STANDIN_CLOUD_DIR.
func OpenStore() (*Store, error) {
	dir := os.Getenv("TIKV_CVM_STANDIN_CLOUD_DIR")
	if dir == "" {
		return nil, ErrNoDir
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, err
	}
	return &Store{Dir: abs}, nil
}

// Update runs fn on the state under the lock and saves it when fn returns nil.
func (s *Store) Update(fn func(*State) error) error {
	return s.locked(true, fn)
}

// View runs fn on the state under the lock without saving.
func (s *Store) View(fn func(*State) error) error {
	return s.locked(false, fn)
}

func (s *Store) locked(save bool, fn func(*State) error) error {
	lock, err := os.OpenFile(filepath.Join(s.Dir, "cloud.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck

	path := filepath.Join(s.Dir, "cloud.json")
	st := &State{Resources: map[string]*Resource{}}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, st); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if st.Resources == nil {
			st.Resources = map[string]*Resource{}
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	before, _ := json.Marshal(st)
	if err := fn(st); err != nil {
		return err
	}
	if !save {
		return nil
	}
	after, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return err
	}
	if reflect.DeepEqual(before, after) {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, after, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
