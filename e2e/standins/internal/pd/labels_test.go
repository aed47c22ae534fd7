package pd

import (
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
)

func labelMap(ls []*metapb.StoreLabel) map[string]string {
	m := map[string]string{}
	for _, l := range ls {
		m[l.GetKey()] = l.GetValue()
	}
	return m
}

// pkg/core/store.go MergeLabels: a store restarting with no labels keeps those set through the
// API; a reported key replaces the value (keys compared case-insensitively); empty values go.
func TestMergeLabels(t *testing.T) {
	api := []*metapb.StoreLabel{{Key: "zone", Value: "z1"}, {Key: "host", Value: "h1"}}
	if got := labelMap(mergeLabels(api, nil)); len(got) != 2 || got["zone"] != "z1" || got["host"] != "h1" {
		t.Fatalf("restart without labels: %v", got)
	}
	got := labelMap(mergeLabels(api, []*metapb.StoreLabel{{Key: "ZONE", Value: "z2"}, {Key: "host", Value: ""}, {Key: "disk", Value: "ssd"}}))
	if len(got) != 2 || got["zone"] != "z2" || got["disk"] != "ssd" {
		t.Fatalf("merge: %v", got)
	}
}

// pkg/schedule/config/util.go ValidateLabels.
func TestValidateLabels(t *testing.T) {
	for _, ok := range [][2]string{{"zone", "ap-guangzhou-3"}, {"host", "tikv-host-1"}, {"$mode", ""}, {"rack", "r1/a.b_c"}} {
		if err := validateLabels([]*metapb.StoreLabel{{Key: ok[0], Value: ok[1]}}); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
	for _, bad := range [][2]string{{"zone-", "a"}, {"", "a"}, {"zone", "a b"}, {"zo ne", "a"}} {
		if err := validateLabels([]*metapb.StoreLabel{{Key: bad[0], Value: bad[1]}}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// A store restarting (PutStore without labels) keeps the labels set through the API, and one it
// reports replaces the value PD holds for that key.
func TestPutStoreKeepsLabels(t *testing.T) {
	s := &clusterState{Stores: map[uint64]*storeRecord{}}
	s.putStore(&metapb.Store{Id: 4, Address: "10.0.1.11:20160"}, time.Now())
	s.Stores[4].Meta.Labels = []*metapb.StoreLabel{{Key: "zone", Value: "z1"}, {Key: "host", Value: "h1"}}
	s.putStore(&metapb.Store{Id: 4, Address: "10.0.1.11:20160"}, time.Now())
	if got := labelMap(s.Stores[4].Meta.GetLabels()); got["zone"] != "z1" || got["host"] != "h1" {
		t.Fatalf("after a restart without labels: %v", got)
	}
	s.putStore(&metapb.Store{Id: 4, Address: "10.0.1.11:20160", Labels: []*metapb.StoreLabel{{Key: "zone", Value: "z2"}}}, time.Now())
	if got := labelMap(s.Stores[4].Meta.GetLabels()); got["zone"] != "z2" || got["host"] != "h1" {
		t.Fatalf("after a restart with a zone: %v", got)
	}
}
