package pd

import (
	"context"
	"sort"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
)

// Regions and their leaders are simulated by the stand-in: TiKV's Raft is not here to move them.
// simRegions regions exist from bootstrap on. Every second the leader member runs what PD's
// checkers and schedulers would do, one step each:
//   - replica checker: every region has a peer on min(max-replicas, serving stores) stores;
//   - evict-leader-scheduler: leaders leave its stores, batch 3 per run as PD's default batch;
//   - a region led from a store that is not Up (or is evicted) gets a leader among its other
//     peers, as Raft elects one;
//   - balance-leader: one leader moves from the most to the least loaded serving store;
//   - a store marked Offline (store delete) loses its peers, then becomes Tombstone.
const (
	simRegions     = 12
	simInterval    = time.Second
	evictBatchSize = 3
)

func (n *node) simulate(ctx context.Context) {
	t := time.NewTicker(simInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !n.isLeader() {
			continue
		}
		_ = n.update(func(s *clusterState) error {
			if !simulateStep(s, time.Now()) {
				return errNoChange
			}
			return nil
		})
	}
}

type simError string

func (e simError) Error() string { return string(e) }

const errNoChange = simError("no change")

// simulateStep changes s in place and reports whether anything changed.
func simulateStep(s *clusterState, now time.Time) bool {
	if !s.Bootstrapped {
		return false
	}
	changed := false
	serving := map[uint64]bool{} // Up and heartbeating
	hosting := []uint64{}        // may hold peers: not Offline/Tombstone
	for _, id := range s.storeIDs() {
		st := s.Stores[id]
		if st.Meta.GetState() == metapb.StoreState_Up {
			hosting = append(hosting, id)
			if st.stateName(now) == "Up" {
				serving[id] = true
			}
		}
	}
	peers := map[uint64]int{}
	leaders := map[uint64]int{}
	for _, r := range s.Regions {
		for _, sid := range r.Stores {
			peers[sid]++
		}
		leaders[r.Leader]++
	}

	// Replica checker: add missing peers on the hosting stores with the fewest peers, and drop
	// peers from stores that may no longer hold any.
	want := int(s.MaxReplicas)
	if want > len(hosting) {
		want = len(hosting)
	}
	for _, r := range s.Regions {
		kept := r.Stores[:0]
		for _, sid := range r.Stores {
			if contains(hosting, sid) {
				kept = append(kept, sid)
			} else {
				peers[sid]--
				changed = true
			}
		}
		r.Stores = kept
		for len(r.Stores) < want {
			best := uint64(0)
			for _, sid := range hosting {
				if contains(r.Stores, sid) {
					continue
				}
				if best == 0 || peers[sid] < peers[best] {
					best = sid
				}
			}
			r.Stores = append(r.Stores, best)
			peers[best]++
			changed = true
		}
	}

	canLead := func(sid uint64) bool { return serving[sid] && !s.evicted(sid) }
	pick := func(r *region, except uint64) uint64 {
		best := uint64(0)
		for _, sid := range r.Stores {
			if sid == except || !canLead(sid) {
				continue
			}
			if best == 0 || leaders[sid] < leaders[best] {
				best = sid
			}
		}
		return best
	}
	move := func(r *region, to uint64) {
		leaders[r.Leader]--
		leaders[to]++
		r.Leader = to
		changed = true
	}

	// Evict-leader: a batch per run and store.
	for _, sid := range s.EvictLeader {
		moved := 0
		for _, r := range s.Regions {
			if r.Leader == sid && moved < evictBatchSize {
				if to := pick(r, sid); to != 0 {
					move(r, to)
					moved++
				}
			}
		}
	}
	// Leaderless or led from a store that cannot lead: elect among the other peers.
	for _, r := range s.Regions {
		if r.Leader != 0 && contains(r.Stores, r.Leader) && serving[r.Leader] {
			continue
		}
		if r.Leader != 0 && s.evicted(r.Leader) && serving[r.Leader] {
			continue // the evict-leader batch above moves it
		}
		if to := pick(r, r.Leader); to != 0 {
			move(r, to)
		}
	}
	// Balance-leader: one step.
	var eligible []uint64
	for _, sid := range hosting {
		if canLead(sid) {
			eligible = append(eligible, sid)
		}
	}
	if len(eligible) > 1 {
		sort.Slice(eligible, func(i, j int) bool { return leaders[eligible[i]] < leaders[eligible[j]] })
		low, high := eligible[0], eligible[len(eligible)-1]
		if leaders[high]-leaders[low] > 1 {
			for _, r := range s.Regions {
				if r.Leader == high && contains(r.Stores, low) {
					move(r, low)
					break
				}
			}
		}
	}
	// Offline stores become Tombstone once they hold nothing.
	for _, id := range s.storeIDs() {
		st := s.Stores[id]
		if st.Meta.GetState() == metapb.StoreState_Offline && peers[id] <= 0 && leaders[id] <= 0 {
			st.Meta.State = metapb.StoreState_Tombstone
			st.Meta.NodeState = metapb.NodeState_Removed
			changed = true
		}
	}
	return changed
}

// seedRegions creates the simulated regions at bootstrap, all led by the bootstrapping store.
func seedRegions(s *clusterState, firstRegion uint64, store uint64) {
	s.Regions = []*region{{ID: firstRegion, Stores: []uint64{store}, Leader: store}}
	for len(s.Regions) < simRegions {
		s.Regions = append(s.Regions, &region{ID: s.allocID(), Stores: []uint64{store}, Leader: store})
	}
}

func contains(list []uint64, v uint64) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// counts returns leader and region (peer) counts per store.
func counts(s *clusterState) (leaders, regions map[uint64]int) {
	leaders, regions = map[uint64]int{}, map[uint64]int{}
	for _, r := range s.Regions {
		leaders[r.Leader]++
		for _, sid := range r.Stores {
			regions[sid]++
		}
	}
	return leaders, regions
}
