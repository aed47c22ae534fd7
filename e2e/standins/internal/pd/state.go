package pd

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
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
