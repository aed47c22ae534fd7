package tikv

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
)

// Copying RawKV writes between stores, standing in for Raft (see rawData). A write is copied to
// every other store PD lists as Up before it is acknowledged, stricter than Raft's majority: a
// write while a store is down fails (ServerIsBusy) rather than leaving that store behind. A store
// catches up at start, and every catchUpInterval after, by merging every peer's entries (newest
// version wins), which is also how a new store (scale-out) gets the data. Over each store's
// status port, with the member certificate; the routes admit the member's own name only.

const catchUpInterval = 15 * time.Second

func (s *store) peerStores(ctx context.Context) ([]*metapb.Store, error) {
	all, err := s.pd.getAllStores(ctx)
	if err != nil {
		return nil, err
	}
	var peers []*metapb.Store
	for _, st := range all {
		if st.GetId() != s.ident.StoreID && st.GetState() == metapb.StoreState_Up {
			peers = append(peers, st)
		}
	}
	return peers, nil
}

func (s *store) peerURL(st *metapb.Store, path string) string {
	scheme := "http"
	if s.peerHTTP.Transport.(*http.Transport).TLSClientConfig != nil {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s%s", scheme, st.GetStatusAddress(), path)
}

func (s *store) replicate(ctx context.Context, ops []op) error {
	peers, err := s.peerStores(ctx)
	if err != nil {
		return fmt.Errorf("list stores: %w", err)
	}
	body, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	errs := make(chan error, len(peers))
	for _, p := range peers {
		go func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.peerURL(p, "/standin/raw/apply"), bytes.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			res, err := s.peerHTTP.Do(req)
			if err == nil {
				res.Body.Close()
				if res.StatusCode != http.StatusNoContent {
					err = fmt.Errorf("store %d answered %s", p.GetId(), res.Status)
				}
			}
			errs <- err
		}()
	}
	for range peers {
		if err := <-errs; err != nil {
			return fmt.Errorf("copy to a peer store: %w", err)
		}
	}
	return nil
}

// catchUp merges every reachable peer's entries; it reports whether every peer answered.
func (s *store) catchUp(ctx context.Context) bool {
	peers, err := s.peerStores(ctx)
	if err != nil {
		log.Printf("[WARN] catch-up: %v", err)
		return false
	}
	complete := true
	for _, p := range peers {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.peerURL(p, "/standin/raw/snapshot"), nil)
		res, err := s.peerHTTP.Do(req)
		if err != nil {
			complete = false
			continue
		}
		var ops []op
		err = json.NewDecoder(res.Body).Decode(&ops)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			complete = false
			continue
		}
		if err := s.raw.apply(ops); err != nil {
			log.Printf("[WARN] catch-up from store %d: %v", p.GetId(), err)
			complete = false
		}
	}
	return complete
}

// keepCaughtUp serves reads and writes once a first catch-up found every peer (or after a
// minute, with what it got: a cluster whose peers are all down still serves what it has).
func (s *store) keepCaughtUp(ctx context.Context) {
	first := time.Now()
	for {
		if s.catchUp(ctx) || time.Since(first) > time.Minute {
			if !s.caughtUp.Swap(true) {
				log.Printf("[INFO] raw KV ready: %d keys", s.raw.keyCount())
			}
		}
		wait := catchUpInterval
		if !s.caughtUp.Load() {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// onlyMembers admits the name on the store's own certificate: another store, not a client.
func (s *store) onlyMembers(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && (len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != s.memberCN) {
			http.Error(w, "stand-in replication is for stores only", http.StatusForbidden)
			return
		}
		next(w, r)
	}
}

func (s *store) rawHandlers(mux *http.ServeMux) {
	mux.HandleFunc("POST /standin/raw/apply", s.onlyMembers(func(w http.ResponseWriter, r *http.Request) {
		var ops []op
		if err := json.NewDecoder(r.Body).Decode(&ops); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := s.raw.apply(ops); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("GET /standin/raw/snapshot", s.onlyMembers(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.raw.all())
	}))
}

// commonName is the CN of the first certificate in a PEM file ("" without TLS).
func commonName(certPath string) (string, error) {
	if certPath == "" {
		return "", nil
	}
	pair, err := tls.LoadX509KeyPair(certPath, certPath)
	if err == nil && pair.Leaf != nil {
		return pair.Leaf.Subject.CommonName, nil
	}
	data, err := os.ReadFile(certPath)
	if err != nil {
		return "", err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return "", fmt.Errorf("no certificate in %s", certPath)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", err
	}
	return cert.Subject.CommonName, nil
}
