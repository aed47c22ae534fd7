// Config validation: turns the raw stack config into typed Settings, or into the complete list of
// problems, each naming its key and the fix. Pure: index.ts reads the config, this judges it.
import { CA_ROTATIONS, CaRotation } from "./certificates";
import { Cidr, cidrContains, cidrSize, parseCidr } from "./ipv4";
import { operatorCidrProblems } from "./operatorCidrs";

export const PROJECT = "tikv-cvm";

/** Offset of host 1's private address in the subnet; host i gets FIRST_HOST_OFFSET + i - 1. */
export const FIRST_HOST_OFFSET = 11;

export type Mode = "cvm" | "local" | "existing";
export const MODES: readonly Mode[] = ["cvm", "local", "existing"];

/** Settings every mode has. */
export interface CommonSettings {
  readonly nodeCount: number;
  readonly pdCount: number;
  readonly tikvVersion: string;
  /** Memory of each host (cvm, existing) or of the whole machine (local), GiB. */
  readonly hostMemoryGiB: number;
  /** The disk PD and TiKV data live on, GB (cvm: each host's data disk): TiKV's reserve-space is derived from it. */
  readonly diskGB: number;
  /** Pulumi `protect` on CVMs, EIPs and data volumes. */
  readonly protect: boolean;
  readonly rolloutTimeoutMinutes: number;
  /** Mutual TLS between PD, TiKV and their clients. */
  readonly clusterTls: boolean;
  /** Prometheus and Grafana on the first host. */
  readonly monitoring: boolean;
  /** Grafana over HTTPS on the host's address (cvm: open to operatorCidrs); otherwise loopback only. */
  readonly grafanaPublic: boolean;
  /** The issuing CA generation and where a rotation stands (lib/certificates.ts). */
  readonly ca: CaRotation;
  /** nofile ulimit (soft = hard) of the PD and TiKV containers; see clusterConfig openFilesWarning. */
  readonly nofileLimit: number;
}

/** Mode cvm: Tencent Cloud hosts made by this program. */
export interface CvmSettings {
  readonly availabilityZone: string;
  readonly instanceType: string;
  /** Undefined: look up the newest public Ubuntu 22.04 image. */
  readonly imageId?: string;
  readonly systemDiskType: string;
  /** GB; the OS only: Docker's data lives on the data disk. */
  readonly systemDiskSize: number;
  readonly dataDisk: DataDiskSettings;
  readonly vpcCidr: string;
  readonly subnetCidr: string;
  readonly operatorCidrs: readonly string[];
  readonly sshPublicKey?: string;
  readonly bandwidthMbps: number;
  readonly registryMirrors: readonly string[];
  readonly readinessTimeoutMinutes: number;
  readonly tencentcloudRoute: "terraform" | "bridged";
}

/** Each host's CBS data disk (mode cvm): Docker's data root, so PD and TiKV data outlive the CVM. */
export interface DataDiskSettings {
  readonly sizeGB: number;
  readonly type: string;
  readonly encrypt: boolean;
  /** `pulumi destroy` (or a removed host) leaves the disk in the cloud instead of deleting it. */
  readonly retain: boolean;
  /** A daily snapshot policy, when set. */
  readonly snapshot?: { readonly hour: number; readonly retentionDays: number };
}

/** A server the user already runs, with Docker's API behind mutual TLS. */
export interface ExistingHost {
  readonly name: string;
  /** tcp://<address>:<port> */
  readonly dockerHost: string;
  /** Address the other hosts reach it on. */
  readonly privateIp: string;
}

/** Mode existing: bring-your-own hosts; the client material is read as secrets by index.ts. */
export interface ExistingSettings {
  readonly hosts: readonly ExistingHost[];
  readonly readinessTimeoutMinutes: number;
}

export type Settings = CommonSettings & (
  | { readonly mode: "cvm"; readonly cvm: CvmSettings }
  | { readonly mode: "local" }
  | { readonly mode: "existing"; readonly existing: ExistingSettings }
);

/** What the program read: the project's own keys and what it could learn of the provider's. */
export interface RawConfig {
  /** Keys of the `tikv-cvm` namespace, without the prefix, as the strings Pulumi stores. */
  readonly values: Readonly<Record<string, string | undefined>>;
  /** `tencentcloud:region` or TENCENTCLOUD_REGION. */
  readonly region?: string;
  /** Whether a secret id and key are set, in config or in the environment. */
  readonly hasSecretId: boolean;
  readonly hasSecretKey: boolean;
  /** Project keys stored as secrets (`pulumi config set --secret`). */
  readonly secretKeys?: readonly string[];
  /** `tencentcloud:secretId` / `tencentcloud:secretKey` when set in the stack config in plaintext. */
  readonly providerKeysInClear?: readonly string[];
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
  // The OS and Docker's packages; Docker's data root is on the data disk.
  systemDiskSize: 20,
  dataDiskSize: 50,
  dataDiskType: "CLOUD_PREMIUM",
  dataDiskEncrypt: false,
  retainDataDisks: true,
  // 0: no snapshot policy.
  dataDiskSnapshotRetentionDays: 0,
  dataDiskSnapshotHour: 3,
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
  mode: "cvm",
  clusterTls: true,
  monitoring: true,
  grafanaPublic: false,
  caGeneration: 1,
  caRotation: "",
  // What PingCAP's own deployments set, above what TiKV checks for (clusterConfig tikvRequiredOpenFiles).
  nofileLimit: 1_000_000,
} as const;

/** The oldest tikvVersion the program deploys; see the tikvVersion rule. */
export const MIN_TIKV_VERSION = "v7.1.0";

function olderThan(version: string, floor: string): boolean {
  const parse = (v: string) => v.replace(/^v/, "").split(".").map(Number);
  const [a, b] = [parse(version), parse(floor)];
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

const SYSTEM_DISK_TYPES = ["CLOUD_PREMIUM", "CLOUD_SSD", "CLOUD_BSSD", "CLOUD_HSSD", "CLOUD_TSSD"];
const ADMIN_PORTS = "Docker (2376), PD (2379), SSH (22) and Grafana (3000)";

/** Which modes read each key; a key set in another mode is reported, never silently ignored. */
const KEY_MODES: Readonly<Record<string, readonly Mode[]>> = {
  mode: MODES, nodeCount: MODES, pdCount: MODES, tikvVersion: MODES, hostMemoryGiB: MODES,
  protect: MODES, rolloutTimeoutMinutes: MODES, clusterTls: MODES, monitoring: MODES, caGeneration: MODES, caRotation: MODES, nofileLimit: MODES,
  dataDiskSize: ["cvm", "existing"], readinessTimeoutMinutes: ["cvm", "existing"], grafanaPublic: ["cvm", "existing"],
  systemDiskSize: ["cvm"], dataDiskType: ["cvm"], dataDiskEncrypt: ["cvm"], retainDataDisks: ["cvm"],
  dataDiskSnapshotRetentionDays: ["cvm"], dataDiskSnapshotHour: ["cvm"],
  availabilityZone: ["cvm"], instanceType: ["cvm"], imageId: ["cvm"], systemDiskType: ["cvm"],
  vpcCidr: ["cvm"], subnetCidr: ["cvm"], operatorCidrs: ["cvm"], sshPublicKey: ["cvm"],
  bandwidthMbps: ["cvm"], registryMirrors: ["cvm"], tencentcloudRoute: ["cvm"],
  hosts: ["existing"], dockerCaPem: ["existing"], dockerCertPem: ["existing"], dockerKeyPem: ["existing"],
};

/** Every key this project reads; anything else in the namespace is a typo to report. */
export const KNOWN_KEYS: readonly string[] = Object.keys(KEY_MODES);

/** Keys whose declared default in Pulumi.yaml is empty: set means non-empty. */
const EMPTY_DEFAULT_KEYS = ["availabilityZone", "imageId", "sshPublicKey", "operatorCidrs", "dockerCaPem", "dockerCertPem", "dockerKeyPem", "caRotation"];

/** The value Pulumi.yaml declares, as the CLI hands it to the program; undefined when none. */
function declaredDefault(key: string): string | undefined {
  if (EMPTY_DEFAULT_KEYS.includes(key)) return key === "operatorCidrs" ? "[]" : "";
  const value = (DEFAULTS as Record<string, unknown>)[key];
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function validateConfig(raw: RawConfig): ValidationResult {
  const problems: ConfigProblem[] = [];
  const reader = new Reader(raw.values, problems);

  for (const key of Object.keys(raw.values)) {
    if (!KNOWN_KEYS.includes(key) && raw.values[key] !== undefined) {
      reader.fail(key, `is not a setting of this project (known: ${KNOWN_KEYS.join(", ")}); ` +
        `remove it with: pulumi config rm ${PROJECT}:${key}`);
    }
  }

  const mode = reader.string("mode", DEFAULTS.mode) as Mode;
  if (!MODES.includes(mode)) {
    reader.fail("mode", `must be one of ${MODES.join(", ")} (got "${mode}"): cvm builds Tencent Cloud hosts, ` +
      "local runs the cluster on this machine's Docker engine, existing uses hosts you list in `hosts`");
    return { ok: false, problems };
  }
  // The CLI passes Pulumi.yaml's defaults for every key, so only a value that differs from its
  // declared default counts as "set" for a mode that does not read it.
  for (const [key, value] of Object.entries(raw.values)) {
    const modes = KEY_MODES[key];
    if (!modes || modes.includes(mode) || value === undefined || value === declaredDefault(key)) continue;
    reader.fail(key, `only applies to mode ${modes.join(" or ")}, and this stack's mode is ${mode}; ` +
      `remove it with: pulumi config rm ${PROJECT}:${key}`);
  }
  if (mode === "cvm") checkTencentCloudProvider(raw, problems);
  for (const key of raw.providerKeysInClear ?? []) {
    problems.push({
      key,
      message: "is stored in plaintext in the stack file; store it encrypted with: pulumi config set --secret " +
        `${key} <value> (or remove it with pulumi config rm ${key} and export ` +
        `${key === "tencentcloud:secretId" ? "TENCENTCLOUD_SECRET_ID" : "TENCENTCLOUD_SECRET_KEY"})`,
    });
  }

  const common = readCommon(reader, mode, raw);
  const specific = mode === "cvm" ? readCvm(reader, raw, common.nodeCount, common.diskGB)
    : mode === "existing" ? readExisting(reader, raw, common.nodeCount) : {};
  if (problems.length > 0 || common.settings === undefined) return { ok: false, problems };
  if (mode === "cvm") {
    const cvm = (specific as { cvm?: CvmSettings }).cvm;
    return cvm ? { ok: true, settings: { ...common.settings, mode, cvm } } : { ok: false, problems };
  }
  if (mode === "existing") {
    const existing = (specific as { existing?: ExistingSettings }).existing;
    return existing ? { ok: true, settings: { ...common.settings, mode, existing } } : { ok: false, problems };
  }
  return { ok: true, settings: { ...common.settings, mode } };
}

function checkTencentCloudProvider(raw: RawConfig, problems: ConfigProblem[]): void {
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
}

function readCommon(reader: Reader, mode: Mode, raw: RawConfig): { settings?: CommonSettings; nodeCount?: number; diskGB?: number } {
  const listedHosts = mode === "existing" ? reader.peekListLength("hosts") : undefined;
  const nodeCountSet = raw.values.nodeCount !== undefined && raw.values.nodeCount !== declaredDefault("nodeCount");
  const nodeCount = listedHosts !== undefined && !nodeCountSet
    ? listedHosts
    : reader.int("nodeCount", DEFAULTS.nodeCount, 3, 20, "one TiKV store per host; 3 is the minimum for three Raft replicas");
  if (listedHosts !== undefined && nodeCount !== undefined && nodeCount !== listedHosts) {
    reader.fail("nodeCount", `is ${nodeCount} but hosts lists ${listedHosts}; in mode existing the host list ` +
      `decides: remove it with pulumi config rm ${PROJECT}:nodeCount`);
  }
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
  } else if (tikvVersion !== undefined && olderThan(tikvVersion, MIN_TIKV_VERSION)) {
    reader.fail("tikvVersion", `${tikvVersion} is older than ${MIN_TIKV_VERSION}, the first LTS release whose images ` +
      "carry GNU Wget (the health checks present client certificates; older Alpine-based images have busybox wget, " +
      "PingCAP-QE/artifacts packages/packages.yaml.tmpl) and which knows rocksdb.write-buffer-limit and PD's " +
      `server-memory-limit (both from v6.6.0); use ${DEFAULTS.tikvVersion}`);
  }

  const hostMemoryGiB = reader.int("hostMemoryGiB", DEFAULTS.hostMemoryGiB, 4, 512,
    mode === "local" ? "this machine's memory, shared by every container" : "each host's memory, used to size PD and TiKV");
  if (mode === "local" && hostMemoryGiB !== undefined && nodeCount !== undefined && hostMemoryGiB / nodeCount < 1.5) {
    reader.fail("hostMemoryGiB", `${hostMemoryGiB} GiB is too little for ${nodeCount} PD+TiKV pairs on one machine ` +
      "(at least 1.5 GiB each); lower nodeCount or raise hostMemoryGiB");
  }
  const diskGB = mode === "local" ? 20 : reader.int("dataDiskSize", DEFAULTS.dataDiskSize, 20, 32000,
    mode === "cvm" ? "GB of each host's CBS data disk, where PD and TiKV data live" : "GB of the disk your hosts keep Docker's data on");
  const protect = reader.bool("protect", DEFAULTS.protect);
  const rolloutTimeoutMinutes = reader.int("rolloutTimeoutMinutes", DEFAULTS.rolloutTimeoutMinutes, 1, 60,
    "bound on each rolling-restart wait: leader eviction, health after a restart");
  const clusterTls = reader.bool("clusterTls", DEFAULTS.clusterTls);
  if (mode === "cvm" && clusterTls === false) {
    reader.fail("clusterTls", "false is refused in mode cvm: PD's client port (2379) is open to operatorCidrs for " +
      "pd-ctl and the rollout gates, and without TLS PD's API takes unauthenticated requests there (and PD and TiKV " +
      `talk in clear). Remove it with: pulumi config rm ${PROJECT}:clusterTls`);
  }
  const monitoring = reader.bool("monitoring", DEFAULTS.monitoring);
  const grafanaPublic = mode === "local" ? false : reader.bool("grafanaPublic", DEFAULTS.grafanaPublic);
  if (grafanaPublic && monitoring === false) {
    reader.fail("grafanaPublic", `needs monitoring: true (there is no Grafana without it); remove it with: pulumi config rm ${PROJECT}:grafanaPublic`);
  }
  if (grafanaPublic && clusterTls === false) {
    reader.fail("grafanaPublic", "needs clusterTls: true: Grafana's HTTPS certificate comes from the cluster CA");
  }
  const ca = readCa(reader);
  // 1,048,576 is Linux's default fs.nr_open: no process may raise its limit above it.
  const nofileLimit = reader.int("nofileLimit", DEFAULTS.nofileLimit, 1024, 1_048_576,
    "nofile ulimit of the PD and TiKV containers; below TiKV's start-up check only for test hosts");
  const values = [nodeCount, pdCount, tikvVersion, hostMemoryGiB, diskGB, protect, rolloutTimeoutMinutes, clusterTls, monitoring, grafanaPublic, ca, nofileLimit];
  if (values.some((v) => v === undefined)) return { nodeCount, diskGB };
  return {
    nodeCount,
    diskGB,
    settings: {
      nodeCount: nodeCount!, pdCount: pdCount!, tikvVersion, hostMemoryGiB: hostMemoryGiB!, diskGB: diskGB!,
      protect: protect!, rolloutTimeoutMinutes: rolloutTimeoutMinutes!, clusterTls: clusterTls!, monitoring: monitoring!,
      grafanaPublic: grafanaPublic!, ca: ca!, nofileLimit: nofileLimit!,
    },
  };
}

function readCvm(reader: Reader, raw: RawConfig, nodeCount: number | undefined, dataDiskGB: number | undefined): { cvm?: CvmSettings } {
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
    "GB of each host's system disk, which holds only the OS: data lives on the data disk");
  const dataDisk = readDataDisk(reader, raw, dataDiskGB);

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

  const operatorCidrs = reader.cidrList("operatorCidrs", vpcCidr?.text);
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
  const parts = [availabilityZone, instanceType, systemDiskType, systemDiskSize, dataDisk, vpcCidr, subnetCidr, operatorCidrs,
    bandwidthMbps, registryMirrors, readinessTimeoutMinutes];
  if (parts.some((v) => v === undefined) || (tencentcloudRoute !== "terraform" && tencentcloudRoute !== "bridged")) return {};
  return {
    cvm: {
      availabilityZone: availabilityZone!, instanceType, imageId, systemDiskType, systemDiskSize: systemDiskSize!,
      dataDisk: dataDisk!,
      vpcCidr: vpcCidr!.text, subnetCidr: subnetCidr!.text, operatorCidrs: operatorCidrs!,
      sshPublicKey, bandwidthMbps: bandwidthMbps!, registryMirrors: registryMirrors!,
      readinessTimeoutMinutes: readinessTimeoutMinutes!, tencentcloudRoute,
    },
  };
}

function readCa(reader: Reader): CaRotation | undefined {
  const generation = reader.int("caGeneration", DEFAULTS.caGeneration, 1, 99, "the CA generation that issues certificates");
  const rotation = reader.optional("caRotation") ?? "";
  if (!(CA_ROTATIONS as readonly string[]).includes(rotation)) {
    reader.fail("caRotation", `must be empty, "trust-next" or "trust-previous" (got "${rotation}"); see "Rotating the CA" in the README`);
    return undefined;
  }
  if (rotation === "trust-previous" && generation === 1) {
    reader.fail("caRotation", "trust-previous needs a previous CA: it goes with caGeneration 2 or more");
    return undefined;
  }
  return generation === undefined ? undefined : { generation, rotation: rotation as CaRotation["rotation"] };
}

/** The data disk's size is read once, with the settings every mode has (it sizes TiKV's reserve-space). */
function readDataDisk(reader: Reader, raw: RawConfig, sizeGB: number | undefined): DataDiskSettings | undefined {
  const type = reader.string("dataDiskType", DEFAULTS.dataDiskType);
  if (!SYSTEM_DISK_TYPES.includes(type)) {
    reader.fail("dataDiskType", `must be one of ${SYSTEM_DISK_TYPES.join(", ")} (got "${type}")`);
  }
  const encrypt = reader.bool("dataDiskEncrypt", DEFAULTS.dataDiskEncrypt);
  const retain = reader.bool("retainDataDisks", DEFAULTS.retainDataDisks);
  const retentionDays = reader.int("dataDiskSnapshotRetentionDays", DEFAULTS.dataDiskSnapshotRetentionDays, 0, 365,
    "days each daily data-disk snapshot is kept; 0 takes no snapshots");
  const hour = reader.int("dataDiskSnapshotHour", DEFAULTS.dataDiskSnapshotHour, 0, 23, "hour of the daily snapshot");
  const hourSet = raw.values.dataDiskSnapshotHour !== undefined && raw.values.dataDiskSnapshotHour !== declaredDefault("dataDiskSnapshotHour");
  if (retentionDays === 0 && hourSet) {
    reader.fail("dataDiskSnapshotHour", "only applies with snapshots on; turn them on with: " +
      `pulumi config set ${PROJECT}:dataDiskSnapshotRetentionDays 7`);
  }
  if (sizeGB === undefined || !SYSTEM_DISK_TYPES.includes(type) || encrypt === undefined || retain === undefined ||
    retentionDays === undefined || hour === undefined) return undefined;
  return { sizeGB, type, encrypt, retain, snapshot: retentionDays > 0 ? { hour, retentionDays } : undefined };
}

function readExisting(reader: Reader, raw: RawConfig, nodeCount: number | undefined): { existing?: ExistingSettings } {
  const hosts = reader.hostList("hosts");
  for (const key of ["dockerCaPem", "dockerCertPem", "dockerKeyPem"]) {
    const value = reader.optional(key);
    const kind = key === "dockerKeyPem" ? "PRIVATE KEY" : "CERTIFICATE";
    if (value === undefined) {
      reader.fail(key, `is required in mode existing: the Docker client ${key === "dockerCaPem" ? "CA certificate" : kind.toLowerCase()} ` +
        `as PEM; set it with: pulumi config set --secret ${PROJECT}:${key} < ${key === "dockerCaPem" ? "ca" : key === "dockerCertPem" ? "cert" : "key"}.pem`);
    } else if (!value.includes(`-----BEGIN `) || !value.includes(kind)) {
      reader.fail(key, `does not look like a PEM ${kind}`);
    } else if (!raw.secretKeys?.includes(key)) {
      reader.fail(key, `must be stored as a secret: pulumi config set --secret ${PROJECT}:${key} < file.pem`);
    }
  }
  const readinessTimeoutMinutes = reader.int("readinessTimeoutMinutes", DEFAULTS.readinessTimeoutMinutes,
    1, 120, "how long to wait for each host's Docker API");
  if (hosts === undefined || readinessTimeoutMinutes === undefined || nodeCount === undefined) return {};
  return { existing: { hosts, readinessTimeoutMinutes } };
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

  /** Length of a list value, or undefined when absent or not a list (reported by its reader). */
  peekListLength(key: string): number | undefined {
    try {
      const parsed: unknown = JSON.parse(this.values[key] ?? "null");
      return Array.isArray(parsed) ? parsed.length : undefined;
    } catch {
      return undefined;
    }
  }

  /** `hosts` of mode existing: [{name, dockerHost: "tcp://<address>:<port>", privateIp}], 3..20 of them. */
  hostList(key: string): readonly ExistingHost[] | undefined {
    const example = `[{name: db1, dockerHost: "tcp://192.0.2.11:2376", privateIp: 10.0.0.11}, ...]`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.values[key] ?? "null");
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed)) {
      this.fail(key, `is required in mode existing: a list like ${example} in Pulumi.<stack>.yaml`);
      return undefined;
    }
    if (parsed.length < 3 || parsed.length > 20) {
      this.fail(key, `must list 3 to 20 hosts (one TiKV store each); got ${parsed.length}`);
      return undefined;
    }
    const hosts: ExistingHost[] = [];
    parsed.forEach((entry: unknown, i: number) => {
      const h = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
      const where = `${key}[${i}]`;
      const name = typeof h.name === "string" ? h.name : "";
      const dockerHost = typeof h.dockerHost === "string" ? h.dockerHost : "";
      const privateIp = typeof h.privateIp === "string" ? h.privateIp : "";
      if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) this.fail(key, `${where}.name "${name}" must be a hostname-like label`);
      if (!/^tcp:\/\/[A-Za-z0-9.-]+:\d{1,5}$/.test(dockerHost)) this.fail(key, `${where}.dockerHost "${dockerHost}" must look like tcp://192.0.2.11:2376`);
      if (!parseCidr(`${privateIp}/32`)) this.fail(key, `${where}.privateIp "${privateIp}" must be an IPv4 address`);
      hosts.push({ name, dockerHost, privateIp });
    });
    for (const field of ["name", "dockerHost", "privateIp"] as const) {
      const values = hosts.map((h) => h[field]);
      const dup = values.find((v, i) => values.indexOf(v) !== i);
      if (dup) this.fail(key, `${field} "${dup}" appears twice; every host needs its own`);
    }
    return hosts;
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

  /** operatorCidrs: the shared rules of lib/operatorCidrs.ts, each problem naming its entry. */
  cidrList(key: string, vpcCidr: string | undefined): readonly string[] | undefined {
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
    const problems = operatorCidrProblems(list, vpcCidr);
    for (const p of problems) {
      this.fail(key, `"${p.entry}" ${p.reason}. These networks reach ${ADMIN_PORTS}; the Docker API gives root on ` +
        "the hosts to anyone holding the operator certificate, so list only your own networks");
    }
    return problems.length > 0 ? undefined : list;
  }

}
