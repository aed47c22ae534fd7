package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/tikv/client-go/v2/rawkv"
)

// opTimeout bounds each request: client-go retries a store that is away for this long.
const opTimeout = 60 * time.Second

func keyOf(tag string, i int) []byte   { return []byte(fmt.Sprintf("tikv-cvm/smoke/%s/%06d", tag, i)) }
func valueOf(tag string, i int) []byte { return []byte(fmt.Sprintf("value %d of %s", i, tag)) }

// prefixEnd is the first key after every key with this prefix.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

type setFlags struct {
	tag  string
	keys int
}

func parseSet(name string, args []string) (setFlags, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var f setFlags
	fs.StringVar(&f.tag, "tag", fmt.Sprintf("run-%d", time.Now().Unix()), "names this key set")
	fs.IntVar(&f.keys, "keys", 20, "how many keys")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.keys < 1 {
		return f, fmt.Errorf("--keys must be at least 1")
	}
	return f, nil
}

func put(ctx context.Context, c *rawkv.Client, f setFlags) error {
	for i := 0; i < f.keys; i++ {
		cctx, cancel := context.WithTimeout(ctx, opTimeout)
		err := c.Put(cctx, keyOf(f.tag, i), valueOf(f.tag, i))
		cancel()
		if err != nil {
			return fmt.Errorf("put %s: %w", keyOf(f.tag, i), err)
		}
	}
	fmt.Printf("put     %d keys %s .. %s\n", f.keys, keyOf(f.tag, 0), keyOf(f.tag, f.keys-1))
	return nil
}

// verify reads every key by Get and the whole set by one Scan, and compares with what was written.
func verify(ctx context.Context, c *rawkv.Client, f setFlags) error {
	for i := 0; i < f.keys; i++ {
		cctx, cancel := context.WithTimeout(ctx, opTimeout)
		v, err := c.Get(cctx, keyOf(f.tag, i))
		cancel()
		if err != nil {
			return fmt.Errorf("get %s: %w", keyOf(f.tag, i), err)
		}
		if !bytes.Equal(v, valueOf(f.tag, i)) {
			return fmt.Errorf("get %s = %q, want %q", keyOf(f.tag, i), v, valueOf(f.tag, i))
		}
	}
	fmt.Printf("get     %d keys, every value as written\n", f.keys)
	prefix := []byte(fmt.Sprintf("tikv-cvm/smoke/%s/", f.tag))
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	keys, values, err := c.Scan(cctx, prefix, prefixEnd(prefix), f.keys+10)
	cancel()
	if err != nil {
		return fmt.Errorf("scan %s: %w", prefix, err)
	}
	if len(keys) != f.keys {
		return fmt.Errorf("scan %s found %d keys, want %d", prefix, len(keys), f.keys)
	}
	for i := range keys {
		if !bytes.Equal(keys[i], keyOf(f.tag, i)) || !bytes.Equal(values[i], valueOf(f.tag, i)) {
			return fmt.Errorf("scan item %d = %s=%q, want %s=%q", i, keys[i], values[i], keyOf(f.tag, i), valueOf(f.tag, i))
		}
	}
	fmt.Printf("scan    %s* -> %d keys in order, values as written\n", prefix, len(keys))
	return nil
}

func clusterLine(c *rawkv.Client) {
	fmt.Printf("cluster %d, client %s\n", c.ClusterID(), os.Getenv("TIKV_CVM_CLIENT"))
}

// smoke: put, get, scan, delete, and check the keys are gone; the README's "Did it work?".
func smoke(ctx context.Context, connect func() (*rawkv.Client, error), args []string) error {
	return onSet("smoke", connect, args, func(c *rawkv.Client, f setFlags) error {
		if err := put(ctx, c, f); err != nil {
			return err
		}
		if err := verify(ctx, c, f); err != nil {
			return err
		}
		return deleteSet(ctx, c, f)
	})
}

// deleteSet deletes the set's keys and checks that get and scan no longer find them.
func deleteSet(ctx context.Context, c *rawkv.Client, f setFlags) error {
	prefix := []byte(fmt.Sprintf("tikv-cvm/smoke/%s/", f.tag))
	for i := 0; i < f.keys; i++ {
		cctx, cancel := context.WithTimeout(ctx, opTimeout)
		err := c.Delete(cctx, keyOf(f.tag, i))
		cancel()
		if err != nil {
			return fmt.Errorf("delete %s: %w", keyOf(f.tag, i), err)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	v, err := c.Get(cctx, keyOf(f.tag, 0))
	if err != nil || v != nil {
		return fmt.Errorf("get %s after delete = %q, %v; want not found", keyOf(f.tag, 0), v, err)
	}
	keys, _, err := c.Scan(cctx, prefix, prefixEnd(prefix), f.keys+10)
	if err != nil || len(keys) != 0 {
		return fmt.Errorf("scan after delete found %d keys (%v); want none", len(keys), err)
	}
	fmt.Printf("delete  %d keys; get and scan find none\n", f.keys)
	fmt.Println("OK: RawKV put, get, scan and delete over mutual TLS")
	return nil
}

// onSet parses a key-set command's flags, connects, names the cluster and runs fn.
func onSet(name string, connect func() (*rawkv.Client, error), args []string, fn func(*rawkv.Client, setFlags) error) error {
	f, err := parseSet(name, args)
	if err != nil {
		return err
	}
	c, err := connect()
	if err != nil {
		return err
	}
	defer c.Close()
	clusterLine(c)
	return fn(c, f)
}

func writeSet(ctx context.Context, connect func() (*rawkv.Client, error), args []string) error {
	return onSet("write", connect, args, func(c *rawkv.Client, f setFlags) error {
		if err := put(ctx, c, f); err != nil {
			return err
		}
		return verify(ctx, c, f)
	})
}

func checkSet(ctx context.Context, connect func() (*rawkv.Client, error), args []string) error {
	return onSet("check", connect, args, func(c *rawkv.Client, f setFlags) error {
		if err := verify(ctx, c, f); err != nil {
			return err
		}
		fmt.Printf("OK: key set %s intact\n", f.tag)
		return nil
	})
}
