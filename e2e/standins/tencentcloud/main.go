// Command pulumi-resource-terraform-provider / pulumi-resource-tencentcloud: a stand-in for the
// Tencent Cloud provider, for tikv-cvm's end-to-end test only (a test fixture, never offered to
// users). One binary serves both routes of tencentcloud/bindings.ts, chosen by the name it is
// run as (or `--route=terraform|bridged` as the first argument):
//
//   - pulumi-resource-terraform-provider (version 1.1.3), parameterized as tencentcloud 1.82.102
//     (tokens tencentcloud:index/<x>:<X>, invoke tencentcloud:index/getImages:getImages);
//   - pulumi-resource-tencentcloud (version 0.2.3), the bridged tokens.
//
// `<binary> boot <instance id>` is the detached boot of one CVM (host/boot.go).
//
// The cloud's state is TIKV_CVM_STANDIN_CLOUD_DIR/cloud.json (flock'd, so it outlives each
// `pulumi` command as a cloud does). A CVM is a network namespace on the bridge of
// TIKV_CVM_STANDIN_BRIDGE_NETNS, named TIKV_CVM_STANDIN_NETNS_PREFIX<n>, whose root directory gets
// the user data's write_files and whose dockerd is started as the user data's units would;
// EIPs come from TIKV_CVM_STANDIN_EIP_POOL; TIKV_CVM_STANDIN_IMAGES lists `docker save`
// tarballs loaded into each new dockerd (standing for the registry).
//
// What it simplifies, against the real provider and cloud:
//   - security groups and rule sets are stored and validated, never enforced: every host reaches
//     every other, and the operator reaches every host;
//   - an EIP is a second address on the host's eth0 (same bridge), not 1:1 NAT in front of the
//     private address; the instance's publicIp still only changes on refresh, as the real one's;
//   - cloud-init is emulated: write_files only (owners ignored, all root), then the data-disk
//     script and dockerd as the written units say; packages, ntp (chrony), runcmd, sysctl and limits are not
//     applied; dockerd runs its own containerd (--containerd is dropped), with vfs storage, no
//     iptables, no default bridge, its sockets, pid file and exec root in the host's directory;
//   - a CBS disk is a sparse file on a loop device; the guest's /dev/disk/by-id link is under the
//     host's root; detaching a disk a dockerd runs on stops that host's processes;
//   - no regions, zones or quotas beyond what the model checks; instance types, charge types,
//     key pairs and snapshot policies are stored, not acted on; user data changed in place is
//     stored and used at the next reinstall (as ModifyInstanceAttribute + ResetInstance);
//   - API error codes are the SDK's (tencentcloud-sdk-go errors.go at v1.82.102's vendor tree),
//     messages are the stand-in's own; some API-side refusals are also reported at Check time;
//   - previews never reach the provider's Create/Update (SupportsPreview false), and GetSchema
//     answers a minimal schema without resources.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"

	"tikv-cvm.test/tencentcloud/host"
)

func main() {
	args := os.Args[1:]
	if len(args) == 2 && args[0] == "boot" {
		os.Exit(host.Boot(args[1]))
	}
	route := routeOf(os.Args[0])
	if len(args) > 0 && strings.HasPrefix(args[0], "--route=") {
		route = Route(strings.TrimPrefix(args[0], "--route="))
		args = args[1:]
	}
	if route != RouteTerraform && route != RouteBridged {
		fmt.Fprintf(os.Stderr, "%s: run as pulumi-resource-terraform-provider or pulumi-resource-tencentcloud, or pass --route=terraform|bridged\n", os.Args[0])
		os.Exit(2)
	}
	if err := serve(route, args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func routeOf(argv0 string) Route {
	switch filepath.Base(argv0) {
	case "pulumi-resource-terraform-provider":
		return RouteTerraform
	case "pulumi-resource-tencentcloud":
		return RouteBridged
	}
	return ""
}

// serve is what pkg/resource/provider.Main does for a plugin, without its tracing: listen on a
// local port, print it, and stop when the engine goes away. Flags (--logtostderr, -v=, --tracing)
// are ignored; the one argument is the engine's address.
func serve(route Route, args []string) error {
	var engine string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			engine = a
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if engine != "" {
		if err := rpcutil.Healthcheck(ctx, engine, 5*time.Minute, cancel); err != nil {
			return fmt.Errorf("could not start health check host RPC server: %w", err)
		}
	}
	stop := make(chan bool)
	go func() {
		<-ctx.Done()
		close(stop)
	}()
	h, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(s *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(s, &provider{route: route})
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		return err
	}
	fmt.Printf("%d\n", h.Port)
	return <-h.Done
}
