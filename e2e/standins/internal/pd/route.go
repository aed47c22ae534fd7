package pd

import (
	"bytes"
	"context"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// What a TiKV client (tikv/client-go v2 through tikv/pd/client) asks PD, answered from the
// simulated regions (sim.go): cluster info, region routing, stores and timestamps.
// tikv/pd server/grpc_service.go GetClusterInfo, GetRegion, GetPrevRegion, GetRegionByID,
// ScanRegions, BatchScanRegions, GetAllStores, Tso.

// regionBounds gives the simulated regions key ranges: ordered by ID, they split the key space at
// evenly spaced one-byte boundaries, the first starting at "" and the last ending at "" (no end),
// as PD's regions always cover the whole key space (pkg/core/region_tree.go).
func regionBounds(s *clusterState) []*metapb.Region {
	regions := append([]*region(nil), s.Regions...)
	sort.Slice(regions, func(i, j int) bool { return regions[i].ID < regions[j].ID })
	out := make([]*metapb.Region, 0, len(regions))
	for i, r := range regions {
		var start, end []byte
		if i > 0 {
			start = []byte{byte(i * 256 / len(regions))}
		}
		if i < len(regions)-1 {
			end = []byte{byte((i + 1) * 256 / len(regions))}
		}
		m := &metapb.Region{
			Id: r.ID, StartKey: start, EndKey: end,
			// The simulation moves peers without Raft; conf_ver counts nothing here.
			RegionEpoch: &metapb.RegionEpoch{ConfVer: 1, Version: 1},
		}
		for _, sid := range r.Stores {
			m.Peers = append(m.Peers, &metapb.Peer{Id: peerID(r.ID, sid), StoreId: sid})
		}
		out = append(out, m)
	}
	return out
}

// peerID is derived, not allocated: the simulation keeps store IDs per region only.
func peerID(regionID, storeID uint64) uint64 { return regionID<<16 | storeID }

func leaderOf(s *clusterState, regionID uint64) *metapb.Peer {
	for _, r := range s.Regions {
		if r.ID == regionID && r.Leader != 0 {
			return &metapb.Peer{Id: peerID(r.ID, r.Leader), StoreId: r.Leader}
		}
	}
	return nil
}

func inRange(m *metapb.Region, key []byte) bool {
	return bytes.Compare(key, m.StartKey) >= 0 && (len(m.EndKey) == 0 || bytes.Compare(key, m.EndKey) < 0)
}

func (p *pdService) regionResponse(s *clusterState, m *metapb.Region) *pdpb.GetRegionResponse {
	if m == nil {
		// grpc_service.go GetRegion: an unknown region is an empty answer with REGION_NOT_FOUND.
		return &pdpb.GetRegionResponse{Header: errorHeader(s, pdpb.ErrorType_REGION_NOT_FOUND, "region not found")}
	}
	return &pdpb.GetRegionResponse{Header: p.header(s), Region: m, Leader: leaderOf(s, m.Id)}
}

// GetClusterInfo: PD (not microservice) mode, as a PD without a scheduling or TSO service answers.
func (p *pdService) GetClusterInfo(context.Context, *pdpb.GetClusterInfoRequest) (*pdpb.GetClusterInfoResponse, error) {
	s, _ := p.n.snapshot()
	if s.ClusterID == 0 {
		return nil, errGRPCNotStarted
	}
	return &pdpb.GetClusterInfoResponse{Header: p.header(s), ServiceModes: []pdpb.ServiceMode{pdpb.ServiceMode_PD_SVC_MODE}}, nil
}

func (p *pdService) GetRegion(_ context.Context, req *pdpb.GetRegionRequest) (*pdpb.GetRegionResponse, error) {
	s, err := p.validate(req.GetHeader())
	if err != nil {
		return nil, err
	}
	for _, m := range regionBounds(s) {
		if inRange(m, req.GetRegionKey()) {
			return p.regionResponse(s, m), nil
		}
	}
	return p.regionResponse(s, nil), nil
}

// GetPrevRegion: the region ending where the key's region starts.
func (p *pdService) GetPrevRegion(_ context.Context, req *pdpb.GetRegionRequest) (*pdpb.GetRegionResponse, error) {
	s, err := p.validate(req.GetHeader())
	if err != nil {
		return nil, err
	}
	all := regionBounds(s)
	for i, m := range all {
		if inRange(m, req.GetRegionKey()) && i > 0 {
			return p.regionResponse(s, all[i-1]), nil
		}
	}
	return p.regionResponse(s, nil), nil
}

func (p *pdService) GetRegionByID(_ context.Context, req *pdpb.GetRegionByIDRequest) (*pdpb.GetRegionResponse, error) {
	s, err := p.validate(req.GetHeader())
	if err != nil {
		return nil, err
	}
	for _, m := range regionBounds(s) {
		if m.Id == req.GetRegionId() {
			return p.regionResponse(s, m), nil
		}
	}
	return p.regionResponse(s, nil), nil
}

// scan lists regions from the one holding start, up to end (exclusive; empty: no end) and limit
// (0: no limit), as pkg/core/region.go ScanRegions.
func scan(all []*metapb.Region, start, end []byte, limit int) []*metapb.Region {
	var out []*metapb.Region
	for _, m := range all {
		if len(m.EndKey) != 0 && bytes.Compare(m.EndKey, start) <= 0 {
			continue
		}
		if len(end) != 0 && bytes.Compare(m.StartKey, end) >= 0 {
			break
		}
		out = append(out, m)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out
}

func (p *pdService) ScanRegions(_ context.Context, req *pdpb.ScanRegionsRequest) (*pdpb.ScanRegionsResponse, error) {
	s, err := p.validate(req.GetHeader())
	if err != nil {
		return nil, err
	}
	res := &pdpb.ScanRegionsResponse{Header: p.header(s)}
	for _, m := range scan(regionBounds(s), req.GetStartKey(), req.GetEndKey(), int(req.GetLimit())) {
		leader := leaderOf(s, m.Id)
		if leader == nil {
			leader = &metapb.Peer{}
		}
		res.RegionMetas = append(res.RegionMetas, m)
		res.Leaders = append(res.Leaders, leader)
		res.Regions = append(res.Regions, &pdpb.Region{Region: m, Leader: leader})
	}
	return res, nil
}

func (p *pdService) BatchScanRegions(_ context.Context, req *pdpb.BatchScanRegionsRequest) (*pdpb.BatchScanRegionsResponse, error) {
	s, err := p.validate(req.GetHeader())
	if err != nil {
		return nil, err
	}
	res := &pdpb.BatchScanRegionsResponse{Header: p.header(s)}
	all := regionBounds(s)
	seen := map[uint64]bool{}
	for _, kr := range req.GetRanges() {
		for _, m := range scan(all, kr.GetStartKey(), kr.GetEndKey(), 0) {
			if seen[m.Id] {
				continue
			}
			seen[m.Id] = true
			res.Regions = append(res.Regions, &pdpb.Region{Region: m, Leader: leaderOf(s, m.Id)})
			if limit := int(req.GetLimit()); limit > 0 && len(res.Regions) >= limit {
				return res, nil
			}
		}
	}
	return res, nil
}

func (p *pdService) GetAllStores(_ context.Context, req *pdpb.GetAllStoresRequest) (*pdpb.GetAllStoresResponse, error) {
	s, err := p.validate(req.GetHeader())
	if err != nil {
		return nil, err
	}
	res := &pdpb.GetAllStoresResponse{Header: p.header(s)}
	for _, id := range s.storeIDs() {
		meta := s.Stores[id].Meta
		if req.GetExcludeTombstoneStores() && meta.GetState() == metapb.StoreState_Tombstone {
			continue
		}
		res.Stores = append(res.Stores, meta)
	}
	return res, nil
}

// tsoClock hands out timestamps as PD's TSO allocator (pkg/tso/tso.go): physical milliseconds,
// a logical counter within one, never going back in this process. Not persisted across
// leaders (PD saves a window in etcd): the stand-in's timestamps serve RawKV, which takes none.
type tsoClock struct {
	mu       sync.Mutex
	physical int64
	logical  int64
}

const maxLogical = 1 << 18

func (c *tsoClock) next(count uint32) (int64, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now().UnixMilli()
	if now > c.physical {
		c.physical, c.logical = now, 0
	}
	if c.logical+int64(count) >= maxLogical {
		c.physical++
		c.logical = 0
	}
	c.logical += int64(count)
	return c.physical, c.logical
}

var tso tsoClock

func (p *pdService) Tso(stream pdpb.PD_TsoServer) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		s, err := p.validate(req.GetHeader())
		if err != nil {
			return err
		}
		if req.GetCount() == 0 {
			return status.Errorf(codes.InvalidArgument, "tso count should be positive")
		}
		physical, logical := tso.next(req.GetCount())
		if err := stream.Send(&pdpb.TsoResponse{
			Header: p.header(s), Count: req.GetCount(),
			Timestamp: &pdpb.Timestamp{Physical: physical, Logical: logical},
		}); err != nil {
			return err
		}
	}
}
