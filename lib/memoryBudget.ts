// How one host's memory and disk are shared between the OS, Docker, PD and TiKV. Pure.
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

/** The OS, dockerd, containerd and page-cache headroom on a small Ubuntu host. */
const SYSTEM_RESERVE_MIB = 640;
const PD_SHARE = 0.2;
const PD_MAX_MIB = 4096;

export function planMemory(hostMemoryGiB: number, runsPd: boolean): MemoryBudget {
  const total = hostMemoryGiB * 1024;
  const pdContainerMiB = runsPd ? Math.min(PD_MAX_MIB, roundDown(total * PD_SHARE)) : 0;
  // The TiKV limit does not depend on runsPd so every store is sized alike and behaves alike.
  const tikvContainerMiB = total - SYSTEM_RESERVE_MIB - Math.min(PD_MAX_MIB, roundDown(total * PD_SHARE));
  const tikvMemoryUsageLimitMiB = roundDown(tikvContainerMiB * 0.75);
  return {
    pdContainerMiB,
    tikvContainerMiB,
    tikvMemoryUsageLimitMiB,
    // Block cache plus write buffers must stay below memory-usage-limit or TiKV refuses to start.
    tikvBlockCacheMiB: roundDown(tikvContainerMiB * 0.4),
    tikvRaftEngineMiB: roundDown(tikvContainerMiB * 0.1),
  };
}

/** TiKV pre-allocates reserve-space (5 GB by default) as its disk-full guard: 5 % of the disk, 1..5 GB. */
export function reserveSpaceGB(systemDiskGB: number): number {
  return Math.max(1, Math.min(5, Math.floor(systemDiskGB * 0.05)));
}

/** Rounds down to a multiple of 64 MiB so figures read cleanly in the config files. */
function roundDown(mib: number): number {
  return Math.floor(mib / 64) * 64;
}
