// Typed bindings for the Tencent Cloud provider, for the resources this program uses, by one of
// two routes (config `tencentcloudRoute`). Only this module knows type tokens, plugin names and
// package registration; components pass the `TencentCloud` they are given and never look inside.
//
// - "terraform" (default): what the Pulumi Registry prescribes today, Pulumi's parameterized
//   "Any Terraform Provider" plugin (pulumi/pulumi-terraform-provider) serving the Terraform
//   provider tencentcloudstack/tencentcloud. The generated local SDK (`pulumi package add
//   terraform-provider tencentcloudstack/tencentcloud`) registers a parameterized package once
//   and passes its reference to every resource and invoke; the same is done here.
// - "bridged": the statically bridged plugin `tencentcloud` 0.2.3 whose generated Node.js SDK
//   (tencentcloudstack/pulumi-tencentcloud tag sdk/v0.2.3) is not on npm; its binary may no
//   longer be downloadable (the release workflow's publishing step is commented out since 2023-08).
//
// Property names are the same on both routes: camelCase Terraform attributes, list blocks
// pluralised. test/tencentcloudSchema.test.ts checks every input against each route's schema.
import * as pulumi from "@pulumi/pulumi";

export type Route = "terraform" | "bridged";
export const ROUTES: readonly Route[] = ["terraform", "bridged"];

type Kind =
  | "vpc"
  | "subnet"
  | "securityGroup"
  | "securityGroupRuleSet"
  | "instance"
  | "eip"
  | "eipAssociation"
  | "keyPair"
  | "cbsStorage"
  | "cbsStorageAttachment"
  | "cbsSnapshotPolicy"
  | "cbsSnapshotPolicyAttachment"
  | "placementGroup"
  | "getImages";

/** The bridged plugin: `pulumi plugin install resource tencentcloud v0.2.3 --server <url>`. */
export const BRIDGED_PLUGIN = {
  name: "tencentcloud",
  version: "0.2.3",
  pluginDownloadURL: "github://api.github.com/tencentcloudstack",
} as const;

/**
 * The parameterized route, as the generated SDK's utilities.ts registers it (pulumi/pulumi
 * pkg/codegen/nodejs/gen.go, genUtilitiesFile: a RegisterPackageRequest naming the base plugin,
 * its version and download URL, with a Parameterization of package name, version and value).
 * The value is the JSON pulumi-terraform-bridge's dynamic/parameterize/value.go marshals.
 */
export const TERRAFORM_PACKAGE = {
  /** Base plugin, pulumi/pulumi-terraform-provider; `""` = Pulumi's default plugin source. */
  baseProviderName: "terraform-provider",
  baseProviderVersion: "1.1.3",
  baseProviderDownloadUrl: "",
  /** The Terraform provider, pinned: registry.opentofu.org/tencentcloudstack/tencentcloud. */
  packageName: "tencentcloud",
  packageVersion: "1.82.102",
  parameterValue: { remote: { url: "registry.opentofu.org/tencentcloudstack/tencentcloud", version: "1.82.102" } },
} as const;

/** Token tables. The terraform route's are pulumi-terraform-bridge dynamic/info.go's
 * `tokens.SingleModule(prefix, "index", tokens.MakeStandard(name))`; data sources gain `get`. */
export const TOKENS: Readonly<Record<Route, Readonly<Record<Kind, string>>>> = {
  terraform: {
    vpc: "tencentcloud:index/vpc:Vpc",
    subnet: "tencentcloud:index/subnet:Subnet",
    securityGroup: "tencentcloud:index/securityGroup:SecurityGroup",
    securityGroupRuleSet: "tencentcloud:index/securityGroupRuleSet:SecurityGroupRuleSet",
    instance: "tencentcloud:index/instance:Instance",
    eip: "tencentcloud:index/eip:Eip",
    eipAssociation: "tencentcloud:index/eipAssociation:EipAssociation",
    keyPair: "tencentcloud:index/keyPair:KeyPair",
    cbsStorage: "tencentcloud:index/cbsStorage:CbsStorage",
    cbsStorageAttachment: "tencentcloud:index/cbsStorageAttachment:CbsStorageAttachment",
    cbsSnapshotPolicy: "tencentcloud:index/cbsSnapshotPolicy:CbsSnapshotPolicy",
    cbsSnapshotPolicyAttachment: "tencentcloud:index/cbsSnapshotPolicyAttachment:CbsSnapshotPolicyAttachment",
    placementGroup: "tencentcloud:index/placementGroup:PlacementGroup",
    getImages: "tencentcloud:index/getImages:getImages",
  },
  bridged: {
    vpc: "tencentcloud:Vpc/instance:Instance",
    subnet: "tencentcloud:Subnet/instance:Instance",
    securityGroup: "tencentcloud:Security/group:Group",
    securityGroupRuleSet: "tencentcloud:Security/groupRuleSet:GroupRuleSet",
    instance: "tencentcloud:Instance/instance:Instance",
    eip: "tencentcloud:Eip/instance:Instance",
    eipAssociation: "tencentcloud:Eip/association:Association",
    keyPair: "tencentcloud:Key/pair:Pair",
    cbsStorage: "tencentcloud:Cbs/storage:Storage",
    cbsStorageAttachment: "tencentcloud:Cbs/storageAttachment:StorageAttachment",
    cbsSnapshotPolicy: "tencentcloud:Cbs/snapshotPolicy:SnapshotPolicy",
    cbsSnapshotPolicyAttachment: "tencentcloud:Cbs/snapshotPolicyAttachment:SnapshotPolicyAttachment",
    placementGroup: "tencentcloud:Placement/group:Group",
    getImages: "tencentcloud:Images/getInstance:getInstance",
  },
};

/**
 * One program run's way to Tencent Cloud: the route (config `tencentcloudRoute`) and, on the
 * terraform route, the package registration every resource and invoke refers to. index.ts makes
 * one and hands it to each resource (option `cloud`); nothing here is module state.
 */
export class TencentCloud {
  #packageRef?: Promise<string | undefined>;

  constructor(public readonly route: Route) {}

  /** The parameterized package's reference, registered once, as the generated SDK does. */
  public packageRef(): Promise<string | undefined> {
    if (this.#packageRef === undefined) {
      const p = TERRAFORM_PACKAGE;
      this.#packageRef = pulumi.runtime.registerPackage({
        baseProviderName: p.baseProviderName,
        baseProviderVersion: p.baseProviderVersion,
        baseProviderDownloadUrl: p.baseProviderDownloadUrl,
        packageName: p.packageName,
        packageVersion: p.packageVersion,
        base64Parameter: Buffer.from(JSON.stringify(p.parameterValue)).toString("base64"),
      });
    }
    return this.#packageRef;
  }
}

/** Resource options of every Tencent Cloud resource: the usual ones, and the route it is declared on. */
export type TencentOptions = pulumi.CustomResourceOptions & { readonly cloud: TencentCloud };

/** Registers a resource of `kind` on the route its options name. */
abstract class TencentResource extends pulumi.CustomResource {
  protected constructor(kind: Kind, name: string, props: pulumi.Inputs, options: TencentOptions) {
    const { cloud, ...opts } = options;
    if (cloud.route === "terraform") {
      super(TOKENS.terraform[kind], name, props, opts, false, cloud.packageRef());
    } else {
      super(TOKENS.bridged[kind], name, props, {
        version: BRIDGED_PLUGIN.version,
        pluginDownloadURL: BRIDGED_PLUGIN.pluginDownloadURL,
        ...opts,
      });
    }
  }
}

type Tags = pulumi.Input<Record<string, pulumi.Input<string>>>;

export interface VpcArgs {
  cidrBlock: pulumi.Input<string>;
  name?: pulumi.Input<string>;
  tags?: Tags;
}

export class Vpc extends TencentResource {
  declare public readonly cidrBlock: pulumi.Output<string>;
  constructor(name: string, args: VpcArgs, opts: TencentOptions) {
    super("vpc", name, { ...args }, opts);
  }
}

export interface SubnetArgs {
  vpcId: pulumi.Input<string>;
  availabilityZone: pulumi.Input<string>;
  cidrBlock: pulumi.Input<string>;
  name?: pulumi.Input<string>;
  tags?: Tags;
}

export class Subnet extends TencentResource {
  declare public readonly cidrBlock: pulumi.Output<string>;
  constructor(name: string, args: SubnetArgs, opts: TencentOptions) {
    super("subnet", name, { ...args }, opts);
  }
}

export interface SecurityGroupArgs {
  name?: pulumi.Input<string>;
  description?: pulumi.Input<string>;
  tags?: Tags;
}

export class SecurityGroup extends TencentResource {
  constructor(name: string, args: SecurityGroupArgs, opts: TencentOptions) {
    super("securityGroup", name, { ...args }, opts);
  }
}

/** One entry of a rule set (Security.GroupRuleSetIngress / GroupRuleSetEgress). */
export interface SecurityGroupRule {
  action: "ACCEPT" | "DROP";
  cidrBlock: string;
  /** TCP, UDP, ICMP or ALL. */
  protocol: string;
  /** A port, a range "a-b", or ALL. */
  port: string;
  description?: string;
}

export interface SecurityGroupRuleSetArgs {
  securityGroupId: pulumi.Input<string>;
  ingresses?: pulumi.Input<SecurityGroupRule[]>;
  egresses?: pulumi.Input<SecurityGroupRule[]>;
}

export class SecurityGroupRuleSet extends TencentResource {
  constructor(name: string, args: SecurityGroupRuleSetArgs, opts: TencentOptions) {
    super("securityGroupRuleSet", name, { ...args }, opts);
  }
}

export interface EipArgs {
  name?: pulumi.Input<string>;
  internetChargeType?: pulumi.Input<string>;
  internetMaxBandwidthOut?: pulumi.Input<number>;
  tags?: Tags;
}

export class Eip extends TencentResource {
  /** The address; the instance's own publicIp only updates on refresh. */
  declare public readonly publicIp: pulumi.Output<string>;
  constructor(name: string, args: EipArgs, opts: TencentOptions) {
    // Outputs are only delivered for properties named in the props, as the generated SDK does.
    super("eip", name, { ...args, publicIp: undefined }, opts);
  }
}

export interface EipAssociationArgs {
  eipId: pulumi.Input<string>;
  instanceId: pulumi.Input<string>;
}

export class EipAssociation extends TencentResource {
  constructor(name: string, args: EipAssociationArgs, opts: TencentOptions) {
    super("eipAssociation", name, { ...args }, opts);
  }
}

export interface KeyPairArgs {
  /** 1-25 letters, digits or underscores. */
  keyName: pulumi.Input<string>;
  publicKey: pulumi.Input<string>;
}

export class KeyPair extends TencentResource {
  constructor(name: string, args: KeyPairArgs, opts: TencentOptions) {
    super("keyPair", name, { ...args }, opts);
  }
}

export interface InstanceArgs {
  instanceName: pulumi.Input<string>;
  hostname: pulumi.Input<string>;
  availabilityZone: pulumi.Input<string>;
  instanceType: pulumi.Input<string>;
  imageId: pulumi.Input<string>;
  systemDiskType: pulumi.Input<string>;
  systemDiskSize: pulumi.Input<number>;
  vpcId: pulumi.Input<string>;
  subnetId: pulumi.Input<string>;
  privateIp: pulumi.Input<string>;
  orderlySecurityGroups: pulumi.Input<pulumi.Input<string>[]>;
  allocatePublicIp: pulumi.Input<boolean>;
  /** Base64 cloud-config, at most 16 KB encoded. */
  userData: pulumi.Input<string>;
  /** true: a userData change replaces the instance (ForceNewIf in the provider); false: applied in place. */
  userDataReplaceOnChange?: pulumi.Input<boolean>;
  /** Termination protection: the cloud API refuses to delete the instance while it is on. */
  disableApiTermination?: pulumi.Input<boolean>;
  keyIds?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * The spread placement group it is in. Set at creation it goes into RunInstances; a change
   * joins the group in place on the current physical host (ModifyInstancesDisasterRecoverGroup
   * with Force false unless forceReplacePlacementGroupId), and removing it is refused by the
   * provider (resource_tc_instance.go at v1.82.102).
   */
  placementGroupId?: pulumi.Input<string>;
  tags?: Tags;
}

export class Instance extends TencentResource {
  declare public readonly privateIp: pulumi.Output<string>;
  declare public readonly imageId: pulumi.Output<string>;
  constructor(name: string, args: InstanceArgs, opts: TencentOptions) {
    super("instance", name, { ...args }, opts);
  }
}

export interface CbsStorageArgs {
  /** 2-60 characters. */
  storageName: pulumi.Input<string>;
  /** CLOUD_PREMIUM, CLOUD_SSD, CLOUD_BSSD, CLOUD_HSSD or CLOUD_TSSD. */
  storageType: pulumi.Input<string>;
  /** GB. Grows in place; never shrinks. */
  storageSize: pulumi.Input<number>;
  /** Forces a new disk: a disk never leaves its zone. */
  availabilityZone: pulumi.Input<string>;
  /** Forces a new disk. */
  encrypt?: pulumi.Input<boolean>;
  tags?: Tags;
}

/** A CBS cloud disk (an "elastic" disk: created on its own, attached to an instance afterwards). */
export class CbsStorage extends TencentResource {
  /** GB, as the cloud reports it once a resize is done. */
  declare public readonly storageSize: pulumi.Output<number>;
  constructor(name: string, args: CbsStorageArgs, opts: TencentOptions) {
    super("cbsStorage", name, { ...args }, opts);
  }
}

export interface CbsStorageAttachmentArgs {
  storageId: pulumi.Input<string>;
  instanceId: pulumi.Input<string>;
}

/**
 * Attaches a CBS disk to an instance. Both fields force a new attachment. Deleting it detaches the
 * disk from whatever instance it is attached to at that moment (the provider reads the disk's
 * current instance), so a replacement must delete before it creates.
 */
export class CbsStorageAttachment extends TencentResource {
  constructor(name: string, args: CbsStorageAttachmentArgs, opts: TencentOptions) {
    super("cbsStorageAttachment", name, { ...args }, opts);
  }
}

export interface CbsSnapshotPolicyArgs {
  /** 2-60 characters. */
  snapshotPolicyName: pulumi.Input<string>;
  /** 0 (Sunday) to 6. */
  repeatWeekdays: pulumi.Input<pulumi.Input<number>[]>;
  /** 0 to 23. */
  repeatHours: pulumi.Input<pulumi.Input<number>[]>;
  /** Days a snapshot is kept (the provider's default is 7). */
  retentionDays?: pulumi.Input<number>;
}

/** A periodic snapshot schedule for CBS disks. */
export class CbsSnapshotPolicy extends TencentResource {
  constructor(name: string, args: CbsSnapshotPolicyArgs, opts: TencentOptions) {
    super("cbsSnapshotPolicy", name, { ...args }, opts);
  }
}

export interface CbsSnapshotPolicyAttachmentArgs {
  snapshotPolicyId: pulumi.Input<string>;
  /** One disk; the provider takes either storageId or storageIds (two or more). */
  storageId: pulumi.Input<string>;
}

export class CbsSnapshotPolicyAttachment extends TencentResource {
  constructor(name: string, args: CbsSnapshotPolicyAttachmentArgs, opts: TencentOptions) {
    super("cbsSnapshotPolicyAttachment", name, { ...args }, opts);
  }
}

export interface PlacementGroupArgs {
  /** 1-60 characters. */
  name: pulumi.Input<string>;
  /** HOST, SW or RACK; ForceNew. */
  type: pulumi.Input<string>;
  tags?: Tags;
}

/**
 * A spread placement group (Tencent Cloud's "disaster recover group", resource_tc_placement_group.go):
 * its CVMs run on different physical hosts (HOST), switches (SW) or racks (RACK), up to
 * `cvmQuotaTotal` of them.
 */
export class PlacementGroup extends TencentResource {
  declare public readonly cvmQuotaTotal: pulumi.Output<number>;
  declare public readonly currentNum: pulumi.Output<number>;
  constructor(name: string, args: PlacementGroupArgs, opts: TencentOptions) {
    super("placementGroup", name, { ...args, cvmQuotaTotal: undefined, currentNum: undefined }, opts);
  }
}

export interface GetImagesArgs {
  imageTypes: string[];
  imageNameRegex: string;
  osName?: string;
}

export interface GetImagesResult {
  readonly images: readonly { readonly imageId: string; readonly imageName: string; readonly createdTime: string }[];
}

/** The images data source; results come newest first. */
export function getImages(
  cloud: TencentCloud,
  args: GetImagesArgs,
  opts?: pulumi.InvokeOptions,
): pulumi.Output<GetImagesResult> {
  if (cloud.route === "terraform") {
    return pulumi.runtime.invokeOutput<GetImagesResult>(
      TOKENS.terraform.getImages,
      { ...args },
      opts,
      cloud.packageRef(),
    );
  }
  return pulumi.runtime.invokeOutput<GetImagesResult>(
    TOKENS.bridged.getImages,
    { ...args },
    { version: BRIDGED_PLUGIN.version, pluginDownloadURL: BRIDGED_PLUGIN.pluginDownloadURL, ...opts },
  );
}
