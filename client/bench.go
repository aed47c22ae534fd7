package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"sort"
	"sync"
	"time"

	"github.com/tikv/client-go/v2/rawkv"
)

// A YCSB-style workload on RawKV (the core workloads of brianfrankcooper/YCSB,
// workloads/workloada: 50 % reads, 50 % updates, zipfian keys over a loaded record set):
// a load phase inserts --records keys, then --threads workers run for --duration.

type benchFlags struct {
	records   int
	threads   int
	duration  time.Duration
	valueSize int
	readRatio float64
	uniform   bool
	seed      int64
}

type sample struct {
	op  string
	lat time.Duration
	err bool
}

// Summary is what bench prints as its last line (after "RESULT "), for files and scripts.
type Summary struct {
	Workload   string             `json:"workload"`
	Records    int                `json:"records"`
	Threads    int                `json:"threads"`
	Seconds    float64            `json:"seconds"`
	Ops        int                `json:"ops"`
	Errors     int                `json:"errors"`
	OpsPerSec  float64            `json:"ops_per_sec"`
	LoadPerSec float64            `json:"load_ops_per_sec"`
	Latency    map[string]Latency `json:"latency_ms"`
}

type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i].Microseconds()) / 1000
}

func benchKey(i int) []byte { return []byte(fmt.Sprintf("tikv-cvm/ycsb/user%010d", i)) }

func bench(ctx context.Context, connect func() (*rawkv.Client, error), args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var f benchFlags
	fs.IntVar(&f.records, "records", 1000, "records loaded before the run (YCSB recordcount)")
	fs.IntVar(&f.threads, "threads", 8, "concurrent workers")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "how long the run phase lasts")
	fs.IntVar(&f.valueSize, "value-size", 100, "bytes per value (YCSB: 10 fields of 100 bytes; one field here)")
	fs.Float64Var(&f.readRatio, "read-ratio", 0.5, "share of reads; the rest are updates (workload A: 0.5, B: 0.95, C: 1)")
	fs.BoolVar(&f.uniform, "uniform", false, "uniform keys instead of zipfian")
	fs.Int64Var(&f.seed, "seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.records < 1 || f.threads < 1 || f.duration <= 0 || f.readRatio < 0 || f.readRatio > 1 {
		return fmt.Errorf("need --records >= 1, --threads >= 1, --duration > 0, 0 <= --read-ratio <= 1")
	}
	c, err := connect()
	if err != nil {
		return err
	}
	defer c.Close()
	clusterLine(c)
	value := make([]byte, f.valueSize)
	rand.New(rand.NewSource(f.seed)).Read(value)

	// Load: batches of 100, as YCSB's load phase inserts every record once.
	loadStart := time.Now()
	for i := 0; i < f.records; i += 100 {
		var keys, values [][]byte
		for j := i; j < i+100 && j < f.records; j++ {
			keys = append(keys, benchKey(j))
			values = append(values, value)
		}
		cctx, cancel := context.WithTimeout(ctx, opTimeout)
		err := c.BatchPut(cctx, keys, values)
		cancel()
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
	loadSecs := time.Since(loadStart).Seconds()
	fmt.Printf("load    %d records in %.2f s (%.0f records/s)\n", f.records, loadSecs, float64(f.records)/loadSecs)

	var mu sync.Mutex
	var samples []sample
	var wg sync.WaitGroup
	deadline := time.Now().Add(f.duration)
	start := time.Now()
	for w := 0; w < f.threads; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(f.seed + int64(w) + 1))
			// Go's zipf needs s > 1; YCSB's zipfian constant is 0.99. Close enough to make some keys hot.
			z := rand.NewZipf(r, 1.01, 1, uint64(f.records-1))
			var local []sample
			for time.Now().Before(deadline) {
				k := int(z.Uint64())
				if f.uniform {
					k = r.Intn(f.records)
				}
				op := "update"
				if r.Float64() < f.readRatio {
					op = "read"
				}
				cctx, cancel := context.WithTimeout(ctx, opTimeout)
				t := time.Now()
				var err error
				if op == "read" {
					var v []byte
					v, err = c.Get(cctx, benchKey(k))
					if err == nil && v == nil {
						err = fmt.Errorf("record %d missing", k)
					}
				} else {
					err = c.Put(cctx, benchKey(k), value)
				}
				cancel()
				local = append(local, sample{op: op, lat: time.Since(t), err: err != nil})
			}
			mu.Lock()
			samples = append(samples, local...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	secs := time.Since(start).Seconds()

	s := Summary{
		Workload: fmt.Sprintf("raw, %.0f%% read / %.0f%% update, %s keys", f.readRatio*100, (1-f.readRatio)*100, map[bool]string{true: "uniform", false: "zipfian"}[f.uniform]),
		Records:  f.records, Threads: f.threads, Seconds: secs, Ops: len(samples),
		LoadPerSec: float64(f.records) / loadSecs, Latency: map[string]Latency{},
	}
	by := map[string][]time.Duration{}
	for _, x := range samples {
		if x.err {
			s.Errors++
			continue
		}
		by[x.op] = append(by[x.op], x.lat)
	}
	s.OpsPerSec = float64(s.Ops-s.Errors) / secs
	fmt.Printf("run     %s, %d threads, %.1f s: %d ops, %d errors, %.0f ops/s\n", s.Workload, f.threads, secs, s.Ops, s.Errors, s.OpsPerSec)
	for _, op := range []string{"read", "update"} {
		lats := by[op]
		if len(lats) == 0 {
			continue
		}
		sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
		l := Latency{Count: len(lats), P50: percentile(lats, 0.5), P95: percentile(lats, 0.95), P99: percentile(lats, 0.99), Max: percentile(lats, 1)}
		s.Latency[op] = l
		fmt.Printf("%-7s %d ops, latency ms p50 %.2f  p95 %.2f  p99 %.2f  max %.2f\n", op, l.Count, l.P50, l.P95, l.P99, l.Max)
	}
	out, _ := json.Marshal(s)
	fmt.Printf("RESULT %s\n", out)
	if s.Errors > 0 {
		return fmt.Errorf("%d of %d operations failed", s.Errors, s.Ops)
	}
	return nil
}
