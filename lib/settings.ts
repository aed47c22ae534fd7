// Config validation: turns the raw stack config into typed Settings, or into the complete list of
// problems, each naming its key and the fix. Pure: index.ts reads the config, this judges it. Each
// key's own type, default and rule live in lib/configKeys.ts; the rules between keys live here.
import { CaRotation } from "./certificates";
import {
  ADMIN_PORTS,
  CONFIG_KEYS,
  CONFIG_KEY_NAMES,
  ConfigKey,
  ConfigValues,
  ExistingHost,
  MODES,
  Mode,
  PROJECT,
  declaredDefaultText,
  isConfigKey,
  readKeys,
  specOf,
} from "./configKeys";
import { cidrContains, cidrSize, parseCidr } from "./ipv4";
import { operatorCidrProblems } from "./operatorCidrs";
import { pdQuorumProblem, zoneOfHost, zoneSubnetCidr } from "./placement";

export { MIN_TIKV_VERSION, MODES, PROJECT } from "./configKeys";
export type { ExistingHost, Mode } from "./configKeys";

/** Offset of host 1's private address in the subnet; host i gets FIRST_HOST_OFFSET + i - 1. */
export const FIRST_HOST_OFFSET = 11;

/**
 * Mode local's diskGB: the program cannot know this machine's disk, so TiKV's reserve-space is sized
 * as for the smallest data disk the other modes accept (dataDiskSize's minimum).
 */
export const LOCAL_DISK_GB = CONFIG_KEYS.dataDiskSize.min;

/** Settings every mode has. */
export interface CommonSettings {
  readonly nodeCount: number;
  readonly pdCount: number;
  readonly tikvVersion: string;
  /** A tikvVersion below the deployed one is accepted (tikv-cvm:allowDowngrade); see lib/lastDeployment.ts. */
  readonly allowDowngrade: boolean;
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
  /**
   * Alertmanager beside Prometheus sends alerts to the webhook tikv-cvm:alertWebhookUrl (read as a
   * secret by index.ts; here only whether it is set).
   */
  readonly alertWebhook: boolean;
  /** The issuing CA generation and where a rotation stands (lib/certificates.ts). */
  readonly ca: CaRotation;
  /** Application clients, by name: each gets its own certificate from the cluster CA. */
  readonly clients: readonly string[];
  /** The Node.js image of the PD client gateways (lib/pdGateway.ts), which exist when clients do. */
  readonly clientGatewayImage: string;
  /** nofile ulimit (soft = hard) of the PD and TiKV containers; see clusterConfig openFilesWarning. */
  readonly nofileLimit: number;
  /** The user's own builds (tikvImage, pdImage, tikvPatch, pdPatch, registry*): lib/builds.ts. */
  readonly builds: BuildSettings;
}

/** Per component: an image to run instead of the release's, and/or a local binary to put in it. */
export interface BuildSettings {
  readonly images: { readonly pd?: string; readonly tikv?: string };
  /** Paths as configured (relative to the project directory, where `pulumi up` runs the program). */
  readonly patches: { readonly pd?: string; readonly tikv?: string };
  /** Credentials for the registries of the images above; the password stays a secret. */
  readonly registry?: { readonly username: string; readonly password: string };
}

/** Mode cvm: Tencent Cloud hosts made by this program. */
export interface CvmSettings {
  /** The zones hosts are spread over, round robin (lib/placement.ts zoneOfHost); one with availabilityZone. */
  readonly availabilityZones: readonly string[];
  /** The spread placement group every CVM joins (Tencent Cloud's disaster recover group), or none. */
  readonly placementGroupType: "HOST" | "RACK" | "none";
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
  /** Retained disks to adopt (Pulumi's `import`), by host index from 1; empty: new disks. */
  readonly adopt: readonly string[];
}

/** Mode existing: bring-your-own hosts; the client material is read as secrets by index.ts. */
export interface ExistingSettings {
  readonly hosts: readonly ExistingHost[];
  readonly readinessTimeoutMinutes: number;
}

export type Settings = CommonSettings &
  (
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

/** Each key's default, as Pulumi.yaml declares it (lib/configKeys.ts). */
export const DEFAULTS = Object.fromEntries(CONFIG_KEY_NAMES.map((key) => [key, specOf(key).default])) as {
  readonly [K in ConfigKey]: (typeof CONFIG_KEYS)[K]["default"];
};

/** Every key this project reads; anything else in the namespace is a typo to report. */
export const KNOWN_KEYS: readonly string[] = CONFIG_KEY_NAMES;

/** The odd PD count next to an even one that fits on nodeCount hosts and within pdCount's range. */
function oddPdCount(pdCount: number, nodeCount: number): number {
  const up = pdCount + 1;
  return up <= Math.min(nodeCount, CONFIG_KEYS.pdCount.max) ? up : pdCount - 1;
}

export function validateConfig(raw: RawConfig): ValidationResult {
  const problems: ConfigProblem[] = [];
  const fail = (key: string, message: string): void => {
    problems.push({ key: key.includes(":") ? key : `${PROJECT}:${key}`, message });
  };

  for (const key of Object.keys(raw.values)) {
    if (!isConfigKey(key) && raw.values[key] !== undefined) {
      fail(
        key,
        `is not a setting of this project (known: ${KNOWN_KEYS.join(", ")}); ` +
          `remove it with: pulumi config rm ${PROJECT}:${key}`,
      );
    }
  }
  const modeReading = readKeys(raw.values, (key) => key === "mode");
  const modeProblems = modeReading.refused.get("mode");
  if (modeProblems) {
    for (const message of modeProblems) fail("mode", message);
    // Which keys apply depends on the mode; the keys of every mode are still judged on their own.
    const everyMode = readKeys(raw.values, (key) => specOf(key).modes.length === MODES.length && key !== "mode");
    for (const [key, messages] of everyMode.refused) for (const message of messages) fail(key, message);
    return { ok: false, problems };
  }
  const mode: Mode = modeReading.values.mode;
  const reading = readKeys(raw.values, (key) => specOf(key).modes.includes(mode));
  // The CLI passes Pulumi.yaml's defaults for every key, so only a value that differs from its
  // declared default counts as "set".
  const isSet = (key: ConfigKey): boolean =>
    raw.values[key] !== undefined && raw.values[key] !== declaredDefaultText(key);
  for (const key of CONFIG_KEY_NAMES) {
    const { modes } = specOf(key);
    if (modes.includes(mode) || !isSet(key)) continue;
    fail(
      key,
      `only applies to mode ${modes.join(" or ")}, and this stack's mode is ${mode}; ` +
        `remove it with: pulumi config rm ${PROJECT}:${key}`,
    );
  }
  if (mode === "cvm") checkTencentCloudProvider(raw, fail);
  for (const key of raw.providerKeysInClear ?? []) {
    fail(
      key,
      "is stored in plaintext in the stack file; store it encrypted with: pulumi config set --secret " +
        `${key} <value> (or remove it with pulumi config rm ${key} and export ` +
        `${key === "tencentcloud:secretId" ? "TENCENTCLOUD_SECRET_ID" : "TENCENTCLOUD_SECRET_KEY"})`,
    );
  }
  for (const [key, messages] of reading.refused) for (const message of messages) fail(key, message);

  const refused = new Set<ConfigKey>(reading.refused.keys());
  const v = reading.values;
  // Mode existing: the host list decides the node count, unless nodeCount is set (then they must agree).
  const nodeCountFromHosts = mode === "existing" && !isSet("nodeCount");
  const nodeCount = nodeCountFromHosts ? v.hosts.length : v.nodeCount;
  if (nodeCountFromHosts && refused.has("hosts")) refused.add("nodeCount");
  const rules: KeyRules = {
    v,
    mode,
    raw,
    nodeCount,
    isSet,
    good: (...keys) => keys.every((k) => !refused.has(k)),
    fail,
  };
  commonRules(rules);
  buildRules(rules);
  if (mode === "cvm") cvmRules(rules);
  if (mode === "existing") existingRules(rules);
  if (problems.length > 0) return { ok: false, problems };

  const common: CommonSettings = {
    nodeCount,
    pdCount: v.pdCount,
    tikvVersion: v.tikvVersion,
    allowDowngrade: v.allowDowngrade,
    hostMemoryGiB: v.hostMemoryGiB,
    diskGB: mode === "local" ? LOCAL_DISK_GB : v.dataDiskSize,
    protect: v.protect,
    rolloutTimeoutMinutes: v.rolloutTimeoutMinutes,
    clusterTls: v.clusterTls,
    monitoring: v.monitoring,
    grafanaPublic: v.grafanaPublic,
    alertWebhook: v.alertWebhookUrl !== undefined,
    ca: { generation: v.caGeneration, rotation: v.caRotation },
    clients: v.clients,
    clientGatewayImage: v.clientGatewayImage,
    nofileLimit: v.nofileLimit,
    builds: {
      images: { pd: v.pdImage, tikv: v.tikvImage },
      patches: { pd: v.pdPatch, tikv: v.tikvPatch },
      registry:
        v.registryUsername !== undefined && v.registryPassword !== undefined
          ? { username: v.registryUsername, password: v.registryPassword }
          : undefined,
    },
  };
  switch (mode) {
    case "cvm":
      return { ok: true, settings: { ...common, mode, cvm: cvmSettings(v, common.diskGB) } };
    case "local":
      return { ok: true, settings: { ...common, mode } };
    case "existing":
      return {
        ok: true,
        settings: { ...common, mode, existing: { hosts: v.hosts, readinessTimeoutMinutes: v.readinessTimeoutMinutes } },
      };
    default:
      return mode satisfies never;
  }
}

/** What the rules between keys see: every value typed, and whether the keys they use were accepted. */
interface KeyRules {
  readonly v: ConfigValues;
  readonly mode: Mode;
  readonly raw: RawConfig;
  /** nodeCount, or in mode existing the number of hosts listed. */
  readonly nodeCount: number;
  readonly isSet: (key: ConfigKey) => boolean;
  /** None of these keys was refused: a rule on a refused value would only add noise. */
  readonly good: (...keys: ConfigKey[]) => boolean;
  readonly fail: (key: string, message: string) => void;
}

function checkTencentCloudProvider(raw: RawConfig, fail: KeyRules["fail"]): void {
  if (!raw.region) {
    fail(
      "tencentcloud:region",
      "is required; set it with: pulumi config set tencentcloud:region ap-guangzhou " +
        "(or export TENCENTCLOUD_REGION)",
    );
  }
  if (!raw.hasSecretId || !raw.hasSecretKey) {
    const missing = [!raw.hasSecretId && "secretId", !raw.hasSecretKey && "secretKey"].filter(Boolean);
    fail(
      `tencentcloud:${missing.join("/")}`,
      "Tencent Cloud credentials are missing; export TENCENTCLOUD_SECRET_ID and " +
        "TENCENTCLOUD_SECRET_KEY, or run: pulumi config set --secret tencentcloud:secretId <id> " +
        "and pulumi config set --secret tencentcloud:secretKey <key>",
    );
  }
}

function commonRules({ v, mode, raw, nodeCount, isSet, good, fail }: KeyRules): void {
  if (mode === "existing" && isSet("nodeCount") && good("nodeCount", "hosts") && nodeCount !== v.hosts.length) {
    fail(
      "nodeCount",
      `is ${nodeCount} but hosts lists ${v.hosts.length}; in mode existing the host list ` +
        `decides: remove it with pulumi config rm ${PROJECT}:nodeCount`,
    );
  }
  const { pdCount } = v;
  if (good("pdCount") && pdCount % 2 === 0) {
    fail(
      "pdCount",
      `must be odd so a PD majority survives a split (got ${pdCount}); ` +
        `fix with: pulumi config set ${PROJECT}:pdCount ${oddPdCount(pdCount, good("nodeCount") ? nodeCount : pdCount + 1)}`,
    );
  }
  if (good("pdCount", "nodeCount") && pdCount > nodeCount) {
    fail(
      "pdCount",
      `must not exceed nodeCount (${nodeCount}): PD runs one member per host; lower pdCount or raise nodeCount`,
    );
  }
  if (mode === "local" && good("hostMemoryGiB", "nodeCount") && v.hostMemoryGiB / nodeCount < 1.5) {
    fail(
      "hostMemoryGiB",
      `${v.hostMemoryGiB} GiB is too little for ${nodeCount} PD+TiKV pairs on one machine ` +
        "(at least 1.5 GiB each); give the machine's memory with pulumi config set " +
        `${PROJECT}:hostMemoryGiB ${Math.ceil(nodeCount * 1.5)}, or lower nodeCount`,
    );
  }
  if (mode === "cvm" && good("clusterTls") && !v.clusterTls) {
    fail(
      "clusterTls",
      "false is refused in mode cvm: PD's client port (2379) is open to operatorCidrs for " +
        "pd-ctl and the rollout gates, and without TLS PD's API takes unauthenticated requests there (and PD and TiKV " +
        `talk in clear). Remove it with: pulumi config rm ${PROJECT}:clusterTls`,
    );
  }
  if (v.grafanaPublic && good("monitoring") && !v.monitoring) {
    fail(
      "grafanaPublic",
      `needs monitoring: true (there is no Grafana without it); remove it with: pulumi config rm ${PROJECT}:grafanaPublic`,
    );
  }
  if (v.alertWebhookUrl !== undefined && good("alertWebhookUrl", "monitoring")) {
    if (!v.monitoring)
      fail(
        "alertWebhookUrl",
        "needs monitoring: true (Prometheus evaluates the alert rules, Alertmanager beside it sends them); " +
          `remove it with: pulumi config rm ${PROJECT}:alertWebhookUrl, or set ${PROJECT}:monitoring true`,
      );
    else if (!raw.secretKeys?.includes("alertWebhookUrl"))
      fail(
        "alertWebhookUrl",
        `must be stored as a secret (webhook URLs usually carry a token): pulumi config set --secret ${PROJECT}:alertWebhookUrl <url>`,
      );
  }
  if (v.grafanaPublic && good("clusterTls") && !v.clusterTls) {
    fail(
      "grafanaPublic",
      "needs clusterTls: true: Grafana's HTTPS certificate comes from the cluster CA; remove it with: " +
        `pulumi config rm ${PROJECT}:grafanaPublic`,
    );
  }
  if (good("clients") && new Set(v.clients).size !== v.clients.length) {
    const again = v.clients.findIndex((c, k) => v.clients.indexOf(c) !== k);
    fail(
      "clients",
      `lists ${v.clients[again]} twice; each client has one certificate: remove the second with ` +
        `pulumi config rm --path '${PROJECT}:clients[${again}]'`,
    );
  }
  if (good("clients", "clusterTls") && v.clients.length > 0 && !v.clusterTls) {
    fail(
      "clients",
      "needs clusterTls: true: a client's certificate comes from the cluster CA, and without TLS PD and TiKV " +
        `admit anyone who reaches them; remove it with: pulumi config rm ${PROJECT}:clients`,
    );
  }
  if (v.caRotation === "trust-previous" && good("caGeneration") && v.caGeneration === 1) {
    fail(
      "caRotation",
      "trust-previous needs a previous CA: it goes with caGeneration 2 or more; the first step of a rotation is " +
        `pulumi config set ${PROJECT}:caRotation trust-next (see "Rotating the CA" in the README)`,
    );
  }
}

function buildRules({ v, raw, good, fail }: KeyRules): void {
  const user = v.registryUsername !== undefined;
  const password = v.registryPassword !== undefined;
  if (user !== password) {
    const missing = user ? "registryPassword" : "registryUsername";
    fail(
      missing,
      `is required with ${user ? "registryUsername" : "registryPassword"}: the registry takes both; ` +
        (user
          ? `set it with: pulumi config set --secret ${PROJECT}:registryPassword <password or token>`
          : `set it with: pulumi config set ${PROJECT}:registryUsername <user>`),
    );
  }
  if ((user || password) && good("tikvImage", "pdImage") && v.tikvImage === undefined && v.pdImage === undefined) {
    fail(
      user ? "registryUsername" : "registryPassword",
      "is set but neither tikvImage nor pdImage names a registry image to pull with it; set one, or remove " +
        `the credentials: pulumi config rm ${PROJECT}:registryUsername; pulumi config rm ${PROJECT}:registryPassword`,
    );
  }
  if (password && good("registryPassword") && !raw.secretKeys?.includes("registryPassword")) {
    fail(
      "registryPassword",
      `must be stored as a secret: pulumi config set --secret ${PROJECT}:registryPassword <password or token>`,
    );
  }
}

function cvmRules(rules: KeyRules): void {
  const { v, nodeCount, isSet, good, fail } = rules;
  zoneRules(rules);
  if (good("dataDiskSnapshotRetentionDays") && v.dataDiskSnapshotRetentionDays === 0 && isSet("dataDiskSnapshotHour")) {
    fail(
      "dataDiskSnapshotHour",
      "only applies with snapshots on; turn them on with: " +
        `pulumi config set ${PROJECT}:dataDiskSnapshotRetentionDays 7`,
    );
  }
  if (good("dataDiskIds") && good("nodeCount") && v.dataDiskIds.length > v.nodeCount) {
    fail(
      "dataDiskIds",
      `lists ${v.dataDiskIds.length} disks for ${v.nodeCount} hosts; adopt at most one per host, or raise ${PROJECT}:nodeCount`,
    );
  }
  if (good("dataDiskIds") && new Set(v.dataDiskIds).size !== v.dataDiskIds.length) {
    fail("dataDiskIds", "lists a disk twice; use each id once (a disk holds one host's data)");
  }
  const vpc = good("vpcCidr") ? parseCidr(v.vpcCidr) : undefined;
  const subnet = good("subnetCidr") ? parseCidr(v.subnetCidr) : undefined;
  if (vpc && subnet && !cidrContains(vpc, subnet)) {
    fail("subnetCidr", `${v.subnetCidr} is not inside vpcCidr ${v.vpcCidr}; choose a subnet within the VPC`);
  }
  if (vpc && subnet && good("availabilityZones") && v.availabilityZones.length > 1) {
    // The next zones' subnets follow subnetCidr (lib/topology.ts zoneSubnetCidr).
    for (let k = 1; k < v.availabilityZones.length; k++) {
      const cidr = zoneSubnetCidr(v.subnetCidr, k);
      const parsed = cidr === undefined ? undefined : parseCidr(cidr);
      if (!parsed || !cidrContains(vpc, parsed)) {
        fail(
          "subnetCidr",
          `${v.subnetCidr} leaves no room in vpcCidr ${v.vpcCidr} for the subnet of ${v.availabilityZones[k]} ` +
            `(${cidr ?? "past 255.255.255.255"}): each further zone takes the next block of the same size; ` +
            "choose a subnetCidr near the start of the VPC, or a larger vpcCidr",
        );
        break;
      }
    }
  }
  if (subnet && good("nodeCount")) {
    // The last host takes offset FIRST_HOST_OFFSET + nodeCount - 1; the broadcast address is reserved.
    const needed = FIRST_HOST_OFFSET + nodeCount;
    if (cidrSize(subnet) < needed + 1) {
      fail(
        "subnetCidr",
        `${v.subnetCidr} is too small for ${nodeCount} hosts at offsets ` +
          `${FIRST_HOST_OFFSET}..${needed - 1}; use a /27 or larger`,
      );
    }
  }
  if (good("operatorCidrs")) {
    // The shared rules of lib/operatorCidrs.ts, each problem naming its entry.
    for (const p of operatorCidrProblems(v.operatorCidrs, vpc ? v.vpcCidr : undefined)) {
      fail(
        "operatorCidrs",
        `"${p.entry}" ${p.reason}. These networks reach ${ADMIN_PORTS}; the Docker API gives root on ` +
          "the hosts to anyone holding the operator certificate, so list only your own networks, e.g. your address: " +
          `pulumi config set --path '${PROJECT}:operatorCidrs[0]' "$(curl -4 -s https://ifconfig.me)/32"`,
      );
    }
  }
}

/**
 * availabilityZone or availabilityZones, not both; every zone in the region, listed once; and a
 * spread PD's quorum survives the loss of any one zone (lib/placement.ts pdQuorumProblem).
 */
function zoneRules({ v, raw, nodeCount, good, fail }: KeyRules): void {
  const one = v.availabilityZone;
  const list = v.availabilityZones;
  const pathSet = `pulumi config set --path '${PROJECT}:availabilityZones[0]' ap-guangzhou-3`;
  if (one !== undefined && list.length > 0) {
    fail(
      "availabilityZones",
      `is set together with availabilityZone (${one}); keep one: for several zones remove the other with ` +
        `pulumi config rm ${PROJECT}:availabilityZone, and list ${one} first in availabilityZones if hosts run there`,
    );
    return;
  }
  if (one === undefined && list.length === 0 && good("availabilityZones")) {
    fail(
      "availabilityZone",
      `is required (or availabilityZones); set it with: pulumi config set ${PROJECT}:availabilityZone ap-guangzhou-3, ` +
        `or spread the hosts over three zones with: ${pathSet} (and [1], [2])`,
    );
    return;
  }
  const zones = one !== undefined ? [one] : list;
  const key = one !== undefined ? "availabilityZone" : "availabilityZones";
  if (!good(key)) return;
  for (const zone of zones) {
    if (raw.region && !zone.startsWith(`${raw.region}-`)) {
      fail(key, `"${zone}" is not a zone of region ${raw.region}; zones are named <region>-<n>, e.g. ${raw.region}-3`);
    }
  }
  const again = zones.findIndex((z, i) => zones.indexOf(z) !== i);
  if (again >= 0) {
    fail(
      key,
      `lists ${zones[again]} twice; each zone takes its share of the hosts once: remove the second with ` +
        `pulumi config rm --path '${PROJECT}:availabilityZones[${again}]'`,
    );
    return;
  }
  if (zones.length === 2) {
    fail(
      key,
      `lists 2 zones: one of them would hold a majority of PD's members and of every region's 3 replicas, so ` +
        "losing it would stop the cluster anyway; list 3 or more zones, or use one (availabilityZone)",
    );
    return;
  }
  if (good("nodeCount") && zones.length > nodeCount) {
    fail(
      key,
      `lists ${zones.length} zones for ${nodeCount} hosts: a zone would hold no host; list at most ${nodeCount}, ` +
        `or raise ${PROJECT}:nodeCount`,
    );
    return;
  }
  if (good("nodeCount", "pdCount")) {
    const pdZones = Array.from({ length: Math.min(v.pdCount, nodeCount) }, (_, i) => zoneOfHost(zones, i + 1));
    const problem = pdQuorumProblem(pdZones, zones.length);
    if (problem !== undefined) {
      fail("pdCount", `${problem}; fix with: pulumi config set ${PROJECT}:pdCount 3`);
    }
  }
}

/** Mode existing's zones, when listed: PD's quorum must survive the loss of any one of them. */
function existingZoneRules({ v, nodeCount, good, fail }: KeyRules): void {
  if (!good("hosts", "pdCount") || v.hosts.length === 0 || v.hosts[0].zone === undefined) return;
  const zones = v.hosts.map((h) => h.zone ?? "");
  const problem = pdQuorumProblem(zones.slice(0, Math.min(v.pdCount, nodeCount)), new Set(zones).size);
  if (problem !== undefined) {
    fail(
      "hosts",
      `${problem} (PD runs on the first ${v.pdCount} hosts listed); order the hosts so the first ${v.pdCount} ` +
        "are in different zones, or give every host the same zone",
    );
  }
}

function existingRules(rules: KeyRules): void {
  const { raw, good, fail } = rules;
  existingZoneRules(rules);
  for (const key of CONFIG_KEY_NAMES) {
    const spec = specOf(key);
    if (
      spec.type === "optional-string" &&
      spec.secret &&
      // Keys of every mode (registryPassword) are judged by their own rule (buildRules).
      spec.modes.length === 1 &&
      spec.modes[0] === "existing" &&
      good(key) &&
      !raw.secretKeys?.includes(key)
    ) {
      fail(key, `must be stored as a secret: pulumi config set --secret ${PROJECT}:${key} < file.pem`);
    }
  }
}

function cvmSettings(v: ConfigValues, diskGB: number): CvmSettings {
  const retentionDays = v.dataDiskSnapshotRetentionDays;
  return {
    availabilityZones: v.availabilityZone !== undefined ? [v.availabilityZone] : v.availabilityZones,
    placementGroupType: v.placementGroupType,
    instanceType: v.instanceType,
    imageId: v.imageId,
    systemDiskType: v.systemDiskType,
    systemDiskSize: v.systemDiskSize,
    dataDisk: {
      sizeGB: diskGB,
      type: v.dataDiskType,
      encrypt: v.dataDiskEncrypt,
      retain: v.retainDataDisks,
      adopt: v.dataDiskIds,
      snapshot: retentionDays > 0 ? { hour: v.dataDiskSnapshotHour, retentionDays } : undefined,
    },
    vpcCidr: v.vpcCidr,
    subnetCidr: v.subnetCidr,
    operatorCidrs: v.operatorCidrs,
    sshPublicKey: v.sshPublicKey,
    bandwidthMbps: v.bandwidthMbps,
    registryMirrors: v.registryMirrors,
    readinessTimeoutMinutes: v.readinessTimeoutMinutes,
    tencentcloudRoute: v.tencentcloudRoute,
  };
}

/** Formats problems as one message, one line per problem. */
export function describeProblems(problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => `  - ${p.key}: ${p.message}`);
  return `The stack configuration has ${problems.length} problem(s):\n${lines.join("\n")}`;
}
