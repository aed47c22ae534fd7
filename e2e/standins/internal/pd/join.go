package pd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Joining a running cluster with --join, as PD's PrepareJoinCluster (tikv/pd v8.5.7
// server/join/join.go) decides before etcd starts:
//   - a `join` file in the data dir: a join already happened; its content is the member list
//     (etcd's initial-cluster) and the member starts as part of the existing cluster;
//   - member data (`<data-dir>/member` not empty, isDataExist): restart as itself, --join ignored;
//   - otherwise list the cluster's members through the --join client URLs: a member without a
//     name ("there is a member that has not joined successfully") or one with this member's name
//     ("missing data or join a duplicated pd") is an error; else MemberAdd with this member's
//     advertised peer URLs, list again, write the `join` file and start as part of the cluster.
//
// The stand-in's MemberAdd is POST /standin/v1/members on the client URL (etcd's MemberAdd is a
// gRPC call on the same port), served by the leader. A member that joined never elects itself
// before it has the cluster's state from the leader (etcd: a member started with
// initial-cluster-state=existing catches up from the leader and never creates a cluster).

// joinRequest is the MemberAdd of the stand-in. etcd's carries peer URLs only and learns the
// name when the member starts; the stand-in keys members by name, so it carries the name, and
// lists the member without it (as etcd does) until it has started.
type joinRequest struct {
	Name     string   `json:"name"`
	PeerURLs []string `json:"peer_urls"`
}

type listedMember struct {
	Name     string   `json:"name"`
	PeerURLs []string `json:"peer_urls"`
}

func joinFilePath(dataDir string) string { return filepath.Join(dataDir, "join") }

func memberDataExists(dataDir string) bool {
	entries, err := os.ReadDir(filepath.Join(dataDir, "member"))
	return err == nil && len(entries) > 0
}

// prepareJoin returns the --initial-cluster value a joining member starts with, or "" when it
// restarts from its own data. client carries this member's certificate.
func prepareJoin(cfg *config, client *http.Client) (string, error) {
	if cfg.Join == cfg.AdvertiseClientUrls {
		return "", errors.New("join self is forbidden")
	}
	if data, err := os.ReadFile(joinFilePath(cfg.DataDir)); err == nil {
		return strings.TrimSpace(string(data)), nil
	}
	if memberDataExists(cfg.DataDir) {
		return "", nil
	}
	list, err := listMembers(client, cfg.Join)
	if err != nil {
		return "", err
	}
	for _, m := range list {
		if m.Name == "" {
			return "", errors.New("there is a member that has not joined successfully")
		}
		if m.Name == cfg.Name {
			return "", errors.New("missing data or join a duplicated pd")
		}
	}
	peers := strings.Split(cfg.AdvertisePeerUrls, ",")
	if err := addMember(client, cfg.Join, joinRequest{Name: cfg.Name, PeerURLs: peers}); err != nil {
		return "", fmt.Errorf("add member %s: %w", cfg.Name, err)
	}
	var initial []string
	for range 20 {
		if list, err = listMembers(client, cfg.Join); err == nil {
			initial = initial[:0]
			listed := false
			for _, m := range list {
				name := m.Name
				if name == "" && len(m.PeerURLs) > 0 && m.PeerURLs[0] == peers[0] {
					name, listed = cfg.Name, true
				}
				for _, u := range m.PeerURLs {
					initial = append(initial, name+"="+u)
				}
			}
			if listed {
				break
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(initial) == 0 {
		return "", fmt.Errorf("member %s was added but is not listed by %s", cfg.Name, cfg.Join)
	}
	value := strings.Join(initial, ",")
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(joinFilePath(cfg.DataDir), []byte(value), 0o600); err != nil {
		return "", err
	}
	log.Printf("[INFO] joined through %s as %s: %s", cfg.Join, cfg.Name, value)
	return value, nil
}

// listMembers asks the --join URLs in turn, as the etcd client does with its endpoints.
func listMembers(client *http.Client, join string) ([]listedMember, error) {
	var last error
	for _, u := range strings.Split(join, ",") {
		res, err := client.Get(strings.TrimRight(u, "/") + "/pd/api/v1/members")
		if err != nil {
			last = err
			continue
		}
		var body struct {
			Members []listedMember `json:"members"`
		}
		err = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || err != nil {
			last = fmt.Errorf("GET %s/pd/api/v1/members: HTTP %d %v", u, res.StatusCode, err)
			continue
		}
		return body.Members, nil
	}
	return nil, fmt.Errorf("list members through %s: %w", join, last)
}

func addMember(client *http.Client, join string, req joinRequest) error {
	payload, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var last error
	for _, u := range strings.Split(join, ",") {
		res, err := client.Post(strings.TrimRight(u, "/")+"/standin/v1/members", "application/json", bytes.NewReader(payload))
		if err != nil {
			last = err
			continue
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Errorf("POST %s/standin/v1/members: HTTP %d", u, res.StatusCode)
	}
	return last
}

// addMember is the leader's side of MemberAdd: the member is listed, unstarted, from now on, so
// the quorum counts it (etcd: adding a member to a one-member cluster needs it started to
// regain a quorum).
func (a *api) addMember(w http.ResponseWriter, r *http.Request) {
	var req joinRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" || len(req.PeerURLs) == 0 {
		writeJSON(w, http.StatusBadRequest, "a member needs a name and peer URLs")
		return
	}
	err := a.n.update(func(s *clusterState) error {
		for _, m := range s.Members {
			if m.Name == req.Name {
				return fmt.Errorf("member %s exists", req.Name)
			}
			for _, u := range m.PeerURLs {
				if u == req.PeerURLs[0] {
					return errors.New("etcdserver: peerURL exists")
				}
			}
		}
		s.Members = append(s.Members, member{Name: req.Name, MemberID: memberID(req.Name, req.PeerURLs[0]), PeerURLs: req.PeerURLs})
		return nil
	})
	if err != nil {
		writeJSON(w, http.StatusConflict, err.Error())
		return
	}
	log.Printf("[INFO] member %s added (%s)", req.Name, strings.Join(req.PeerURLs, ","))
	writeJSON(w, http.StatusOK, "added")
}
