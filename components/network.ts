import * as pulumi from "@pulumi/pulumi";
import { zoneSubnetCidr } from "../lib/placement";
import { buildRuleSet } from "../lib/securityRules";
import * as tc from "../tencentcloud/bindings";

export interface NetworkArgs {
  /** The route every Tencent Cloud resource here is declared on. */
  cloud: tc.TencentCloud;
  vpcCidr: string;
  /** The first zone's subnet; each further zone's is the next block of its size (lib/placement.ts zoneSubnetCidr). */
  subnetCidr: string;
  /** One subnet per zone, in this order. */
  availabilityZones: readonly string[];
  operatorCidrs: readonly string[];
  sshEnabled: boolean;
  grafana: boolean;
  tags: Record<string, string>;
}

/** VPC, a subnet per zone and the one security group every host shares. */
export class Network extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  /** By zone. */
  public readonly subnetIds: Readonly<Record<string, pulumi.Output<string>>>;
  public readonly securityGroupId: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:network:Network", name, {}, opts);
    const vpc = new tc.Vpc(
      `${name}-vpc`,
      { name, cidrBlock: args.vpcCidr, tags: args.tags },
      { parent: this, cloud: args.cloud },
    );
    // The first zone's subnet keeps the name a single-zone stack has always had.
    const subnets = args.availabilityZones.map((zone, k) => {
      const cidrBlock = zoneSubnetCidr(args.subnetCidr, k);
      if (cidrBlock === undefined) throw new pulumi.ResourceError(`no subnet fits after ${args.subnetCidr}`, this);
      return new tc.Subnet(
        k === 0 ? `${name}-subnet` : `${name}-subnet-${k + 1}`,
        {
          name: k === 0 ? name : `${name}-${k + 1}`,
          vpcId: vpc.id,
          availabilityZone: zone,
          cidrBlock,
          tags: args.tags,
        },
        { parent: this, cloud: args.cloud },
      );
    });
    const group = new tc.SecurityGroup(
      `${name}-sg`,
      {
        name,
        description: "tikv-cvm hosts: Docker API and PD for operators, cluster ports inside the VPC",
        tags: args.tags,
      },
      { parent: this, cloud: args.cloud },
    );
    // One rule set resource owns every rule, so rules removed from code are removed from the cloud.
    const rules = buildRuleSet({
      operatorCidrs: args.operatorCidrs,
      vpcCidr: args.vpcCidr,
      sshEnabled: args.sshEnabled,
      grafana: args.grafana,
    });
    const ruleSet = new tc.SecurityGroupRuleSet(
      `${name}-rules`,
      {
        securityGroupId: group.id,
        ingresses: rules.ingresses,
        egresses: rules.egresses,
      },
      { parent: this, cloud: args.cloud },
    );

    this.vpcId = vpc.id;
    this.subnetIds = Object.fromEntries(args.availabilityZones.map((zone, k) => [zone, subnets[k].id]));
    // Carries a dependency on the rules too: a host must not wait for Docker behind a closed port.
    this.securityGroupId = pulumi.all([group.id, ruleSet.id]).apply(([groupId]) => groupId);
    this.registerOutputs({ vpcId: this.vpcId, subnetIds: this.subnetIds, securityGroupId: this.securityGroupId });
  }
}
