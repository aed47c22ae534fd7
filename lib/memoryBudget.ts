// How memory and disk are shared between the OS, Docker, monitoring, PD and TiKV. Pure.
//
// TiKV sizes itself from the container's memory limit (block cache 45 %, memory-usage-limit 75 %,
// raft-engine 15 %); beside PD on a 4 GB host those defaults overcommit, so every figure is explicit.

export interface MemoryBudget {
  /** Docker memory limit of the PD container, MiB (0 when the host runs no PD). */
  readonly pdContainerMiB: number;
  /** Docker memory limit of the TiKV container, MiB. */
  readonly tikvContainerMiB: number;
  /** TiKV `memory-usage-limit`: a soft target TiKV steers its caches by, MiB. */
  readonly tikvMemoryUsageLimitMiB: number;
  /** TiKV `[storage.block-cache] capacity`, MiB. */
  readonly tikvBlockCacheMiB: number;
  /** TiKV `[raft-engine] memory-limit`, MiB. */
  readonly tikvRaftEngineMiB: number;
}

export interface MemoryShare {
  /** Memory this PD + TiKV pair shares with `reserveMiB`, MiB. */
  readonly totalMiB: number;
  /** Kept for everything else on the machine: OS, Docker, monitoring. */
  readonly reserveMiB: number;
  readonly runsPd: boolean;
}

/** The OS, dockerd, containerd and page-cache headroom on a small Ubuntu host. */
export const SYSTEM_RESERVE_MIB = 640;
/** Prometheus (512) and Grafana (256) container limits, on the host that runs them. */
export const MONITORING_MIB = { prometheus: 512, grafana: 256 } as const;
export const MONITORING_TOTAL_MIB = MONITORING_MIB.prometheus + MONITORING_MIB.grafana;
const PD_SHARE = 0.2;
const PD_MAX_MIB = 4096;

export function planMemory(share: MemoryShare): MemoryBudget {
  const pdMiB = Math.min(PD_MAX_MIB, roundDown(share.totalMiB * PD_SHARE));
  // The TiKV limit does not depend on runsPd so stores on PD and non-PD hosts behave alike.
  const tikvContainerMiB = roundDown(share.totalMiB - share.reserveMiB - pdMiB);
  if (tikvContainerMiB < 512) {
    throw new Error(`only ${tikvContainerMiB} MiB would be left for TiKV out of ${share.totalMiB} MiB`);
  }
  return {
    pdContainerMiB: share.runsPd ? pdMiB : 0,
    tikvContainerMiB,
    tikvMemoryUsageLimitMiB: roundDown(tikvContainerMiB * 0.75),
    // Block cache plus write buffers must stay below memory-usage-limit or TiKV refuses to start.
    tikvBlockCacheMiB: roundDown(tikvContainerMiB * 0.4),
    tikvRaftEngineMiB: roundDown(tikvContainerMiB * 0.1),
  };
}

/** One PD + TiKV pair per host: the host's memory, less the system and, on its host, monitoring. */
export function hostShare(hostMemoryGiB: number, runsPd: boolean, runsMonitoring: boolean): MemoryShare {
  return { totalMiB: hostMemoryGiB * 1024, reserveMiB: SYSTEM_RESERVE_MIB + (runsMonitoring ? MONITORING_TOTAL_MIB : 0), runsPd };
}

/** Every pair on one machine (mode local): what is left after the system and monitoring, split evenly. */
export function localShare(machineMemoryGiB: number, pairs: number, runsPd: boolean, monitoring: boolean): MemoryShare {
  const spare = machineMemoryGiB * 1024 - SYSTEM_RESERVE_MIB - (monitoring ? MONITORING_TOTAL_MIB : 0);
  return { totalMiB: Math.floor(spare / pairs), reserveMiB: 0, runsPd };
}

/** TiKV pre-allocates reserve-space (5 GB by default) as its disk-full guard: 5 % of the disk, 1..5 GB. */
export function reserveSpaceGB(diskGB: number): number {
  return Math.max(1, Math.min(5, Math.floor(diskGB * 0.05)));
}

/** Rounds down to a multiple of 64 MiB so figures read cleanly in the config files. */
function roundDown(mib: number): number {
  return Math.floor(mib / 64) * 64;
}
