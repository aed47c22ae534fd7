// PD and TiKV command lines and config files, rendered as data (TOML through smol-toml). Pure.
import { stringify } from "smol-toml";
import { MemoryBudget, reserveSpaceGB } from "./memoryBudget";
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
} as const;
export const PD_ALLOWED_CN: readonly string[] = [CLUSTER_CN.member, CLUSTER_CN.prometheus, CLUSTER_CN.admin];
export const TIKV_ALLOWED_CN: readonly string[] = [CLUSTER_CN.member, CLUSTER_CN.prometheus];

/** pd-server flags (tikv/pd server/config); logs go to stderr so Docker rotates them. */
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
    // Read only when bootstrapping an empty data dir; harmless on restarts.
    `--initial-cluster=${plan.initialCluster}`,
    `--config=${PD_CONFIG_PATH}`,
  ];
}

/** tikv-server flags; the status address defaults to 127.0.0.1, which nothing outside could reach. */
export function tikvArgs(host: HostPlan, plan: ClusterPlan): string[] {
  return [
    `--addr=0.0.0.0:${PORTS.tikv}`,
    `--advertise-addr=${host.tikvHost}:${PORTS.tikv}`,
    `--status-addr=0.0.0.0:${PORTS.tikvStatus}`,
    `--advertise-status-addr=${host.tikvHost}:${PORTS.tikvStatus}`,
    `--data-dir=${DATA_DIR}`,
    // tikv-server has no TLS flags: with clusterTls, [security] in the config file makes these TLS.
    `--pd=${plan.pdEndpoints.join(",")}`,
    `--config=${TIKV_CONFIG_PATH}`,
  ];
}

export function pdConfigToml(maxReplicas: number, tls: boolean): string {
  return stringify({
    "pd-server": {
      // The embedded dashboard costs hundreds of MB, too much on a 4 GB host.
      "dashboard-address": "none",
    },
    replication: { "max-replicas": maxReplicas },
    // PD names its CA key cacert-path; TiKV names it ca-path.
    ...(tls ? { security: { "cacert-path": TLS_FILES.ca, "cert-path": TLS_FILES.cert, "key-path": TLS_FILES.key, "cert-allowed-cn": [...PD_ALLOWED_CN] } } : {}),
  });
}

export function tikvConfigToml(budget: MemoryBudget, diskGB: number, tls: boolean): string {
  return stringify({
    "memory-usage-limit": `${budget.tikvMemoryUsageLimitMiB}MB`,
    storage: {
      "reserve-space": `${reserveSpaceGB(diskGB)}GB`,
      "block-cache": { capacity: `${budget.tikvBlockCacheMiB}MB` },
    },
    "raft-engine": { "memory-limit": `${budget.tikvRaftEngineMiB}MB` },
    ...(tls ? { security: { "ca-path": TLS_FILES.ca, "cert-path": TLS_FILES.cert, "key-path": TLS_FILES.key, "cert-allowed-cn": [...TIKV_ALLOWED_CN] } } : {}),
  });
}

/**
 * The container health check: an HTTP(S) GET with the images' own wget (PingCAP-QE/artifacts
 * pd-base and tikv-base install GNU wget). With TLS the component's own certificate is the client.
 */
export function healthcheckCommand(url: string, tls: boolean): string[] {
  const tlsArgs = tls ? [`--ca-certificate=${TLS_FILES.ca}`, `--certificate=${TLS_FILES.cert}`, `--private-key=${TLS_FILES.key}`] : [];
  return ["CMD", "wget", "-q", "-O", "/dev/null", ...tlsArgs, url];
}
