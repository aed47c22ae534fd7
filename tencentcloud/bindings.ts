// Typed bindings for the Tencent Cloud Pulumi provider, for the resources this program uses.
// The official SDK (@tencentcloud_iac/pulumi) is not on npm; the type tokens, property names and
// plugin facts below come from its generated Node.js SDK, tencentcloudstack/pulumi-tencentcloud
// tag sdk/v0.2.3 (e.g. sdk/nodejs/instance/instance.ts). test/tencentcloudSchema.test.ts checks
// every input the program sends against that SDK's schema.
import * as pulumi from "@pulumi/pulumi";

/** Plugin the engine downloads: `pulumi plugin install resource tencentcloud v0.2.3 --server ...`. */
export const PLUGIN = {
  name: "tencentcloud",
  version: "0.2.3",
  pluginDownloadURL: "github://api.github.com/tencentcloudstack",
} as const;

export const TOKENS = {
  vpc: "tencentcloud:Vpc/instance:Instance",
  subnet: "tencentcloud:Subnet/instance:Instance",
  securityGroup: "tencentcloud:Security/group:Group",
  securityGroupRuleSet: "tencentcloud:Security/groupRuleSet:GroupRuleSet",
  instance: "tencentcloud:Instance/instance:Instance",
  eip: "tencentcloud:Eip/instance:Instance",
  eipAssociation: "tencentcloud:Eip/association:Association",
  keyPair: "tencentcloud:Key/pair:Pair",
  getImages: "tencentcloud:Images/getInstance:getInstance",
} as const;

type Tags = pulumi.Input<Record<string, pulumi.Input<string>>>;

function withPlugin(opts: pulumi.CustomResourceOptions | undefined): pulumi.CustomResourceOptions {
  return { version: PLUGIN.version, pluginDownloadURL: PLUGIN.pluginDownloadURL, ...opts };
}

export interface VpcArgs {
  cidrBlock: pulumi.Input<string>;
  name?: pulumi.Input<string>;
  tags?: Tags;
}

export class Vpc extends pulumi.CustomResource {
  declare public readonly cidrBlock: pulumi.Output<string>;
  constructor(name: string, args: VpcArgs, opts?: pulumi.CustomResourceOptions) {
    super(TOKENS.vpc, name, { ...args }, withPlugin(opts));
  }
}

export interface SubnetArgs {
  vpcId: pulumi.Input<string>;
  availabilityZone: pulumi.Input<string>;
  cidrBlock: pulumi.Input<string>;
  name?: pulumi.Input<string>;
  tags?: Tags;
}

export class Subnet extends pulumi.CustomResource {
  declare public readonly cidrBlock: pulumi.Output<string>;
  constructor(name: string, args: SubnetArgs, opts?: pulumi.CustomResourceOptions) {
    super(TOKENS.subnet, name, { ...args }, withPlugin(opts));
  }
}

export interface SecurityGroupArgs {
  name?: pulumi.Input<string>;
  description?: pulumi.Input<string>;
  tags?: Tags;
}

export class SecurityGroup extends pulumi.CustomResource {
  constructor(name: string, args: SecurityGroupArgs, opts?: pulumi.CustomResourceOptions) {
    super(TOKENS.securityGroup, name, { ...args }, withPlugin(opts));
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

export class SecurityGroupRuleSet extends pulumi.CustomResource {
  constructor(name: string, args: SecurityGroupRuleSetArgs, opts?: pulumi.CustomResourceOptions) {
    super(TOKENS.securityGroupRuleSet, name, { ...args }, withPlugin(opts));
  }
}

export interface EipArgs {
  name?: pulumi.Input<string>;
  internetChargeType?: pulumi.Input<string>;
  internetMaxBandwidthOut?: pulumi.Input<number>;
  tags?: Tags;
}

export class Eip extends pulumi.CustomResource {
  /** The address; the instance's own publicIp only updates on refresh. */
  declare public readonly publicIp: pulumi.Output<string>;
  constructor(name: string, args: EipArgs, opts?: pulumi.CustomResourceOptions) {
    // Outputs are only delivered for properties named in the props, as the generated SDK does.
    super(TOKENS.eip, name, { ...args, publicIp: undefined }, withPlugin(opts));
  }
}

export interface EipAssociationArgs {
  eipId: pulumi.Input<string>;
  instanceId: pulumi.Input<string>;
}

export class EipAssociation extends pulumi.CustomResource {
  constructor(name: string, args: EipAssociationArgs, opts?: pulumi.CustomResourceOptions) {
    super(TOKENS.eipAssociation, name, { ...args }, withPlugin(opts));
  }
}

export interface KeyPairArgs {
  /** 1-25 letters, digits or underscores. */
  keyName: pulumi.Input<string>;
  publicKey: pulumi.Input<string>;
}

export class KeyPair extends pulumi.CustomResource {
  constructor(name: string, args: KeyPairArgs, opts?: pulumi.CustomResourceOptions) {
    super(TOKENS.keyPair, name, { ...args }, withPlugin(opts));
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
  keyIds?: pulumi.Input<pulumi.Input<string>[]>;
  tags?: Tags;
}

export class Instance extends pulumi.CustomResource {
  declare public readonly privateIp: pulumi.Output<string>;
  declare public readonly imageId: pulumi.Output<string>;
  constructor(name: string, args: InstanceArgs, opts?: pulumi.CustomResourceOptions) {
    super(TOKENS.instance, name, { ...args }, withPlugin(opts));
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
export function getImages(args: GetImagesArgs, opts?: pulumi.InvokeOptions): pulumi.Output<GetImagesResult> {
  return pulumi.runtime.invokeOutput<GetImagesResult>(TOKENS.getImages, { ...args }, {
    version: PLUGIN.version,
    pluginDownloadURL: PLUGIN.pluginDownloadURL,
    ...opts,
  });
}
