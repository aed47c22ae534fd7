package pd

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// pdService is the part of PD's gRPC API (kvproto pdpb.PD, tikv/pd server/grpc_service.go) a
// TiKV store uses to join: GetMembers, IsBootstrapped, Bootstrap, AllocID, PutStore, GetStore
// and StoreHeartbeat; and what a TiKV client asks (route.go). Everything else answers Unimplemented.
type pdService struct {
	pdpb.UnimplementedPDServer
	n       *node
	version string
}

// Errors as grpc_service.go returns them.
var (
	errGRPCNotLeader  = status.Errorf(codes.Unavailable, "not leader")
	errGRPCNotStarted = status.Errorf(codes.Unavailable, "server not started")
)

func (p *pdService) header(s *clusterState) *pdpb.ResponseHeader {
	return &pdpb.ResponseHeader{ClusterId: s.ClusterID}
}

func errorHeader(s *clusterState, t pdpb.ErrorType, msg string) *pdpb.ResponseHeader {
	return &pdpb.ResponseHeader{ClusterId: s.ClusterID, Error: &pdpb.Error{Type: t, Message: msg}}
}

// validate is validateRoleInRequest: leader only, and the caller's cluster ID must match.
func (p *pdService) validate(h *pdpb.RequestHeader) (*clusterState, error) {
	s, leader := p.n.snapshot()
	if s.ClusterID == 0 {
		return nil, errGRPCNotStarted
	}
	if leader != p.n.self.Name {
		return nil, errGRPCNotLeader
	}
	if h.GetClusterId() != s.ClusterID {
		return nil, status.Errorf(codes.FailedPrecondition, "mismatch cluster id, need %d but got %d", s.ClusterID, h.GetClusterId())
	}
	return s, nil
}

func toPB(m member) *pdpb.Member {
	if !m.Started {
		return &pdpb.Member{MemberId: m.MemberID, PeerUrls: m.PeerURLs}
	}
	return &pdpb.Member{Name: m.Name, MemberId: m.MemberID, PeerUrls: m.PeerURLs, ClientUrls: m.ClientURLs}
}

func (p *pdService) GetMembers(context.Context, *pdpb.GetMembersRequest) (*pdpb.GetMembersResponse, error) {
	s, leader := p.n.snapshot()
	if s.ClusterID == 0 {
		return nil, errGRPCNotStarted
	}
	res := &pdpb.GetMembersResponse{Header: p.header(s)}
	for _, m := range s.Members {
		pm := toPB(m)
		res.Members = append(res.Members, pm)
		if m.Name == leader {
			res.Leader, res.EtcdLeader = pm, pm
		}
	}
	return res, nil
}

func (p *pdService) IsBootstrapped(_ context.Context, req *pdpb.IsBootstrappedRequest) (*pdpb.IsBootstrappedResponse, error) {
	s, err := p.validate(req.GetHeader())
	if err != nil {
		return nil, err
	}
	return &pdpb.IsBootstrappedResponse{Header: p.header(s), Bootstrapped: s.Bootstrapped}, nil
}

func (p *pdService) AllocID(_ context.Context, req *pdpb.AllocIDRequest) (*pdpb.AllocIDResponse, error) {
	s, err := p.validate(req.GetHeader())
	if err != nil {
		return nil, err
	}
	var id uint64
	if err := p.n.update(func(s *clusterState) error { id = s.allocID(); return nil }); err != nil {
		return nil, errGRPCNotLeader
	}
	return &pdpb.AllocIDResponse{Header: p.header(s), Id: id}, nil
}

func (p *pdService) Bootstrap(_ context.Context, req *pdpb.BootstrapRequest) (*pdpb.BootstrapResponse, error) {
	s, err := p.validate(req.GetHeader())
	if err != nil {
		return nil, err
	}
	store, r := req.GetStore(), req.GetRegion()
	var header *pdpb.ResponseHeader
	err = p.n.update(func(s *clusterState) error {
		if s.Bootstrapped {
			header = errorHeader(s, pdpb.ErrorType_ALREADY_BOOTSTRAPPED, "cluster is already bootstrapped")
			return errNoChange
		}
		// server/cluster/cluster.go checkBootstrapRequest: one peer, on this store.
		if store.GetId() == 0 || r.GetId() == 0 || len(r.GetPeers()) != 1 || r.GetPeers()[0].GetStoreId() != store.GetId() {
			header = errorHeader(s, pdpb.ErrorType_UNKNOWN, fmt.Sprintf("invalid bootstrap request: store %d, region %v", store.GetId(), r))
			return errNoChange
		}
		s.Bootstrapped = true
		now := time.Now()
		s.Stores[store.GetId()] = &storeRecord{Meta: store, LastHeartbeat: now.UnixNano(), StartTime: now.Unix()}
		seedRegions(s, r.GetId(), store.GetId())
		log.Printf("[INFO] bootstrap cluster ok: store %d at %s", store.GetId(), store.GetAddress())
		return nil
	})
	if header != nil {
		return &pdpb.BootstrapResponse{Header: header}, nil
	}
	if err != nil {
		return nil, errGRPCNotLeader
	}
	return &pdpb.BootstrapResponse{Header: p.header(s)}, nil
}

func (p *pdService) PutStore(_ context.Context, req *pdpb.PutStoreRequest) (*pdpb.PutStoreResponse, error) {
	s, err := p.validate(req.GetHeader())
	if err != nil {
		return nil, err
	}
	if !s.Bootstrapped {
		return &pdpb.PutStoreResponse{Header: errorHeader(s, pdpb.ErrorType_NOT_BOOTSTRAPPED, "cluster is not bootstrapped")}, nil
	}
	store := req.GetStore()
	var header *pdpb.ResponseHeader
	err = p.n.update(func(s *clusterState) error {
		if old, ok := s.Stores[store.GetId()]; ok && old.Meta.GetState() == metapb.StoreState_Tombstone {
			header = errorHeader(s, pdpb.ErrorType_STORE_TOMBSTONE, fmt.Sprintf("store %d has been removed", store.GetId()))
			return errNoChange
		}
		// server/cluster/cluster.go PutMetaStore: an address belongs to one live store.
		for id, other := range s.Stores {
			if id != store.GetId() && other.Meta.GetAddress() == store.GetAddress() && other.Meta.GetState() != metapb.StoreState_Tombstone {
				header = errorHeader(s, pdpb.ErrorType_UNKNOWN, fmt.Sprintf("duplicated store address: %v, already registered by %v", store, other.Meta))
				return errNoChange
			}
		}
		s.putStore(store, time.Now())
		log.Printf("[INFO] put store ok: store %d at %s version %s", store.GetId(), store.GetAddress(), store.GetVersion())
		return nil
	})
	if header != nil {
		return &pdpb.PutStoreResponse{Header: header}, nil
	}
	if err != nil {
		return nil, errGRPCNotLeader
	}
	return &pdpb.PutStoreResponse{Header: p.header(s)}, nil
}

func (p *pdService) GetStore(_ context.Context, req *pdpb.GetStoreRequest) (*pdpb.GetStoreResponse, error) {
	s, err := p.validate(req.GetHeader())
	if err != nil {
		return nil, err
	}
	rec, ok := s.Stores[req.GetStoreId()]
	if !ok {
		return &pdpb.GetStoreResponse{Header: errorHeader(s, pdpb.ErrorType_UNKNOWN, fmt.Sprintf("invalid store ID %d, not found", req.GetStoreId()))}, nil
	}
	return &pdpb.GetStoreResponse{Header: p.header(s), Store: rec.Meta}, nil
}

func (p *pdService) StoreHeartbeat(_ context.Context, req *pdpb.StoreHeartbeatRequest) (*pdpb.StoreHeartbeatResponse, error) {
	s, err := p.validate(req.GetHeader())
	if err != nil {
		return nil, err
	}
	stats := req.GetStats()
	var header *pdpb.ResponseHeader
	err = p.n.update(func(s *clusterState) error {
		rec, ok := s.Stores[stats.GetStoreId()]
		if !ok {
			header = errorHeader(s, pdpb.ErrorType_UNKNOWN, fmt.Sprintf("store %d not found", stats.GetStoreId()))
			return errNoChange
		}
		if rec.Meta.GetState() == metapb.StoreState_Tombstone {
			header = errorHeader(s, pdpb.ErrorType_STORE_TOMBSTONE, fmt.Sprintf("store %d has been removed", stats.GetStoreId()))
			return errNoChange
		}
		now := time.Now().UnixNano()
		rec.Capacity, rec.Available, rec.UsedSize = stats.GetCapacity(), stats.GetAvailable(), stats.GetUsedSize()
		rec.StartTime = int64(stats.GetStartTime())
		rec.LastHeartbeat = now
		rec.Meta.LastHeartbeat = now
		return nil
	})
	if header != nil {
		return &pdpb.StoreHeartbeatResponse{Header: header}, nil
	}
	if err != nil {
		return nil, errGRPCNotLeader
	}
	return &pdpb.StoreHeartbeatResponse{Header: p.header(s), ClusterVersion: trimV(p.version)}, nil
}

func trimV(v string) string {
	if len(v) > 0 && v[0] == 'v' {
		return v[1:]
	}
	return v
}
