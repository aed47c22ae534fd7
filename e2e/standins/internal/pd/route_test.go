package pd

import (
	"bytes"
	"testing"
)

// The simulated regions cover the whole key space, in order, without gaps or overlaps, as PD's
// region tree does; every key routes to exactly one region, and scans follow key order.
func TestRegionBoundsCoverTheKeySpace(t *testing.T) {
	s := &clusterState{}
	seedRegions(s, 2, 1)
	all := regionBounds(s)
	if len(all) != simRegions {
		t.Fatalf("%d regions, want %d", len(all), simRegions)
	}
	if len(all[0].StartKey) != 0 || len(all[len(all)-1].EndKey) != 0 {
		t.Fatalf("first region starts at %q, last ends at %q; want the whole key space", all[0].StartKey, all[len(all)-1].EndKey)
	}
	for i := 1; i < len(all); i++ {
		if !bytes.Equal(all[i-1].EndKey, all[i].StartKey) || bytes.Compare(all[i-1].StartKey, all[i].StartKey) >= 0 {
			t.Fatalf("region %d ends at %q, region %d starts at %q", i-1, all[i-1].EndKey, i, all[i].StartKey)
		}
	}
	for _, key := range [][]byte{nil, {0}, []byte("a"), []byte("tikv-cvm/smoke/x"), {0xff, 0xff}} {
		n := 0
		for _, m := range all {
			if inRange(m, key) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("key %q is in %d regions", key, n)
		}
	}
	got := scan(all, []byte("a"), []byte("z"), 0)
	if len(got) == 0 || !inRange(got[0], []byte("a")) || bytes.Compare(got[len(got)-1].StartKey, []byte("z")) >= 0 {
		t.Fatalf("scan [a, z) gave %d regions from %q", len(got), got[0].StartKey)
	}
	if lim := scan(all, nil, nil, 3); len(lim) != 3 || lim[0].Id != all[0].Id {
		t.Fatalf("scan with limit 3 gave %d regions", len(lim))
	}
}

// TSO never goes back and hands out count logical ticks per request.
func TestTsoMonotonic(t *testing.T) {
	var c tsoClock
	lastP, lastL := int64(0), int64(0)
	for i := 0; i < 10000; i++ {
		p, l := c.next(3)
		if p < lastP || p == lastP && l <= lastL {
			t.Fatalf("timestamp %d.%d after %d.%d", p, l, lastP, lastL)
		}
		lastP, lastL = p, l
	}
}
