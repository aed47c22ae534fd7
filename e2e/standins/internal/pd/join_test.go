package pd

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// A cluster's client URL as prepareJoin sees it: the members list and the stand-in's MemberAdd.
type fakeCluster struct {
	mu      sync.Mutex
	members []listedMember
	added   []joinRequest
}

func (f *fakeCluster) serve(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pd/api/v1/members", func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"members": f.members})
	})
	mux.HandleFunc("POST /standin/v1/members", func(w http.ResponseWriter, r *http.Request) {
		var req joinRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.added = append(f.added, req)
		// Listed without a name until it starts, as etcd lists an unstarted member.
		f.members = append(f.members, listedMember{PeerURLs: req.PeerURLs})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func joinConfig(t *testing.T, join string) *config {
	return &config{
		Name: "pd2", DataDir: t.TempDir(), Join: join,
		AdvertiseClientUrls: "http://10.0.1.12:2379", AdvertisePeerUrls: "http://10.0.1.12:2380",
	}
}

func TestPrepareJoinAddsTheMemberAndKeepsTheJoinFile(t *testing.T) {
	f := &fakeCluster{members: []listedMember{{Name: "pd1", PeerURLs: []string{"http://10.0.1.11:2380"}}}}
	srv := f.serve(t)
	cfg := joinConfig(t, srv.URL)
	got, err := prepareJoin(cfg, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	want := "pd1=http://10.0.1.11:2380,pd2=http://10.0.1.12:2380"
	if got != want || len(f.added) != 1 || f.added[0].Name != "pd2" {
		t.Fatalf("initial cluster %q (want %q), added %v", got, want, f.added)
	}
	if data, _ := os.ReadFile(filepath.Join(cfg.DataDir, "join")); string(data) != want {
		t.Fatalf("join file %q", data)
	}
	// A restart after the join reads the file and adds nothing (join.go: "Read the persist join config").
	if again, err := prepareJoin(cfg, srv.Client()); err != nil || again != want || len(f.added) != 1 {
		t.Fatalf("second start: %q %v, %d adds", again, err, len(f.added))
	}
}

func TestPrepareJoinRefusesWhatPDRefuses(t *testing.T) {
	for _, tc := range []struct {
		listed []listedMember
		want   string
	}{
		{[]listedMember{{Name: "pd1"}, {Name: "pd2"}}, "missing data or join a duplicated pd"},
		{[]listedMember{{Name: "pd1"}, {PeerURLs: []string{"http://10.0.1.13:2380"}}}, "there is a member that has not joined successfully"},
	} {
		f := &fakeCluster{members: tc.listed}
		srv := f.serve(t)
		_, err := prepareJoin(joinConfig(t, srv.URL), srv.Client())
		if err == nil || !strings.Contains(err.Error(), tc.want) || len(f.added) != 0 {
			t.Fatalf("listed %v: err %v, added %v; want %q and no add", tc.listed, err, f.added, tc.want)
		}
	}
}

func TestPrepareJoinRestartsFromMemberData(t *testing.T) {
	f := &fakeCluster{}
	srv := f.serve(t)
	cfg := joinConfig(t, srv.URL)
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "member", "standin-pd"), 0o700); err != nil {
		t.Fatal(err)
	}
	if got, err := prepareJoin(cfg, srv.Client()); err != nil || got != "" || len(f.added) != 0 {
		t.Fatalf("with member data: %q %v, %d adds", got, err, len(f.added))
	}
	cfg.Join = cfg.AdvertiseClientUrls
	if _, err := prepareJoin(cfg, srv.Client()); err == nil || err.Error() != "join self is forbidden" {
		t.Fatalf("join self: %v", err)
	}
}
