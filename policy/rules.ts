// The guardrails as plain policy objects, so each rule is unit-tested without the engine.
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { RETAIN_LABEL } from "../lib/labels";
import { TOKENS } from "../tencentcloud/bindings";

/** SSH, Docker's API, PD client and peer, TiKV gRPC and status. */
export const PROTECTED_PORTS = [22, 2376, 2379, 2380, 20160, 20180];
const WHOLE_INTERNET = ["0.0.0.0/0", "::/0"];

interface RuleEntry { action?: string; cidrBlock?: string; ipv6CidrBlock?: string; protocol?: string; port?: string }

/** "22", "2379-2380", "80,443", "ALL" (any case) -> does it cover `port`? */
export function portCovers(spec: string | undefined, port: number): boolean {
  if (spec === undefined || spec.toUpperCase() === "ALL") return true;
  return spec.split(",").some((part) => {
    const [lo, hi] = part.trim().split("-").map(Number);
    return port >= lo && port <= (hi ?? lo);
  });
}

export const noInternetAdminPorts: ResourceValidationPolicy = {
  name: "no-internet-admin-ports",
  description: "No security-group rule may open SSH, Docker, PD or TiKV ports to 0.0.0.0/0.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type !== TOKENS.terraform.securityGroupRuleSet && args.type !== TOKENS.bridged.securityGroupRuleSet) return;
    const ingresses = (args.props.ingresses ?? []) as RuleEntry[];
    for (const rule of ingresses) {
      if ((rule.action ?? "").toUpperCase() !== "ACCEPT") continue;
      const source = rule.cidrBlock ?? rule.ipv6CidrBlock;
      if (!source || !WHOLE_INTERNET.includes(source)) continue;
      if ((rule.protocol ?? "ALL").toUpperCase() === "UDP" || (rule.protocol ?? "").toUpperCase() === "ICMP") continue;
      const open = PROTECTED_PORTS.filter((p) => portCovers(rule.port, p));
      if (open.length > 0) report(`ingress from ${source} opens port(s) ${open.join(", ")}; allow only operator networks`);
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
    for (const key of ["userData", "userDataRaw"]) {
      if (args.props[key] !== undefined && !secretOutputs.includes(key)) {
        report(`${key} is not marked secret: wrap it in pulumi.secret and list it in additionalSecretOutputs`);
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
    if (!(fromOpts ?? labelled)) report(`volume ${args.props.name} is not retained on delete: set retainOnDelete: true`);
  },
};

export const policies: ResourceValidationPolicy[] = [noInternetAdminPorts, dockerOverMutualTls, secretUserData, retainedDataVolumes];
