// The guardrails as plain policy objects, so each rule is unit-tested without the engine.
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { RETAIN_LABEL } from "../lib/labels";
import { operatorCidrProblems } from "../lib/operatorCidrs";
import { TOKENS } from "../tencentcloud/bindings";

/** SSH, Docker's API, PD client and peer, PD's client gateway, TiKV gRPC and status, Grafana. */
export const PROTECTED_PORTS = [22, 2376, 2379, 2380, 2389, 20160, 20180, 3000];
/** What the hosts open to their own VPC: PD client and peer, PD's client gateway, TiKV gRPC and status. */
const CLUSTER_PORTS = [2379, 2380, 2389, 20160, 20180];

interface RuleEntry {
  action?: string;
  cidrBlock?: string;
  ipv6CidrBlock?: string;
  protocol?: string;
  port?: string;
}

/** "22", "2379-2380", "80,443", "ALL" (any case) -> does it cover `port`? */
export function portCovers(spec: string | undefined, port: number): boolean {
  if (spec === undefined || spec.toUpperCase() === "ALL") return true;
  return spec.split(",").some((part) => {
    const [lo, hi] = part.trim().split("-").map(Number);
    return port >= lo && port <= (hi ?? lo);
  });
}

/**
 * The sources a rule set admits to a protected port, other than a VPC's own cluster rules: the
 * operator networks, whatever the program calls them. A rule with no CIDR (a security group or
 * address template as its source) yields "", which no rule accepts.
 */
export function operatorSources(ingresses: readonly RuleEntry[], vpcCidrs: readonly string[]): string[] {
  const sources: string[] = [];
  for (const rule of ingresses) {
    if ((rule.action ?? "").toUpperCase() !== "ACCEPT") continue;
    const protocol = (rule.protocol ?? "ALL").toUpperCase();
    if (protocol === "UDP" || protocol === "ICMP") continue;
    const open = PROTECTED_PORTS.filter((p) => portCovers(rule.port, p));
    if (open.length === 0) continue;
    // Every network the rule names is judged, not only the first.
    const named = [rule.cidrBlock, rule.ipv6CidrBlock].filter((c): c is string => c !== undefined);
    for (const source of named.length > 0 ? named : [""]) {
      if (vpcCidrs.includes(source) && open.every((p) => CLUSTER_PORTS.includes(p))) continue;
      if (!sources.includes(source)) sources.push(source);
    }
  }
  return sources;
}

const isRuleSet = (type: string) =>
  type === TOKENS.terraform.securityGroupRuleSet || type === TOKENS.bridged.securityGroupRuleSet;
/**
 * Tencent Cloud's other ways to add a security group rule (one rule, or "lite" rule strings), on
 * either route: `...:SecurityGroupRule`, `...:GroupRule`, `...:SecurityGroupLiteRule`, `...:GroupLiteRule`.
 */
const isLooseRule = (type: string) => type.startsWith("tencentcloud:") && /:(Security)?Group(Lite)?Rule$/.test(type);
const isVpc = (type: string) => type === TOKENS.terraform.vpc || type === TOKENS.bridged.vpc;

/**
 * The operatorCidrs rules of lib/operatorCidrs.ts, applied to what the security groups actually
 * admit: no network wider than a /8, none overlapping the VPC or a special range, canonical
 * spellings, and all of them together no more than a /8. A stack policy, to know the VPC.
 */
export const adminPortsOperatorNetworksOnly: StackValidationPolicy = {
  name: "admin-ports-operator-networks-only",
  description:
    "Admin and cluster ports open only to narrow operator networks outside the VPC (the operatorCidrs rules); every rule in the rule set.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const vpcs = args.resources.filter((r) => isVpc(r.type)).map((r) => String(r.props.cidrBlock));
    // Only the rule set is read; a rule declared any other way would open a port unjudged.
    for (const loose of args.resources.filter((r: PolicyResource) => isLooseRule(r.type))) {
      report(
        `${loose.name}: a ${loose.type} adds security group rules outside the security group's rule set, where these ` +
          "rules cannot judge them; declare every rule in the one SecurityGroupRuleSet (lib/securityRules.ts)",
        loose.urn,
      );
    }
    for (const ruleSet of args.resources.filter((r: PolicyResource) => isRuleSet(r.type))) {
      const sources = operatorSources((ruleSet.props.ingresses ?? []) as RuleEntry[], vpcs);
      // Kept out of every VPC of the stack (the program makes one; none leaves only the other rules).
      const problems = (vpcs.length > 0 ? vpcs : [undefined]).flatMap((vpc) => operatorCidrProblems(sources, vpc));
      const messages = new Set(
        problems.map(
          (p) => `${ruleSet.name}: ingress from "${p.entry}" to an admin or cluster port: ${p.entry} ${p.reason}`,
        ),
      );
      for (const message of messages) report(message, ruleSet.urn);
    }
  },
};

export const dockerOverMutualTls: ResourceValidationPolicy = {
  name: "docker-provider-client-certificate",
  description: "A Docker provider that dials TCP must present a client certificate and verify the daemon.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== "pulumi:providers:docker") return;
    const host = String(args.props.host ?? "");
    if (!host.startsWith("tcp://")) return;
    const hasMaterial = Boolean(args.props.certMaterial && args.props.keyMaterial && args.props.caMaterial);
    if (!hasMaterial && !args.props.certPath) {
      report(`Docker provider for ${host} has no client certificate: set caMaterial, certMaterial and keyMaterial`);
    }
  },
};

export const secretUserData: ResourceValidationPolicy = {
  name: "cvm-user-data-secret",
  description: "A CVM's user data carries a private key and must be a secret.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== TOKENS.terraform.instance && args.type !== TOKENS.bridged.instance) return;
    // Policies receive inputs with secrets unwrapped (@pulumi/policy deserialize.js), so the
    // declared additionalSecretOutputs is what shows the value is kept secret.
    const secretOutputs = args.opts.additionalSecretOutputs ?? [];
    // The provider returns the decoded user data as userDataRaw whichever of the two was set.
    if (args.props.userData === undefined && args.props.userDataRaw === undefined) return;
    for (const key of ["userData", "userDataRaw"]) {
      if (!secretOutputs.includes(key)) {
        report(
          `${key} is not marked secret: wrap the user data in pulumi.secret and list both userData and userDataRaw in additionalSecretOutputs`,
        );
      }
    }
  },
};

export const retainedDataVolumes: ResourceValidationPolicy = {
  name: "data-volume-retain-on-delete",
  description: "PD and TiKV data volumes must be retainOnDelete, so no update or destroy deletes data.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== "docker:index/volume:Volume") return;
    // pd-data / tikv-data on a host of their own; <prefix>-pd1-data and so on on a shared engine.
    if (!/(^|-)(pd|tikv)\d*-data$/.test(String(args.props.name))) return;
    // The analyzer protocol has no retainOnDelete; use it when an engine sends it, else the label.
    const fromOpts = (args.opts as { retainOnDelete?: boolean }).retainOnDelete;
    const labels = (args.props.labels ?? []) as { label: string; value: string }[];
    const labelled = labels.some((l) => l.label === RETAIN_LABEL && l.value === "true");
    if (!(fromOpts ?? labelled))
      report(`volume ${args.props.name} is not retained on delete: set retainOnDelete: true`);
  },
};

export const resourcePolicies: ResourceValidationPolicy[] = [dockerOverMutualTls, secretUserData, retainedDataVolumes];
export const stackPolicies: StackValidationPolicy[] = [adminPortsOperatorNetworksOnly];
export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [...resourcePolicies, ...stackPolicies];
