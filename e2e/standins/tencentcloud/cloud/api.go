package cloud

// The cloud API's side: what Create, Update and Delete do to the state and what the API refuses
// (errors in tencentcloud-sdk-go's words, codes from its cvm/cbs/vpc v20170312 errors.go).

import (
	"encoding/base64"
	"fmt"
	"net"
	"time"
)

// Options are the stand-in's own settings (from the environment).
type Options struct {
	// EIPPool is where EIPs come from: .10 upwards (.1 is the operator's address).
	EIPPool *net.IPNet
	// NetnsPrefix names hosts' network namespaces: <prefix><n>.
	NetnsPrefix string
}

var idPrefix = map[Kind]string{
	VPC: "vpc", Subnet: "subnet", SecurityGroup: "sg", EIP: "eip", KeyPair: "skey", CBSStorage: "disk",
	Instance: "ins", CBSSnapshotPolicy: "asp", PlacementGroup: "ps",
}

// PlacementGroupQuota is the stand-in's cvm_quota_total of every placement group: the real
// figure comes from DescribeDisasterRecoverGroupQuota per account and type (tencentcloud-sdk-go
// cvm/v20170312 models.go CvmInHostGroupQuota, CvmInRackGroupQuota), which no source pins.
const PlacementGroupQuota = 20

func now() string { return time.Now().UTC().Format("2006-01-02 15:04:05") }

func copyProps(p Props) Props {
	out := Props{}
	for k, v := range p {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

// Create makes a resource from checked inputs (no unknowns), or refuses as the API does.
func (st *State) Create(kind Kind, in Props, opt Options) (*Resource, error) {
	r := &Resource{Kind: kind, Inputs: copyProps(in), Computed: Props{}, Created: time.Now().UTC()}
	if p, ok := idPrefix[kind]; ok {
		r.ID = st.NewID(p)
	}
	switch kind {
	case VPC:
		r.Computed = Props{"createTime": now(), "isDefault": false, "defaultRouteTableId": st.NewID("rtb"), "isMulticast": true}
	case Subnet:
		vpc := st.Get(VPC, r.Str("vpcId"))
		if vpc == nil {
			return nil, SDKError("ResourceNotFound", fmt.Sprintf("vpc %s does not exist", r.Str("vpcId")))
		}
		if !cidrWithin(r.Str("cidrBlock"), vpc.Str("cidrBlock")) {
			return nil, SDKError("InvalidParameterValue.SubnetRange", fmt.Sprintf("subnet %s is outside VPC %s", r.Str("cidrBlock"), vpc.Str("cidrBlock")))
		}
		for _, other := range st.All(Subnet) {
			if other.Str("vpcId") == vpc.ID && overlaps(other.Str("cidrBlock"), r.Str("cidrBlock")) {
				return nil, SDKError("InvalidParameterValue.SubnetConflict", fmt.Sprintf("subnet %s overlaps %s (%s)", r.Str("cidrBlock"), other.ID, other.Str("cidrBlock")))
			}
		}
		r.Computed = Props{"createTime": now(), "isDefault": false, "isMulticast": true, "routeTableId": vpc.Computed["defaultRouteTableId"], "availableIpCount": float64(253)}
	case SecurityGroup:
		r.Computed = Props{"projectId": float64(0)}
	case SecurityGroupRuleSet:
		sg := st.Get(SecurityGroup, r.Str("securityGroupId"))
		if sg == nil {
			return nil, SDKError("ResourceNotFound", fmt.Sprintf("security group %s does not exist", r.Str("securityGroupId")))
		}
		// vpc/resource_tc_security_group_rule_set.go Create: d.SetId(securityGroupId).
		r.ID = sg.ID
		if existing := st.Resources[r.ID]; existing != nil && existing.Kind != SecurityGroupRuleSet {
			r.ID = sg.ID + "#rules"
		}
		r.Computed = Props{"version": "1"}
	case EIP:
		addr, err := st.allocateEIP(opt.EIPPool)
		if err != nil {
			return nil, err
		}
		r.Computed = Props{"publicIp": addr, "status": "UNBIND"}
		if _, ok := r.Inputs["internetChargeType"]; !ok {
			r.Computed["internetChargeType"] = "TRAFFIC_POSTPAID_BY_HOUR"
		}
		if _, ok := r.Inputs["name"]; !ok {
			r.Computed["name"] = "eip"
		}
	case EIPAssociation:
		eip := st.Get(EIP, r.Str("eipId"))
		if eip == nil {
			return nil, SDKError("InvalidAddressId.NotFound", fmt.Sprintf("address %s does not exist", r.Str("eipId")))
		}
		ins := st.Get(Instance, r.Str("instanceId"))
		if ins == nil {
			return nil, SDKError("InvalidInstanceId.NotFound", fmt.Sprintf("instance %s does not exist", r.Str("instanceId")))
		}
		if eip.Computed["status"] == "BIND" {
			return nil, SDKError("InvalidAddressIdStatus.NotPermit", fmt.Sprintf("address %s is bound already", eip.ID))
		}
		if st.associationOf(ins.ID) != nil {
			return nil, SDKError("InvalidInstanceId.AlreadyBindEip", fmt.Sprintf("instance %s has an EIP already", ins.ID))
		}
		// cvm/resource_tc_eip_association.go Create: id is "<eip id>::<instance id>".
		r.ID = eip.ID + "::" + ins.ID
		eip.Computed["status"] = "BIND"
		r.Computed = Props{"privateIp": ins.Computed["privateIp"], "networkInterfaceId": "", "publicIp": eip.Computed["publicIp"]}
	case KeyPair:
		for _, k := range st.All(KeyPair) {
			if k.Str("keyName") == r.Str("keyName") {
				return nil, SDKError("InvalidKeyPairName.Duplicate", fmt.Sprintf("key pair name %s exists already", r.Str("keyName")))
			}
		}
		r.Computed = Props{"createdTime": now(), "projectId": float64(0)}
	case CBSStorage:
		r.Computed = Props{"attached": false, "storageStatus": "UNATTACHED", "chargeType": "POSTPAID_BY_HOUR"}
	case CBSStorageAttachment:
		disk := st.Get(CBSStorage, r.Str("storageId"))
		if disk == nil {
			return nil, SDKError("InvalidDiskId.NotFound", fmt.Sprintf("disk %s does not exist", r.Str("storageId")))
		}
		ins := st.Get(Instance, r.Str("instanceId"))
		if ins == nil {
			return nil, SDKError("InvalidInstanceId.NotFound", fmt.Sprintf("instance %s does not exist", r.Str("instanceId")))
		}
		if at := st.AttachmentOf(disk.ID); at != nil {
			return nil, SDKError("ResourceUnavailable.Attached", fmt.Sprintf("disk %s is attached to %s already", disk.ID, at.Str("instanceId")))
		}
		if disk.Str("availabilityZone") != "" && ins.Str("availabilityZone") != "" && disk.Str("availabilityZone") != ins.Str("availabilityZone") {
			return nil, SDKError("InvalidParameterValue", fmt.Sprintf("disk %s is in %s, instance %s in %s: a disk attaches only in its zone", disk.ID, disk.Str("availabilityZone"), ins.ID, ins.Str("availabilityZone")))
		}
		// cbs/resource_tc_cbs_storage_attachment.go Create: d.SetId(storageId).
		r.ID = disk.ID
		if existing := st.Resources[r.ID]; existing != nil {
			r.ID = disk.ID + "#attachment"
		}
		disk.Computed["attached"] = true
		disk.Computed["storageStatus"] = "ATTACHED"
	case CBSSnapshotPolicy:
		if _, ok := r.Inputs["retentionDays"]; !ok {
			r.Computed = Props{"retentionDays": float64(7)} // cbs/resource_tc_cbs_snapshot_policy.go Default: 7
		}
	case CBSSnapshotPolicyAttached:
		if st.Get(CBSSnapshotPolicy, r.Str("snapshotPolicyId")) == nil {
			return nil, SDKError("InvalidSnapshotPolicyId.NotFound", fmt.Sprintf("snapshot policy %s does not exist", r.Str("snapshotPolicyId")))
		}
		if id := r.Str("storageId"); id != "" && st.Get(CBSStorage, id) == nil {
			return nil, SDKError("InvalidDiskId.NotFound", fmt.Sprintf("disk %s does not exist", id))
		}
		// cbs/resource_tc_cbs_snapshot_policy_attachment.go Create: "<policy id>#<disk id>".
		r.ID = r.Str("snapshotPolicyId") + "#" + r.Str("storageId")
	case PlacementGroup:
		// cvm/resource_tc_placement_group.go Read: affinity defaults to 1 (its schema).
		r.Computed = Props{"cvmQuotaTotal": float64(PlacementGroupQuota), "currentNum": float64(0), "createTime": now(), "affinity": float64(1)}
	case Instance:
		if err := st.createInstance(r, opt); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown resource kind %q", kind)
	}
	st.Resources[r.ID] = r
	return r, nil
}

func (st *State) createInstance(r *Resource, opt Options) error {
	if FindImage(r.Str("imageId")) == nil {
		return SDKError("InvalidImageId.NotFound", fmt.Sprintf("image %s not found", r.Str("imageId")))
	}
	ud := r.Str("userData")
	if msg := userDataProblem(ud); msg != "" {
		return SDKError("InvalidParameterValue.InvalidUserDataFormat", msg)
	}
	sn := st.Get(Subnet, r.Str("subnetId"))
	if sn == nil {
		return SDKError("InvalidParameterValue.SubnetNotExist", fmt.Sprintf("subnet %s does not exist", r.Str("subnetId")))
	}
	if v := r.Str("vpcId"); v != "" && v != sn.Str("vpcId") {
		return SDKError("InvalidParameterValue.VpcIdSubnetIdNotMatch", fmt.Sprintf("subnet %s is not in %s", sn.ID, v))
	}
	// RunInstances: the subnet must be in the instance's Placement.Zone (cvm/v20170312 errors.go
	// INVALIDPARAMETERVALUE_SUBNETIDZONEIDNOTMATCH).
	if z := r.Str("availabilityZone"); z != "" && z != sn.Str("availabilityZone") {
		return SDKError("InvalidParameterValue.SubnetIdZoneIdNotMatch", fmt.Sprintf("subnet %s is in %s, the instance in %s", sn.ID, sn.Str("availabilityZone"), z))
	}
	// cvm/resource_tc_instance.go Create: placement_group_id goes into RunInstances'
	// DisasterRecoverGroupIds (force_replace_placement_group_id unset).
	if g := r.Str("placementGroupId"); g != "" {
		if err := st.joinPlacementGroup(g, r.ID); err != nil {
			return err
		}
	}
	ip, err := st.privateIP(sn, r.Str("privateIp"), "")
	if err != nil {
		return err
	}
	for _, sg := range listOf(r.Inputs["orderlySecurityGroups"]) {
		if st.Get(SecurityGroup, sg) == nil {
			return SDKError("InvalidSecurityGroupId.NotFound", fmt.Sprintf("security group %s does not exist", sg))
		}
	}
	for _, k := range listOf(r.Inputs["keyIds"]) {
		if st.Get(KeyPair, k) == nil {
			return SDKError("InvalidKeyPairId.NotFound", fmt.Sprintf("key pair %s does not exist", k))
		}
	}
	raw, _ := base64.StdEncoding.DecodeString(ud)
	st.NextHost++
	r.Host = &HostRecord{Index: st.NextHost, Generation: 1}
	r.Host.Netns, r.Host.Veth = HostLinkNames(opt.NetnsPrefix, st.NextHost)
	r.Computed = Props{
		"privateIp": ip, "publicIp": "", "instanceStatus": "RUNNING", "createTime": now(), "expiredTime": "",
		"cpu": float64(2), "memory": float64(4), "osName": FindImage(r.Str("imageId")).OsName, "uuid": requestID(),
		"userDataRaw": string(raw), "vpcId": sn.Str("vpcId"), "systemDiskId": st.NewID("disk"),
		"disableApiTermination": boolean(r.Inputs, "disableApiTermination"), "instanceChargeType": "POSTPAID_BY_HOUR",
		"projectId": float64(0),
	}
	return nil
}

// HostLinkNames are a host's network namespace and the bridge-side veth name: <prefix><n>, which
// must fit Linux's 15-character link names (IFNAMSIZ 16 with the NUL).
func HostLinkNames(prefix string, n int) (netns, veth string) {
	netns = fmt.Sprintf("%s%d", prefix, n)
	veth = netns
	if len(veth) > 15 {
		veth = fmt.Sprintf("tcv%d", n)
	}
	return netns, veth
}

// privateIP validates a requested address or picks the first free one of the subnet (from .2).
func (st *State) privateIP(sn *Resource, want, self string) (string, error) {
	_, block, err := net.ParseCIDR(sn.Str("cidrBlock"))
	if err != nil {
		return "", err
	}
	used := map[string]bool{}
	for _, ins := range st.All(Instance) {
		if ins.ID != self && ins.Str("subnetId") == sn.ID {
			if s, ok := ins.Computed["privateIp"].(string); ok {
				used[s] = true
			}
		}
	}
	if want != "" {
		ip := net.ParseIP(want)
		if ip == nil || ip.To4() == nil {
			return "", SDKError("InvalidParameterValue.IPAddressMalformed", want)
		}
		if !block.Contains(ip) {
			return "", SDKError("VpcAddrNotInSubNet", fmt.Sprintf("%s is not in subnet %s (%s)", want, sn.ID, block))
		}
		if used[want] {
			return "", SDKError("VpcIpIsUsed", fmt.Sprintf("%s is in use", want))
		}
		return want, nil
	}
	base := block.IP.To4()
	ones, bits := block.Mask.Size()
	for i := 2; i < (1<<(bits-ones))-1; i++ {
		ip := net.IPv4(base[0], base[1], base[2], base[3]+byte(i)).String()
		if i > 250 {
			break
		}
		if !used[ip] {
			return ip, nil
		}
	}
	return "", SDKError("FailedOperation.NoAvailableIpAddressCountInSubnet", sn.ID)
}

func (st *State) allocateEIP(pool *net.IPNet) (string, error) {
	if pool == nil {
		return "", fmt.Errorf("TIKV_CVM_STANDIN_EIP_POOL is not set (e.g. 10.213.1.0/24): EIPs come from there")
	}
	used := map[string]bool{}
	for _, e := range st.All(EIP) {
		used[fmt.Sprint(e.Computed["publicIp"])] = true
	}
	base := pool.IP.To4()
	for i := 10; i < 255; i++ {
		ip := net.IPv4(base[0], base[1], base[2], byte(i))
		if pool.Contains(ip) && !used[ip.String()] {
			return ip.String(), nil
		}
	}
	return "", SDKError("AddressQuotaLimitExceeded", "no address left in the pool")
}

// AttachmentOf returns the attachment of a disk, or nil.
func (st *State) AttachmentOf(diskID string) *Resource {
	for _, a := range st.All(CBSStorageAttachment) {
		if a.Str("storageId") == diskID {
			return a
		}
	}
	return nil
}

func (st *State) associationOf(instanceID string) *Resource {
	for _, a := range st.All(EIPAssociation) {
		if a.Str("instanceId") == instanceID {
			return a
		}
	}
	return nil
}

// UpdatePlan says what an accepted update means for the host.
type UpdatePlan struct {
	// Reinstall: image_id changed (cvm/resource_tc_instance.go Update: ResetInstance).
	Reinstall bool
	// Readdress: vpc_id/subnet_id/private_ip changed (Update: ModifyInstancesVpcAttribute).
	Readdress bool
	OldIP     string
	// Resize: storage_size grew (cbs/resource_tc_cbs_storage.go Update: ResizeDisk).
	Resize bool
}

// Update applies checked news to a resource, or refuses as the provider's Update does.
func (st *State) Update(r *Resource, news Props) (UpdatePlan, error) {
	var plan UpdatePlan
	news = copyProps(news)
	switch r.Kind {
	case CBSStorage:
		oldSize, _ := num(r.Inputs, "storageSize")
		newSize, _ := num(news, "storageSize")
		// cbs/resource_tc_cbs_storage.go resourceTencentCloudCbsStorageUpdate.
		if newSize < oldSize {
			return plan, fmt.Errorf("storage size must be greater than current storage size")
		}
		plan.Resize = newSize > oldSize
	case Instance:
		if img := str(news, "imageId"); img != "" && img != r.Str("imageId") {
			if FindImage(img) == nil {
				return plan, SDKError("InvalidImageId.NotFound", fmt.Sprintf("image %s not found", img))
			}
			plan.Reinstall = true
		}
		if ud, ok := news["userData"].(string); ok {
			if msg := userDataProblem(ud); msg != "" {
				return plan, SDKError("InvalidParameterValue.InvalidUserDataFormat", msg)
			}
			raw, _ := base64.StdEncoding.DecodeString(ud)
			r.Computed["userDataRaw"] = string(raw)
		}
		if str(news, "subnetId") != r.Str("subnetId") || str(news, "privateIp") != r.Str("privateIp") {
			sn := st.Get(Subnet, str(news, "subnetId"))
			if sn == nil {
				return plan, SDKError("InvalidParameterValue.SubnetNotExist", str(news, "subnetId"))
			}
			ip, err := st.privateIP(sn, str(news, "privateIp"), r.ID)
			if err != nil {
				return plan, err
			}
			plan.Readdress = true
			plan.OldIP, _ = r.Computed["privateIp"].(string)
			r.Computed["privateIp"] = ip
			r.Computed["vpcId"] = sn.Str("vpcId")
		}
		// cvm/resource_tc_instance.go Update: a new placement_group_id is joined in place
		// (ModifyInstancesDisasterRecoverGroup, Force = force_replace_placement_group_id, false:
		// on the current host, no restart); removing it is refused by the provider itself.
		if old, next := r.Str("placementGroupId"), str(news, "placementGroupId"); old != next {
			if _, given := news["placementGroupId"]; !given {
				// Optional and Computed: left out of the program, the cloud's value stays.
				news["placementGroupId"] = old
			} else if next == "" {
				return plan, fmt.Errorf("Deleting `placement_group_id` is not currently supported.")
			}
			if next != "" && old != next {
				if err := st.joinPlacementGroup(next, r.ID); err != nil {
					return plan, err
				}
			}
		}
		r.Computed["disableApiTermination"] = boolean(news, "disableApiTermination")
		if plan.Reinstall {
			r.Host.Generation++
			r.Computed["osName"] = FindImage(str(news, "imageId")).OsName
		}
	}
	r.Inputs = news
	return plan, nil
}

// Cascade is what deleting an instance takes with it.
type Cascade struct {
	// Attachments detached by the instance's termination (the disks stay).
	Attachments []*Resource
	// Association of its EIP, dissolved (the EIP stays, unbound).
	Association *Resource
}

// Delete removes a resource, or refuses as the API does. Deleting what is gone already succeeds.
func (st *State) Delete(r *Resource) (Cascade, error) {
	var c Cascade
	switch r.Kind {
	case Instance:
		// TerminateInstances refuses an instance with termination protection
		// (cvm/v20170312 errors.go UNSUPPORTEDOPERATION_INSTANCESPROTECTED).
		if boolean(r.Inputs, "disableApiTermination") {
			return c, SDKError("UnsupportedOperation.InstancesProtected", fmt.Sprintf("instance %s has termination protection on: turn it off (disable_api_termination = false), then retry", r.ID))
		}
		for _, a := range st.All(CBSStorageAttachment) {
			if a.Str("instanceId") == r.ID {
				c.Attachments = append(c.Attachments, a)
				st.detach(a)
			}
		}
		if a := st.associationOf(r.ID); a != nil {
			c.Association = a
			st.dissociate(a)
		}
	case CBSStorage:
		if st.AttachmentOf(r.ID) != nil {
			return c, SDKError("InvalidDisk.Busy", fmt.Sprintf("disk %s is attached: detach it first", r.ID))
		}
	case EIP:
		// ReleaseAddresses takes only an UNBIND address.
		if r.Computed["status"] == "BIND" {
			return c, SDKError("InvalidAddressIdStatus.NotPermit", fmt.Sprintf("address %s is bound: unbind it first", r.ID))
		}
	case EIPAssociation:
		st.dissociate(r)
		return c, nil
	case CBSStorageAttachment:
		st.detach(r)
		return c, nil
	case SecurityGroup:
		for _, ins := range st.All(Instance) {
			for _, sg := range listOf(ins.Inputs["orderlySecurityGroups"]) {
				if sg == r.ID {
					return c, SDKError("ResourceInUse", fmt.Sprintf("security group %s is used by %s", r.ID, ins.ID))
				}
			}
		}
	case PlacementGroup:
		// DeleteDisasterRecoverGroups refuses a group that still holds instances
		// (cvm/v20170312 errors.go FAILEDOPERATION_PLACEMENTSETNOTEMPTY).
		if members := st.placementGroupMembers(r.ID, ""); len(members) > 0 {
			return c, SDKError("FailedOperation.PlacementSetNotEmpty", fmt.Sprintf("placement group %s still holds %v", r.ID, members))
		}
	case Subnet:
		for _, ins := range st.All(Instance) {
			if ins.Str("subnetId") == r.ID {
				return c, SDKError("ResourceInUse", fmt.Sprintf("subnet %s still holds %s", r.ID, ins.ID))
			}
		}
	case VPC:
		for _, sn := range st.All(Subnet) {
			if sn.Str("vpcId") == r.ID {
				return c, SDKError("ResourceInUse", fmt.Sprintf("VPC %s still holds %s", r.ID, sn.ID))
			}
		}
	}
	delete(st.Resources, r.ID)
	return c, nil
}

func (st *State) detach(a *Resource) {
	if disk := st.Get(CBSStorage, a.Str("storageId")); disk != nil {
		disk.Computed["attached"] = false
		disk.Computed["storageStatus"] = "UNATTACHED"
	}
	delete(st.Resources, a.ID)
}

func (st *State) dissociate(a *Resource) {
	if eip := st.Get(EIP, a.Str("eipId")); eip != nil {
		eip.Computed["status"] = "UNBIND"
	}
	delete(st.Resources, a.ID)
}

// placementGroupMembers lists the instances in a group, but `except`.
func (st *State) placementGroupMembers(group, except string) []string {
	var out []string
	for _, ins := range st.All(Instance) {
		if ins.ID != except && ins.Str("placementGroupId") == group {
			out = append(out, ins.ID)
		}
	}
	return out
}

// joinPlacementGroup checks that an instance may join a group: it exists
// (FAILEDOPERATION_DISASTERRECOVERGROUPNOTFOUND) and has room
// (RESOURCEINSUFFICIENT_DISASTERRECOVERGROUPCVMQUOTA), both cvm/v20170312 errors.go.
func (st *State) joinPlacementGroup(group, instance string) error {
	g := st.Get(PlacementGroup, group)
	if g == nil {
		return SDKError("FailedOperation.DisasterRecoverGroupNotFound", fmt.Sprintf("placement group %s does not exist", group))
	}
	if n := len(st.placementGroupMembers(group, instance)); n >= PlacementGroupQuota {
		return SDKError("ResourceInsufficient.DisasterRecoverGroupCvmQuota", fmt.Sprintf("placement group %s holds %d instances, its quota", group, n))
	}
	return nil
}

// Refresh updates what the cloud reports on a read: an instance's public IP is its EIP's; a
// placement group's current_num its instances.
func (st *State) Refresh(r *Resource) {
	if r.Kind == PlacementGroup {
		r.Computed["currentNum"] = float64(len(st.placementGroupMembers(r.ID, "")))
	}
	if r.Kind == Instance {
		r.Computed["publicIp"] = ""
		if a := st.associationOf(r.ID); a != nil {
			if eip := st.Get(EIP, a.Str("eipId")); eip != nil {
				r.Computed["publicIp"] = eip.Computed["publicIp"]
			}
		}
	}
}

func listOf(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func overlaps(a, b string) bool {
	_, x, err1 := net.ParseCIDR(a)
	_, y, err2 := net.ParseCIDR(b)
	return err1 == nil && err2 == nil && (x.Contains(y.IP) || y.Contains(x.IP))
}
