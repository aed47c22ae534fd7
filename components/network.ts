import * as pulumi from "@pulumi/pulumi";
import { buildRuleSet } from "../lib/securityRules";
import * as tc from "../tencentcloud/bindings";

export interface NetworkArgs {
  /** The route every Tencent Cloud resource here is declared on. */
  cloud: tc.TencentCloud;
  vpcCidr: string;
  subnetCidr: string;
  availabilityZone: string;
  operatorCidrs: readonly string[];
  sshEnabled: boolean;
  grafana: boolean;
  tags: Record<string, string>;
}

/** VPC, subnet and the one security group every host shares. */
export class Network extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  public readonly subnetId: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:network:Network", name, {}, opts);
    const vpc = new tc.Vpc(
      `${name}-vpc`,
      { name, cidrBlock: args.vpcCidr, tags: args.tags },
      { parent: this, cloud: args.cloud },
    );
    const subnet = new tc.Subnet(
      `${name}-subnet`,
      {
        name,
        vpcId: vpc.id,
        availabilityZone: args.availabilityZone,
        cidrBlock: args.subnetCidr,
        tags: args.tags,
      },
      { parent: this, cloud: args.cloud },
    );
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
    this.subnetId = subnet.id;
    // Carries a dependency on the rules too: a host must not wait for Docker behind a closed port.
    this.securityGroupId = pulumi.all([group.id, ruleSet.id]).apply(([groupId]) => groupId);
    this.registerOutputs({ vpcId: this.vpcId, subnetId: this.subnetId, securityGroupId: this.securityGroupId });
  }
}
