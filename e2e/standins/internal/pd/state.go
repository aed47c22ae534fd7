package pd

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
)

// storeDisconnectAfter and maxStoreDownTime are PD's: a store is "Disconnected" after 20 s
// without a heartbeat (pkg/core/store.go storeDisconnectDuration) and "Down" after
// schedule.max-store-down-time, 30 minutes by default.
const (
	storeDisconnectAfter = 20 * time.Second
	maxStoreDownTime     = 30 * time.Minute
)

// member is one PD member as the cluster knows it. Like etcd, the cluster knows a member of
// --initial-cluster before it has started: until then PD lists it without a name or client URLs
// (the program's PD start script relies on that).
type member struct {
	Name       string   `json:"name"`
	MemberID   uint64   `json:"member_id"`
	PeerURLs   []string `json:"peer_urls"`
	ClientURLs []string `json:"client_urls"`
	Started    bool     `json:"started"`
}

// storeRecord is a registered store: its metadata as TiKV put it, and its last heartbeat.
type storeRecord struct {
	Meta          *metapb.Store `json:"meta"`
	Capacity      uint64        `json:"capacity"`
	Available     uint64        `json:"available"`
	UsedSize      uint64        `json:"used_size"`
	StartTime     int64         `json:"start_time"`
	LastHeartbeat int64         `json:"last_heartbeat"` // unix nanoseconds
}

// region is simulated (see sim.go): which stores hold a peer, and which of them leads.
type region struct {
	ID     uint64   `json:"id"`
	Stores []uint64 `json:"stores"`
	Leader uint64   `json:"leader"`
}

// clusterState is what the leader replicates to every member and each member keeps in its
// data dir: losing every copy makes a new cluster, as wiping PD's data does.
type clusterState struct {
	ClusterID    uint64                  `json:"cluster_id"`
	Revision     uint64                  `json:"revision"`
	Members      []member                `json:"members"`
	Bootstrapped bool                    `json:"bootstrapped"`
	MaxReplicas  uint64                  `json:"max_replicas"`
	NextID       uint64                  `json:"next_id"`
	Stores       map[uint64]*storeRecord `json:"stores"`
	Regions      []*region               `json:"regions"`
	// EvictLeader lists the stores of the evict-leader-scheduler; the scheduler exists while
	// it is not empty (pkg/schedule/schedulers/evict_leader.go).
	EvictLeader []uint64 `json:"evict_leader"`
	// OtherSchedulers are PD's default schedulers plus any added by name.
	OtherSchedulers []string `json:"other_schedulers"`
	// LocationLabels and IsolationLevel are the rest of [replication] PD persists: taken from the
	// config file when the cluster is created, then changed only through the config API
	// (server/config/persist_options.go: the persisted config wins over the file on restart).
	LocationLabels []string `json:"location_labels"`
	IsolationLevel string   `json:"isolation_level"`
}

// defaultSchedulers are the four PD v8.5 enables (pkg/schedule/config/config.go DefaultSchedulers).
var defaultSchedulers = []string{"balance-hot-region-scheduler", "balance-leader-scheduler", "balance-region-scheduler", "evict-slow-store-scheduler"}

func memberID(name, peerURL string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s", name, peerURL)
	return h.Sum64()
}

func (s *clusterState) clone() *clusterState {
	data, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	var c clusterState
	if err := json.Unmarshal(data, &c); err != nil {
		panic(err)
	}
	return &c
}

func (s *clusterState) allocID() uint64 {
	s.NextID++
	return s.NextID
}

func (s *clusterState) storeIDs() []uint64 {
	ids := make([]uint64, 0, len(s.Stores))
	for id := range s.Stores {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func (s *clusterState) evicted(id uint64) bool {
	for _, e := range s.EvictLeader {
		if e == id {
			return true
		}
	}
	return false
}

// stateName is the store's state as PD's API names it (pkg/response/store.go BuildStoreInfo).
func (r *storeRecord) stateName(now time.Time) string {
	if r.Meta.GetState() != metapb.StoreState_Up {
		return r.Meta.GetState().String()
	}
	since := now.Sub(time.Unix(0, r.LastHeartbeat))
	switch {
	case since > maxStoreDownTime:
		return "Down"
	case since > storeDisconnectAfter:
		return "Disconnected"
	default:
		return "Up"
	}
}

// persist writes the file atomically: a member killed mid-write keeps its previous state.
func persist(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func load(path string, v any) (bool, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(data, v)
}

// mergeLabels is pkg/core/store.go MergeLabels (tikv/pd v8.5.7): each new label replaces the value
// of the key it names (keys compared case-insensitively) or is appended; empty values are dropped.
func mergeLabels(origin, labels []*metapb.StoreLabel) []*metapb.StoreLabel {
	results := make([]*metapb.StoreLabel, 0, len(origin)+len(labels))
	for _, l := range origin {
		results = append(results, &metapb.StoreLabel{Key: l.GetKey(), Value: l.GetValue()})
	}
	for _, nl := range labels {
		found := false
		for _, l := range results {
			if strings.EqualFold(l.Key, nl.GetKey()) {
				l.Value = nl.GetValue()
				found = true
				break
			}
		}
		if !found {
			results = append(results, &metapb.StoreLabel{Key: nl.GetKey(), Value: nl.GetValue()})
		}
	}
	kept := results[:0]
	for _, l := range results {
		if l.Value != "" {
			kept = append(kept, l)
		}
	}
	return kept
}

// Label formats of pkg/schedule/config/util.go (tikv/pd v8.5.7).
var (
	labelKeyFormat   = regexp.MustCompile(`^[$]?[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$`)
	labelValueFormat = regexp.MustCompile(`^[-A-Za-z0-9_./]*$`)
)

// validateLabels is pkg/schedule/config/util.go ValidateLabels, with its message.
func validateLabels(labels []*metapb.StoreLabel) error {
	for _, l := range labels {
		if !labelKeyFormat.MatchString(l.GetKey()) {
			return fmt.Errorf("%s does not match format %q", l.GetKey(), labelKeyFormat.String())
		}
		if !labelValueFormat.MatchString(l.GetValue()) {
			return fmt.Errorf("%s does not match format %q", l.GetValue(), labelValueFormat.String())
		}
	}
	return nil
}

// putStore records what a store sent in PutStore (server/cluster/cluster.go putStoreImpl):
// PD keeps the state it decided (Offline, Tombstone), and merges the labels the store reports
// into those it holds (force=false), so labels set through the API outlive a restart.
func (s *clusterState) putStore(store *metapb.Store, now time.Time) {
	rec, ok := s.Stores[store.GetId()]
	if !ok {
		rec = &storeRecord{}
		s.Stores[store.GetId()] = rec
	}
	meta := *store
	if rec.Meta != nil {
		meta.State = rec.Meta.State
		meta.Labels = mergeLabels(rec.Meta.GetLabels(), store.GetLabels())
	}
	meta.NodeState = metapb.NodeState_Serving
	if meta.State != metapb.StoreState_Up {
		meta.NodeState = metapb.NodeState_Removing
	}
	meta.LastHeartbeat = now.UnixNano()
	rec.Meta = &meta
	rec.LastHeartbeat = meta.LastHeartbeat
}
