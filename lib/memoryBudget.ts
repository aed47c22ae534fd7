// How memory and disk are shared between the OS, Docker, monitoring, PD and TiKV. Pure.
//
// TiKV sizes itself from the container's memory limit (block cache 45 %, memory-usage-limit 75 %,
// raft-engine 15 %) and caps write buffers not at all by default (memtables of 128 MB x 5 for the
// default and write CFs, 32 MB x 5 for lock: about 1.4 GiB); beside PD on a 4 GB host that can
// exceed the container's limit under sustained writes, so every figure is explicit.

export interface MemoryBudget {
  /** Docker memory limit of the PD container, MiB (0 when the host runs no PD). */
  readonly pdContainerMiB: number;
  /** Docker memory limit of the TiKV container, MiB. */
  readonly tikvContainerMiB: number;
  /** TiKV `memory-usage-limit`: a soft target TiKV steers its caches by, MiB. */
  readonly tikvMemoryUsageLimitMiB: number;
  /** TiKV `[storage.block-cache] capacity`, MiB. */
  readonly tikvBlockCacheMiB: number;
  /** TiKV `[rocksdb] write-buffer-limit`: all memtables of the KV RocksDB together, MiB. */
  readonly tikvWriteBufferLimitMiB: number;
  /** TiKV `[raft-engine] memory-limit`, MiB. */
  readonly tikvRaftEngineMiB: number;
  /**
   * PD `[pd-server] server-memory-limit`: the Go heap target as a fraction of the container's
   * limit (tikv/pd server/config/config.go; 0, the default, means none).
   */
  readonly pdServerMemoryLimit: number;
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
/** Fractions of the TiKV container limit. */
const TIKV_SHARES = { memoryUsageLimit: 0.75, blockCache: 0.4, writeBufferLimit: 0.15, raftEngine: 0.1 } as const;
/** PD's heap target: 80 % of its container, leaving room for stacks and the runtime. */
const PD_SERVER_MEMORY_LIMIT = 0.8;

/**
 * TiKV's start-up rule (tikv/tikv v8.5.7 src/config/mod.rs, TikvConfig::validate): it refuses to
 * start when memory-usage-limit exceeds the memory it sees (the container's limit) or when
 * block cache + write-buffer-limit exceed memory-usage-limit. raft-engine's memory-limit plays
 * no part. Returns the broken parts, empty when TiKV starts.
 */
export function tikvStartupProblems(b: MemoryBudget): string[] {
  const problems: string[] = [];
  if (b.tikvMemoryUsageLimitMiB > b.tikvContainerMiB) {
    problems.push(
      `memory-usage-limit ${b.tikvMemoryUsageLimitMiB} MiB exceeds the container's ${b.tikvContainerMiB} MiB`,
    );
  }
  if (b.tikvBlockCacheMiB + b.tikvWriteBufferLimitMiB > b.tikvMemoryUsageLimitMiB) {
    problems.push(
      `block cache ${b.tikvBlockCacheMiB} MiB + write-buffer-limit ${b.tikvWriteBufferLimitMiB} MiB exceed ` +
        `memory-usage-limit ${b.tikvMemoryUsageLimitMiB} MiB`,
    );
  }
  return problems;
}

export function planMemory(share: MemoryShare): MemoryBudget {
  const pdMiB = Math.min(PD_MAX_MIB, roundDown(share.totalMiB * PD_SHARE));
  // The TiKV limit does not depend on runsPd so stores on PD and non-PD hosts behave alike.
  const tikvContainerMiB = roundDown(share.totalMiB - share.reserveMiB - pdMiB);
  if (tikvContainerMiB < 512) {
    throw new Error(`only ${tikvContainerMiB} MiB would be left for TiKV out of ${share.totalMiB} MiB`);
  }
  const budget: MemoryBudget = {
    pdContainerMiB: share.runsPd ? pdMiB : 0,
    tikvContainerMiB,
    tikvMemoryUsageLimitMiB: roundDown(tikvContainerMiB * TIKV_SHARES.memoryUsageLimit),
    tikvBlockCacheMiB: roundDown(tikvContainerMiB * TIKV_SHARES.blockCache),
    tikvWriteBufferLimitMiB: roundDown(tikvContainerMiB * TIKV_SHARES.writeBufferLimit),
    tikvRaftEngineMiB: roundDown(tikvContainerMiB * TIKV_SHARES.raftEngine),
    pdServerMemoryLimit: PD_SERVER_MEMORY_LIMIT,
  };
  const problems = tikvStartupProblems(budget);
  if (problems.length > 0) throw new Error(`TiKV would refuse this memory budget: ${problems.join("; ")}`);
  return budget;
}

/** One PD + TiKV pair per host: the host's memory, less the system and, on its host, monitoring. */
export function hostShare(hostMemoryGiB: number, runsPd: boolean, runsMonitoring: boolean): MemoryShare {
  return {
    totalMiB: hostMemoryGiB * 1024,
    reserveMiB: SYSTEM_RESERVE_MIB + (runsMonitoring ? MONITORING_TOTAL_MIB : 0),
    runsPd,
  };
}

/** Every pair on one machine (mode local): what is left after the system and monitoring, split evenly. */
export function localShare(machineMemoryGiB: number, pairs: number, runsPd: boolean, monitoring: boolean): MemoryShare {
  const spare = machineMemoryGiB * 1024 - SYSTEM_RESERVE_MIB - (monitoring ? MONITORING_TOTAL_MIB : 0);
  return { totalMiB: Math.floor(spare / pairs), reserveMiB: 0, runsPd };
}

/**
 * TiKV's `storage.reserve-space` setting: 5 % of the disk, 1..5 GB (TiKV's default is 5 GB, an
 * eighth of a 40 GB disk). See reservedSpaceBytes for what TiKV makes of it.
 */
export function reserveSpaceGB(diskGB: number): number {
  return Math.max(1, Math.min(5, Math.floor(diskGB * 0.05)));
}

/**
 * What TiKV keeps free from a reserve-space setting (tikv/tikv v8.5.7 components/server/src/common.rs,
 * calculate_reserved_space and reserve_physical_space): 0 disables the guard; otherwise the larger
 * of the setting and 5 % of the disk's capacity, of which one fifth is pre-allocated as a
 * placeholder file in the data directory.
 */
export function reservedSpaceBytes(
  capacityBytes: number,
  settingBytes: number,
): { reserved: number; preallocated: number } {
  const reserved = settingBytes === 0 ? 0 : Math.max(Math.floor(capacityBytes * 0.05), settingBytes);
  return { reserved, preallocated: Math.floor(reserved / 5) };
}

/** Rounds down to a multiple of 64 MiB so figures read cleanly in the config files. */
function roundDown(mib: number): number {
  return Math.floor(mib / 64) * 64;
}
