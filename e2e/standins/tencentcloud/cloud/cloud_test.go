package cloud

import (
	"encoding/base64"
	"net"
	"strings"
	"testing"
)

func pool() Options {
	_, n, _ := net.ParseCIDR("10.219.1.0/24")
	return Options{EIPPool: n, NetnsPrefix: "tkvtc-t"}
}

func mustCreate(t *testing.T, st *State, kind Kind, in Props) *Resource {
	t.Helper()
	r, err := st.Create(kind, in, pool())
	if err != nil {
		t.Fatalf("create %s: %v", kind, err)
	}
	return r
}

var userData = base64.StdEncoding.EncodeToString([]byte("#cloud-config\nwrite_files: []\n"))

// world: a VPC 10.0.0.0/16, subnet 10.0.1.0/24, one instance at 10.0.1.11, one disk.
func world(t *testing.T) (*State, *Resource, *Resource, *Resource) {
	st := &State{Resources: map[string]*Resource{}}
	vpc := mustCreate(t, st, VPC, Props{"name": "v", "cidrBlock": "10.0.0.0/16"})
	sn := mustCreate(t, st, Subnet, Props{"name": "s", "vpcId": vpc.ID, "availabilityZone": "ap-guangzhou-3", "cidrBlock": "10.0.1.0/24"})
	ins := mustCreate(t, st, Instance, instanceInputs(vpc.ID, sn.ID))
	disk := mustCreate(t, st, CBSStorage, Props{"storageName": "data", "storageType": "CLOUD_PREMIUM", "storageSize": float64(20), "availabilityZone": "ap-guangzhou-3"})
	return st, sn, ins, disk
}

func instanceInputs(vpc, subnet string) Props {
	return Props{
		"instanceName": "h1", "availabilityZone": "ap-guangzhou-3", "instanceType": "S5.MEDIUM4",
		"imageId": "img-487zeit5", "systemDiskType": "CLOUD_PREMIUM", "systemDiskSize": float64(50),
		"vpcId": vpc, "subnetId": subnet, "privateIp": "10.0.1.11", "userData": userData,
		"userDataReplaceOnChange": true,
	}
}

func reasons(fs []Failure) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Property+": "+f.Reason)
	}
	return strings.Join(out, "\n")
}

func expectFailure(t *testing.T, fs []Failure, prop, fragment string) {
	t.Helper()
	for _, f := range fs {
		if f.Property == prop && strings.Contains(f.Reason, fragment) {
			return
		}
	}
	t.Fatalf("expected a failure on %s mentioning %q, got:\n%s", prop, fragment, reasons(fs))
}

func TestCheckRefusals(t *testing.T) {
	st, sn, _, _ := world(t)
	vpcID := sn.Str("vpcId")
	cases := []struct {
		name, prop, fragment string
		kind                 Kind
		in                   Props
	}{
		{"required storage type", "storageType", "is required", CBSStorage, Props{"storageName": "d1", "storageSize": float64(20), "availabilityZone": "z"}},
		{"storage type enum", "storageType", "must in array", CBSStorage, Props{"storageName": "d1", "storageSize": float64(20), "availabilityZone": "z", "storageType": "SSD"}},
		{"system disk type enum", "systemDiskType", "must in array", Instance, func() Props {
			p := instanceInputs(vpcID, sn.ID)
			p["systemDiskType"] = "PREMIUM"
			return p
		}()},
		{"instance internet charge type", "internetChargeType", "must in array", Instance, func() Props {
			p := instanceInputs(vpcID, sn.ID)
			p["internetChargeType"] = "BY_TRAFFIC"
			return p
		}()},
		{"eip internet charge type", "internetChargeType", "must in array", EIP, Props{"internetChargeType": "TRAFFIC"}},
		{"rule action", "ingresses[0].action", "must in array", SecurityGroupRuleSet, Props{"securityGroupId": "sg-1", "ingresses": []any{map[string]any{"action": "ALLOW", "cidrBlock": "0.0.0.0/0", "protocol": "TCP", "port": "22"}}}},
		{"rule protocol", "egresses[0].protocol", "valid values", SecurityGroupRuleSet, Props{"securityGroupId": "sg-1", "egresses": []any{map[string]any{"action": "ACCEPT", "cidrBlock": "0.0.0.0/0", "protocol": "SCTP", "port": "22"}}}},
		{"private ip outside subnet", "privateIp", "VpcAddrNotInSubNet", Instance, func() Props {
			p := instanceInputs(vpcID, sn.ID)
			p["privateIp"] = "10.0.2.11"
			return p
		}()},
		{"private ip without vpc", "privateIp", "needs vpc_id", Instance, func() Props {
			p := instanceInputs(vpcID, sn.ID)
			delete(p, "vpcId")
			return p
		}()},
		{"subnet outside vpc", "cidrBlock", "SubnetRange", Subnet, Props{"name": "s2", "vpcId": vpcID, "availabilityZone": "z", "cidrBlock": "10.1.1.0/24"}},
		{"subnet cidr not a network", "cidrBlock", "valid network CIDR", Subnet, Props{"name": "s2", "vpcId": vpcID, "availabilityZone": "z", "cidrBlock": "10.0.2.1/24"}},
		{"key pair name characters", "keyName", "only support letters", KeyPair, Props{"keyName": "tikv-operator"}},
		{"key pair name length", "keyName", "must be 1-25", KeyPair, Props{"keyName": strings.Repeat("k", 26)}},
		{"user data not base64", "userData", "base64", Instance, func() Props {
			p := instanceInputs(vpcID, sn.ID)
			p["userData"] = "#cloud-config\n"
			return p
		}()},
		{"user data over 16 KB", "userData", "16 KB", Instance, func() Props {
			p := instanceInputs(vpcID, sn.ID)
			p["userData"] = base64.StdEncoding.EncodeToString(make([]byte, 12*1024+1))
			return p
		}()},
		{"unknown image", "imageId", "InvalidImageId.NotFound", Instance, func() Props {
			p := instanceInputs(vpcID, sn.ID)
			p["imageId"] = "img-00000000"
			return p
		}()},
		{"instance type format", "instanceType", "S1.SMALL1", Instance, func() Props {
			p := instanceInputs(vpcID, sn.ID)
			p["instanceType"] = "S5MEDIUM4"
			return p
		}()},
		{"snapshot hour", "repeatHours", "cannot be higher than 23", CBSSnapshotPolicy, Props{"snapshotPolicyName": "daily", "repeatWeekdays": []any{float64(1)}, "repeatHours": []any{float64(24)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectFailure(t, Check(c.kind, c.in, st), c.prop, c.fragment)
		})
	}
	// The same inputs, valid, pass.
	if fs := Check(Instance, instanceInputs(vpcID, sn.ID), st); len(fs) != 0 {
		t.Fatalf("valid instance refused:\n%s", reasons(fs))
	}
	// Unknown values are not judged.
	p := instanceInputs(vpcID, sn.ID)
	p["privateIp"], p["subnetId"] = Unknown{}, Unknown{}
	if fs := Check(Instance, p, st); len(fs) != 0 {
		t.Fatalf("unknowns refused:\n%s", reasons(fs))
	}
}

func TestAPIRefusals(t *testing.T) {
	st, sn, ins, disk := world(t)

	// A disk attaches to one instance at a time (ResourceUnavailable.Attached).
	other := instanceInputs(sn.Str("vpcId"), sn.ID)
	other["privateIp"] = "10.0.1.12"
	ins2 := mustCreate(t, st, Instance, other)
	mustCreate(t, st, CBSStorageAttachment, Props{"storageId": disk.ID, "instanceId": ins.ID})
	if _, err := st.Create(CBSStorageAttachment, Props{"storageId": disk.ID, "instanceId": ins2.ID}, pool()); err == nil || !strings.Contains(err.Error(), "ResourceUnavailable.Attached") {
		t.Fatalf("second attachment: %v", err)
	}
	// An attached disk is not deleted.
	if _, err := st.Delete(disk); err == nil || !strings.Contains(err.Error(), "InvalidDisk.Busy") {
		t.Fatalf("delete attached disk: %v", err)
	}
	// The private IP is taken.
	dup := instanceInputs(sn.Str("vpcId"), sn.ID)
	if _, err := st.Create(Instance, dup, pool()); err == nil || !strings.Contains(err.Error(), "VpcIpIsUsed") {
		t.Fatalf("duplicate private IP: %v", err)
	}
	// Termination protection.
	ins2.Inputs["disableApiTermination"] = true
	if _, err := st.Delete(ins2); err == nil || !strings.Contains(err.Error(), "UnsupportedOperation.InstancesProtected") {
		t.Fatalf("delete protected instance: %v", err)
	}
	if st.Get(Instance, ins2.ID) == nil {
		t.Fatal("protected instance deleted")
	}
	// Deleting an instance detaches its disks; then the disk can go.
	c, err := st.Delete(ins)
	if err != nil || len(c.Attachments) != 1 {
		t.Fatalf("delete instance: %v %v", err, c)
	}
	if _, err := st.Delete(disk); err != nil {
		t.Fatalf("delete detached disk: %v", err)
	}
}

func TestDiskSize(t *testing.T) {
	st, _, _, disk := world(t)
	news := copyProps(disk.Inputs)
	news["storageSize"] = float64(10)
	if _, err := st.Update(disk, news); err == nil || !strings.Contains(err.Error(), "greater than current") {
		t.Fatalf("shrink: %v", err)
	}
	news["storageSize"] = float64(40)
	plan, err := st.Update(disk, news)
	if err != nil || !plan.Resize {
		t.Fatalf("grow: %v %+v", err, plan)
	}
}

func TestEIPPoolAndAssociation(t *testing.T) {
	st, _, ins, _ := world(t)
	e1 := mustCreate(t, st, EIP, Props{})
	e2 := mustCreate(t, st, EIP, Props{})
	if e1.Computed["publicIp"] != "10.219.1.10" || e2.Computed["publicIp"] != "10.219.1.11" {
		t.Fatalf("EIPs %v %v: expected .10 and .11", e1.Computed["publicIp"], e2.Computed["publicIp"])
	}
	mustCreate(t, st, EIPAssociation, Props{"eipId": e1.ID, "instanceId": ins.ID})
	if _, err := st.Create(EIPAssociation, Props{"eipId": e2.ID, "instanceId": ins.ID}, pool()); err == nil || !strings.Contains(err.Error(), "AlreadyBindEip") {
		t.Fatalf("second EIP on one instance: %v", err)
	}
	if _, err := st.Delete(e1); err == nil || !strings.Contains(err.Error(), "NotPermit") {
		t.Fatalf("release bound EIP: %v", err)
	}
	// publicIp appears on refresh only.
	if ins.Computed["publicIp"] != "" {
		t.Fatalf("publicIp before refresh: %v", ins.Computed["publicIp"])
	}
	st.Refresh(ins)
	if ins.Computed["publicIp"] != "10.219.1.10" {
		t.Fatalf("publicIp after refresh: %v", ins.Computed["publicIp"])
	}
}

func TestForceNew(t *testing.T) {
	st, sn, ins, disk := world(t)
	change := func(r *Resource, key string, v any) DiffResult {
		news := copyProps(r.Inputs)
		if v == nil {
			delete(news, key)
		} else {
			news[key] = v
		}
		return Diff(r.Kind, r.Outputs(), r.Inputs, news)
	}
	expect := func(name string, d DiffResult, changed, replaced bool) {
		t.Helper()
		if (len(d.Changes) > 0) != changed || (len(d.Replaces) > 0) != replaced {
			t.Fatalf("%s: changes %v replaces %v; want changed=%v replaced=%v", name, d.Changes, d.Replaces, changed, replaced)
		}
	}
	newUD := base64.StdEncoding.EncodeToString([]byte("#cloud-config\n# v2\n"))
	expect("instance zone", change(ins, "availabilityZone", "ap-guangzhou-4"), true, true)
	expect("instance image (reinstall in place)", change(ins, "imageId", "img-9qrfy1xt"), true, false)
	expect("instance user data, replace on change", change(ins, "userData", newUD), true, true)
	ins.Inputs["userDataReplaceOnChange"] = false
	expect("instance user data, in place", change(ins, "userData", newUD), true, false)
	expect("instance allocatePublicIp", change(ins, "allocatePublicIp", true), true, true)
	expect("instance name in place", change(ins, "instanceName", "h2"), true, false)
	expect("instance privateIp left out (Optional+Computed)", change(ins, "privateIp", nil), false, false)
	expect("instance unknown image", change(ins, "imageId", Unknown{}), true, false)
	expect("disk grows in place", change(disk, "storageSize", float64(40)), true, false)
	expect("disk zone", change(disk, "availabilityZone", "ap-guangzhou-4"), true, true)
	expect("disk encrypt", change(disk, "encrypt", true), true, true)
	expect("subnet cidr", change(sn, "cidrBlock", "10.0.2.0/24"), true, true)
	expect("subnet name in place", change(sn, "name", "s2"), true, false)
	vpc := st.Get(VPC, sn.Str("vpcId"))
	expect("vpc cidr", change(vpc, "cidrBlock", "10.1.0.0/16"), true, true)
	at := mustCreate(t, st, CBSStorageAttachment, Props{"storageId": disk.ID, "instanceId": ins.ID})
	expect("attachment instance", change(at, "instanceId", "ins-other"), true, true)
	eip := mustCreate(t, st, EIP, Props{})
	assoc := mustCreate(t, st, EIPAssociation, Props{"eipId": eip.ID, "instanceId": ins.ID})
	expect("association instance", change(assoc, "instanceId", "ins-other"), true, true)
	kp := mustCreate(t, st, KeyPair, Props{"keyName": "ops", "publicKey": "ssh-ed25519 AAAA"})
	expect("key pair public key", change(kp, "publicKey", "ssh-ed25519 BBBB"), true, true)
	expect("no change", change(ins, "instanceName", "h1"), false, false)
}

func TestReinstallAndImages(t *testing.T) {
	st, _, ins, _ := world(t)
	news := copyProps(ins.Inputs)
	news["imageId"] = "img-9qrfy1xt"
	gen := ins.Host.Generation
	plan, err := st.Update(ins, news)
	if err != nil || !plan.Reinstall || ins.Host.Generation != gen+1 {
		t.Fatalf("image change: %v %+v generation %d", err, plan, ins.Host.Generation)
	}
	res, err := Images(Props{"imageTypes": []any{"PUBLIC_IMAGE"}, "imageNameRegex": `^Ubuntu Server 22\.04 LTS 64bit$`})
	if err != nil {
		t.Fatal(err)
	}
	if l := res["images"].([]any); len(l) != 1 || l[0].(map[string]any)["imageId"] != "img-487zeit5" {
		t.Fatalf("images: %v", l)
	}
	res, _ = Images(Props{"imageTypes": []any{"PRIVATE_IMAGE"}})
	if l := res["images"].([]any); len(l) != 0 {
		t.Fatalf("private images: %v", l)
	}
	res, _ = Images(Props{})
	if l := res["images"].([]any); len(l) != 2 || l[0].(map[string]any)["imageId"] != "img-9qrfy1xt" {
		t.Fatalf("all images, newest first: %v", l)
	}
}

func TestHostLinkNames(t *testing.T) {
	ns, veth := HostLinkNames("tkve2e-c", 3)
	if ns != "tkve2e-c3" || veth != "tkve2e-c3" {
		t.Fatal(ns, veth)
	}
	_, veth = HostLinkNames("a-very-long-prefix-", 12)
	if len(veth) > 15 {
		t.Fatalf("veth name %q over 15 characters", veth)
	}
}

func TestPlacementGroupsAndZones(t *testing.T) {
	st, sn, ins, _ := world(t)
	// terraform-provider-tencentcloud v1.82.102 resource_tc_placement_group.go: type HOST, SW or RACK; name 1-60.
	expectFailure(t, Check(PlacementGroup, Props{"name": "g", "type": "ZONE"}, st), "type", "must contain a valid string value")
	expectFailure(t, Check(PlacementGroup, Props{"type": "HOST"}, st), "name", "Missing required argument")
	if d := Diff(PlacementGroup, Props{"name": "g", "type": "HOST"}, Props{"name": "g", "type": "HOST"}, Props{"name": "g", "type": "RACK"}); len(d.Replaces) != 1 {
		t.Fatalf("type change: %+v", d)
	}
	group := mustCreate(t, st, PlacementGroup, Props{"name": "g", "type": "HOST"})

	// A subnet of another zone: InvalidParameterValue.SubnetIdZoneIdNotMatch.
	sn2 := mustCreate(t, st, Subnet, Props{"name": "s2", "vpcId": sn.Str("vpcId"), "availabilityZone": "ap-guangzhou-4", "cidrBlock": "10.0.2.0/24"})
	wrong := instanceInputs(sn.Str("vpcId"), sn2.ID)
	wrong["privateIp"] = "10.0.2.12"
	if _, err := st.Create(Instance, wrong, pool()); err == nil || !strings.Contains(err.Error(), "SubnetIdZoneIdNotMatch") {
		t.Fatalf("subnet of another zone: %v", err)
	}
	// In its own zone, in the group.
	wrong["availabilityZone"] = "ap-guangzhou-4"
	wrong["placementGroupId"] = group.ID
	ins2 := mustCreate(t, st, Instance, wrong)
	// A group that does not exist.
	missing := instanceInputs(sn.Str("vpcId"), sn.ID)
	missing["privateIp"], missing["placementGroupId"] = "10.0.1.13", "ps-00000000"
	if _, err := st.Create(Instance, missing, pool()); err == nil || !strings.Contains(err.Error(), "DisasterRecoverGroupNotFound") {
		t.Fatalf("missing group: %v", err)
	}
	// A running instance joins in place: a change, not a replacement.
	joined := copyProps(ins.Inputs)
	joined["placementGroupId"] = group.ID
	if d := Diff(Instance, ins.Outputs(), ins.Inputs, joined); len(d.Replaces) != 0 || len(d.Changes) != 1 {
		t.Fatalf("joining: %+v", d)
	}
	if plan, err := st.Update(ins, joined); err != nil || plan.Reinstall {
		t.Fatalf("joining: %v %+v", err, plan)
	}
	st.Refresh(group)
	if group.Computed["currentNum"] != float64(2) {
		t.Fatalf("current_num %v", group.Computed["currentNum"])
	}
	// Left out of the program it stays (Optional+Computed); set to empty it is refused.
	left := copyProps(ins.Inputs)
	delete(left, "placementGroupId")
	if d := Diff(Instance, ins.Outputs(), ins.Inputs, left); len(d.Changes) != 0 {
		t.Fatalf("left out: %+v", d)
	}
	left["instanceName"] = "h1-renamed" // an update for another reason keeps the group
	if _, err := st.Update(ins, left); err != nil || ins.Str("placementGroupId") != group.ID {
		t.Fatalf("updated without placement_group_id: %v, group %q", err, ins.Str("placementGroupId"))
	}
	cleared := copyProps(ins.Inputs)
	cleared["placementGroupId"] = ""
	if _, err := st.Update(ins, cleared); err == nil || !strings.Contains(err.Error(), "Deleting `placement_group_id` is not currently supported") {
		t.Fatalf("clearing: %v", err)
	}
	// A group with instances is not deleted.
	if _, err := st.Delete(group); err == nil || !strings.Contains(err.Error(), "PlacementSetNotEmpty") {
		t.Fatalf("delete group: %v", err)
	}
	if _, err := st.Delete(ins2); err != nil {
		t.Fatal(err)
	}
}
