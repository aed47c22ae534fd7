package main

// The gRPC ResourceProvider: translation only. Requests become plain values for the model
// (cloud/), accepted operations become host effects (host/), answers go back as Pulumi properties.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"tikv-cvm.test/tencentcloud/cloud"
	"tikv-cvm.test/tencentcloud/host"
)

// Route is how the program reaches the provider (tencentcloud/bindings.ts).
type Route string

const (
	// RouteTerraform: the parameterized "Any Terraform Provider" plugin terraform-provider 1.1.3.
	RouteTerraform Route = "terraform"
	// RouteBridged: the statically bridged plugin tencentcloud 0.2.3.
	RouteBridged Route = "bridged"
)

// pluginVersion is the version each route's plugin reports.
var pluginVersion = map[Route]string{RouteTerraform: "1.1.3", RouteBridged: "0.2.3"}

const (
	packageName    = "tencentcloud"
	packageVersion = "1.82.102"
	// The Terraform provider the parameter names (pulumi-terraform-bridge dynamic/parameterize).
	remoteSuffix = "tencentcloudstack/tencentcloud"
)

// tokens: the type tokens of tencentcloud/bindings.ts TOKENS, per route.
var tokens = map[Route]map[string]cloud.Kind{
	RouteTerraform: {
		"tencentcloud:index/vpc:Vpc":                                                 cloud.VPC,
		"tencentcloud:index/subnet:Subnet":                                           cloud.Subnet,
		"tencentcloud:index/securityGroup:SecurityGroup":                             cloud.SecurityGroup,
		"tencentcloud:index/securityGroupRuleSet:SecurityGroupRuleSet":               cloud.SecurityGroupRuleSet,
		"tencentcloud:index/instance:Instance":                                       cloud.Instance,
		"tencentcloud:index/eip:Eip":                                                 cloud.EIP,
		"tencentcloud:index/eipAssociation:EipAssociation":                           cloud.EIPAssociation,
		"tencentcloud:index/keyPair:KeyPair":                                         cloud.KeyPair,
		"tencentcloud:index/cbsStorage:CbsStorage":                                   cloud.CBSStorage,
		"tencentcloud:index/cbsStorageAttachment:CbsStorageAttachment":               cloud.CBSStorageAttachment,
		"tencentcloud:index/cbsSnapshotPolicy:CbsSnapshotPolicy":                     cloud.CBSSnapshotPolicy,
		"tencentcloud:index/cbsSnapshotPolicyAttachment:CbsSnapshotPolicyAttachment": cloud.CBSSnapshotPolicyAttached,
		"tencentcloud:index/placementGroup:PlacementGroup":                           cloud.PlacementGroup,
	},
	RouteBridged: {
		"tencentcloud:Vpc/instance:Instance":                                 cloud.VPC,
		"tencentcloud:Subnet/instance:Instance":                              cloud.Subnet,
		"tencentcloud:Security/group:Group":                                  cloud.SecurityGroup,
		"tencentcloud:Security/groupRuleSet:GroupRuleSet":                    cloud.SecurityGroupRuleSet,
		"tencentcloud:Instance/instance:Instance":                            cloud.Instance,
		"tencentcloud:Eip/instance:Instance":                                 cloud.EIP,
		"tencentcloud:Eip/association:Association":                           cloud.EIPAssociation,
		"tencentcloud:Key/pair:Pair":                                         cloud.KeyPair,
		"tencentcloud:Cbs/storage:Storage":                                   cloud.CBSStorage,
		"tencentcloud:Cbs/storageAttachment:StorageAttachment":               cloud.CBSStorageAttachment,
		"tencentcloud:Cbs/snapshotPolicy:SnapshotPolicy":                     cloud.CBSSnapshotPolicy,
		"tencentcloud:Cbs/snapshotPolicyAttachment:SnapshotPolicyAttachment": cloud.CBSSnapshotPolicyAttached,
		"tencentcloud:Placement/group:Group":                                 cloud.PlacementGroup,
	},
}

var imagesToken = map[Route]string{
	RouteTerraform: "tencentcloud:index/getImages:getImages",
	RouteBridged:   "tencentcloud:Images/getInstance:getInstance",
}

type provider struct {
	pulumirpc.UnimplementedResourceProviderServer
	route         Route
	parameterized bool
}

func (p *provider) kind(urnOrType string) (cloud.Kind, error) {
	t := urnOrType
	if i := strings.LastIndex(t, "::"); i >= 0 {
		t = t[i+2:]
	}
	if k, ok := tokens[p.route][t]; ok {
		return k, nil
	}
	return "", fmt.Errorf("the Tencent Cloud stand-in (route %s) has no resource type %q", p.route, t)
}

var opts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true}

// plain turns Pulumi properties into the model's plain values; secret tells which top-level keys
// were secrets.
func plain(s *structpb.Struct) (cloud.Props, map[string]bool, error) {
	m, err := plugin.UnmarshalProperties(s, opts)
	if err != nil {
		return nil, nil, err
	}
	out, secret := cloud.Props{}, map[string]bool{}
	for k, v := range m {
		if v.ContainsSecrets() {
			secret[string(k)] = true
		}
		out[string(k)] = plainValue(v)
	}
	return out, secret, nil
}

func plainValue(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return plainValue(v.SecretValue().Element)
	case v.IsComputed():
		return cloud.Unknown{}
	case v.IsOutput():
		if !v.OutputValue().Known {
			return cloud.Unknown{}
		}
		return plainValue(v.OutputValue().Element)
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		var out []any
		for _, e := range v.ArrayValue() {
			out = append(out, plainValue(e))
		}
		if out == nil {
			out = []any{}
		}
		return out
	case v.IsObject():
		out := map[string]any{}
		for k, e := range v.ObjectValue() {
			out[string(k)] = plainValue(e)
		}
		return out
	}
	return nil
}

// props turns the model's values back into Pulumi properties, the keys in secret as secrets.
func props(p cloud.Props, secret map[string]bool) (*structpb.Struct, error) {
	m := resource.NewPropertyMapFromMap(p)
	for k := range secret {
		if v, ok := m[resource.PropertyKey(k)]; ok && !v.IsSecret() {
			m[resource.PropertyKey(k)] = resource.MakeSecret(v)
		}
	}
	return plugin.MarshalProperties(m, opts)
}

func (p *provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: pluginVersion[p.route]}, nil
}

func (p *provider) Handshake(context.Context, *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

// Parameterize: the engine sends the value form (pkg/resource/deploy/providers/registry.go
// loadParameterizedProvider, from the program's RegisterPackage); `pulumi package add
// terraform-provider tencentcloudstack/tencentcloud 1.82.102` sends the args form.
func (p *provider) Parameterize(_ context.Context, req *pulumirpc.ParameterizeRequest) (*pulumirpc.ParameterizeResponse, error) {
	if p.route != RouteTerraform {
		return nil, fmt.Errorf("plugin tencentcloud %s is not parameterizable", pluginVersion[p.route])
	}
	var url, version string
	switch {
	case req.GetArgs() != nil:
		args := req.GetArgs().GetArgs()
		if len(args) == 0 || len(args) > 2 {
			return nil, fmt.Errorf("expected <provider> [version], got %q", args)
		}
		url = args[0]
		if len(args) == 2 {
			version = args[1]
		}
	case req.GetValue() != nil:
		var v struct {
			Remote struct {
				URL     string `json:"url"`
				Version string `json:"version"`
			} `json:"remote"`
		}
		if err := json.Unmarshal(req.GetValue().GetValue(), &v); err != nil {
			return nil, fmt.Errorf("parameter value: %w", err)
		}
		url, version = v.Remote.URL, v.Remote.Version
	default:
		return nil, errors.New("Parameterize: neither args nor value")
	}
	if !strings.HasSuffix(url, remoteSuffix) {
		return nil, fmt.Errorf("the Tencent Cloud stand-in serves only %s, not %q", remoteSuffix, url)
	}
	if version != "" && version != packageVersion {
		return nil, fmt.Errorf("the Tencent Cloud stand-in serves %s %s only, not %s", remoteSuffix, packageVersion, version)
	}
	p.parameterized = true
	return &pulumirpc.ParameterizeResponse{Name: packageName, Version: packageVersion}, nil
}

func (p *provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	name, version := packageName, pluginVersion[p.route]
	if p.route == RouteTerraform {
		name = "terraform-provider"
		if p.parameterized {
			name, version = packageName, packageVersion
		}
	}
	s := map[string]any{
		"name": name, "version": version,
		"description": "Tencent Cloud stand-in (test fixture)",
		"config":      map[string]any{"variables": map[string]any{"region": map[string]any{"type": "string"}, "secretId": map[string]any{"type": "string"}, "secretKey": map[string]any{"type": "string", "secret": true}}},
		"provider":    map[string]any{"inputProperties": map[string]any{"region": map[string]any{"type": "string"}, "secretId": map[string]any{"type": "string"}, "secretKey": map[string]any{"type": "string", "secret": true}}},
	}
	b, _ := json.Marshal(s)
	return &pulumirpc.GetSchemaResponse{Schema: string(b)}, nil
}

func (p *provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *provider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, _, err := plain(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, _, err := plain(req.GetNews())
	if err != nil {
		return nil, err
	}
	var diffs []string
	for _, k := range []string{"region", "secretId", "secretKey"} {
		if !cloud.Equal(olds[k], news[k]) {
			diffs = append(diffs, k)
		}
	}
	ch := pulumirpc.DiffResponse_DIFF_NONE
	if len(diffs) > 0 {
		ch = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{Changes: ch, Diffs: diffs}, nil
}

// Configure takes region, secretId and secretKey, from the provider's inputs or else the
// TENCENTCLOUD_* environment, as tencentcloud/provider.go providerConfigure does: no region is
// ap-guangzhou (DEFAULT_REGION); no key is "Please set your `secret_id` and `secret_key`."
func (p *provider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	cfg := map[string]string{}
	if req.GetArgs() != nil {
		args, _, err := plain(req.GetArgs())
		if err != nil {
			return nil, err
		}
		for k, v := range args {
			if s, ok := v.(string); ok {
				cfg[k] = s
			}
		}
	} else {
		for k, v := range req.GetVariables() {
			cfg[k[strings.LastIndex(k, ":")+1:]] = v
		}
	}
	env := map[string]string{"secretId": "TENCENTCLOUD_SECRET_ID", "secretKey": "TENCENTCLOUD_SECRET_KEY", "region": "TENCENTCLOUD_REGION"}
	for k, e := range env {
		if cfg[k] == "" {
			cfg[k] = os.Getenv(e)
		}
	}
	if cfg["region"] == "" {
		cfg["region"] = "ap-guangzhou"
	}
	if cfg["secretId"] == "" || cfg["secretKey"] == "" {
		return nil, errors.New("Please set your `secret_id` and `secret_key`.\n")
	}
	if _, err := cloud.OpenStore(); err != nil {
		return nil, err
	}
	// No preview support: the engine plans previews from the inputs alone.
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

func (p *provider) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	if req.GetTok() != imagesToken[p.route] {
		return nil, fmt.Errorf("the Tencent Cloud stand-in (route %s) has no function %q", p.route, req.GetTok())
	}
	if _, err := cloud.OpenStore(); err != nil {
		return nil, err
	}
	args, _, err := plain(req.GetArgs())
	if err != nil {
		return nil, err
	}
	res, err := cloud.Images(args)
	if err != nil {
		return nil, err
	}
	out, err := props(res, nil)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: out}, nil
}

func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	kind, err := p.kind(req.GetType())
	if err != nil {
		return nil, err
	}
	store, err := cloud.OpenStore()
	if err != nil {
		return nil, err
	}
	news, _, err := plain(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	err = store.View(func(st *cloud.State) error {
		for _, f := range cloud.Check(kind, news, st) {
			failures = append(failures, &pulumirpc.CheckFailure{Property: f.Property, Reason: f.Reason})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	kind, err := p.kind(req.GetType())
	if err != nil {
		return nil, err
	}
	olds, _, err := plain(req.GetOlds())
	if err != nil {
		return nil, err
	}
	oldInputs, _, err := plain(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, _, err := plain(req.GetNews())
	if err != nil {
		return nil, err
	}
	for _, k := range req.GetIgnoreChanges() {
		if v, ok := oldInputs[k]; ok {
			news[k] = v
		} else if v, ok := olds[k]; ok {
			news[k] = v
		} else {
			delete(news, k)
		}
	}
	d := cloud.Diff(kind, olds, oldInputs, news)
	resp := &pulumirpc.DiffResponse{
		Changes: pulumirpc.DiffResponse_DIFF_NONE, Replaces: d.Replaces, Diffs: d.Changes,
		DetailedDiff: map[string]*pulumirpc.PropertyDiff{}, HasDetailedDiff: true,
	}
	replace := map[string]bool{}
	for _, k := range d.Replaces {
		replace[k] = true
	}
	for _, k := range d.Changes {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
		kindOf := pulumirpc.PropertyDiff_UPDATE
		_, had := olds[k]
		_, has := news[k]
		switch {
		case !had && has:
			kindOf = pulumirpc.PropertyDiff_ADD
		case had && !has:
			kindOf = pulumirpc.PropertyDiff_DELETE
		}
		if replace[k] {
			kindOf += 1 // ADD_REPLACE, DELETE_REPLACE, UPDATE_REPLACE follow their kinds
		}
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: kindOf, InputDiff: true}
	}
	return resp, nil
}

// secretsOf: keys secret in any of the given sets.
func secretsOf(sets ...map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, s := range sets {
		for k := range s {
			out[k] = true
		}
	}
	// The decoded user data is as secret as the user data.
	if out["userData"] {
		out["userDataRaw"] = true
	}
	return out
}

func (p *provider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	kind, err := p.kind(req.GetType())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		return &pulumirpc.CreateResponse{Properties: req.GetProperties()}, nil
	}
	store, env, err := open()
	if err != nil {
		return nil, err
	}
	in, secret, err := plain(req.GetProperties())
	if err != nil {
		return nil, err
	}
	var out cloud.Props
	var id string
	err = store.Update(func(st *cloud.State) error {
		r, err := st.Create(kind, in, cloud.Options{EIPPool: env.EIPPool, NetnsPrefix: env.NetnsPrefix})
		if err != nil {
			return err
		}
		if err := createEffects(env, st, r); err != nil {
			return err
		}
		id, out = r.ID, r.Outputs()
		return nil
	})
	if err != nil {
		return nil, err
	}
	s, err := props(out, secretsOf(secret))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: s}, nil
}

func open() (*cloud.Store, host.Env, error) {
	store, err := cloud.OpenStore()
	if err != nil {
		return nil, host.Env{}, err
	}
	env, err := host.FromEnv()
	return store, env, err
}

func prefixLen(block string) int {
	_, n, err := net.ParseCIDR(block)
	if err != nil {
		return 24
	}
	ones, _ := n.Mask.Size()
	return ones
}

// onLink is the prefix a host's private address gets: the VPC's, not its subnet's. A VPC's
// subnets reach each other through its route table's local route (Tencent Cloud VPC: every route
// table routes the VPC's own CIDR), which the stand-in models by putting every host of the VPC on
// one link, so hosts spread over zones (one subnet each) reach each other as in the cloud.
func onLink(st *cloud.State, sn *cloud.Resource) int {
	if vpc := st.Get(cloud.VPC, sn.Str("vpcId")); vpc != nil {
		return prefixLen(vpc.Str("cidrBlock"))
	}
	return prefixLen(sn.Str("cidrBlock"))
}

func createEffects(env host.Env, st *cloud.State, r *cloud.Resource) error {
	switch r.Kind {
	case cloud.Instance:
		if err := env.NeedHosts(); err != nil {
			return err
		}
		sn := st.Get(cloud.Subnet, r.Str("subnetId"))
		ip, _ := r.Computed["privateIp"].(string)
		if err := env.CreateNetwork(r.Host.Netns, r.Host.Veth, ip, onLink(st, sn)); err != nil {
			_ = env.DestroyHost(r.Host.Netns, r.Host.Veth, env.HostDir(r.ID))
			return err
		}
		// RunInstances returns once the instance is RUNNING; the guest boots on its own.
		if err := env.StartBoot(r.ID, r.Host.Netns); err != nil {
			_ = env.DestroyHost(r.Host.Netns, r.Host.Veth, env.HostDir(r.ID))
			return err
		}
		return nil
	case cloud.CBSStorage:
		size, _ := r.Inputs["storageSize"].(float64)
		return env.CreateDisk(r.ID, int64(size))
	case cloud.CBSStorageAttachment:
		ins := st.Get(cloud.Instance, r.Str("instanceId"))
		loop, err := env.AttachDisk(r.Str("storageId"), env.HostDir(ins.ID))
		if err != nil && loop != "" {
			_ = env.DetachDisk(r.Str("storageId"), env.HostDir(ins.ID), ins.Host.Netns, loop)
		}
		r.Loop = loop
		return err
	case cloud.EIPAssociation:
		ins := st.Get(cloud.Instance, r.Str("instanceId"))
		eip := st.Get(cloud.EIP, r.Str("eipId"))
		return env.AddEIP(ins.Host.Netns, fmt.Sprint(eip.Computed["publicIp"]))
	}
	return nil
}

func (p *provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if _, err := p.kind(req.GetType()); err != nil {
		return nil, err
	}
	store, err := cloud.OpenStore()
	if err != nil {
		return nil, err
	}
	_, stateSecret, err := plain(req.GetProperties())
	if err != nil {
		return nil, err
	}
	_, inputSecret, err := plain(req.GetInputs())
	if err != nil {
		return nil, err
	}
	var r *cloud.Resource
	err = store.Update(func(st *cloud.State) error {
		if r = st.Resources[req.GetId()]; r != nil {
			st.Refresh(r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if r == nil {
		return &pulumirpc.ReadResponse{}, nil // gone: the engine drops it from the state
	}
	out, err := props(r.Outputs(), secretsOf(stateSecret, inputSecret))
	if err != nil {
		return nil, err
	}
	inputs := req.GetInputs()
	if inputs == nil {
		if inputs, err = props(r.Inputs, secretsOf(inputSecret)); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.ReadResponse{Id: r.ID, Properties: out, Inputs: inputs}, nil
}

func (p *provider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if _, err := p.kind(req.GetType()); err != nil {
		return nil, err
	}
	if req.GetPreview() {
		return &pulumirpc.UpdateResponse{Properties: req.GetNews()}, nil
	}
	store, env, err := open()
	if err != nil {
		return nil, err
	}
	news, secret, err := plain(req.GetNews())
	if err != nil {
		return nil, err
	}
	for _, k := range req.GetIgnoreChanges() {
		olds, _, _ := plain(req.GetOldInputs())
		if v, ok := olds[k]; ok {
			news[k] = v
		}
	}
	var out cloud.Props
	err = store.Update(func(st *cloud.State) error {
		r := st.Resources[req.GetId()]
		if r == nil {
			return fmt.Errorf("%s %s does not exist (any more): refresh the stack", req.GetType(), req.GetId())
		}
		plan, err := st.Update(r, news)
		if err != nil {
			return err
		}
		if err := updateEffects(env, st, r, plan); err != nil {
			return err
		}
		out = r.Outputs()
		return nil
	})
	if err != nil {
		return nil, err
	}
	s, err := props(out, secretsOf(secret))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: s}, nil
}

func updateEffects(env host.Env, st *cloud.State, r *cloud.Resource, plan cloud.UpdatePlan) error {
	switch r.Kind {
	case cloud.Instance:
		sn := st.Get(cloud.Subnet, r.Str("subnetId"))
		if plan.Readdress {
			if err := env.Readdress(r.Host.Netns, plan.OldIP, fmt.Sprint(r.Computed["privateIp"]), onLink(st, sn)); err != nil {
				return err
			}
		}
		if plan.Reinstall {
			// ResetInstance: the system disk is rewritten from the image and the guest boots
			// again with the current user data; data disks stay attached.
			dir := env.HostDir(r.ID)
			if err := host.WipeRoot(r.Host.Netns, dir); err != nil {
				return err
			}
			for _, a := range st.All(cloud.CBSStorageAttachment) {
				if a.Str("instanceId") == r.ID && a.Loop != "" {
					if err := host.LinkDisk(dir, a.Str("storageId"), a.Loop); err != nil {
						return err
					}
				}
			}
			return env.StartBoot(r.ID, r.Host.Netns)
		}
	case cloud.CBSStorage:
		if plan.Resize {
			loop := ""
			if a := st.AttachmentOf(r.ID); a != nil {
				loop = a.Loop
			}
			size, _ := r.Inputs["storageSize"].(float64)
			return env.ResizeDisk(r.ID, int64(size), loop)
		}
	}
	return nil
}

func (p *provider) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if _, err := p.kind(req.GetType()); err != nil {
		return nil, err
	}
	store, env, err := open()
	if err != nil {
		return nil, err
	}
	err = store.Update(func(st *cloud.State) error {
		r := st.Resources[req.GetId()]
		if r == nil {
			return nil // gone already: a retried delete succeeds
		}
		// What the effects need, read before the model forgets it.
		var ins *cloud.Resource
		var eipAddr string
		switch r.Kind {
		case cloud.CBSStorageAttachment, cloud.EIPAssociation:
			ins = st.Get(cloud.Instance, r.Str("instanceId"))
			if eip := st.Get(cloud.EIP, r.Str("eipId")); eip != nil {
				eipAddr = fmt.Sprint(eip.Computed["publicIp"])
			}
		}
		c, err := st.Delete(r)
		if err != nil {
			return err
		}
		switch r.Kind {
		case cloud.Instance:
			dir := env.HostDir(r.ID)
			for _, a := range c.Attachments {
				if err := env.DetachDisk(a.Str("storageId"), dir, r.Host.Netns, a.Loop); err != nil {
					return err
				}
			}
			return env.DestroyHost(r.Host.Netns, r.Host.Veth, dir)
		case cloud.CBSStorage:
			return env.DeleteDisk(r.ID)
		case cloud.CBSStorageAttachment:
			if ins == nil {
				return nil
			}
			return env.DetachDisk(r.Str("storageId"), env.HostDir(ins.ID), ins.Host.Netns, r.Loop)
		case cloud.EIPAssociation:
			if ins == nil {
				return nil
			}
			return env.RemoveEIP(ins.Host.Netns, eipAddr)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (p *provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
