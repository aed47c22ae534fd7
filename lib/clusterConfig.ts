// PD and TiKV command lines and config files, rendered as data (TOML through smol-toml). Pure.
import { stringify } from "smol-toml";
import { MemoryBudget, reserveSpaceGB } from "./memoryBudget";
import type { StoreLabels } from "./placement";
import { ClusterPlan, HostPlan, PORTS } from "./topology";

/** Where the rendered config files are uploaded inside the containers. */
export const PD_CONFIG_PATH = "/etc/pd/pd.toml";
export const TIKV_CONFIG_PATH = "/etc/tikv/tikv.toml";
/** Both data volumes are mounted here, as the recipe does. */
export const DATA_DIR = "/data";
/** Component certificates inside PD and TiKV containers when clusterTls is on. */
export const TLS_DIR = "/etc/tikv-cvm-tls";
export const TLS_FILES = { ca: `${TLS_DIR}/ca.pem`, cert: `${TLS_DIR}/cert.pem`, key: `${TLS_DIR}/key.pem` } as const;

/**
 * Common names of the cluster CA's certificates. PD and TiKV admit exactly the names that need in
 * (`[security] cert-allowed-cn`): every member the others (member), Prometheus its scrapes, PD the
 * cluster admin (rollout gates, pd-ctl). Fixed names, not host names, so adding a host changes no
 * member's configuration. PD checks client certificates on 2379 only when two or more names are
 * listed (tikv/pd server/config/config.go, GenEmbedEtcdConfig), which both lists are.
 */
export const CLUSTER_CN = {
  member: "tikv-cvm-member",
  prometheus: "tikv-cvm-prometheus",
  admin: "tikv-cvm-admin",
  /** Grafana's server certificate; admitted nowhere. */
  grafana: "tikv-cvm-grafana",
  /**
   * Every application client (config `clients`) shares this one name; the client's own name is in
   * the subject's organizational unit. TiKV's cert-allowed-cn is a set of Common Names, compared
   * with the peer certificate's CN alone (tikv/tikv v8.5 components/security/src/lib.rs,
   * `check_common_name`), and PD's client gateways admit this one name (lib/pdGateway.ts; PD
   * itself does not: PD_ALLOWED_CN): so one fixed name is the only way a client can come or go
   * without a new store config, i.e. without restarting every store. The cost: neither TiKV nor the
   * gateways can tell clients apart or refuse one, so a client removed from `clients` stays
   * admitted until its certificate expires or the CA rotates (docs/security.md).
   */
  client: "tikv-cvm-client",
} as const;
/**
 * Not the client name: clients reach PD through the gateway beside each member (lib/pdGateway.ts),
 * which presents the member certificate, because PD admits a name on its whole client port, HTTP
 * API included, and cannot limit one to the calls a TiKV client makes (docs/security.md).
 */
export const PD_ALLOWED_CN: readonly string[] = [CLUSTER_CN.member, CLUSTER_CN.prometheus, CLUSTER_CN.admin];
/** Listed whether or not any client exists yet, so the first client restarts no store either. */
export const TIKV_ALLOWED_CN: readonly string[] = [CLUSTER_CN.member, CLUSTER_CN.prometheus, CLUSTER_CN.client];

/**
 * pd-server flags (tikv/pd server/config); logs go to stderr so Docker rotates them. The start
 * script (lib/pdStart.ts) adds --initial-cluster or --join when the data volume is empty.
 */
export function pdArgs(host: HostPlan, plan: ClusterPlan): string[] {
  if (!host.pdName) throw new Error(`${host.name} runs no PD member`);
  const s = plan.scheme;
  return [
    `--name=${host.pdName}`,
    `--data-dir=${DATA_DIR}`,
    `--client-urls=${s}://0.0.0.0:${PORTS.pdClient}`,
    `--advertise-client-urls=${s}://${host.pdHost}:${PORTS.pdClient}`,
    `--peer-urls=${s}://0.0.0.0:${PORTS.pdPeer}`,
    `--advertise-peer-urls=${s}://${host.pdHost}:${PORTS.pdPeer}`,
    `--config=${PD_CONFIG_PATH}`,
  ];
}

/** How many PD members TiKV is told about at start. */
const PD_SEEDS = 3;

/**
 * The PD client addresses TiKV starts from: the first three members of the cluster's initial
 * cluster (`name=scheme://host:2380,…`, lib/lastDeployment.ts pdInitialCluster), fixed for the
 * cluster's life, so a pdCount change never changes a store's flags. Seeds that are gone are
 * skipped: TiKV ignores a PD endpoint that does not answer as long as one does (tikv/tikv
 * components/pd_client/src/util.rs validate_endpoints, "Ignore failed PD node") and learns the
 * current members from PD. Without an initial cluster: the plan's first three members.
 */
export function pdSeeds(plan: ClusterPlan, initialCluster?: string): string[] {
  const fromInitial = (initialCluster ?? "")
    .split(",")
    .filter((entry) => entry.includes("="))
    .map((entry) => {
      const url = new URL(entry.slice(entry.indexOf("=") + 1));
      return `${url.hostname}:${PORTS.pdClient}`;
    });
  return (fromInitial.length > 0 ? fromInitial : [...plan.pdEndpoints]).slice(0, PD_SEEDS);
}

/** tikv-server flags; the status address defaults to 127.0.0.1, which nothing outside could reach. */
export function tikvArgs(host: HostPlan, plan: ClusterPlan, initialCluster?: string): string[] {
  return [
    `--addr=0.0.0.0:${PORTS.tikv}`,
    `--advertise-addr=${host.tikvHost}:${PORTS.tikv}`,
    `--status-addr=0.0.0.0:${PORTS.tikvStatus}`,
    `--advertise-status-addr=${host.tikvHost}:${PORTS.tikvStatus}`,
    `--data-dir=${DATA_DIR}`,
    // tikv-server has no TLS flags: with clusterTls, [security] in the config file makes these TLS.
    // Only where TiKV first looks for PD (it learns the members from PD and retries forever:
    // tikv/tikv components/pd_client/src/config.rs, retry_max_count isize::MAX): pdSeeds, so
    // changing pdCount restarts no store.
    `--pd=${pdSeeds(plan, initialCluster).join(",")}`,
    `--config=${TIKV_CONFIG_PATH}`,
  ];
}

export function pdConfigToml(maxReplicas: number, tls: boolean, budget: MemoryBudget): string {
  return stringify({
    "pd-server": {
      // The embedded dashboard costs hundreds of MB, too much on a 4 GB host.
      "dashboard-address": "none",
      // Without it PD's Go heap ignores its container's limit (default 0: tikv/pd server/config/config.go).
      "server-memory-limit": budget.pdServerMemoryLimit,
    },
    replication: { "max-replicas": maxReplicas },
    // PD names its CA key cacert-path; TiKV names it ca-path.
    ...(tls
      ? {
          security: {
            "cacert-path": TLS_FILES.ca,
            "cert-path": TLS_FILES.cert,
            "key-path": TLS_FILES.key,
            "cert-allowed-cn": [...PD_ALLOWED_CN],
          },
        }
      : {}),
  });
}

/**
 * `capacityGB`: the store's `raftstore.capacity` where it shares its disk with monitoring
 * (lib/memoryBudget.ts tikvCapacityGB); undefined leaves TiKV's default, the whole disk.
 */
export function tikvConfigToml(
  budget: MemoryBudget,
  diskGB: number,
  tls: boolean,
  capacityGB?: number,
  labels?: StoreLabels,
): string {
  return stringify({
    "memory-usage-limit": `${budget.tikvMemoryUsageLimitMiB}MB`,
    // The store's location labels from its first heartbeat on (tikv/tikv src/server/config.rs
    // Config.labels, sent in PutStore), so a new store is placed by zone before the deployment's
    // placement step labels it through PD's API too (lib/placement.ts); both come from the same plan.
    ...(labels === undefined ? {} : { server: { labels: { zone: labels.zone, host: labels.host } } }),
    ...(capacityGB === undefined ? {} : { raftstore: { capacity: `${capacityGB}GB` } }),
    // Without it memtables are bounded only per CF (about 1.4 GiB in all by default).
    rocksdb: { "write-buffer-limit": `${budget.tikvWriteBufferLimitMiB}MB` },
    storage: {
      "reserve-space": `${reserveSpaceGB(diskGB)}GB`,
      "block-cache": { capacity: `${budget.tikvBlockCacheMiB}MB` },
    },
    "raft-engine": { "memory-limit": `${budget.tikvRaftEngineMiB}MB` },
    ...(tls
      ? {
          security: {
            "ca-path": TLS_FILES.ca,
            "cert-path": TLS_FILES.cert,
            "key-path": TLS_FILES.key,
            "cert-allowed-cn": [...TIKV_ALLOWED_CN],
          },
        }
      : {}),
  });
}

/**
 * The container health check: an HTTP(S) GET with the images' own wget. It needs GNU Wget for
 * --certificate: pingcap/pd and pingcap/tikv images get it from PingCAP-QE/artifacts
 * dockerfiles/bases/{pd,tikv}-base/Dockerfile (Rocky Linux, dnf install wget); tags before
 * v6.5.12 were built on the release-6.5 Alpine bases, whose busybox wget has no client
 * certificates (packages/packages.yaml.tmpl). lib/settings.ts refuses tags before v7.1.0.
 * With TLS the component's own certificate is the client.
 */
export function healthcheckCommand(url: string, tls: boolean): string[] {
  const tlsArgs = tls
    ? [`--ca-certificate=${TLS_FILES.ca}`, `--certificate=${TLS_FILES.cert}`, `--private-key=${TLS_FILES.key}`]
    : [];
  return ["CMD", "wget", "-q", "-O", "/dev/null", ...tlsArgs, url];
}

/**
 * Files TiKV must be allowed to open, or it exits at start (tikv/tikv v8.5.7
 * components/server/src/common.rs check_system_config): 1000 reserved, plus rocksdb and raftdb
 * max-open-files (40,960 each, src/config/mod.rs), rocksdb's counted twice when Titan is on,
 * which v8.5 does for every new cluster (optional_default_cfg_adjust_with). 123,880 with Titan.
 */
export function tikvRequiredOpenFiles(titan: boolean): number {
  const rocksdb = 40_960;
  const raftdb = 40_960;
  return 1_000 + rocksdb * (titan ? 2 : 1) + raftdb;
}

/**
 * The operator's warning for a nofile limit (tikv-cvm:nofileLimit) below what TiKV checks for:
 * accepted, for hosts that cannot grant more (test sandboxes, the e2e test), but a real
 * tikv-server exits at start with it. Undefined when the limit is enough.
 */
export function openFilesWarning(nofileLimit: number): string | undefined {
  const required = tikvRequiredOpenFiles(true);
  if (nofileLimit >= required) return undefined;
  return (
    `tikv-cvm:nofileLimit is ${nofileLimit}, below the ${required} open files TiKV v8.5 checks for at start-up: ` +
    'a real tikv-server exits at once ("the maximum number of open file descriptors is too small"). Only test ' +
    "stand-ins run with it; remove it for a real cluster: pulumi config rm tikv-cvm:nofileLimit"
  );
}
