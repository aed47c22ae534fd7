package pd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Membership and replication. Real PD embeds etcd (Raft); the stand-in keeps the behaviour the
// program relies on and nothing more:
//   - a member serves clients only once a majority of the cluster is up and a leader exists
//     (etcd serves clients after ReadyNotify);
//   - one leader at a time, holding the cluster state, which it copies to every member on
//     every change and every tick; every member persists it in its data dir, so a replaced
//     member comes back with the state of its volume and catches up from the leader;
//   - when the leader goes away or resigns (POST /pd/api/v1/leader/resign), the live members
//     pick the member with the newest state, members in --initial-cluster order breaking ties;
//   - a member whose data holds another cluster's ID refuses that cluster's leader, as etcd
//     refuses a member of another cluster.
const (
	tickInterval    = 300 * time.Millisecond
	electionTimeout = 2 * time.Second
	resignHold      = 5 * time.Second
	peerTimeout     = time.Second
)

type peerStatus struct {
	Name       string   `json:"name"`
	MemberID   uint64   `json:"member_id"`
	PeerURLs   []string `json:"peer_urls"`
	ClientURLs []string `json:"client_urls"`
	Term       uint64   `json:"term"`
	Leader     string   `json:"leader"`
	Revision   uint64   `json:"revision"`
	ClusterID  uint64   `json:"cluster_id"`
	Resigning  bool     `json:"resigning"`
}

type appendMsg struct {
	Term   uint64        `json:"term"`
	Leader string        `json:"leader"`
	State  *clusterState `json:"state"`
}

// localState is what only this member keeps: the term it has seen.
type localState struct {
	Term uint64 `json:"term"`
}

type node struct {
	self       member
	order      []string // member names in --initial-cluster order
	dir        string
	peerClient *http.Client

	mu          sync.Mutex
	term        uint64
	leader      string
	leaderSeen  time.Time
	resignUntil time.Time
	state       *clusterState
	ready       chan struct{}
	readyOnce   sync.Once
	kick        chan struct{}
	// joining: started by --join with no data; never a candidate before the leader's state
	// (with the cluster ID) has reached it.
	joining bool
}

// The state lives under <data-dir>/member, where etcd keeps a member's data: PD (server/join
// join.go isDataExist) and the program's start script take a non-empty member dir to mean "this
// member has data: restart as itself".
func (n *node) statePath() string { return filepath.Join(n.dir, "member", "standin-pd", "cluster.json") }
func (n *node) localPath() string { return filepath.Join(n.dir, "member", "standin-pd", "member.json") }

func (n *node) quorum() int { return (len(n.state.Members) / 2) + 1 }

func (n *node) saveLocked() {
	if err := persist(n.statePath(), n.state); err != nil {
		log.Printf("[ERROR] persist cluster state: %v", err)
	}
	if err := persist(n.localPath(), localState{Term: n.term}); err != nil {
		log.Printf("[ERROR] persist member state: %v", err)
	}
}

func (n *node) status() peerStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	return peerStatus{
		Name: n.self.Name, MemberID: n.self.MemberID, PeerURLs: n.self.PeerURLs, ClientURLs: n.self.ClientURLs,
		Term: n.term, Leader: n.leader, Revision: n.state.Revision, ClusterID: n.state.ClusterID,
		Resigning: time.Now().Before(n.resignUntil),
	}
}

// isLeader reports whether this member leads; snapshot returns a copy of the state.
func (n *node) isLeader() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.leader == n.self.Name
}

func (n *node) snapshot() (*clusterState, string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.state.clone(), n.leader
}

var errNotLeader = errors.New("not leader")

// update applies a change on the leader, persists it and replicates it at once.
func (n *node) update(change func(s *clusterState) error) error {
	n.mu.Lock()
	if n.leader != n.self.Name {
		n.mu.Unlock()
		return errNotLeader
	}
	next := n.state.clone()
	if err := change(next); err != nil {
		n.mu.Unlock()
		return err
	}
	next.Revision = n.state.Revision + 1
	n.state = next
	n.saveLocked()
	n.mu.Unlock()
	n.poke()
	return nil
}

func (n *node) poke() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

func (n *node) run(ctx context.Context) {
	t := time.NewTicker(tickInterval)
	defer t.Stop()
	for {
		n.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.kick:
		}
	}
}

func (n *node) tick(ctx context.Context) {
	statuses := n.pollPeers(ctx)
	n.mu.Lock()
	now := time.Now()
	// Learn the members' client URLs as they answer (the leader records them).
	if n.leader == n.self.Name {
		changed := false
		for i, m := range n.state.Members {
			if st, ok := statuses[m.Name]; ok && (!m.Started || !equalStrings(st.ClientURLs, m.ClientURLs)) {
				n.state.Members[i].ClientURLs = st.ClientURLs
				n.state.Members[i].MemberID = st.MemberID
				n.state.Members[i].Started = true
				changed = true
			}
		}
		if changed {
			n.state.Revision++
			n.saveLocked()
		}
	}
	// A leader with a newer term elsewhere ends ours.
	for _, st := range statuses {
		if st.Term > n.term && st.Leader == st.Name {
			log.Printf("[INFO] member %s leads term %d; following it", st.Name, st.Term)
			n.term, n.leader, n.leaderSeen = st.Term, st.Name, now
			n.saveLocked()
		}
	}
	if n.leader == n.self.Name {
		msg := appendMsg{Term: n.term, Leader: n.self.Name, State: n.state.clone()}
		n.mu.Unlock()
		acks := n.replicate(ctx, msg)
		n.mu.Lock()
		if acks+1 >= n.quorum() {
			n.leaderSeen = now
		} else if now.Sub(n.leaderSeen) > electionTimeout {
			log.Printf("[WARN] only %d of %d members answer: stepping down", acks+1, len(n.state.Members))
			n.leader = ""
		}
		n.mu.Unlock()
		return
	}
	if n.leader != "" && now.Sub(n.leaderSeen) < electionTimeout {
		n.mu.Unlock()
		return
	}
	// No leader: the live members choose one.
	type candidate struct {
		name     string
		revision uint64
		rank     int
	}
	rank := map[string]int{}
	for i, name := range n.order {
		rank[name] = i
	}
	alive := []candidate{}
	maxTerm := n.term
	if !now.Before(n.resignUntil) && !(n.joining && n.state.ClusterID == 0) {
		alive = append(alive, candidate{n.self.Name, n.state.Revision, rank[n.self.Name]})
	}
	for name, st := range statuses {
		if st.Term > maxTerm {
			maxTerm = st.Term
		}
		if st.ClusterID != 0 && n.state.ClusterID != 0 && st.ClusterID != n.state.ClusterID {
			continue
		}
		if !st.Resigning {
			alive = append(alive, candidate{name, st.Revision, rank[name]})
		}
	}
	voters := len(statuses) + 1
	if voters < n.quorum() || len(alive) == 0 {
		n.mu.Unlock()
		return
	}
	sort.Slice(alive, func(i, j int) bool {
		if alive[i].revision != alive[j].revision {
			return alive[i].revision > alive[j].revision
		}
		return alive[i].rank < alive[j].rank
	})
	if alive[0].name != n.self.Name {
		n.mu.Unlock()
		return
	}
	n.term = maxTerm + 1
	n.leader, n.leaderSeen = n.self.Name, now
	n.markSelfStarted()
	if n.state.ClusterID == 0 {
		n.state.ClusterID = newClusterID()
		n.state.Revision++
		log.Printf("[INFO] init cluster id %d", n.state.ClusterID)
	}
	log.Printf("[INFO] %s becomes the leader, term %d", n.self.Name, n.term)
	n.saveLocked()
	n.mu.Unlock()
	n.poke()
}

func newClusterID() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	// PD's cluster IDs are a timestamp in the high bits and random low bits (pkg/utils/etcdutil).
	return uint64(time.Now().Unix())<<32 | uint64(binary.BigEndian.Uint32(b[:4]))
}

// markReady opens the client port once a leader exists: from then on the member serves.
func (n *node) markReady() {
	n.mu.Lock()
	ok := n.leader != "" && n.state.ClusterID != 0
	n.mu.Unlock()
	if ok {
		n.readyOnce.Do(func() { close(n.ready) })
	}
}

// peers are the other members of the current state, by name: their peer URLs.
func (n *node) peers() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]string{}
	for _, m := range n.state.Members {
		if m.Name != n.self.Name && len(m.PeerURLs) > 0 {
			out[m.Name] = m.PeerURLs[0]
		}
	}
	return out
}

func (n *node) markSelfStarted() {
	for i, m := range n.state.Members {
		if m.Name == n.self.Name {
			n.state.Members[i].Started = true
			n.state.Members[i].ClientURLs = n.self.ClientURLs
		}
	}
}

func (n *node) pollPeers(ctx context.Context) map[string]peerStatus {
	var mu sync.Mutex
	out := map[string]peerStatus{}
	var wg sync.WaitGroup
	for name, peerURL := range n.peers() {
		wg.Add(1)
		go func(name, peerURL string) {
			defer wg.Done()
			var st peerStatus
			err := n.peerCall(ctx, http.MethodGet, peerURL+"/standin/v1/status?from="+n.self.Name, nil, &st)
			if errors.Is(err, errMemberRemoved) {
				// etcd stops a member its peers reject as removed (rafthttp answers 410 Gone,
				// etcdserver: "the member has been permanently removed from the cluster").
				log.Fatalf("[FATAL] %s: %v", n.self.Name, err)
			}
			if err == nil && st.Name == name {
				mu.Lock()
				out[name] = st
				mu.Unlock()
			}
		}(name, peerURL)
	}
	wg.Wait()
	return out
}

func (n *node) replicate(ctx context.Context, msg appendMsg) int {
	var mu sync.Mutex
	acks := 0
	var wg sync.WaitGroup
	for _, peerURL := range n.peers() {
		wg.Add(1)
		go func(peerURL string) {
			defer wg.Done()
			if err := n.peerCall(ctx, http.MethodPost, peerURL+"/standin/v1/append", msg, nil); err == nil {
				mu.Lock()
				acks++
				mu.Unlock()
			}
		}(peerURL)
	}
	wg.Wait()
	return acks
}

// errMemberRemoved is etcd's ErrMemberRemoved (server/etcdserver/errors.go).
var errMemberRemoved = errors.New("the member has been permanently removed from the cluster")

// removedRequester reports whether `from` is a member this cluster removed: the cluster exists
// (it has an ID) and no longer lists that name. An unnamed requester (an older stand-in) is not judged.
func removedRequester(s *clusterState, from string) bool {
	if from == "" || s == nil || s.ClusterID == 0 {
		return false
	}
	for _, m := range s.Members {
		if m.Name == from {
			return false
		}
	}
	return true
}

func (n *node) peerCall(ctx context.Context, method, url string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	res, err := n.peerClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusGone {
		return errMemberRemoved
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d", method, url, res.StatusCode)
	}
	if out != nil {
		return json.NewDecoder(res.Body).Decode(out)
	}
	return nil
}

// peerHandler serves the members' own protocol on the peer URL.
func (n *node) peerHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /standin/v1/status", func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		removed := removedRequester(n.state, r.URL.Query().Get("from"))
		n.mu.Unlock()
		if removed {
			// etcd rafthttp (server/etcdserver/api/rafthttp/http.go): a removed member's
			// messages get 410 Gone, "removed member".
			http.Error(w, "removed member", http.StatusGone)
			return
		}
		writeJSON(w, http.StatusOK, n.status())
	})
	mux.HandleFunc("POST /standin/v1/append", func(w http.ResponseWriter, r *http.Request) {
		var msg appendMsg
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil || msg.State == nil {
			writeJSON(w, http.StatusBadRequest, "bad append")
			return
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if msg.Term < n.term {
			writeJSON(w, http.StatusConflict, n.term)
			return
		}
		if n.state.ClusterID != 0 && msg.State.ClusterID != n.state.ClusterID {
			log.Printf("[ERROR] %s offers cluster %d but this member's data belongs to cluster %d: refused",
				msg.Leader, msg.State.ClusterID, n.state.ClusterID)
			writeJSON(w, http.StatusPreconditionFailed, "cluster ID mismatch")
			return
		}
		if n.leader != msg.Leader || n.term != msg.Term {
			if msg.Leader == n.self.Name {
				log.Printf("[INFO] %s becomes the leader by transfer, term %d", n.self.Name, msg.Term)
			} else {
				log.Printf("[INFO] following %q, term %d", msg.Leader, msg.Term)
			}
		}
		changed := n.term != msg.Term || n.state.Revision != msg.State.Revision
		n.term, n.leader = msg.Term, msg.Leader
		if msg.Leader != "" {
			n.leaderSeen = time.Now()
		} else {
			n.leaderSeen = time.Time{} // the leader resigned: choose now
		}
		n.state = msg.State
		if changed {
			n.saveLocked()
		}
		writeJSON(w, http.StatusOK, true)
		go n.poke()
	})
	return mux
}

// resign hands leadership to another live member (POST /pd/api/v1/leader/resign); with `next`,
// to that member (POST /pd/api/v1/leader/transfer/{next}). As ResignEtcdLeader
// (pkg/member/member.go): alone in the cluster, a resign does nothing; no such member is an error.
func (n *node) resign(ctx context.Context, next string) error {
	statuses := n.pollPeers(ctx)
	n.mu.Lock()
	if n.leader != n.self.Name {
		n.mu.Unlock()
		return errNotLeader
	}
	if next == "" && len(n.state.Members) == 1 {
		n.mu.Unlock()
		return nil
	}
	if next != "" {
		if _, alive := statuses[next]; !alive || next == n.self.Name {
			n.mu.Unlock()
			return errors.New("no valid pd to transfer etcd leader")
		}
		n.term++
		n.leader = next
		n.leaderSeen = time.Now()
		msg := appendMsg{Term: n.term, Leader: next, State: n.state.clone()}
		n.saveLocked()
		n.mu.Unlock()
		log.Printf("[INFO] %s transfers leadership to %s, term %d", n.self.Name, next, msg.Term)
		n.replicate(ctx, msg)
		return nil
	}
	if len(statuses) == 0 {
		n.mu.Unlock()
		return errors.New("no valid pd to transfer etcd leader")
	}
	n.resignUntil = time.Now().Add(resignHold)
	n.leader = ""
	msg := appendMsg{Term: n.term, Leader: "", State: n.state.clone()}
	n.mu.Unlock()
	log.Printf("[INFO] %s resigns leadership", n.self.Name)
	n.replicate(ctx, msg)
	return nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
