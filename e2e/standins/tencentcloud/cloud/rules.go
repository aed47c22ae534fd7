package cloud

// The provider's plan-time rules: required arguments, validators and ForceNew, from
// tencentcloudstack/terraform-provider-tencentcloud at v1.82.102 (commit 46b13bb4), each cited
// beside its table entry. Names are the Pulumi ones (camelCase, list blocks pluralised).

import (
	"encoding/base64"
	"fmt"
	"net"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Failure is a Check failure on one property, as the bridge reports it.
type Failure struct {
	Property string
	Reason   string
}

// required: the schema's `Required: true` attributes (and the instance's AtLeastOneOf image_id /
// launch_template_id), per resource file's Schema.
var required = map[Kind][]string{
	VPC:                       {"cidrBlock", "name"},                                             // vpc/resource_tc_vpc.go
	Subnet:                    {"vpcId", "availabilityZone", "cidrBlock", "name"},                // vpc/resource_tc_subnet.go
	SecurityGroup:             {"name"},                                                          // vpc/resource_tc_security_group.go
	SecurityGroupRuleSet:      {"securityGroupId"},                                               // vpc/resource_tc_security_group_rule_set.go
	EIPAssociation:            {"eipId"},                                                         // cvm/resource_tc_eip_association.go
	KeyPair:                   {"keyName"},                                                       // cvm/resource_tc_key_pair.go
	CBSStorage:                {"availabilityZone", "storageName", "storageSize", "storageType"}, // cbs/resource_tc_cbs_storage.go
	CBSStorageAttachment:      {"instanceId", "storageId"},                                       // cbs/resource_tc_cbs_storage_attachment.go
	CBSSnapshotPolicy:         {"snapshotPolicyName", "repeatWeekdays", "repeatHours"},           // cbs/resource_tc_cbs_snapshot_policy.go
	CBSSnapshotPolicyAttached: {"snapshotPolicyId"},                                              // cbs/resource_tc_cbs_snapshot_policy_attachment.go
	Instance:                  {"imageId"},                                                       // cvm/resource_tc_instance.go (AtLeastOneOf image_id, launch_template_id)
	PlacementGroup:            {"name", "type"},                                                  // cvm/resource_tc_placement_group.go
}

// forceNew: `ForceNew: true` attributes per resource file's Schema.
var forceNew = map[Kind][]string{
	VPC:                  {"cidrBlock"},                                              // vpc/resource_tc_vpc.go
	Subnet:               {"vpcId", "availabilityZone", "cidrBlock", "cdcId"},        // vpc/resource_tc_subnet.go
	SecurityGroup:        {"projectId"},                                              // vpc/resource_tc_security_group.go
	SecurityGroupRuleSet: {"securityGroupId"},                                        // vpc/resource_tc_security_group_rule_set.go
	EIP:                  {"type", "anycastZone", "internetServiceProvider"},         // cvm/resource_tc_eip.go
	EIPAssociation:       {"eipId", "instanceId", "networkInterfaceId", "privateIp"}, // cvm/resource_tc_eip_association.go
	KeyPair:              {"publicKey", "projectId"},                                 // cvm/resource_tc_key_pair.go
	// cbs/resource_tc_cbs_storage.go; storage_size is not ForceNew: Update resizes (grow only).
	CBSStorage:                {"availabilityZone", "dedicatedClusterId", "kmsKeyId", "encrypt", "encryptType"},
	CBSStorageAttachment:      {"storageId", "instanceId"},                     // cbs/resource_tc_cbs_storage_attachment.go
	CBSSnapshotPolicyAttached: {"storageId", "storageIds", "snapshotPolicyId"}, // cbs/resource_tc_cbs_snapshot_policy_attachment.go
	PlacementGroup:            {"type", "affinity"},                            // cvm/resource_tc_placement_group.go
	// cvm/resource_tc_instance.go: image_id is not ForceNew (Update calls ResetInstance: a
	// reinstall in place); user_data is ForceNewIf user_data_replace_on_change (CustomizeDiff).
	Instance: {"availabilityZone", "dedicatedClusterId", "dedicatedResourcePackTenancy", "dedicatedResourcePackIds",
		"disasterRecoverGroupIds", "spotMaxPrice", "cdhHostId", "allocatePublicIp", "ipv4AddressType",
		"ipv6AddressType", "ipv6AddressCount", "antiDdosPackageId", "dataDisks", "hpcClusterId",
		"launchTemplateId", "launchTemplateVersion"},
}

// optionalComputed: `Optional: true, Computed: true` attributes: leaving one out of the program
// keeps the cloud's value (no diff), as Terraform plans it.
var optionalComputed = map[Kind][]string{
	VPC:            {"assistantCidrs", "dnsServers", "enableRouteVpcPublish", "isMulticast"},
	Subnet:         {"isMulticast", "routeTableId"},
	SecurityGroup:  {"projectId"},
	EIP:            {"antiDdosPackageId", "bandwidthPackageId", "egress", "internetChargeType", "internetMaxBandwidthOut", "name"},
	EIPAssociation: {"instanceId", "networkInterfaceId", "privateIp"},
	KeyPair:        {"publicKey", "forceStop"},
	CBSStorage:     {"burstPerformance", "diskBackupQuota", "encryptType", "kmsKeyId", "prepaidPeriod", "prepaidRenewFlag", "snapshotId"},
	PlacementGroup: {"affinity"},
	Instance: {"antiDdosPackageId", "availabilityZone", "camRoleName", "cdhHostId", "cdhInstanceType", "dataDisks",
		"disableApiTermination", "forceStop", "hostname", "hpcClusterId", "imageId", "instanceChargeType",
		"instanceChargeTypePrepaidRenewFlag", "instanceName", "instanceType", "internetChargeType",
		"internetMaxBandwidthOut", "ipv4AddressType", "ipv6AddressCount", "ipv6AddressType", "keepImageLogin",
		"keyIds", "keyName", "orderlySecurityGroups", "placementGroupId", "privateIp", "projectId", "runningFlag",
		"securityGroups", "subnetId", "systemDiskId", "systemDiskName", "systemDiskSize", "systemDiskType", "tags",
		"userData", "userDataRaw", "vpcId"},
}

// Enumerations.
var (
	// cvm/extension_cvm.go CVM_DISK_TYPE (system_disk_type's ValidateAllowedStringValue).
	cvmDiskTypes = []string{"LOCAL_BASIC", "LOCAL_SSD", "CLOUD_BASIC", "CLOUD_SSD", "CLOUD_PREMIUM", "CLOUD_BSSD", "CLOUD_HSSD", "CLOUD_TSSD"}
	// cvm/extension_cvm.go CVM_INTERNET_CHARGE_TYPE (instance internet_charge_type).
	cvmInternetChargeTypes = []string{"BANDWIDTH_PREPAID", "BANDWIDTH_POSTPAID_BY_HOUR", "BANDWIDTH_PACKAGE", "TRAFFIC_POSTPAID_BY_HOUR"}
	// EIP internet_charge_type has no validator in cvm/resource_tc_eip.go; the API (vpc
	// AllocateAddresses InternetChargeType) takes these four and refuses the rest.
	eipInternetChargeTypes = []string{"BANDWIDTH_PACKAGE", "BANDWIDTH_POSTPAID_BY_HOUR", "BANDWIDTH_PREPAID_BY_MONTH", "TRAFFIC_POSTPAID_BY_HOUR"}
	// cbs/resource_tc_cbs_storage.go storage_type has no validator; its description lists what
	// the CreateDisks API accepts.
	cbsStorageTypes = []string{"CLOUD_BASIC", "CLOUD_PREMIUM", "CLOUD_BSSD", "CLOUD_SSD", "CLOUD_HSSD", "CLOUD_TSSD"}
	// vpc/resource_tc_security_group_rule_set.go: action ValidateAllowedStringValueIgnoreCase;
	// protocol per its description (the API refuses others).
	ruleActions   = []string{"ACCEPT", "DROP"}
	ruleProtocols = []string{"TCP", "UDP", "ICMP", "ICMPV6", "ALL"}
	rulePort      = regexp.MustCompile(`^(?i:all|\d{1,5}(-\d{1,5})?(,\d{1,5})*)$`)
	keyPairName   = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)
	// cvm/extension_cvm.go CVM_PLACEMENT_GROUP_TYPE.
	cvmPlacementGroupTypes = []string{"HOST", "SW", "RACK"}
)

// UserDataLimit is the 16 KB limit on base64 user data (cvm/resource_tc_instance.go user_data
// description: "Must be base64 encoded and up to 16 KB").
const UserDataLimit = 16 * 1024

// Check validates a resource's inputs as the provider's validators (and, where the model holds the
// answer already, the API) would refuse them. Unknown values pass.
func Check(kind Kind, in Props, st *State) []Failure {
	var fs []Failure
	fail := func(prop, format string, args ...any) {
		fs = append(fs, Failure{Property: prop, Reason: fmt.Sprintf(format, args...)})
	}
	for _, k := range required[kind] {
		if v, ok := in[k]; !ok || v == nil {
			fail(k, "Missing required argument. The argument %q is required, but no definition was found.", snake(k))
		}
	}
	known := func(k string) (any, bool) {
		v, ok := in[k]
		if !ok || v == nil || IsUnknown(v) {
			return nil, false
		}
		return v, true
	}
	knownStr := func(k string) (string, bool) {
		v, ok := known(k)
		if !ok {
			return "", false
		}
		s, isStr := v.(string)
		if !isStr {
			fail(k, "%s: expected a string, got %T", snake(k), v)
		}
		return s, isStr
	}
	length := func(k string, min, max int) { // common/validators.go ValidateStringLengthInRange
		if s, ok := knownStr(k); ok {
			n := utf8.RuneCountInString(s)
			if n < min {
				fail(k, "length of %q cannot be lower than %d: %d", snake(k), min, n)
			}
			if n > max {
				fail(k, "length of %q cannot be higher than %d: %d", snake(k), max, n)
			}
		}
	}
	enum := func(k string, allowed []string, ignoreCase bool) { // common/validators.go ValidateAllowedStringValue(IgnoreCase)
		if s, ok := knownStr(k); ok && !contains(allowed, s, ignoreCase) {
			fail(k, "%q must contain a valid string value must in array %#v, got %q", snake(k), allowed, s)
		}
	}
	cidr := func(k string) { // common/validators.go ValidateCIDRNetworkAddress
		if s, ok := knownStr(k); ok {
			_, n, err := net.ParseCIDR(s)
			if err != nil {
				fail(k, "%q must contain a valid CIDR, got error parsing: %s", snake(k), err)
			} else if n.String() != s {
				fail(k, "%q must contain a valid network CIDR, expected %q, got %q", snake(k), n, s)
			}
		}
	}
	intRange := func(k string, v any, min, max int) { // common/validators.go ValidateIntegerInRange
		if f, ok := v.(float64); ok {
			if int(f) < min {
				fail(k, "%q cannot be lower than %d: %d", snake(k), min, int(f))
			}
			if int(f) > max {
				fail(k, "%q cannot be higher than %d: %d", snake(k), max, int(f))
			}
		}
	}

	switch kind {
	case VPC:
		length("name", 1, 60) // vpc/resource_tc_vpc.go name
		cidr("cidrBlock")
	case Subnet:
		length("name", 1, 60) // vpc/resource_tc_subnet.go name
		cidr("cidrBlock")
		// The API (CreateSubnet) refuses a block outside the VPC's: InvalidParameterValue.SubnetRange.
		if vpcID, ok := knownStr("vpcId"); ok {
			if block, ok := knownStr("cidrBlock"); ok && st != nil {
				if vpc := st.Get(VPC, vpcID); vpc != nil && !cidrWithin(block, vpc.Str("cidrBlock")) {
					fail("cidrBlock", "subnet %s is outside the VPC's %s (InvalidParameterValue.SubnetRange)", block, vpc.Str("cidrBlock"))
				}
			}
		}
	case SecurityGroup:
		length("name", 1, 60)         // vpc/resource_tc_security_group.go name
		length("description", 1, 100) // ... description
	case SecurityGroupRuleSet:
		for _, list := range []string{"ingresses", "egresses"} {
			v, ok := known(list)
			if !ok {
				continue
			}
			rules, _ := v.([]any)
			for i, e := range rules {
				rule, _ := e.(map[string]any)
				p := fmt.Sprintf("%s[%d]", list, i)
				if a, ok := rule["action"].(string); !ok {
					fail(p+".action", "Missing required argument. The argument \"action\" is required, but no definition was found.")
				} else if !contains(ruleActions, a, true) {
					fail(p+".action", "%q must contain a valid string value must in array %#v, got %q", "action", ruleActions, a)
				}
				if pr, ok := rule["protocol"].(string); ok && !contains(ruleProtocols, pr, true) {
					fail(p+".protocol", "protocol %q: valid values are TCP, UDP, ICMP, ICMPv6 and ALL", pr)
				}
				if port, ok := rule["port"].(string); ok {
					if !rulePort.MatchString(port) {
						fail(p+".port", "port %q: expected all, a port, a list or a range", port)
					}
					// "If the Protocol value is set to ALL, the Port value also needs to be set to all."
					if pr, _ := rule["protocol"].(string); strings.EqualFold(pr, "ALL") && !strings.EqualFold(port, "ALL") {
						fail(p+".port", "protocol ALL needs port ALL, got %q", port)
					}
				}
				if c, ok := rule["cidrBlock"].(string); ok {
					if _, _, err := net.ParseCIDR(c); err != nil && net.ParseIP(c) == nil {
						fail(p+".cidrBlock", "invalid cidr_block %q", c)
					}
				}
			}
		}
	case EIP:
		enum("internetChargeType", eipInternetChargeTypes, false)
	case EIPAssociation:
		length("eipId", 1, 25)      // cvm/resource_tc_eip_association.go eip_id
		length("instanceId", 1, 25) // ... instance_id
		length("privateIp", 7, 25)  // ... private_ip
	case KeyPair:
		// common/validators.go ValidateKeyPairName.
		if s, ok := knownStr("keyName"); ok {
			if len(s) > 25 || len(s) == 0 {
				fail("keyName", "the length of %s must be 1-25: %s", "key_name", s)
			}
			if !keyPairName.MatchString(s) {
				fail("keyName", "%s only support letters, numbers and \"_\": %s", "key_name", s)
			}
		}
	case CBSStorage:
		length("storageName", 2, 60) // cbs/resource_tc_cbs_storage.go storage_name
		enum("storageType", cbsStorageTypes, false)
		if v, ok := known("storageSize"); ok {
			if f, _ := v.(float64); f < 10 || f > 32000 || f != float64(int(f)) {
				fail("storageSize", "storage_size %v: the CreateDisks API takes whole GB from 10 to 32000", v)
			}
		}
	case CBSSnapshotPolicy:
		length("snapshotPolicyName", 2, 60) // cbs/resource_tc_cbs_snapshot_policy.go
		for _, k := range []string{"repeatWeekdays", "repeatHours"} {
			v, ok := known(k)
			if !ok {
				continue
			}
			items, _ := v.([]any)
			if len(items) == 0 {
				fail(k, "%s: at least one value", snake(k))
			}
			for _, it := range items {
				if k == "repeatWeekdays" {
					intRange(k, it, 0, 6)
				} else {
					intRange(k, it, 0, 23)
				}
			}
		}
	case CBSSnapshotPolicyAttached:
		_, one := known("storageId")
		_, many := known("storageIds")
		if _, pending := in["storageId"]; !one && !many && !pending {
			fail("storageId", "one of `storage_id,storage_ids` must be specified")
		}
	case PlacementGroup:
		length("name", 1, 60)                       // cvm/resource_tc_placement_group.go name
		enum("type", cvmPlacementGroupTypes, false) // ... type: ValidateAllowedStringValue(CVM_PLACEMENT_GROUP_TYPE)
		if v, ok := known("affinity"); ok {         // ... affinity: ValidateIntegerInRange(1, 10)
			intRange("affinity", v, 1, 10)
		}
	case Instance:
		length("instanceName", 2, 128)                                          // cvm/resource_tc_instance.go instance_name
		if s, ok := knownStr("instanceType"); ok && !strings.Contains(s, ".") { // common/validators.go ValidateInstanceType
			fail("instanceType", "the format of %s is invalid: %s, it should be like S1.SMALL1", "instance_type", s)
		}
		enum("systemDiskType", cvmDiskTypes, false)
		enum("internetChargeType", cvmInternetChargeTypes, false)
		if s, ok := knownStr("imageId"); ok && FindImage(s) == nil {
			fail("imageId", "image %s not found (InvalidImageId.NotFound)", s)
		}
		if s, ok := knownStr("userData"); ok {
			if msg := userDataProblem(s); msg != "" {
				fail("userData", "%s", msg)
			}
		}
		if _, ok := in["userData"]; ok {
			if _, raw := in["userDataRaw"]; raw {
				fail("userData", "\"user_data\": conflicts with user_data_raw")
			}
		}
		// A private IP needs the VPC and subnet it is in; it must lie in the subnet's block
		// (RunInstances: VpcAddrNotInSubNet).
		if ip, ok := knownStr("privateIp"); ok {
			_, hasVpc := in["vpcId"]
			_, hasSubnet := in["subnetId"]
			if !hasVpc || !hasSubnet {
				fail("privateIp", "private_ip %s needs vpc_id and subnet_id (RunInstances VirtualPrivateCloud.PrivateIpAddresses)", ip)
			} else if net.ParseIP(ip) == nil || net.ParseIP(ip).To4() == nil {
				fail("privateIp", "private_ip %q is not an IPv4 address (InvalidParameterValue.IPAddressMalformed)", ip)
			} else if subnetID, ok := knownStr("subnetId"); ok && st != nil {
				if sn := st.Get(Subnet, subnetID); sn != nil && !ipWithin(ip, sn.Str("cidrBlock")) {
					fail("privateIp", "private_ip %s is not in subnet %s (%s) (VpcAddrNotInSubNet)", ip, subnetID, sn.Str("cidrBlock"))
				}
			}
		}
		if vpcID, ok := knownStr("vpcId"); ok && st != nil {
			if subnetID, ok := knownStr("subnetId"); ok {
				if sn := st.Get(Subnet, subnetID); sn != nil && sn.Str("vpcId") != vpcID {
					fail("subnetId", "subnet %s is not in VPC %s (InvalidParameterValue.VpcIdSubnetIdNotMatch)", subnetID, vpcID)
				}
			}
		}
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Property < fs[j].Property })
	return fs
}

func userDataProblem(s string) string {
	if len(s) > UserDataLimit {
		return fmt.Sprintf("user_data is %d bytes, over the 16 KB limit after base64 encoding (InvalidParameterValue.LimitExceeded)", len(s))
	}
	if _, err := base64.StdEncoding.DecodeString(s); err != nil {
		return "user_data must be base64 encoded (InvalidParameterValue.InvalidUserDataFormat)"
	}
	return ""
}

// DiffResult lists the changed inputs and those that force a replacement.
type DiffResult struct {
	Changes  []string
	Replaces []string
}

// Diff plans an update of a resource from its state (olds: the outputs last returned, oldInputs)
// to the checked news, as Terraform plans it: an input left out keeps an Optional+Computed value.
func Diff(kind Kind, olds, oldInputs, news Props) DiffResult {
	var d DiffResult
	keys := map[string]bool{}
	for k, v := range news {
		if v != nil {
			keys[k] = true
		}
	}
	for k, v := range oldInputs {
		if v != nil && !contains(optionalComputed[kind], k, false) {
			keys[k] = true
		}
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		nv := news[k]
		ov, had := olds[k]
		if !had {
			ov = oldInputs[k]
		}
		if !IsUnknown(nv) && Equal(nv, ov) {
			continue
		}
		d.Changes = append(d.Changes, k)
		if contains(forceNew[kind], k, false) {
			d.Replaces = append(d.Replaces, k)
		}
		// cvm/resource_tc_instance.go CustomizeDiff: ForceNewIf user_data / user_data_raw when
		// user_data_replace_on_change is true.
		if kind == Instance && (k == "userData" || k == "userDataRaw") && boolean(news, "userDataReplaceOnChange") {
			d.Replaces = append(d.Replaces, k)
		}
	}
	return d
}

// Equal compares two plain values (numbers are float64 on both sides).
func Equal(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return reflect.DeepEqual(a, b)
}

func contains(list []string, s string, ignoreCase bool) bool {
	for _, e := range list {
		if e == s || (ignoreCase && strings.EqualFold(e, s)) {
			return true
		}
	}
	return false
}

// snake turns a Pulumi name back into the Terraform attribute name (for upstream's messages).
func snake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			b.WriteRune(r - 'A' + 'a')
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func cidrWithin(inner, outer string) bool {
	_, in, err1 := net.ParseCIDR(inner)
	_, out, err2 := net.ParseCIDR(outer)
	if err1 != nil || err2 != nil {
		return false
	}
	ip, op := in.Mask.Size()
	oo, _ := out.Mask.Size()
	_ = op
	return ip >= oo && out.Contains(in.IP)
}

func ipWithin(ip, block string) bool {
	_, n, err := net.ParseCIDR(block)
	return err == nil && n.Contains(net.ParseIP(ip))
}
