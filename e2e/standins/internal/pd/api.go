package pd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"

	"tikv-cvm.test/standins/internal/wire"
)

// The HTTP API routes tikv-cvm and pd-ctl call, with PD's paths, status codes and JSON shapes
// (tikv/pd server/api at v8.5.7: router.go, member.go, health.go, store.go, scheduler.go,
// pkg/response/store.go, pkg/schedule/schedulers/evict_leader.go; apiv2/handlers/ready.go).
// As in PD, a follower serves the local-only paths itself and forwards the rest to the leader
// (pkg/utils/apiutil/serverapi/middleware.go).
const (
	redirectorHeader   = "PD-Redirector"
	errNotBootstrapped = "[PD:cluster:ErrNotBootstrapped]TiKV cluster not bootstrapped, please start TiKV first"
	errSchedNotFound   = "[PD:scheduler:ErrSchedulerNotFound]scheduler not found"
	evictLeaderName    = "evict-leader-scheduler"
)

var localOnlyPaths = []string{"/pd/api/v1/status", "/pd/api/v1/health", "/pd/api/v1/ping", "/pd/api/v1/version", "/pd/api/v2/ready", "/metrics", "/ping", "/health"}

// PD's schedulers by name (pkg/schedule/types/type.go StringToSchedulerType), the ones the
// stand-in accepts by name.
var knownSchedulers = map[string]bool{
	"balance-leader-scheduler": true, "balance-region-scheduler": true, "balance-hot-region-scheduler": true,
	"evict-slow-store-scheduler": true, "shuffle-leader-scheduler": true, "shuffle-region-scheduler": true,
	"label-scheduler": true, "random-merge-scheduler": true, "transfer-witness-leader-scheduler": true,
	evictLeaderName: true, "grant-leader-scheduler": true,
}

type api struct {
	n         *node
	version   string
	startTime time.Time
	client    *http.Client // to other members, with this member's certificate
	scheme    string
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(data)
}

func (a *api) handler() http.Handler {
	mux := http.NewServeMux()
	ping := func(http.ResponseWriter, *http.Request) {}
	mux.HandleFunc("GET /pd/api/v1/ping", ping)
	mux.HandleFunc("GET /ping", ping)
	mux.HandleFunc("GET /pd/api/v1/health", a.health)
	mux.HandleFunc("GET /health", a.health)
	mux.HandleFunc("GET /pd/api/v1/status", a.status)
	mux.HandleFunc("GET /pd/api/v1/version", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"version": a.version})
	})
	mux.HandleFunc("GET /pd/api/v2/ready", a.ready)
	mux.HandleFunc("GET /metrics", a.metrics)
	mux.HandleFunc("GET /pd/api/v1/members", a.members)
	mux.HandleFunc("GET /pd/api/v1/leader", a.leader)
	mux.HandleFunc("POST /pd/api/v1/leader/resign", a.resign)
	mux.HandleFunc("POST /pd/api/v1/leader/transfer/{next}", a.transfer)
	mux.HandleFunc("DELETE /pd/api/v1/members/name/{name}", a.deleteMember)
	mux.HandleFunc("POST /standin/v1/members", a.addMember)
	mux.HandleFunc("GET /pd/api/v1/cluster", a.bootstrapped(a.cluster))
	mux.HandleFunc("GET /pd/api/v1/config/replicate", a.replicationConfig)
	mux.HandleFunc("POST /pd/api/v1/config/replicate", a.setReplicationConfig)
	mux.HandleFunc("POST /pd/api/v1/store/{id}/label", a.bootstrapped(a.setStoreLabel))
	mux.HandleFunc("GET /pd/api/v1/stores", a.bootstrapped(a.stores))
	mux.HandleFunc("GET /pd/api/v1/store/{id}", a.bootstrapped(a.store))
	mux.HandleFunc("GET /pd/api/v1/regions/check/miss-peer", a.bootstrapped(a.missPeer))
	mux.HandleFunc("DELETE /pd/api/v1/store/{id}", a.bootstrapped(a.deleteStore))
	mux.HandleFunc("GET /pd/api/v1/schedulers", a.schedulers)
	mux.HandleFunc("POST /pd/api/v1/schedulers", a.createScheduler)
	mux.HandleFunc("DELETE /pd/api/v1/schedulers/{name}", a.deleteScheduler)
	mux.HandleFunc("GET /pd/api/v1/scheduler-config/evict-leader-scheduler/list", a.evictLeaderList)
	return a.redirector(mux)
}

// redirector forwards what only the leader serves.
func (a *api) redirector(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range localOnlyPaths {
			if strings.HasPrefix(r.URL.Path, p) {
				next.ServeHTTP(w, r)
				return
			}
		}
		s, leader := a.n.snapshot()
		if leader == a.n.self.Name {
			next.ServeHTTP(w, r)
			return
		}
		if r.Header.Get(redirectorHeader) != "" {
			http.Error(w, "[PD:apiutil:ErrRedirectToNotLeader]redirect to not leader", http.StatusInternalServerError)
			return
		}
		var target *url.URL
		for _, m := range s.Members {
			if m.Name == leader && len(m.ClientURLs) > 0 {
				target, _ = url.Parse(m.ClientURLs[0])
			}
		}
		if target == nil {
			http.Error(w, "[PD:apiutil:ErrRedirectNoLeader]redirect finds no leader", http.StatusServiceUnavailable)
			return
		}
		r.Header.Set(redirectorHeader, a.n.self.Name)
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.Transport = a.client.Transport
		proxy.ServeHTTP(w, r)
	})
}

func (a *api) bootstrapped(h func(http.ResponseWriter, *http.Request, *clusterState)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, _ := a.n.snapshot()
		if !s.Bootstrapped {
			writeJSON(w, http.StatusInternalServerError, errNotBootstrapped)
			return
		}
		h(w, r, s)
	}
}

type healthJSON struct {
	Name       string   `json:"name"`
	MemberID   uint64   `json:"member_id"`
	ClientUrls []string `json:"client_urls"`
	Health     bool     `json:"health"`
}

// health pings every member's client URL, as cluster.CheckHealth does.
func (a *api) health(w http.ResponseWriter, r *http.Request) {
	s, _ := a.n.snapshot()
	out := make([]healthJSON, len(s.Members))
	var wg sync.WaitGroup
	for i, m := range s.Members {
		out[i] = healthJSON{Name: m.Name, MemberID: m.MemberID, ClientUrls: m.ClientURLs}
		wg.Add(1)
		go func(i int, m member) {
			defer wg.Done()
			for _, u := range m.ClientURLs {
				ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u+"/pd/api/v1/ping", nil)
				res, err := a.client.Do(req)
				cancel()
				if err == nil {
					res.Body.Close()
					if res.StatusCode == http.StatusOK {
						out[i].Health = true
						return
					}
				}
			}
		}(i, m)
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, out)
}

func (a *api) status(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"build_ts": "", "version": a.version, "git_hash": wire.GitHash, "start_timestamp": a.startTime.Unix(),
	})
}

func (a *api) ready(w http.ResponseWriter, r *http.Request) {
	s, _ := a.n.snapshot()
	loaded := s.ClusterID != 0
	code := http.StatusOK
	if !loaded {
		code = http.StatusInternalServerError
	}
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		writeJSON(w, code, map[string]bool{"region_loaded": loaded})
		return
	}
	w.WriteHeader(code)
}

func (a *api) memberJSON(m member) map[string]any {
	if !m.Started {
		// etcd lists an unstarted member by its peer URLs only.
		return map[string]any{"member_id": m.MemberID, "peer_urls": m.PeerURLs}
	}
	return map[string]any{
		"name": m.Name, "member_id": m.MemberID, "peer_urls": m.PeerURLs, "client_urls": m.ClientURLs,
		"binary_version": a.version, "git_hash": wire.GitHash, "deploy_path": "/",
	}
}

func (a *api) members(w http.ResponseWriter, _ *http.Request) {
	s, leader := a.n.snapshot()
	out := map[string]any{"header": map[string]uint64{"cluster_id": s.ClusterID}}
	list := []map[string]any{}
	for _, m := range s.Members {
		list = append(list, a.memberJSON(m))
		if m.Name == leader {
			out["leader"] = a.memberJSON(m)
			out["etcd_leader"] = a.memberJSON(m)
		}
	}
	out["members"] = list
	writeJSON(w, http.StatusOK, out)
}

func (a *api) leader(w http.ResponseWriter, _ *http.Request) {
	s, leader := a.n.snapshot()
	for _, m := range s.Members {
		if m.Name == leader {
			writeJSON(w, http.StatusOK, a.memberJSON(m))
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (a *api) resign(w http.ResponseWriter, r *http.Request) {
	if err := a.n.resign(r.Context(), ""); err != nil {
		writeJSON(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, "The resign command is submitted.")
}

func (a *api) transfer(w http.ResponseWriter, r *http.Request) {
	if err := a.n.resign(r.Context(), r.PathValue("next")); err != nil {
		writeJSON(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, "The transfer command is submitted.")
}

// deleteMember is DeleteMemberByName: etcd's MemberRemove of the named member.
func (a *api) deleteMember(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	found := false
	err := a.n.update(func(s *clusterState) error {
		kept := s.Members[:0]
		for _, m := range s.Members {
			if m.Name == name && m.Started {
				found = true
			} else {
				kept = append(kept, m)
			}
		}
		s.Members = kept
		if !found {
			return errNoChange
		}
		return nil
	})
	switch {
	case !found:
		writeJSON(w, http.StatusNotFound, fmt.Sprintf("not found, pd: %s", name))
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, err.Error())
	default:
		log.Printf("[INFO] member %s removed", name)
		writeJSON(w, http.StatusOK, fmt.Sprintf("removed, pd: %s", name))
	}
}

func (a *api) cluster(w http.ResponseWriter, _ *http.Request, s *clusterState) {
	writeJSON(w, http.StatusOK, map[string]uint64{"id": s.ClusterID, "max_peer_count": s.MaxReplicas})
}

// replicationJSON is sc.ReplicationConfig as PD marshals it: location-labels is a
// typeutil.StringSlice (one comma-separated string), the booleans are ",string".
func replicationJSON(s *clusterState) map[string]any {
	return map[string]any{
		"max-replicas": s.MaxReplicas, "location-labels": strings.Join(s.LocationLabels, ","), "strictly-match-label": "false",
		"enable-placement-rules": "true", "enable-placement-rules-cache": "false", "isolation-level": s.IsolationLevel,
	}
}

func (a *api) replicationConfig(w http.ResponseWriter, _ *http.Request) {
	s, _ := a.n.snapshot()
	writeJSON(w, http.StatusOK, replicationJSON(s))
}

// setReplicationConfig is server/api/config.go SetReplicationConfig: the body is decoded onto the
// current config, checked by ReplicationConfig.Validate, and stored by server/server.go
// SetReplicationConfig, which with placement rules on needs the raft cluster when anything
// changes. The stand-in keeps only the default rule, so the "not only default rule exists"
// refusal cannot arise; max-replicas stays what it is (tikv-cvm never changes it).
func (a *api) setReplicationConfig(w http.ResponseWriter, r *http.Request) {
	var body struct {
		LocationLabels *string `json:"location-labels"`
		IsolationLevel *string `json:"isolation-level"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, err.Error())
		return
	}
	var status int
	var message string
	err := a.n.update(func(s *clusterState) error {
		labels, level := s.LocationLabels, s.IsolationLevel
		if body.LocationLabels != nil {
			labels = []string{}
			if *body.LocationLabels != "" {
				labels = strings.Split(*body.LocationLabels, ",")
			}
		}
		if body.IsolationLevel != nil {
			level = *body.IsolationLevel
		}
		found := false
		for _, l := range labels {
			if err := validateLabels([]*metapb.StoreLabel{{Key: l}}); err != nil {
				status, message = http.StatusInternalServerError, err.Error()
				return errNoChange
			}
			found = found || l == level
		}
		if level != "" && !found {
			status, message = http.StatusInternalServerError, "isolation-level must be one of location-labels or empty"
			return errNoChange
		}
		if strings.Join(labels, ",") == strings.Join(s.LocationLabels, ",") && level == s.IsolationLevel {
			return errNoChange
		}
		if !s.Bootstrapped {
			status, message = http.StatusInternalServerError, errNotBootstrapped
			return errNoChange
		}
		s.LocationLabels, s.IsolationLevel = labels, level
		log.Printf("[INFO] replication config updated: location-labels %q, isolation-level %q", strings.Join(labels, ","), level)
		return nil
	})
	if status != 0 {
		writeJSON(w, status, message)
		return
	}
	if err != nil && err != errNoChange {
		writeJSON(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, "The config is updated.")
}

// setStoreLabel is server/api/store.go SetStoreLabel: labels are validated
// (pkg/schedule/config/util.go ValidateLabels, 400), then RaftCluster.UpdateStoreLabels merges
// them into the store's unless ?force (server/cluster/cluster.go putStoreImpl).
func (a *api) setStoreLabel(w http.ResponseWriter, r *http.Request, s *clusterState) {
	id, ok := a.storeID(w, r, s)
	if !ok {
		return
	}
	var input map[string]string
	if err := json.NewDecoder(r.Body).Decode(&input); err != nil {
		writeJSON(w, http.StatusBadRequest, err.Error())
		return
	}
	labels := make([]*metapb.StoreLabel, 0, len(input))
	for k, v := range input {
		labels = append(labels, &metapb.StoreLabel{Key: k, Value: v})
	}
	sort.Slice(labels, func(i, j int) bool { return labels[i].Key < labels[j].Key })
	if err := validateLabels(labels); err != nil {
		writeJSON(w, http.StatusBadRequest, err.Error())
		return
	}
	_, force := r.URL.Query()["force"]
	err := a.n.update(func(s *clusterState) error {
		meta := s.Stores[id].Meta
		if force {
			meta.Labels = mergeLabels(nil, labels)
		} else {
			meta.Labels = mergeLabels(meta.GetLabels(), labels)
		}
		log.Printf("[INFO] store %d labels: %v", id, meta.Labels)
		return nil
	})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, "The store's label is updated.")
}

// metaStore is response.MetaStore: the store's metapb fields plus state_name.
type metaStore struct {
	*metapb.Store
	StateName string `json:"state_name"`
}

type storeStatus struct {
	Capacity        string     `json:"capacity"`
	Available       string     `json:"available"`
	UsedSize        string     `json:"used_size"`
	LeaderCount     int        `json:"leader_count"`
	LeaderWeight    float64    `json:"leader_weight"`
	LeaderScore     float64    `json:"leader_score"`
	LeaderSize      int64      `json:"leader_size"`
	RegionCount     int        `json:"region_count"`
	RegionWeight    float64    `json:"region_weight"`
	RegionScore     float64    `json:"region_score"`
	RegionSize      int64      `json:"region_size"`
	StartTS         *time.Time `json:"start_ts,omitempty"`
	LastHeartbeatTS *time.Time `json:"last_heartbeat_ts,omitempty"`
	Uptime          string     `json:"uptime,omitempty"`
}

type storeInfo struct {
	Store  *metaStore   `json:"store"`
	Status *storeStatus `json:"status"`
}

// byteSize formats like PD's typeutil.ByteSize (go-units BytesSize: "%.4g" and binary units).
func byteSize(b uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	v := float64(b)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.4g%s", v, units[i])
}

func buildStoreInfo(s *clusterState, id uint64, now time.Time) storeInfo {
	rec := s.Stores[id]
	leaders, regions := counts(s)
	meta := *rec.Meta
	st := &storeStatus{
		Capacity: byteSize(rec.Capacity), Available: byteSize(rec.Available), UsedSize: byteSize(rec.UsedSize),
		LeaderCount: leaders[id], LeaderWeight: 1, LeaderScore: float64(leaders[id]), LeaderSize: int64(leaders[id]),
		RegionCount: regions[id], RegionWeight: 1, RegionScore: float64(regions[id]), RegionSize: int64(regions[id]),
	}
	if rec.StartTime > 0 {
		start := time.Unix(rec.StartTime, 0)
		st.StartTS = &start
		st.Uptime = now.Sub(start).Round(time.Second).String()
	}
	if rec.LastHeartbeat > 0 {
		hb := time.Unix(0, rec.LastHeartbeat)
		st.LastHeartbeatTS = &hb
	}
	return storeInfo{Store: &metaStore{Store: &meta, StateName: rec.stateName(now)}, Status: st}
}

func (a *api) stores(w http.ResponseWriter, r *http.Request, s *clusterState) {
	// newStoreStateFilter: without ?state, every store but tombstones.
	wanted := r.URL.Query()["state"]
	now := time.Now()
	list := []storeInfo{}
	for _, id := range s.storeIDs() {
		state := s.Stores[id].Meta.GetState()
		if len(wanted) == 0 && state == metapb.StoreState_Tombstone {
			continue
		}
		if len(wanted) > 0 && !containsString(wanted, strconv.Itoa(int(state))) {
			continue
		}
		list = append(list, buildStoreInfo(s, id, now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(list), "stores": list})
}

// missPeerRegions lists the regions with fewer peers than max-replicas, as PD's region statistics
// classify them MissPeer (tikv/pd v8.5.7 pkg/statistics/region_collection.go, Observe: fewer
// peers than the rules' count, here max-replicas).
func missPeerRegions(s *clusterState) []*region {
	out := []*region{}
	for _, r := range s.Regions {
		if uint64(len(r.Stores)) < s.MaxReplicas {
			out = append(out, r)
		}
	}
	return out
}

// missPeer is GET /pd/api/v1/regions/check/miss-peer (server/api/region.go GetMissPeerRegions):
// response.RegionsInfo, {"count", "regions"}, each region with its id and peers.
func (a *api) missPeer(w http.ResponseWriter, _ *http.Request, s *clusterState) {
	regions := []map[string]any{}
	for _, r := range missPeerRegions(s) {
		peers := []map[string]uint64{}
		for _, sid := range r.Stores {
			peers = append(peers, map[string]uint64{"store_id": sid})
		}
		regions = append(regions, map[string]any{"id": r.ID, "peers": peers})
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(regions), "regions": regions})
}

func (a *api) storeID(w http.ResponseWriter, r *http.Request, s *clusterState) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, err.Error())
		return 0, false
	}
	if _, ok := s.Stores[id]; !ok {
		writeJSON(w, http.StatusNotFound, fmt.Sprintf("[PD:core:ErrStoreNotFound]store id %d not found", id))
		return 0, false
	}
	return id, true
}

func (a *api) store(w http.ResponseWriter, r *http.Request, s *clusterState) {
	if id, ok := a.storeID(w, r, s); ok {
		writeJSON(w, http.StatusOK, buildStoreInfo(s, id, time.Now()))
	}
}

// deleteStore starts taking a store offline (pd-ctl store delete): Up -> Offline -> Tombstone.
func (a *api) deleteStore(w http.ResponseWriter, r *http.Request, s *clusterState) {
	id, ok := a.storeID(w, r, s)
	if !ok {
		return
	}
	err := a.n.update(func(s *clusterState) error {
		meta := s.Stores[id].Meta
		if meta.GetState() == metapb.StoreState_Up {
			meta.State = metapb.StoreState_Offline
			meta.NodeState = metapb.NodeState_Removing
		}
		return nil
	})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, "The store is set as Offline.")
}

func schedulerNames(s *clusterState) []string {
	names := append([]string{}, s.OtherSchedulers...)
	if len(s.EvictLeader) > 0 {
		names = append(names, evictLeaderName)
	}
	sort.Strings(names)
	return names
}

func (a *api) schedulers(w http.ResponseWriter, _ *http.Request) {
	s, _ := a.n.snapshot()
	writeJSON(w, http.StatusOK, schedulerNames(s))
}

func (a *api) createScheduler(w http.ResponseWriter, r *http.Request) {
	var input map[string]any
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &input); err != nil {
		writeJSON(w, http.StatusBadRequest, err.Error())
		return
	}
	name, ok := input["name"].(string)
	if !ok {
		writeJSON(w, http.StatusBadRequest, "missing scheduler name")
		return
	}
	if !knownSchedulers[name] {
		writeJSON(w, http.StatusBadRequest, "unknown scheduler")
		return
	}
	if name != evictLeaderName {
		err := a.n.update(func(s *clusterState) error {
			if !containsString(s.OtherSchedulers, name) {
				s.OtherSchedulers = append(s.OtherSchedulers, name)
			}
			return nil
		})
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, "The scheduler is created.")
		return
	}
	storeFloat, ok := input["store_id"].(float64)
	if !ok {
		writeJSON(w, http.StatusBadRequest, "missing store id")
		return
	}
	id := uint64(storeFloat)
	existed := false
	err := a.n.update(func(s *clusterState) error {
		if _, ok := s.Stores[id]; !ok {
			return fmt.Errorf("[PD:core:ErrStoreNotFound]store id %d not found", id)
		}
		existed = len(s.EvictLeader) > 0
		if !s.evicted(id) {
			s.EvictLeader = append(s.EvictLeader, id)
		}
		return nil
	})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, err.Error())
		return
	}
	log.Printf("[INFO] evict-leader-scheduler: store %d added", id)
	if existed {
		writeJSON(w, http.StatusOK, "The scheduler has been applied to the store.")
	} else {
		writeJSON(w, http.StatusOK, "The scheduler is created.")
	}
}

func (a *api) deleteScheduler(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if strings.HasPrefix(name, evictLeaderName+"-") {
		// redirectSchedulerDelete: the answer carries the config handler's status and a null body.
		id, err := strconv.ParseUint(strings.TrimPrefix(name, evictLeaderName+"-"), 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, nil)
			return
		}
		found := false
		err = a.n.update(func(s *clusterState) error {
			kept := s.EvictLeader[:0]
			for _, e := range s.EvictLeader {
				if e == id {
					found = true
				} else {
					kept = append(kept, e)
				}
			}
			s.EvictLeader = kept
			if !found {
				return errNoChange
			}
			return nil
		})
		switch {
		case !found:
			writeJSON(w, http.StatusNotFound, nil)
		case err != nil:
			writeJSON(w, http.StatusInternalServerError, nil)
		default:
			log.Printf("[INFO] evict-leader-scheduler: store %d removed", id)
			writeJSON(w, http.StatusOK, nil)
		}
		return
	}
	found := false
	err := a.n.update(func(s *clusterState) error {
		if name == evictLeaderName {
			found = len(s.EvictLeader) > 0
			s.EvictLeader = nil
		} else {
			kept := s.OtherSchedulers[:0]
			for _, n := range s.OtherSchedulers {
				if n == name {
					found = true
				} else {
					kept = append(kept, n)
				}
			}
			s.OtherSchedulers = kept
		}
		if !found {
			return errNoChange
		}
		return nil
	})
	switch {
	case !found:
		writeJSON(w, http.StatusNotFound, errSchedNotFound)
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, "The scheduler is removed.")
	}
}

func (a *api) evictLeaderList(w http.ResponseWriter, _ *http.Request) {
	s, _ := a.n.snapshot()
	if len(s.EvictLeader) == 0 {
		http.NotFound(w, nil)
		return
	}
	ranges := map[string][]map[string]string{}
	for _, id := range s.EvictLeader {
		ranges[strconv.FormatUint(id, 10)] = []map[string]string{{"start-key": "", "end-key": ""}}
	}
	writeJSON(w, http.StatusOK, map[string]any{"store-id-ranges": ranges, "batch": evictBatchSize})
}

// metrics serves a few of PD's series in Prometheus' text format.
func (a *api) metrics(w http.ResponseWriter, _ *http.Request) {
	s, leader := a.n.snapshot()
	now := time.Now()
	byState := map[string]int{}
	leaders, regions := counts(s)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	var b strings.Builder
	isLeader := 0
	if leader == a.n.self.Name {
		isLeader = 1
	}
	fmt.Fprintf(&b, "# TYPE service_member_role gauge\nservice_member_role{service=\"PD\"} %d\n", isLeader)
	fmt.Fprintf(&b, "# TYPE pd_scheduler_store_status gauge\n")
	for _, id := range s.storeIDs() {
		rec := s.Stores[id]
		byState[rec.stateName(now)]++
		addr := rec.Meta.GetAddress()
		fmt.Fprintf(&b, "pd_scheduler_store_status{address=%q,store=\"%d\",type=\"leader_count\"} %d\n", addr, id, leaders[id])
		fmt.Fprintf(&b, "pd_scheduler_store_status{address=%q,store=\"%d\",type=\"region_count\"} %d\n", addr, id, regions[id])
		fmt.Fprintf(&b, "pd_scheduler_store_status{address=%q,store=\"%d\",type=\"store_capacity\"} %d\n", addr, id, rec.Capacity)
	}
	fmt.Fprintf(&b, "# TYPE pd_cluster_status gauge\n")
	for _, st := range []string{"Up", "Disconnected", "Down", "Offline", "Tombstone"} {
		fmt.Fprintf(&b, "pd_cluster_status{type=\"store_%s_count\"} %d\n", strings.ToLower(st), byState[st])
	}
	_, _ = io.WriteString(w, b.String())
}

func containsString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
