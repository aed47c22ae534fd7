package tikv

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"tikv-cvm.test/standins/internal/tlsx"
)

// pdClient is the little of TiKV's pd_client a store needs: find the leader through
// GetMembers on any endpoint, then call it; on "not leader" or a lost connection, find it again.
type pdClient struct {
	endpoints []string
	dial      grpc.DialOption

	mu        sync.Mutex
	conn      *grpc.ClientConn
	leader    pdpb.PDClient
	clusterID uint64
}

func newPDClient(endpoints []string, files tlsx.Files, tlsOn bool) (*pdClient, error) {
	var hosts []string
	for _, e := range endpoints {
		// components/pd_client/src/util.rs: an http:// or https:// prefix is stripped.
		e = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(e), "http://"), "https://")
		if e != "" {
			hosts = append(hosts, e)
		}
	}
	if len(hosts) == 0 {
		return nil, errors.New("pd.endpoints: empty PD endpoints")
	}
	dial := grpc.WithTransportCredentials(insecure.NewCredentials())
	if tlsOn {
		cfg, err := files.Client()
		if err != nil {
			return nil, err
		}
		dial = grpc.WithTransportCredentials(credentials.NewTLS(cfg))
	}
	return &pdClient{endpoints: hosts, dial: dial}, nil
}

func (c *pdClient) connect(ctx context.Context) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leader != nil {
		return c.clusterID, nil
	}
	var errs []string
	for _, ep := range c.endpoints {
		// passthrough: the name is resolved when dialing, by the system resolver as TiKV does,
		// not by gRPC's DNS resolver (whose TXT lookups hang on Docker's embedded DNS).
		conn, err := grpc.NewClient("passthrough:///"+ep, c.dial)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", ep, err))
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		res, err := pdpb.NewPDClient(conn).GetMembers(cctx, &pdpb.GetMembersRequest{Header: &pdpb.RequestHeader{}})
		cancel()
		conn.Close()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", ep, err))
			continue
		}
		if res.GetHeader().GetError() != nil || res.GetLeader() == nil || len(res.GetLeader().GetClientUrls()) == 0 {
			errs = append(errs, fmt.Sprintf("%s: no leader yet", ep))
			continue
		}
		target := res.GetLeader().GetClientUrls()[0]
		target = strings.TrimPrefix(strings.TrimPrefix(target, "http://"), "https://")
		leaderConn, err := grpc.NewClient("passthrough:///"+target, c.dial)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", target, err))
			continue
		}
		c.conn, c.leader, c.clusterID = leaderConn, pdpb.NewPDClient(leaderConn), res.GetHeader().GetClusterId()
		log.Printf("[INFO] connected to PD leader %s (%s), cluster %d", res.GetLeader().GetName(), target, c.clusterID)
		return c.clusterID, nil
	}
	return 0, fmt.Errorf("PD is not reachable: %s", strings.Join(errs, "; "))
}

func (c *pdClient) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.conn.Close()
	}
	c.conn, c.leader = nil, nil
}

// call runs fn against the leader, finding it again once when the call fails.
func (c *pdClient) call(ctx context.Context, fn func(ctx context.Context, cl pdpb.PDClient, h *pdpb.RequestHeader) (*pdpb.ResponseHeader, error)) error {
	for attempt := 0; attempt < 2; attempt++ {
		clusterID, err := c.connect(ctx)
		if err != nil {
			return err
		}
		c.mu.Lock()
		cl := c.leader
		c.mu.Unlock()
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		header, err := fn(cctx, cl, &pdpb.RequestHeader{ClusterId: clusterID})
		cancel()
		if err != nil {
			c.reset()
			continue
		}
		if e := header.GetError(); e != nil {
			return pdError{e}
		}
		return nil
	}
	return errors.New("PD leader changed twice during one call")
}

type pdError struct{ e *pdpb.Error }

func (p pdError) Error() string { return fmt.Sprintf("PD: %s: %s", p.e.GetType(), p.e.GetMessage()) }

func (c *pdClient) allocID(ctx context.Context) (uint64, error) {
	var id uint64
	err := c.call(ctx, func(ctx context.Context, cl pdpb.PDClient, h *pdpb.RequestHeader) (*pdpb.ResponseHeader, error) {
		res, err := cl.AllocID(ctx, &pdpb.AllocIDRequest{Header: h})
		id = res.GetId()
		return res.GetHeader(), err
	})
	return id, err
}

func (c *pdClient) isBootstrapped(ctx context.Context) (bool, error) {
	var ok bool
	err := c.call(ctx, func(ctx context.Context, cl pdpb.PDClient, h *pdpb.RequestHeader) (*pdpb.ResponseHeader, error) {
		res, err := cl.IsBootstrapped(ctx, &pdpb.IsBootstrappedRequest{Header: h})
		ok = res.GetBootstrapped()
		return res.GetHeader(), err
	})
	return ok, err
}

func (c *pdClient) bootstrap(ctx context.Context, store *metapb.Store, region *metapb.Region) error {
	err := c.call(ctx, func(ctx context.Context, cl pdpb.PDClient, h *pdpb.RequestHeader) (*pdpb.ResponseHeader, error) {
		res, err := cl.Bootstrap(ctx, &pdpb.BootstrapRequest{Header: h, Store: store, Region: region})
		return res.GetHeader(), err
	})
	var pe pdError
	if errors.As(err, &pe) && pe.e.GetType() == pdpb.ErrorType_ALREADY_BOOTSTRAPPED {
		return nil // another store was first
	}
	return err
}

func (c *pdClient) putStore(ctx context.Context, store *metapb.Store) error {
	err := c.call(ctx, func(ctx context.Context, cl pdpb.PDClient, h *pdpb.RequestHeader) (*pdpb.ResponseHeader, error) {
		res, err := cl.PutStore(ctx, &pdpb.PutStoreRequest{Header: h, Store: store})
		return res.GetHeader(), err
	})
	var pe pdError
	if errors.As(err, &pe) {
		// TiKV exits on a refused store (duplicated address, tombstone).
		return fatalError{err}
	}
	return err
}

func (c *pdClient) storeHeartbeat(ctx context.Context, stats *pdpb.StoreStats) error {
	return c.call(ctx, func(ctx context.Context, cl pdpb.PDClient, h *pdpb.RequestHeader) (*pdpb.ResponseHeader, error) {
		res, err := cl.StoreHeartbeat(ctx, &pdpb.StoreHeartbeatRequest{Header: h, Stats: stats})
		return res.GetHeader(), err
	})
}

func (c *pdClient) getAllStores(ctx context.Context) ([]*metapb.Store, error) {
	var stores []*metapb.Store
	err := c.call(ctx, func(ctx context.Context, cl pdpb.PDClient, h *pdpb.RequestHeader) (*pdpb.ResponseHeader, error) {
		res, err := cl.GetAllStores(ctx, &pdpb.GetAllStoresRequest{Header: h, ExcludeTombstoneStores: true})
		stores = res.GetStores()
		return res.GetHeader(), err
	})
	return stores, err
}
