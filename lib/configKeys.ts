// The one table of this project's config keys: for each key, the modes that read it, its type,
// default, rule and help. Config validation (lib/settings.ts) runs from it; Pulumi.yaml's `config:`
// block and the README's configuration table are checked against it (test/configKeys.test.ts).
// Which layer checks what, and why Pulumi.yaml declares no types: docs/config.md.
import { CA_ROTATIONS } from "./certificates";
import { parseCidr } from "./ipv4";

export const PROJECT = "tikv-cvm";

export type Mode = "cvm" | "local" | "existing";
export const MODES: readonly Mode[] = ["cvm", "local", "existing"];
const CLOUD: readonly Mode[] = ["cvm", "existing"];

/** A server the user already runs, with Docker's API behind mutual TLS. */
export interface ExistingHost {
  readonly name: string;
  /** tcp://<address>:<port> */
  readonly dockerHost: string;
  /** Address the other hosts reach it on. */
  readonly privateIp: string;
  /** Its zone (any name, e.g. a data centre or rack row): the store's `zone` label. */
  readonly zone?: string;
}

interface KeyBase {
  /** The modes that read the key; set in another mode, it is reported, never silently ignored. */
  readonly modes: readonly Mode[];
  /** Pulumi.yaml's description and the README table's rule / meaning, word for word. */
  readonly help: string;
}

/** A whole number from min to max; `meaning` goes into the message that names the fix. */
export interface IntegerKey extends KeyBase {
  readonly type: "integer";
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly meaning: string;
}

export interface BooleanKey extends KeyBase {
  readonly type: "boolean";
  readonly default: boolean;
}

/** One of a fixed set of words; `explain` follows the list in the message. */
export interface EnumKey<T extends string = string> extends KeyBase {
  readonly type: "enum";
  readonly default: T;
  readonly values: readonly T[];
  readonly explain?: string;
}

/** A string with a default; `check` returns why a value is refused, naming the fix. */
export interface StringKey extends KeyBase {
  readonly type: "string";
  readonly default: string;
  readonly check?: (value: string) => string | undefined;
}

/**
 * A string that may be unset. Pulumi.yaml declares it with an empty default (a declared key without
 * one is required by the CLI in every stack), so empty means unset.
 */
export interface OptionalStringKey extends KeyBase {
  readonly type: "optional-string";
  readonly default: "";
  readonly check?: (value: string) => string | undefined;
  /** Required in its modes: what follows "is required" in the message. */
  readonly required?: string;
  /** Must be stored with `pulumi config set --secret`. */
  readonly secret?: boolean;
}

/** A list of strings, written as a YAML list in the stack file; `check` judges each item. */
export interface ListKey extends KeyBase {
  readonly type: "list";
  readonly default: readonly string[];
  readonly check?: (item: string) => string | undefined;
  /** Required (at least one item) in its modes: what follows "is required" in the message. */
  readonly required?: string;
}

/** Mode existing's host list: objects {name, dockerHost, privateIp}; empty means unset. */
export interface HostsKey extends KeyBase {
  readonly type: "hosts";
  readonly default: readonly [];
  readonly required: string;
}

export type KeySpec = IntegerKey | BooleanKey | EnumKey | StringKey | OptionalStringKey | ListKey | HostsKey;

/**
 * Why an alert webhook URL is refused: Alertmanager posts to absolute http(s) URLs only
 * (prometheus/alertmanager v0.34.0 config/common/url.go ParseURL: "unsupported scheme", "missing host").
 */
export function webhookUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Not echoed: the value is a secret.
    return "is not a URL; give the full address, e.g. https://hooks.example.com/services/T000/B000/XXXX";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return `uses ${url.protocol.replace(/:$/, "")}://, but Alertmanager posts to http:// or https:// only; use the receiver's http(s) address, e.g. https://hooks.example.com/...`;
  if (url.hostname === "") return "names no host; give the full address, e.g. https://hooks.example.com/...";
  return undefined;
}

/** The oldest tikvVersion the program deploys; see the tikvVersion rule. */
export const MIN_TIKV_VERSION = "v7.1.0";
const DEFAULT_TIKV_VERSION = "v8.5.7";
/**
 * Node.js 24, an LTS line supported until April 2028 (nodejs.org/en/about/previous-releases), on
 * the Debian release the official image's bookworm-slim variant is built from.
 */
const DEFAULT_CLIENT_GATEWAY_IMAGE = "node:24-bookworm-slim";
const DISK_TYPES = ["CLOUD_PREMIUM", "CLOUD_SSD", "CLOUD_BSSD", "CLOUD_HSSD", "CLOUD_TSSD"] as const;
export const ADMIN_PORTS = "Docker (2376), PD (2379), SSH (22) and Grafana (3000)";

function olderThan(version: string, floor: string): boolean {
  const parse = (v: string) => v.replace(/^v/, "").split(".").map(Number);
  const [a, b] = [parse(version), parse(floor)];
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

function tikvVersionProblem(version: string): string | undefined {
  // Release tags are v<major>.<minor>.<patch> without leading zeros, as PingCAP tags its images.
  if (!/^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.test(version)) {
    return (
      `must be a release tag like ${DEFAULT_TIKV_VERSION} (got "${version}"); ` +
      "`latest` and nightly tags are refused because an upgrade must be a deliberate change"
    );
  }
  if (olderThan(version, MIN_TIKV_VERSION)) {
    return (
      `${version} is older than ${MIN_TIKV_VERSION}, the first LTS release whose images ` +
      "carry GNU Wget (the health checks present client certificates; older Alpine-based images have busybox wget, " +
      "PingCAP-QE/artifacts packages/packages.yaml.tmpl) and which knows rocksdb.write-buffer-limit and PD's " +
      `server-memory-limit (both from v6.6.0); use ${DEFAULT_TIKV_VERSION}`
    );
  }
  return undefined;
}

const cidrProblem =
  (example: string) =>
  (value: string): string | undefined =>
    parseCidr(value) ? undefined : `"${value}" is not an IPv4 network in CIDR form with no host bits, e.g. ${example}`;

const pemProblem =
  (kind: string, key: string, file: string) =>
  (value: string): string | undefined =>
    value.includes("-----BEGIN ") && value.includes(kind)
      ? undefined
      : `does not look like a PEM ${kind} (-----BEGIN ...${kind}-----); set it from the file: pulumi config set --secret ${PROJECT}:${key} < ${file}.pem`;

const pemRequired = (what: string, file: string, key: string) =>
  ` in mode existing: the Docker client ${what} as PEM; set it with: pulumi config set --secret ${PROJECT}:${key} < ${file}.pem`;

/** The reference Docker accepts: [registry/]repository[:tag][@sha256:digest] (distribution/reference's grammar, lowercase paths). */
export const IMAGE_REFERENCE =
  /^(?:(?<registry>[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d{1,5})?)\/)?(?<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::(?<tag>[\w][\w.-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$/;

const imageReferenceProblem =
  (key: string, component: string) =>
  (value: string): string | undefined => {
    const m = IMAGE_REFERENCE.exec(value);
    if (!m) return `"${value}" is not an image reference like ccr.ccs.tencentyun.com/you/${component}:v8.5.7-fix1`;
    if (!m.groups?.tag && !m.groups?.digest)
      return (
        `"${value}" names no tag or digest: give one (e.g. ${value}:v8.5.7-fix1 or ${value}@sha256:…), ` +
        "so that a new build is a deliberate change the hosts roll to"
      );
    if (m.groups?.tag === "latest")
      return `"${value}" uses the tag latest: name your build (e.g. :v8.5.7-fix1) so a new build is a deliberate change; pulumi config set ${PROJECT}:${key} <reference>`;
    return undefined;
  };

const patchPathProblem =
  (key: string, binary: string) =>
  (value: string): string | undefined =>
    /[\n\0]/.test(value)
      ? `"${value}" is not a file path; give the path of your ${binary}: pulumi config set ${PROJECT}:${key} ./target/release/${binary}`
      : undefined;

/** Every key this project reads, in the order of the README table and Pulumi.yaml. */
export const CONFIG_KEYS = {
  mode: {
    type: "enum",
    modes: MODES,
    default: "cvm",
    values: MODES,
    explain:
      "cvm builds Tencent Cloud hosts, local runs the cluster on this machine's Docker engine, existing uses hosts you list in `hosts`",
    help: "`cvm` (Tencent Cloud hosts made here), `local` (this machine's Docker engine) or `existing` (hosts listed in `hosts`); see Modes in the README",
  },
  nodeCount: {
    type: "integer",
    modes: MODES,
    default: 3,
    min: 3,
    max: 20,
    meaning: "one TiKV store per host; 3 is the minimum for three Raft replicas",
    help: "3..20 hosts, one TiKV store each (mode existing: the number of `hosts`; a value other than 3 must agree with it, and 3 is taken as unset because the CLI passes it as the default)",
  },
  pdCount: {
    type: "integer",
    modes: MODES,
    default: 3,
    min: 1,
    max: 7,
    meaning: "PD runs on the first pdCount hosts",
    help: "odd, 1..7, at most `nodeCount`; PD runs on the first `pdCount` hosts; may change on a running cluster (see Scaling)",
  },
  tikvVersion: {
    type: "string",
    modes: MODES,
    default: DEFAULT_TIKV_VERSION,
    check: tikvVersionProblem,
    help: `\`vX.Y.Z\`, ${MIN_TIKV_VERSION} or newer; the same tag for \`pingcap/pd\` and \`pingcap/tikv\` (never \`latest\`); never below the deployed major.minor; below the deployed version only with \`allowDowngrade\``,
  },
  allowDowngrade: {
    type: "boolean",
    modes: MODES,
    default: false,
    help: "`true` lets `tikvVersion` go below the deployed version within its major.minor (a patch downgrade); without it any downgrade is refused. Set it for that one `pulumi up`, then remove it",
  },
  tikvImage: {
    type: "optional-string",
    modes: MODES,
    default: "",
    check: imageReferenceProblem("tikvImage", "tikv"),
    help: "your TiKV image instead of `pingcap/tikv:<tikvVersion>`: a full reference (`registry/repository:tag` or `@sha256:…`), e.g. a private registry's with `registryUsername`/`registryPassword`. `tikvVersion` stays the release your build is based on and still decides the config and the version rules. A change rolls the stores one at a time; remove it to go back to the release (see Running your own build)",
  },
  pdImage: {
    type: "optional-string",
    modes: MODES,
    default: "",
    check: imageReferenceProblem("pdImage", "pd"),
    help: "your PD image instead of `pingcap/pd:<tikvVersion>`, as `tikvImage` (PD members roll one at a time)",
  },
  tikvPatch: {
    type: "optional-string",
    modes: MODES,
    default: "",
    check: patchPathProblem("tikvPatch", "tikv-server"),
    help: "path to a `tikv-server` binary you built, a Linux ELF executable for the hosts (x86_64; mode local: this machine's architecture): each host's engine builds an image from the TiKV image with it as `/tikv-server`, named by its SHA-256, and the stores roll one at a time; an unchanged binary changes nothing; remove it to go back (see Running your own build)",
  },
  pdPatch: {
    type: "optional-string",
    modes: MODES,
    default: "",
    check: patchPathProblem("pdPatch", "pd-server"),
    help: "path to a `pd-server` binary you built, as `tikvPatch` (`/pd-server` in the PD image; PD members roll one at a time)",
  },
  registryUsername: {
    type: "optional-string",
    modes: MODES,
    default: "",
    help: "user for the registry of `tikvImage`/`pdImage` (e.g. a Tencent Container Registry account id); with `registryPassword`",
  },
  registryPassword: {
    type: "optional-string",
    modes: MODES,
    default: "",
    secret: true,
    help: "password or token for that registry, as a secret (`pulumi config set --secret`); handed to each host's engine with the pull only",
  },
  availabilityZone: {
    type: "optional-string",
    modes: ["cvm"],
    default: "",
    help: "the zone of the subnet and every host, e.g. `ap-guangzhou-3`; must belong to `tencentcloud:region`. This or `availabilityZones` is required",
  },
  availabilityZones: {
    type: "list",
    modes: ["cvm"],
    default: [],
    check: (zone) =>
      /^[a-z]+(-[a-z0-9]+)+$/.test(zone) ? undefined : `"${zone}" is not a zone name like ap-guangzhou-3`,
    help: "instead of `availabilityZone`: 3 or more zones of `tencentcloud:region` to spread the hosts over, round robin (host 1 in the first, host 2 in the second, ...), one subnet each: the first zone's is `subnetCidr`, the next ones the blocks of the same size after it. Refused: 2 zones, more zones than hosts, or zones where one would hold a majority of the PD members. Fixed once hosts run in them (see Placement)",
  },
  placementGroupType: {
    type: "enum",
    modes: ["cvm"],
    default: "HOST",
    values: ["HOST", "RACK", "none"],
    explain: "HOST puts each CVM on its own physical machine, RACK on its own rack, none uses no placement group",
    help: "the spread placement group (disaster recover group) every CVM joins: `HOST` (each on its own physical machine), `RACK` (its own rack) or `none`. Fixed once CVMs are in it (see Placement)",
  },
  instanceType: {
    type: "string",
    modes: ["cvm"],
    default: "S5.MEDIUM4",
    check: (v) => (v === "" ? "must not be empty; e.g. S5.MEDIUM4" : undefined),
    help: "any CVM instance type; S5.MEDIUM4 is 2 vCPU / 4 GB",
  },
  imageId: {
    type: "optional-string",
    modes: ["cvm"],
    default: "",
    check: (v) =>
      /^img-[a-z0-9]{8}$/.test(v)
        ? undefined
        : `"${v}" is not a CVM image id (img- and 8 letters or digits); ` +
          `remove it to use the newest public Ubuntu 22.04: pulumi config rm ${PROJECT}:imageId`,
    help: 'an `img-xxxxxxxx` id; empty: the newest public "Ubuntu Server 22.04 LTS 64bit" image',
  },
  systemDiskType: {
    type: "enum",
    modes: ["cvm"],
    default: "CLOUD_PREMIUM",
    values: DISK_TYPES,
    help: `the system disk's type: ${DISK_TYPES.join(", ")}`,
  },
  systemDiskSize: {
    type: "integer",
    modes: ["cvm"],
    default: 20,
    min: 20,
    max: 1024,
    meaning: "GB of each host's system disk, which holds only the OS: data lives on the data disk",
    help: "20..1024 GB; the OS only: Docker's data lives on the data disk",
  },
  dataDiskSize: {
    type: "integer",
    modes: CLOUD,
    default: 50,
    min: 20,
    max: 32000,
    meaning: "GB of the disk PD and TiKV data live on: cvm, each host's CBS data disk; existing, your hosts' disk",
    help: "20..32000 GB; each host's CBS data disk, Docker's data root (cvm); existing: your hosts' data disk, for TiKV's reserve-space. Grows in place; never shrinks",
  },
  dataDiskType: {
    type: "enum",
    modes: ["cvm"],
    default: "CLOUD_PREMIUM",
    values: DISK_TYPES,
    help: `the data disk's type: ${DISK_TYPES.join(", ")}`,
  },
  dataDiskEncrypt: {
    type: "boolean",
    modes: ["cvm"],
    default: false,
    help: "CBS encryption with the default key; only for new disks (a disk's encryption is fixed)",
  },
  retainDataDisks: {
    type: "boolean",
    modes: ["cvm"],
    default: true,
    help: "`pulumi destroy`, or a host removed by a smaller `nodeCount`, leaves the disk (and its data, and its bill) in the cloud; `false` deletes it",
  },
  dataDiskIds: {
    type: "list",
    modes: ["cvm"],
    default: [],
    // Tencent Cloud's CBS disk ids: "disk-" and 8 lowercase letters or digits (DescribeDisks).
    check: (id) => (/^disk-[a-z0-9]{8}$/.test(id) ? undefined : `"${id}" is not a CBS disk id like disk-1a2b3c4d`),
    help: "retained data disks to adopt, host 1 first (after `pulumi destroy`: the stack's new CVMs come up on the old data); only for a stack with nothing deployed; remove it after that `pulumi up`",
  },
  dataDiskSnapshotRetentionDays: {
    type: "integer",
    modes: ["cvm"],
    default: 0,
    min: 0,
    max: 365,
    meaning: "days each daily data-disk snapshot is kept; 0 takes no snapshots",
    help: "1..365: a daily snapshot policy on every data disk, each snapshot kept this many days; 0: none",
  },
  dataDiskSnapshotHour: {
    type: "integer",
    modes: ["cvm"],
    default: 3,
    min: 0,
    max: 23,
    meaning: "hour of the daily snapshot",
    help: "0..23, the hour of the daily snapshot (with snapshots on)",
  },
  hostMemoryGiB: {
    type: "integer",
    modes: MODES,
    default: 4,
    min: 4,
    max: 512,
    meaning: "each host's memory (local: this machine's, shared by every container), used to size PD and TiKV",
    help: "4..512; each host's memory (local: the machine's), from which PD/TiKV limits are derived",
  },
  vpcCidr: {
    type: "string",
    modes: ["cvm"],
    default: "10.0.0.0/16",
    check: cidrProblem("10.0.0.0/16"),
    help: "the VPC: an IPv4 CIDR, plain decimal (no zero-padded octets), no host bits",
  },
  subnetCidr: {
    type: "string",
    modes: ["cvm"],
    default: "10.0.1.0/24",
    check: cidrProblem("10.0.1.0/24"),
    help: "inside `vpcCidr`, large enough for offsets 11..10+`nodeCount` (/27 fits 20 hosts); host i gets offset 10+i",
  },
  operatorCidrs: {
    type: "list",
    modes: ["cvm"],
    default: [],
    required:
      `: the networks allowed to reach ${ADMIN_PORTS}; set your own address with: ` +
      `pulumi config set --path '${PROJECT}:operatorCidrs[0]' "$(curl -4 -s https://ifconfig.me)/32"`,
    help:
      "list of IPv4 CIDRs that may reach 2376, 2379, 22 (with `sshPublicKey`) and 3000 (with `grafanaPublic`). Refused, naming the entry and why: " +
      "an entry wider than a /8; entries that together cover more than a /8 (e.g. `0.0.0.0/1` + `128.0.0.0/1`); overlap with `vpcCidr`; " +
      'overlap with "this network" 0/8, loopback 127/8, link-local 169.254/16, the documentation ranges 192.0.2/24, 198.51.100/24 and 203.0.113/24 ' +
      "(RFC 5737: the placeholder `203.0.113.10/32` in `Pulumi.dev.yaml` and `Pulumi.prod.yaml` is refused until you put your own address there), " +
      "multicast 224/4 or reserved 240/4; the same network listed twice; non-canonical spellings (host bits, leading zeros, spaces: write `5.6.7.0/24`, not `5.6.7.8/24`)",
  },
  sshPublicKey: {
    type: "optional-string",
    modes: ["cvm"],
    default: "",
    check: (v) =>
      /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/.test(v)
        ? undefined
        : "must be one OpenSSH public key line (ssh-ed25519 AAAA... comment), " +
          `e.g. pulumi config set ${PROJECT}:sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)"`,
    help: "an OpenSSH public key line; creates a key pair and opens SSH to `operatorCidrs`",
  },
  bandwidthMbps: {
    type: "integer",
    modes: ["cvm"],
    default: 10,
    min: 1,
    max: 200,
    meaning: "EIP outbound Mbps",
    help: "1..200, EIP outbound bandwidth (billed by traffic)",
  },
  registryMirrors: {
    type: "list",
    modes: ["cvm"],
    default: ["https://mirror.ccs.tencentyun.com"],
    check: (m) =>
      /^https?:\/\/[^\s/]+\/?$/.test(m)
        ? undefined
        : `"${m}" is not a registry URL like https://mirror.ccs.tencentyun.com`,
    help: "Docker registry mirrors (Docker Hub is slow or blocked from mainland regions)",
  },
  readinessTimeoutMinutes: {
    type: "integer",
    modes: CLOUD,
    default: 15,
    min: 1,
    max: 120,
    meaning: "how long to wait for a host's Docker API",
    help: "1..120, how long to wait for a new host's Docker API to answer over mutual TLS",
  },
  tencentcloudRoute: {
    type: "enum",
    modes: ["cvm"],
    default: "terraform",
    values: ["terraform", "bridged"],
    explain: "terraform is Pulumi's Any Terraform Provider (the default), bridged the tencentcloud 0.2.3 plugin",
    help: "`terraform` or `bridged`: how the Tencent Cloud provider is obtained (see the two routes in the README)",
  },
  protect: {
    type: "boolean",
    modes: MODES,
    default: false,
    help: "Pulumi `protect` on CVMs, EIPs, data disks and data volumes, and termination protection on the CVMs (see Environments)",
  },
  rolloutTimeoutMinutes: {
    type: "integer",
    modes: MODES,
    default: 10,
    min: 1,
    max: 60,
    meaning: "bound on each rolling-restart wait: leader eviction, health after a restart",
    help: "1..60, bound on each rolling-restart wait (leader eviction, health after a restart)",
  },
  clusterTls: {
    type: "boolean",
    modes: MODES,
    default: true,
    help: "mutual TLS between PD, TiKV, pd-ctl, the rollout gates and Prometheus, from the cluster CA. `false` is refused in mode cvm (PD's client port is open to `operatorCidrs`); in modes local and existing it means plain HTTP",
  },
  monitoring: {
    type: "boolean",
    modes: MODES,
    default: true,
    help: "Prometheus and Grafana (with a TiKV dashboard) on host 1",
  },
  grafanaPublic: {
    type: "boolean",
    modes: CLOUD,
    default: false,
    help: "Grafana serves HTTPS on 3000 of host 1 (cvm: opened to `operatorCidrs`), with a certificate from the cluster CA; off: loopback only. Needs `monitoring` and `clusterTls`",
  },
  alertWebhookUrl: {
    type: "optional-string",
    modes: MODES,
    default: "",
    secret: true,
    check: webhookUrlProblem,
    help: "an http(s) URL that receives every firing and resolved alert as JSON (Alertmanager's webhook, message version 4), e.g. your chat or paging bridge; as a secret (`pulumi config set --secret`: such URLs often carry a token). Runs Alertmanager on host 1 beside Prometheus, on loopback. Needs `monitoring`",
  },
  clients: {
    // Names go into certificate subjects, file paths and output keys: lower-case words only.
    type: "list",
    modes: MODES,
    default: [],
    check: (name) =>
      /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/.test(name)
        ? undefined
        : `"${name}" is not a client name: 2..32 lower-case letters, digits and hyphens, starting with a letter, e.g. bench-1`,
    help: "application clients, by name: each gets a certificate and key from the cluster CA that TiKV and the PD client gateways admit (common name `tikv-cvm-client`, the name in the subject's OU), exported in `clientCerts`/`clientKeys` and written by `certSetup`; `clientCommands` runs a client image inside the cluster's network with them. The first client brings a gateway beside each PD member (see `clientGatewayImage`). Adding or removing one restarts no member. Needs `clusterTls`",
  },
  clientGatewayImage: {
    type: "string",
    modes: MODES,
    default: DEFAULT_CLIENT_GATEWAY_IMAGE,
    check: (value) => {
      const m = IMAGE_REFERENCE.exec(value);
      if (!m) return `"${value}" is not an image reference like node:24-bookworm-slim`;
      if ((!m.groups?.tag && !m.groups?.digest) || m.groups?.tag === "latest")
        return `"${value}" names no version: give a Node.js tag or digest, e.g. pulumi config set ${PROJECT}:clientGatewayImage node:24-bookworm-slim`;
      return undefined;
    },
    help: "the Node.js image (20 or newer, running as root, with `node` on its PATH) the gateway beside each PD member runs in: with `clients`, TiKV clients reach PD only through these gateways (port 2389, inside the cluster's network), which admit only client certificates and forward only a TiKV client's calls. Pulled by each PD host, as the PD and TiKV images are; a mirror's copy works. A change replaces the gateways, restarting no member",
  },
  caGeneration: {
    type: "integer",
    modes: MODES,
    default: 1,
    min: 1,
    max: 99,
    meaning: "the CA generation that issues certificates",
    help: "1..99, the CA generation that issues every certificate; raised by one during a CA rotation (see Rotating the CA)",
  },
  caRotation: {
    type: "enum",
    modes: MODES,
    default: "",
    values: CA_ROTATIONS,
    explain: 'see "Rotating the CA" in the README',
    help: "where a rotation of both CAs stands: empty, `trust-next` (the next CA is trusted, not yet issuing) or `trust-previous` (the new CA issues, the previous one is still trusted)",
  },
  nofileLimit: {
    // 1,048,576 is Linux's default fs.nr_open: no process may raise its limit above it. The default is
    // what PingCAP's own deployments set, above what TiKV checks for (clusterConfig tikvRequiredOpenFiles).
    type: "integer",
    modes: MODES,
    default: 1_000_000,
    min: 1024,
    max: 1_048_576,
    meaning: "nofile ulimit of the PD and TiKV containers; below TiKV's start-up check only for test hosts",
    help: "1024..1048576, nofile ulimit (soft and hard) of the PD and TiKV containers. TiKV v8.5 exits at start-up below 123880 (1000 + 2 × 40960 for RocksDB with Titan, on for every new cluster, + 40960 for raftdb: its own check in components/server/src/common.rs; 82920 without Titan); a lower value is accepted only for test hosts that cannot grant more, with a warning at every preview",
  },
  hosts: {
    type: "hosts",
    modes: ["existing"],
    default: [],
    required: ` in mode existing: a list like [{name: db1, dockerHost: "tcp://192.0.2.11:2376", privateIp: 10.0.0.11}, ...] in Pulumi.<stack>.yaml`,
    help: "3..20 servers you run, each `{name, dockerHost: tcp://<address>:<port>, privateIp}`, optionally with `zone` (every host or none; see Modes and Placement)",
  },
  dockerCaPem: {
    type: "optional-string",
    modes: ["existing"],
    default: "",
    secret: true,
    check: pemProblem("CERTIFICATE", "dockerCaPem", "ca"),
    required: pemRequired("CA certificate", "ca", "dockerCaPem"),
    help: "the CA certificate (PEM) that signed your hosts' Docker server certificates, as a secret",
  },
  dockerCertPem: {
    type: "optional-string",
    modes: ["existing"],
    default: "",
    secret: true,
    check: pemProblem("CERTIFICATE", "dockerCertPem", "cert"),
    required: pemRequired("certificate", "cert", "dockerCertPem"),
    help: "your Docker client certificate (PEM), as a secret",
  },
  dockerKeyPem: {
    type: "optional-string",
    modes: ["existing"],
    default: "",
    secret: true,
    check: pemProblem("PRIVATE KEY", "dockerKeyPem", "key"),
    required: pemRequired("private key", "key", "dockerKeyPem"),
    help: "your Docker client key (PEM), as a secret",
  },
} as const satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_KEYS;
type Specs = typeof CONFIG_KEYS;

/** The type a key's value has once read. */
export type ValueOf<S extends KeySpec> = S extends IntegerKey
  ? number
  : S extends BooleanKey
    ? boolean
    : S extends EnumKey<infer T>
      ? T
      : S extends StringKey
        ? string
        : S extends OptionalStringKey
          ? S extends { readonly required: string }
            ? string
            : string | undefined
          : S extends ListKey
            ? readonly string[]
            : readonly ExistingHost[];

export type ConfigValues = { readonly [K in ConfigKey]: ValueOf<Specs[K]> };

export const CONFIG_KEY_NAMES = Object.keys(CONFIG_KEYS) as ConfigKey[];

export function isConfigKey(key: string): key is ConfigKey {
  return Object.prototype.hasOwnProperty.call(CONFIG_KEYS, key);
}

export function specOf(key: ConfigKey): KeySpec {
  return CONFIG_KEYS[key];
}

/** The default value as Pulumi.yaml declares it (YAML), and as DEFAULTS exports it. */
export type DeclaredDefault = KeySpec["default"];

/**
 * The text the CLI hands the program for a key the stack does not set: Pulumi.yaml's default,
 * scalars as `fmt.Sprintf("%v")`, lists as JSON (sdk/go/common/workspace/config.go, createConfigValue).
 */
export function declaredDefaultText(key: ConfigKey): string {
  const value: DeclaredDefault = specOf(key).default;
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** What the README's default column says. */
export function readmeDefault(key: ConfigKey): string {
  const spec = specOf(key);
  if ("required" in spec && spec.required !== undefined) return "required";
  if (spec.default === "") return "empty";
  return `\`${typeof spec.default === "object" ? JSON.stringify(spec.default) : String(spec.default)}\``;
}

/** What the README's modes column says. */
export function readmeModes(key: ConfigKey): string {
  const { modes } = specOf(key);
  return modes.length === MODES.length ? "all" : modes.join(", ");
}

/** One value read against its key's rule: the value, or every reason it is refused. */
type Parsed =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problems: readonly string[] };

const refuse = (...problems: string[]): Parsed => ({ ok: false, problems });

function parseJsonList(text: string): unknown[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The stack's config read key by key: every value typed, and the keys refused with why. */
export interface Reading {
  /** A refused key, or one its mode does not read, holds its fallback (the default; unset if optional). */
  readonly values: ConfigValues;
  readonly refused: ReadonlyMap<ConfigKey, readonly string[]>;
}

/**
 * Reads each key its mode reads (`reads`) from the texts Pulumi stores (undefined when absent) by its
 * own rule. Rules between keys (pdCount at most nodeCount, the subnet inside the VPC, ...) are lib/settings.ts's.
 */
export function readKeys(
  texts: Readonly<Record<string, string | undefined>>,
  reads: (key: ConfigKey) => boolean,
): Reading {
  const values: Record<string, unknown> = {};
  const refused = new Map<ConfigKey, readonly string[]>();
  for (const key of CONFIG_KEY_NAMES) {
    const spec = specOf(key);
    const fallback = spec.type === "optional-string" && spec.required === undefined ? undefined : spec.default;
    const parsed: Parsed = reads(key) ? parseSpec(key, spec, texts[key]) : { ok: true, value: fallback };
    values[key] = parsed.ok ? parsed.value : fallback;
    if (!parsed.ok) refused.set(key, parsed.problems);
  }
  // The one cast: each value was read by its own key's spec, whose `type` ValueOf maps to this type.
  return { values: values as ConfigValues, refused };
}

function parseSpec(key: string, spec: KeySpec, text: string | undefined): Parsed {
  const fix = (value: string | number | boolean) => `fix with: pulumi config set ${PROJECT}:${key} ${value}`;
  switch (spec.type) {
    case "integer": {
      if (text === undefined) return { ok: true, value: spec.default };
      const n = Number(text);
      if (!/^-?\d+$/.test(text.trim()) || n < spec.min || n > spec.max) {
        return refuse(
          `must be a whole number from ${spec.min} to ${spec.max} (${spec.meaning}); got "${text}"; ${fix(spec.default)}`,
        );
      }
      return { ok: true, value: n };
    }
    case "boolean":
      if (text === undefined) return { ok: true, value: spec.default };
      if (text === "true" || text === "false") return { ok: true, value: text === "true" };
      return refuse(`must be true or false; got "${text}"; ${fix(spec.default)}`);
    case "enum": {
      const value = text?.trim() ?? spec.default;
      if (spec.values.includes(value)) return { ok: true, value };
      const choices = spec.values.map((v) => (v === "" ? "empty" : v)).join(", ");
      return refuse(`must be one of ${choices} (got "${value}")${spec.explain ? `: ${spec.explain}` : ""}`);
    }
    case "string": {
      const value = text?.trim() ?? spec.default;
      const problem = spec.check?.(value);
      return problem === undefined ? { ok: true, value } : refuse(problem);
    }
    case "optional-string": {
      const value = text?.trim() || undefined;
      if (value === undefined) return spec.required ? refuse(`is required${spec.required}`) : { ok: true, value };
      const problem = spec.check?.(value);
      return problem === undefined ? { ok: true, value } : refuse(problem);
    }
    case "list": {
      if (text === undefined && !spec.required) return { ok: true, value: spec.default };
      const list = parseJsonList(text ?? "[]");
      if (list === undefined || !list.every((x): x is string => typeof x === "string")) {
        return refuse(
          "must be a list of strings; in Pulumi.<stack>.yaml write it as a YAML list, or run: " +
            `pulumi config set --path '${PROJECT}:${key}[0]' <value>`,
        );
      }
      if (list.length === 0 && spec.required) return refuse(`is required${spec.required}`);
      const problems = list.map((item) => spec.check?.(item)).filter((p): p is string => p !== undefined);
      return problems.length === 0 ? { ok: true, value: list } : refuse(...problems);
    }
    case "hosts":
      return parseHosts(key, spec, text);
  }
}

/** `hosts` of mode existing: [{name, dockerHost: "tcp://<address>:<port>", privateIp}], 3..20 of them. */
function parseHosts(key: string, spec: HostsKey, text: string | undefined): Parsed {
  const list = parseJsonList(text ?? "[]");
  if (list === undefined)
    return refuse(
      `must be a list of {name, dockerHost, privateIp} entries (got ${JSON.stringify(text)})${spec.required.replace(/^ in mode existing:/, "; write it as")}`,
    );
  if (list.length === 0) return refuse(`is required${spec.required}`);
  if (list.length < 3 || list.length > 20)
    return refuse(`must list 3 to 20 hosts (one TiKV store each); got ${list.length}`);
  const problems: string[] = [];
  const hosts = list.map((entry: unknown, i): ExistingHost => {
    const field = (name: string): string => {
      const value: unknown =
        typeof entry === "object" && entry !== null ? Object.getOwnPropertyDescriptor(entry, name)?.value : undefined;
      return typeof value === "string" ? value : "";
    };
    const zone = field("zone");
    const host = {
      name: field("name"),
      dockerHost: field("dockerHost"),
      privateIp: field("privateIp"),
      ...(zone === "" ? {} : { zone }),
    };
    const where = `${key}[${i}]`;
    const fields = ["name", "dockerHost", "privateIp", "zone"];
    const unknown =
      typeof entry === "object" && entry !== null ? Object.keys(entry).filter((k) => !fields.includes(k)) : [];
    if (unknown.length > 0)
      problems.push(
        `${where} has ${unknown.map((k) => `"${k}"`).join(", ")}, which is not a field of a host (name, dockerHost, privateIp, zone)`,
      );
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(host.name))
      problems.push(
        `${where}.name "${host.name}" must be a hostname-like label: lowercase letters, digits and "-", e.g. db1`,
      );
    const port = /^tcp:\/\/[A-Za-z0-9.-]+:(\d{1,5})$/.exec(host.dockerHost)?.[1];
    if (port === undefined || Number(port) < 1 || Number(port) > 65535)
      problems.push(
        `${where}.dockerHost "${host.dockerHost}" must look like tcp://192.0.2.11:2376 (a port from 1 to 65535)`,
      );
    if (!parseCidr(`${host.privateIp}/32`))
      problems.push(`${where}.privateIp "${host.privateIp}" must be an IPv4 address`);
    // PD and TiKV advertise this address to each other: a loopback or unspecified one reaches no other host.
    else if (/^(127\.|0\.)/.test(host.privateIp))
      problems.push(
        `${where}.privateIp "${host.privateIp}" is not reachable from the other hosts; give the address they reach this host on`,
      );
    // It becomes the store's zone label: PD's label value format (tikv/pd v8.5.7
    // pkg/schedule/config/util.go valueFormat), non-empty.
    if (zone !== "" && !/^[-A-Za-z0-9_./]+$/.test(zone))
      problems.push(`${where}.zone "${zone}" may hold only letters, digits, "-", "_", "." and "/" (a PD label value)`);
    return host;
  });
  const zoned = hosts.filter((h) => h.zone !== undefined).length;
  if (zoned > 0 && zoned < hosts.length)
    problems.push(
      `gives a zone to ${zoned} of ${hosts.length} hosts: give every host its zone, or none (PD places replicas by ` +
        "the zone label of every store; a store without one would count as a zone of its own)",
    );
  for (const field of ["name", "dockerHost", "privateIp"] as const) {
    const values = hosts.map((h) => h[field]);
    const dup = values.find((v, i) => values.indexOf(v) !== i);
    if (dup) problems.push(`${field} "${dup}" appears twice; every host needs its own`);
  }
  return problems.length === 0 ? { ok: true, value: hosts } : refuse(...problems);
}
