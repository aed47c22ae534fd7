// The security group's rules, as data. Pure, so what is reachable from where is tested directly.
import type { SecurityGroupRule } from "../tencentcloud/bindings";
import { PORTS } from "./topology";

export interface RuleInputs {
  readonly operatorCidrs: readonly string[];
  readonly vpcCidr: string;
  readonly sshEnabled: boolean;
  /** Grafana's port for operators, when monitoring runs. */
  readonly grafana: boolean;
}

export interface RuleSet {
  readonly ingresses: SecurityGroupRule[];
  readonly egresses: SecurityGroupRule[];
}

function tcp(cidrBlock: string, port: string, description: string): SecurityGroupRule {
  return { action: "ACCEPT", cidrBlock, protocol: "TCP", port, description };
}

export function buildRuleSet(inputs: RuleInputs): RuleSet {
  const ingresses: SecurityGroupRule[] = [];
  for (const cidr of inputs.operatorCidrs) {
    ingresses.push(tcp(cidr, `${PORTS.docker}`, "operator: Docker API (mutual TLS)"));
    ingresses.push(tcp(cidr, `${PORTS.pdClient}`, "operator: PD client API (pd-ctl)"));
    if (inputs.sshEnabled) ingresses.push(tcp(cidr, `${PORTS.ssh}`, "operator: SSH"));
    if (inputs.grafana) ingresses.push(tcp(cidr, `${PORTS.grafana}`, "operator: Grafana"));
  }
  ingresses.push(
    tcp(inputs.vpcCidr, `${PORTS.pdClient}-${PORTS.pdPeer}`, "cluster: PD client and peer"),
    tcp(inputs.vpcCidr, `${PORTS.tikv}`, "cluster: TiKV gRPC"),
    tcp(inputs.vpcCidr, `${PORTS.pdClientGateway}`, "cluster: PD client gateway (application clients)"),
    tcp(inputs.vpcCidr, `${PORTS.tikvStatus}`, "cluster: TiKV status and metrics"),
    // A group with only ACCEPT rules already denies the rest; the explicit rule makes it visible.
    { action: "DROP", cidrBlock: "0.0.0.0/0", protocol: "ALL", port: "ALL", description: "everything else" },
  );
  return {
    ingresses,
    // A rule set with no egress denies all outbound traffic: apt and image pulls need it open.
    egresses: [
      { action: "ACCEPT", cidrBlock: "0.0.0.0/0", protocol: "ALL", port: "ALL", description: "apt, image pulls, NTP" },
    ],
  };
}
