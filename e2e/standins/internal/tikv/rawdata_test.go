package tikv

import (
	"fmt"
	"testing"
)

func TestRawDataSurvivesReopenAndNewestWins(t *testing.T) {
	dir := t.TempDir()
	d, err := openRawData(dir)
	if err != nil {
		t.Fatal(err)
	}
	put := func(k, v string) []op { return d.stamp([]op{{Key: []byte(k), entry: entry{Value: []byte(v)}}}) }
	if err := d.apply(put("a", "1")); err != nil {
		t.Fatal(err)
	}
	older := put("b", "old")
	newer := put("b", "new")
	// Copies may arrive in any order: the newer version wins either way.
	if err := d.apply(newer); err != nil {
		t.Fatal(err)
	}
	if err := d.apply(older); err != nil {
		t.Fatal(err)
	}
	del := d.stamp([]op{{Key: []byte("a"), entry: entry{Deleted: true}}})
	if err := d.apply(del); err != nil {
		t.Fatal(err)
	}
	d2, err := openRawData(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d2.get("", []byte("a")); ok {
		t.Fatal("a deleted key came back after a restart")
	}
	if v, _ := d2.get("", []byte("b")); string(v) != "new" {
		t.Fatalf("b = %q after a restart, want new", v)
	}
}

func TestRawScanBoundsAndReverse(t *testing.T) {
	d, err := openRawData(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := d.apply(d.stamp([]op{{Key: []byte(fmt.Sprintf("k%d", i)), entry: entry{Value: []byte("v")}}})); err != nil {
			t.Fatal(err)
		}
	}
	got := func(ops []op) string {
		s := []string{}
		for _, o := range ops {
			s = append(s, string(o.Key))
		}
		return fmt.Sprint(s)
	}
	if g := got(d.scan("", []byte("k1"), []byte("k4"), 0, false)); g != "[k1 k2 k3]" {
		t.Fatalf("scan [k1,k4) = %s", g)
	}
	if g := got(d.scan("", []byte("k1"), nil, 2, false)); g != "[k1 k2]" {
		t.Fatalf("scan k1.. limit 2 = %s", g)
	}
	// Reverse: start is the exclusive upper bound, end the inclusive lower one.
	if g := got(d.scan("", []byte("k4"), []byte("k1"), 0, true)); g != "[k3 k2 k1]" {
		t.Fatalf("reverse scan = %s", g)
	}
	if g := got(d.scan("other", nil, nil, 0, false)); g != "[]" {
		t.Fatalf("another column family = %s", g)
	}
}
