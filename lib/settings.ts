// Config validation: turns the raw stack config into typed Settings, or into the complete list of
// problems, each naming its key and the fix. Pure: index.ts reads the config, this judges it.
import { Cidr, cidrContains, cidrSize, parseCidr } from "./ipv4";

export const PROJECT = "tikv-cvm";

/** Offset of host 1's private address in the subnet; host i gets FIRST_HOST_OFFSET + i - 1. */
export const FIRST_HOST_OFFSET = 11;

export interface Settings {
  readonly nodeCount: number;
  readonly pdCount: number;
  readonly tikvVersion: string;
  readonly availabilityZone: string;
  readonly instanceType: string;
  /** Undefined: look up the newest public Ubuntu 22.04 image. */
  readonly imageId?: string;
  readonly systemDiskType: string;
  readonly systemDiskSize: number;
  readonly hostMemoryGiB: number;
  readonly vpcCidr: string;
  readonly subnetCidr: string;
  readonly operatorCidrs: readonly string[];
  readonly sshPublicKey?: string;
  readonly bandwidthMbps: number;
  readonly registryMirrors: readonly string[];
  readonly readinessTimeoutMinutes: number;
  readonly tencentcloudRoute: "terraform" | "bridged";
  /** Pulumi `protect` on CVMs, EIPs and data volumes. */
  readonly protect: boolean;
  readonly rolloutTimeoutMinutes: number;
}

/** What the program read: the project's own keys and what it could learn of the provider's. */
export interface RawConfig {
  /** Keys of the `tikv-cvm` namespace, without the prefix, as the strings Pulumi stores. */
  readonly values: Readonly<Record<string, string | undefined>>;
  /** `tencentcloud:region` or TENCENTCLOUD_REGION. */
  readonly region?: string;
  /** Whether a secret id and key are set, in config or in the environment. */
  readonly hasSecretId: boolean;
  readonly hasSecretKey: boolean;
}

export interface ConfigProblem {
  /** Fully qualified key, e.g. `tikv-cvm:nodeCount`. */
  readonly key: string;
  readonly message: string;
}

export type ValidationResult =
  | { readonly ok: true; readonly settings: Settings }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

export const DEFAULTS = {
  nodeCount: 3,
  pdCount: 3,
  // v8.5 is TiKV's LTS line; never `latest`, which points at an old release.
  tikvVersion: "v8.5.7",
  instanceType: "S5.MEDIUM4",
  systemDiskType: "CLOUD_PREMIUM",
  systemDiskSize: 40,
  hostMemoryGiB: 4,
  vpcCidr: "10.0.0.0/16",
  subnetCidr: "10.0.1.0/24",
  bandwidthMbps: 10,
  // Docker Hub is slow or blocked from mainland regions; Tencent's mirror is reachable from CVMs.
  registryMirrors: ["https://mirror.ccs.tencentyun.com"] as readonly string[],
  readinessTimeoutMinutes: 15,
  // The Pulumi Registry's current route for Tencent Cloud; see tencentcloud/bindings.ts.
  tencentcloudRoute: "terraform",
  protect: false,
  rolloutTimeoutMinutes: 10,
} as const;

const SYSTEM_DISK_TYPES = ["CLOUD_PREMIUM", "CLOUD_SSD", "CLOUD_BSSD", "CLOUD_HSSD", "CLOUD_TSSD"];
const ADMIN_PORTS = "Docker (2376), SSH (22) and PD (2379)";

/** Every key this project reads; anything else in the namespace is a typo to report. */
export const KNOWN_KEYS: readonly string[] = [
  "nodeCount", "pdCount", "tikvVersion", "availabilityZone", "instanceType", "imageId",
  "systemDiskType", "systemDiskSize", "hostMemoryGiB", "vpcCidr", "subnetCidr", "operatorCidrs",
  "sshPublicKey", "bandwidthMbps", "registryMirrors", "readinessTimeoutMinutes", "tencentcloudRoute",
  "protect", "rolloutTimeoutMinutes",
];

export function validateConfig(raw: RawConfig): ValidationResult {
  const problems: ConfigProblem[] = [];
  const reader = new Reader(raw.values, problems);

  for (const key of Object.keys(raw.values)) {
    if (!KNOWN_KEYS.includes(key) && raw.values[key] !== undefined) {
      reader.fail(key, `is not a setting of this project (known: ${KNOWN_KEYS.join(", ")}); ` +
        `remove it with: pulumi config rm ${PROJECT}:${key}`);
    }
  }

  if (!raw.region) {
    problems.push({
      key: "tencentcloud:region",
      message: "is required; set it with: pulumi config set tencentcloud:region ap-guangzhou " +
        "(or export TENCENTCLOUD_REGION)",
    });
  }
  if (!raw.hasSecretId || !raw.hasSecretKey) {
    const missing = [!raw.hasSecretId && "secretId", !raw.hasSecretKey && "secretKey"].filter(Boolean);
    problems.push({
      key: `tencentcloud:${missing.join("/")}`,
      message: "Tencent Cloud credentials are missing; export TENCENTCLOUD_SECRET_ID and " +
        "TENCENTCLOUD_SECRET_KEY, or run: pulumi config set --secret tencentcloud:secretId <id> " +
        "and pulumi config set --secret tencentcloud:secretKey <key>",
    });
  }

  const nodeCount = reader.int("nodeCount", DEFAULTS.nodeCount, 3, 20,
    "one TiKV store per host; 3 is the minimum for three Raft replicas");
  const pdCount = reader.int("pdCount", DEFAULTS.pdCount, 1, 7, "PD runs on the first pdCount hosts");
  if (pdCount !== undefined && pdCount % 2 === 0) {
    reader.fail("pdCount", `must be odd so a PD majority survives a split (got ${pdCount}); ` +
      `fix with: pulumi config set ${PROJECT}:pdCount ${pdCount + 1 <= 7 ? pdCount + 1 : pdCount - 1}`);
  }
  if (pdCount !== undefined && nodeCount !== undefined && pdCount > nodeCount) {
    reader.fail("pdCount", `must not exceed nodeCount (${nodeCount}): PD runs one member per host; ` +
      `lower pdCount or raise nodeCount`);
  }

  const tikvVersion = reader.string("tikvVersion", DEFAULTS.tikvVersion);
  if (tikvVersion !== undefined && !/^v\d+\.\d+\.\d+$/.test(tikvVersion)) {
    reader.fail("tikvVersion", `must be a release tag like ${DEFAULTS.tikvVersion} (got "${tikvVersion}"); ` +
      "`latest` and nightly tags are refused because an upgrade must be a deliberate change");
  }

  const availabilityZone = reader.required("availabilityZone",
    `pulumi config set ${PROJECT}:availabilityZone ap-guangzhou-3`);
  if (availabilityZone !== undefined && raw.region && !availabilityZone.startsWith(`${raw.region}-`)) {
    reader.fail("availabilityZone", `"${availabilityZone}" is not a zone of region ${raw.region}; ` +
      `zones are named <region>-<n>, e.g. ${raw.region}-3`);
  }
  const instanceType = reader.string("instanceType", DEFAULTS.instanceType);
  if (instanceType !== undefined && instanceType.trim() === "") {
    reader.fail("instanceType", `must not be empty; e.g. ${DEFAULTS.instanceType}`);
  }
  const imageId = reader.optional("imageId");
  if (imageId !== undefined && !/^img-[a-z0-9]{8}$/.test(imageId)) {
    reader.fail("imageId", `"${imageId}" is not a CVM image id (img- and 8 letters or digits); ` +
      `remove it to use the newest public Ubuntu 22.04: pulumi config rm ${PROJECT}:imageId`);
  }
  const systemDiskType = reader.string("systemDiskType", DEFAULTS.systemDiskType);
  if (systemDiskType !== undefined && !SYSTEM_DISK_TYPES.includes(systemDiskType)) {
    reader.fail("systemDiskType", `must be one of ${SYSTEM_DISK_TYPES.join(", ")} (got "${systemDiskType}")`);
  }
  const systemDiskSize = reader.int("systemDiskSize", DEFAULTS.systemDiskSize, 20, 1024,
    "GB; PD and TiKV data live on the system disk");
  const hostMemoryGiB = reader.int("hostMemoryGiB", DEFAULTS.hostMemoryGiB, 4, 512,
    "the instance type's memory, used to size PD and TiKV");

  const vpcCidr = reader.cidr("vpcCidr", DEFAULTS.vpcCidr);
  const subnetCidr = reader.cidr("subnetCidr", DEFAULTS.subnetCidr);
  if (vpcCidr && subnetCidr) {
    if (!cidrContains(vpcCidr.cidr, subnetCidr.cidr)) {
      reader.fail("subnetCidr", `${subnetCidr.text} is not inside vpcCidr ${vpcCidr.text}; ` +
        "choose a subnet within the VPC");
    }
  }
  if (subnetCidr && nodeCount !== undefined) {
    // The last host takes offset FIRST_HOST_OFFSET + nodeCount - 1; the broadcast address is reserved.
    const needed = FIRST_HOST_OFFSET + nodeCount;
    if (cidrSize(subnetCidr.cidr) < needed + 1) {
      reader.fail("subnetCidr", `${subnetCidr.text} is too small for ${nodeCount} hosts at offsets ` +
        `${FIRST_HOST_OFFSET}..${needed - 1}; use a /27 or larger`);
    }
  }

  const operatorCidrs = reader.cidrList("operatorCidrs");
  const sshPublicKey = reader.optional("sshPublicKey");
  if (sshPublicKey !== undefined && !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/.test(sshPublicKey)) {
    reader.fail("sshPublicKey", "must be one OpenSSH public key line (ssh-ed25519 AAAA... comment), " +
      "e.g. pulumi config set tikv-cvm:sshPublicKey \"$(cat ~/.ssh/id_ed25519.pub)\"");
  }
  const bandwidthMbps = reader.int("bandwidthMbps", DEFAULTS.bandwidthMbps, 1, 200, "EIP outbound Mbps");
  const registryMirrors = reader.stringList("registryMirrors", DEFAULTS.registryMirrors);
  for (const mirror of registryMirrors ?? []) {
    if (!/^https?:\/\/[^\s/]+\/?$/.test(mirror)) {
      reader.fail("registryMirrors", `"${mirror}" is not a registry URL like https://mirror.ccs.tencentyun.com`);
    }
  }
  const readinessTimeoutMinutes = reader.int("readinessTimeoutMinutes", DEFAULTS.readinessTimeoutMinutes,
    1, 120, "how long to wait for a new host's Docker API");

  const tencentcloudRoute = reader.string("tencentcloudRoute", DEFAULTS.tencentcloudRoute);
  if (tencentcloudRoute !== "terraform" && tencentcloudRoute !== "bridged") {
    reader.fail("tencentcloudRoute", `must be "terraform" (Pulumi's Any Terraform Provider, the default) or ` +
      `"bridged" (the tencentcloud 0.2.3 plugin); got "${tencentcloudRoute}"`);
  }

  const protect = reader.bool("protect", DEFAULTS.protect);
  const rolloutTimeoutMinutes = reader.int("rolloutTimeoutMinutes", DEFAULTS.rolloutTimeoutMinutes, 1, 60,
    "bound on each rolling-restart wait: leader eviction, health after a restart");

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    settings: {
      nodeCount: nodeCount!, pdCount: pdCount!, tikvVersion: tikvVersion!,
      availabilityZone: availabilityZone!, instanceType: instanceType!, imageId,
      systemDiskType: systemDiskType!, systemDiskSize: systemDiskSize!, hostMemoryGiB: hostMemoryGiB!,
      vpcCidr: vpcCidr!.text, subnetCidr: subnetCidr!.text, operatorCidrs: operatorCidrs!,
      sshPublicKey, bandwidthMbps: bandwidthMbps!, registryMirrors: registryMirrors!,
      readinessTimeoutMinutes: readinessTimeoutMinutes!,
      tencentcloudRoute: tencentcloudRoute as Settings["tencentcloudRoute"],
      protect: protect!,
      rolloutTimeoutMinutes: rolloutTimeoutMinutes!,
    },
  };
}

/** Formats problems as one message, one line per problem. */
export function describeProblems(problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => `  - ${p.key}: ${p.message}`);
  return `The stack configuration has ${problems.length} problem(s):\n${lines.join("\n")}`;
}

/** Reads one typed value at a time, recording a problem instead of throwing. */
class Reader {
  constructor(
    private readonly values: Readonly<Record<string, string | undefined>>,
    private readonly problems: ConfigProblem[],
  ) {}

  fail(key: string, message: string): void {
    this.problems.push({ key: `${PROJECT}:${key}`, message });
  }

  optional(key: string): string | undefined {
    const v = this.values[key];
    // Pulumi.yaml declares optional strings with an empty default; empty means "not set".
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  }

  string(key: string, fallback: string): string {
    return this.values[key] ?? fallback;
  }

  required(key: string, example: string): string | undefined {
    const v = this.optional(key);
    if (v === undefined) this.fail(key, `is required; set it with: ${example}`);
    return v;
  }

  int(key: string, fallback: number, min: number, max: number, meaning: string): number | undefined {
    const text = this.values[key];
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || n < min || n > max) {
      this.fail(key, `must be a whole number from ${min} to ${max} (${meaning}); got "${text}"; ` +
        `fix with: pulumi config set ${PROJECT}:${key} ${fallback}`);
      return undefined;
    }
    return n;
  }

  bool(key: string, fallback: boolean): boolean | undefined {
    const text = this.values[key];
    if (text === undefined) return fallback;
    if (text === "true" || text === "false") return text === "true";
    this.fail(key, `must be true or false; got "${text}"; fix with: pulumi config set ${PROJECT}:${key} ${fallback}`);
    return undefined;
  }

  cidr(key: string, fallback: string): { cidr: Cidr; text: string } | undefined {
    const text = this.values[key] ?? fallback;
    const cidr = parseCidr(text);
    if (!cidr) {
      this.fail(key, `"${text}" is not an IPv4 network in CIDR form with no host bits, e.g. ${fallback}`);
      return undefined;
    }
    return { cidr, text: text.trim() };
  }

  /** A list given as YAML/JSON in the stack file; Pulumi hands it over as a JSON string. */
  stringList(key: string, fallback?: readonly string[]): readonly string[] | undefined {
    const text = this.values[key];
    if (text === undefined) return fallback;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || !parsed.every((x): x is string => typeof x === "string")) {
      this.fail(key, `must be a list of strings; in Pulumi.<stack>.yaml write it as a YAML list, or run: ` +
        `pulumi config set --path '${PROJECT}:${key}[0]' <value>`);
      return undefined;
    }
    return parsed;
  }

  cidrList(key: string): readonly string[] | undefined {
    if (this.values[key] === undefined) {
      this.fail(key, `is required: the networks allowed to reach ${ADMIN_PORTS}; set your own address ` +
        `with: pulumi config set --path '${PROJECT}:${key}[0]' "$(curl -s https://ifconfig.me)/32"`);
      return undefined;
    }
    const list = this.stringList(key);
    if (list === undefined) return undefined;
    if (list.length === 0) {
      this.fail(key, `must list at least one network; without one nobody can reach ${ADMIN_PORTS}`);
      return undefined;
    }
    for (const entry of list) {
      const cidr = parseCidr(entry);
      if (!cidr) {
        this.fail(key, `"${entry}" is not an IPv4 CIDR with no host bits, e.g. 203.0.113.7/32`);
      } else if (cidr.prefix === 0) {
        this.fail(key, `"${entry}" would open ${ADMIN_PORTS} to the whole internet; the Docker API ` +
          "gives root on the host to anyone holding a client certificate, so list only your own networks");
      }
    }
    return list.map((s) => s.trim());
  }
}
