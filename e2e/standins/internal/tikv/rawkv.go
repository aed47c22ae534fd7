package tikv

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// rawService is the RawKV part of TiKV's gRPC API (kvproto tikvpb.Tikv; tikv/tikv
// src/server/service/kv.go), unary and inside BatchCommands, which client-go uses for every
// request it can batch (internal/client/client_batch.go). Everything else answers Unimplemented.
// The stand-in checks no region, epoch or leadership (rawData's comment says why); a write that
// cannot reach every other Up store is answered ServerIsBusy, which client-go backs off and retries.
type rawService struct {
	tikvpb.UnimplementedTikvServer
	s *store
}

// errTTLDisabled is TiKV's answer to a TTL without storage.enable-ttl (src/storage/mod.rs
// raw_put, ErrorInner::TtlNotEnabled), which the program never sets.
const errTTLDisabled = "ttl is not enabled, but get put request with ttl"

func (r *rawService) notReady() *errorpb.Error {
	if r.s.raw == nil || !r.s.caughtUp.Load() {
		return &errorpb.Error{Message: "store is catching up with its peers", ServerIsBusy: &errorpb.ServerIsBusy{Reason: "stand-in catching up"}}
	}
	return nil
}

// write stamps, copies to every other Up store, then applies locally.
func (r *rawService) write(ctx context.Context, ops []op) *errorpb.Error {
	if e := r.notReady(); e != nil {
		return e
	}
	ops = r.s.raw.stamp(ops)
	if err := r.s.replicate(ctx, ops); err != nil {
		return &errorpb.Error{Message: err.Error(), ServerIsBusy: &errorpb.ServerIsBusy{Reason: "replica unreachable"}}
	}
	if err := r.s.raw.apply(ops); err != nil {
		return &errorpb.Error{Message: err.Error(), ServerIsBusy: &errorpb.ServerIsBusy{Reason: "local write failed"}}
	}
	return nil
}

func (r *rawService) RawGet(_ context.Context, req *kvrpcpb.RawGetRequest) (*kvrpcpb.RawGetResponse, error) {
	if e := r.notReady(); e != nil {
		return &kvrpcpb.RawGetResponse{RegionError: e}, nil
	}
	v, ok := r.s.raw.get(req.GetCf(), req.GetKey())
	return &kvrpcpb.RawGetResponse{Value: v, NotFound: !ok}, nil
}

func (r *rawService) RawBatchGet(_ context.Context, req *kvrpcpb.RawBatchGetRequest) (*kvrpcpb.RawBatchGetResponse, error) {
	if e := r.notReady(); e != nil {
		return &kvrpcpb.RawBatchGetResponse{RegionError: e}, nil
	}
	res := &kvrpcpb.RawBatchGetResponse{}
	for _, k := range req.GetKeys() {
		// TiKV leaves keys it does not find out of the answer (src/storage/mod.rs raw_batch_get).
		if v, ok := r.s.raw.get(req.GetCf(), k); ok {
			res.Pairs = append(res.Pairs, &kvrpcpb.KvPair{Key: k, Value: v})
		}
	}
	return res, nil
}

func (r *rawService) RawPut(ctx context.Context, req *kvrpcpb.RawPutRequest) (*kvrpcpb.RawPutResponse, error) {
	if req.GetTtl() != 0 {
		return &kvrpcpb.RawPutResponse{Error: errTTLDisabled}, nil
	}
	e := r.write(ctx, []op{{CF: req.GetCf(), Key: req.GetKey(), entry: entry{Value: req.GetValue()}}})
	return &kvrpcpb.RawPutResponse{RegionError: e}, nil
}

func (r *rawService) RawBatchPut(ctx context.Context, req *kvrpcpb.RawBatchPutRequest) (*kvrpcpb.RawBatchPutResponse, error) {
	if req.GetTtl() != 0 || len(req.GetTtls()) > 0 && req.GetTtls()[0] != 0 {
		return &kvrpcpb.RawBatchPutResponse{Error: errTTLDisabled}, nil
	}
	ops := make([]op, 0, len(req.GetPairs()))
	for _, p := range req.GetPairs() {
		ops = append(ops, op{CF: req.GetCf(), Key: p.GetKey(), entry: entry{Value: p.GetValue()}})
	}
	return &kvrpcpb.RawBatchPutResponse{RegionError: r.write(ctx, ops)}, nil
}

func (r *rawService) RawDelete(ctx context.Context, req *kvrpcpb.RawDeleteRequest) (*kvrpcpb.RawDeleteResponse, error) {
	e := r.write(ctx, []op{{CF: req.GetCf(), Key: req.GetKey(), entry: entry{Deleted: true}}})
	return &kvrpcpb.RawDeleteResponse{RegionError: e}, nil
}

func (r *rawService) RawBatchDelete(ctx context.Context, req *kvrpcpb.RawBatchDeleteRequest) (*kvrpcpb.RawBatchDeleteResponse, error) {
	ops := make([]op, 0, len(req.GetKeys()))
	for _, k := range req.GetKeys() {
		ops = append(ops, op{CF: req.GetCf(), Key: k, entry: entry{Deleted: true}})
	}
	return &kvrpcpb.RawBatchDeleteResponse{RegionError: r.write(ctx, ops)}, nil
}

func (r *rawService) RawDeleteRange(ctx context.Context, req *kvrpcpb.RawDeleteRangeRequest) (*kvrpcpb.RawDeleteRangeResponse, error) {
	if e := r.notReady(); e != nil {
		return &kvrpcpb.RawDeleteRangeResponse{RegionError: e}, nil
	}
	var ops []op
	for _, o := range r.s.raw.scan(req.GetCf(), req.GetStartKey(), req.GetEndKey(), 0, false) {
		ops = append(ops, op{CF: o.CF, Key: o.Key, entry: entry{Deleted: true}})
	}
	return &kvrpcpb.RawDeleteRangeResponse{RegionError: r.write(ctx, ops)}, nil
}

func (r *rawService) RawScan(_ context.Context, req *kvrpcpb.RawScanRequest) (*kvrpcpb.RawScanResponse, error) {
	if e := r.notReady(); e != nil {
		return &kvrpcpb.RawScanResponse{RegionError: e}, nil
	}
	res := &kvrpcpb.RawScanResponse{}
	for _, o := range r.s.raw.scan(req.GetCf(), req.GetStartKey(), req.GetEndKey(), int(req.GetLimit()), req.GetReverse()) {
		p := &kvrpcpb.KvPair{Key: o.Key}
		if !req.GetKeyOnly() {
			p.Value = o.Value
		}
		res.Kvs = append(res.Kvs, p)
	}
	return res, nil
}

// BatchCommands answers each request of a batch on its own goroutine, as TiKV does not wait for
// one request before starting the next (src/server/service/kv.go handle_batch_commands_request).
func (r *rawService) BatchCommands(stream tikvpb.Tikv_BatchCommandsServer) error {
	ctx := stream.Context()
	var sendMu sync.Mutex
	send := func(id uint64, res *tikvpb.BatchCommandsResponse_Response) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(&tikvpb.BatchCommandsResponse{Responses: []*tikvpb.BatchCommandsResponse_Response{res}, RequestIds: []uint64{id}})
	}
	for {
		batch, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		for i, req := range batch.GetRequests() {
			id := batch.GetRequestIds()[i]
			res, err := r.dispatch(ctx, req)
			if err != nil {
				return err
			}
			go func() { _ = send(id, <-res) }()
		}
	}
}

func (r *rawService) dispatch(ctx context.Context, req *tikvpb.BatchCommandsRequest_Request) (<-chan *tikvpb.BatchCommandsResponse_Response, error) {
	out := make(chan *tikvpb.BatchCommandsResponse_Response, 1)
	wrap := func(f func() *tikvpb.BatchCommandsResponse_Response) {
		go func() { out <- f() }()
	}
	type resp = tikvpb.BatchCommandsResponse_Response
	switch c := req.GetCmd().(type) {
	case *tikvpb.BatchCommandsRequest_Request_RawGet:
		wrap(func() *resp {
			v, _ := r.RawGet(ctx, c.RawGet)
			return &resp{Cmd: &tikvpb.BatchCommandsResponse_Response_RawGet{RawGet: v}}
		})
	case *tikvpb.BatchCommandsRequest_Request_RawBatchGet:
		wrap(func() *resp {
			v, _ := r.RawBatchGet(ctx, c.RawBatchGet)
			return &resp{Cmd: &tikvpb.BatchCommandsResponse_Response_RawBatchGet{RawBatchGet: v}}
		})
	case *tikvpb.BatchCommandsRequest_Request_RawPut:
		wrap(func() *resp {
			v, _ := r.RawPut(ctx, c.RawPut)
			return &resp{Cmd: &tikvpb.BatchCommandsResponse_Response_RawPut{RawPut: v}}
		})
	case *tikvpb.BatchCommandsRequest_Request_RawBatchPut:
		wrap(func() *resp {
			v, _ := r.RawBatchPut(ctx, c.RawBatchPut)
			return &resp{Cmd: &tikvpb.BatchCommandsResponse_Response_RawBatchPut{RawBatchPut: v}}
		})
	case *tikvpb.BatchCommandsRequest_Request_RawDelete:
		wrap(func() *resp {
			v, _ := r.RawDelete(ctx, c.RawDelete)
			return &resp{Cmd: &tikvpb.BatchCommandsResponse_Response_RawDelete{RawDelete: v}}
		})
	case *tikvpb.BatchCommandsRequest_Request_RawBatchDelete:
		wrap(func() *resp {
			v, _ := r.RawBatchDelete(ctx, c.RawBatchDelete)
			return &resp{Cmd: &tikvpb.BatchCommandsResponse_Response_RawBatchDelete{RawBatchDelete: v}}
		})
	case *tikvpb.BatchCommandsRequest_Request_RawDeleteRange:
		wrap(func() *resp {
			v, _ := r.RawDeleteRange(ctx, c.RawDeleteRange)
			return &resp{Cmd: &tikvpb.BatchCommandsResponse_Response_RawDeleteRange{RawDeleteRange: v}}
		})
	case *tikvpb.BatchCommandsRequest_Request_RawScan:
		wrap(func() *resp {
			v, _ := r.RawScan(ctx, c.RawScan)
			return &resp{Cmd: &tikvpb.BatchCommandsResponse_Response_RawScan{RawScan: v}}
		})
	case *tikvpb.BatchCommandsRequest_Request_Empty:
		out <- &resp{Cmd: &tikvpb.BatchCommandsResponse_Response_Empty{Empty: &tikvpb.BatchCommandsEmptyResponse{TestId: c.Empty.GetTestId()}}}
	default:
		return nil, status.Error(codes.Unimplemented, fmt.Sprintf("the TiKV stand-in serves RawKV only, not %T", c))
	}
	return out, nil
}
