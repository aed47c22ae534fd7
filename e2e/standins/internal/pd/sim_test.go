package pd

import (
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
)

func cluster(now time.Time, stores ...uint64) *clusterState {
	s := &clusterState{Bootstrapped: true, MaxReplicas: 3, Stores: map[uint64]*storeRecord{}, NextID: 100}
	for _, id := range stores {
		s.Stores[id] = &storeRecord{Meta: &metapb.Store{Id: id}, LastHeartbeat: now.UnixNano()}
	}
	seedRegions(s, 1, stores[0])
	return s
}

func settle(s *clusterState, now time.Time) {
	for i := 0; i < 50 && simulateStep(s, now); i++ {
	}
}

func TestReplicasAndBalance(t *testing.T) {
	now := time.Now()
	s := cluster(now, 1, 2, 3)
	settle(s, now)
	leaders, regions := counts(s)
	for _, id := range []uint64{1, 2, 3} {
		if regions[id] != simRegions || leaders[id] != simRegions/3 {
			t.Fatalf("store %d: %d regions, %d leaders", id, regions[id], leaders[id])
		}
	}
}

func TestEvictLeaderEmptiesTheStoreAndRemovalRebalances(t *testing.T) {
	now := time.Now()
	s := cluster(now, 1, 2, 3)
	settle(s, now)
	s.EvictLeader = []uint64{2}
	simulateStep(s, now)
	if leaders, _ := counts(s); leaders[2] != simRegions/3-evictBatchSize {
		t.Fatalf("one batch of %d leaves store 2 with %d", evictBatchSize, leaders[2])
	}
	settle(s, now)
	if leaders, _ := counts(s); leaders[2] != 0 {
		t.Fatalf("store 2 still leads %d regions", leaders[2])
	}
	s.EvictLeader = nil
	settle(s, now)
	if leaders, _ := counts(s); leaders[2] != simRegions/3 {
		t.Fatalf("store 2 leads %d after removal", leaders[2])
	}
}

func TestSilentStoreLosesLeadersAndOfflineBecomesTombstone(t *testing.T) {
	now := time.Now()
	s := cluster(now, 1, 2, 3, 4)
	settle(s, now)
	s.Stores[3].LastHeartbeat = now.Add(-time.Minute).UnixNano()
	if got := s.Stores[3].stateName(now); got != "Disconnected" {
		t.Fatalf("state %s", got)
	}
	settle(s, now)
	if leaders, _ := counts(s); leaders[3] != 0 {
		t.Fatalf("a disconnected store leads %d regions", leaders[3])
	}
	s.Stores[4].Meta.State = metapb.StoreState_Offline
	settle(s, now)
	if s.Stores[4].Meta.State != metapb.StoreState_Tombstone {
		t.Fatalf("store 4 is %s", s.Stores[4].Meta.State)
	}
}

func TestMissPeerRegionsCountsRegionsBelowMaxReplicas(t *testing.T) {
	s := &clusterState{MaxReplicas: 3, Regions: []*region{
		{ID: 1, Stores: []uint64{1, 2, 3}},
		{ID: 2, Stores: []uint64{1, 2}},
		{ID: 3, Stores: []uint64{1}},
	}}
	got := missPeerRegions(s)
	if len(got) != 2 || got[0].ID != 2 || got[1].ID != 3 {
		t.Fatalf("miss-peer regions = %+v, want regions 2 and 3", got)
	}
}

func TestRemovedRequesterIsAMemberTheClusterNoLongerLists(t *testing.T) {
	s := &clusterState{ClusterID: 7, Members: []member{{Name: "pd1"}, {Name: "pd2"}}}
	for from, want := range map[string]bool{"pd1": false, "pd3": true, "": false} {
		if got := removedRequester(s, from); got != want {
			t.Errorf("removedRequester(%q) = %v, want %v", from, got, want)
		}
	}
	if removedRequester(&clusterState{Members: []member{{Name: "pd1"}}}, "pd3") {
		t.Error("a cluster still forming (no ID) judges nobody removed")
	}
}
