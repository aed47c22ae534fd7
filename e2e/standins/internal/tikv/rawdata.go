package tikv

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// rawData is the store's RawKV data (the model; rawkv.go translates gRPC to it), kept in the
// data volume as an append-only log replayed at start. Every store holds every key: the
// stand-in has no Raft, so a write is applied at the store the client reached and copied to
// every other Up store (replicate.go); each entry carries a version (a hybrid clock) and the
// newest version of a key wins wherever copies meet, so stores converge whatever the order.
type rawData struct {
	mu      sync.RWMutex
	cfs     map[string]map[string]entry
	clock   uint64
	logPath string
	log     *os.File
}

type entry struct {
	Value   []byte `json:"v,omitempty"`
	Version uint64 `json:"ver"`
	Deleted bool   `json:"del,omitempty"`
}

// op is one write as logged and replicated.
type op struct {
	CF  string `json:"cf,omitempty"`
	Key []byte `json:"k"`
	entry
}

func openRawData(dataDir string) (*rawData, error) {
	d := &rawData{cfs: map[string]map[string]entry{}, logPath: filepath.Join(dataDir, "standin-tikv", "raw.log")}
	if err := os.MkdirAll(filepath.Dir(d.logPath), 0o700); err != nil {
		return nil, err
	}
	if f, err := os.Open(d.logPath); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<30)
		for sc.Scan() {
			var ops []op
			if json.Unmarshal(sc.Bytes(), &ops) != nil {
				break // a torn last line: the write it held was never acknowledged
			}
			d.applyLocked(ops)
		}
		f.Close()
	}
	f, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	d.log = f
	return d, nil
}

// stamp gives new writes versions above anything this store has seen.
func (d *rawData) stamp(ops []op) []op {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := uint64(time.Now().UnixNano())
	if now <= d.clock {
		now = d.clock + 1
	}
	d.clock = now
	for i := range ops {
		ops[i].Version = now
	}
	return ops
}

// apply logs and applies ops (newest version wins per key); it returns once they are in the log.
func (d *rawData) apply(ops []op) error {
	if len(ops) == 0 {
		return nil
	}
	line, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.log.Write(append(line, '\n')); err != nil {
		return err
	}
	d.applyLocked(ops)
	return nil
}

func (d *rawData) applyLocked(ops []op) {
	for _, o := range ops {
		cf := d.cfs[o.CF]
		if cf == nil {
			cf = map[string]entry{}
			d.cfs[o.CF] = cf
		}
		if old, ok := cf[string(o.Key)]; ok && old.Version >= o.Version {
			continue
		}
		cf[string(o.Key)] = o.entry
		if o.Version > d.clock {
			d.clock = o.Version
		}
	}
}

func (d *rawData) get(cf string, key []byte) ([]byte, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e, ok := d.cfs[cf][string(key)]
	if !ok || e.Deleted {
		return nil, false
	}
	return e.Value, true
}

// scan lists live keys in [start, end) (end empty: no end), ascending, or with reverse the keys
// in [end, start) descending, as TiKV's raw_scan (src/storage/mod.rs) with limit.
func (d *rawData) scan(cf string, start, end []byte, limit int, reverse bool) []op {
	d.mu.RLock()
	defer d.mu.RUnlock()
	lo, hi := start, end
	if reverse {
		lo, hi = end, start
	}
	var keys []string
	for k, e := range d.cfs[cf] {
		kb := []byte(k)
		if e.Deleted || bytes.Compare(kb, lo) < 0 || (len(hi) > 0 && bytes.Compare(kb, hi) >= 0) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if reverse {
		for i, j := 0, len(keys)-1; i < j; i, j = i+1, j-1 {
			keys[i], keys[j] = keys[j], keys[i]
		}
	}
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	out := make([]op, 0, len(keys))
	for _, k := range keys {
		out = append(out, op{CF: cf, Key: []byte(k), entry: d.cfs[cf][k]})
	}
	return out
}

// all is every entry, tombstones included, for a peer catching up.
func (d *rawData) all() []op {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []op
	for cf, m := range d.cfs {
		for k, e := range m {
			out = append(out, op{CF: cf, Key: []byte(k), entry: e})
		}
	}
	return out
}

func (d *rawData) keyCount() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	n := 0
	for _, m := range d.cfs {
		for _, e := range m {
			if !e.Deleted {
				n++
			}
		}
	}
	return n
}
