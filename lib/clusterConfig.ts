// PD and TiKV command lines and config files, rendered as data (TOML through smol-toml). Pure.
import { stringify } from "smol-toml";
import { MemoryBudget, reserveSpaceGB } from "./memoryBudget";
import { ClusterPlan, HostPlan, PORTS, pdClientUrl, pdPeerUrl } from "./topology";

/** Where the rendered config files are uploaded inside the containers. */
export const PD_CONFIG_PATH = "/etc/pd/pd.toml";
export const TIKV_CONFIG_PATH = "/etc/tikv/tikv.toml";
/** Both data volumes are mounted here, as the recipe does. */
export const DATA_DIR = "/data";
/**
 * Data volumes carry this label beside `retainOnDelete`: the analyzer protocol gives policy packs
 * no `retainOnDelete`, so policy/ checks the label the program sets with it.
 */
export const RETAIN_LABEL = "tikv-cvm.retain-on-delete";

/** pd-server flags (tikv/pd server/config); logs go to stderr so Docker rotates them. */
export function pdArgs(host: HostPlan, plan: ClusterPlan): string[] {
  if (!host.pdName) throw new Error(`${host.name} runs no PD member`);
  return [
    `--name=${host.pdName}`,
    `--data-dir=${DATA_DIR}`,
    `--client-urls=http://0.0.0.0:${PORTS.pdClient}`,
    `--advertise-client-urls=${pdClientUrl(host)}`,
    `--peer-urls=http://0.0.0.0:${PORTS.pdPeer}`,
    `--advertise-peer-urls=${pdPeerUrl(host)}`,
    // Read only when bootstrapping an empty data dir; harmless on restarts.
    `--initial-cluster=${plan.initialCluster}`,
    `--config=${PD_CONFIG_PATH}`,
  ];
}

/** tikv-server flags; the status address defaults to 127.0.0.1, which nothing outside could reach. */
export function tikvArgs(host: HostPlan, plan: ClusterPlan): string[] {
  return [
    `--addr=0.0.0.0:${PORTS.tikv}`,
    `--advertise-addr=${host.privateIp}:${PORTS.tikv}`,
    `--status-addr=0.0.0.0:${PORTS.tikvStatus}`,
    `--advertise-status-addr=${host.privateIp}:${PORTS.tikvStatus}`,
    `--data-dir=${DATA_DIR}`,
    `--pd=${plan.pdEndpoints.join(",")}`,
    `--config=${TIKV_CONFIG_PATH}`,
  ];
}

export function pdConfigToml(maxReplicas: number): string {
  return stringify({
    "pd-server": {
      // The embedded dashboard costs hundreds of MB, too much on a 4 GB host.
      "dashboard-address": "none",
    },
    replication: { "max-replicas": maxReplicas },
  });
}

export function tikvConfigToml(budget: MemoryBudget, systemDiskGB: number): string {
  return stringify({
    "memory-usage-limit": `${budget.tikvMemoryUsageLimitMiB}MB`,
    storage: {
      "reserve-space": `${reserveSpaceGB(systemDiskGB)}GB`,
      "block-cache": { capacity: `${budget.tikvBlockCacheMiB}MB` },
    },
    "raft-engine": { "memory-limit": `${budget.tikvRaftEngineMiB}MB` },
  });
}
