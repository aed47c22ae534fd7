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
  /**
   * PD's Go heap limit on every member (GOMEMLIMIT), MiB. server-memory-limit reaches the Go runtime
   * only on the leader: its RaftCluster starts the GC tuner (tikv/pd v8.5.7 server/cluster/cluster.go
   * RaftCluster.Start → startGCTuner → gctuner.GlobalMemoryLimitTuner.UpdateMemoryLimit →
   * debug.SetMemoryLimit), and a RaftCluster runs only on the member that won the election
   * (server/server.go campaignLeader → createRaftCluster). Followers keep Go's default, no limit,
   * unless GOMEMLIMIT is set; pkg/gctuner/memory_limit_tuner.go keeps the GOMEMLIMIT value as the
   * one it restores when tuning stops.
   */
  readonly pdGoMemLimitMiB: number;
}

export interface MemoryShare {
  /** Memory this PD + TiKV pair shares with `reserveMiB`, MiB. */
  readonly totalMiB: number;
  /** Kept for everything else on the machine: OS, Docker, monitoring, PD's client gateway (with clients). */
  readonly reserveMiB: number;
  readonly runsPd: boolean;
  /** Of the reserve, the monitoring containers' caps on this host (0 elsewhere). */
  readonly monitoringMiB: number;
}

/**
 * The OS, dockerd, containerd and page-cache headroom on a small Ubuntu host. With clients, PD's
 * client gateway (lib/pdGateway.ts GATEWAY_MIB, 96) takes its cap out of it on each PD host.
 */
export const SYSTEM_RESERVE_MIB = 640;

/**
 * What a guest kernel keeps of a VM's nominal memory before MemTotal: its page descriptors (64 B
 * of struct page per 4 KiB page, 1/64 = 64 MiB of 4 GiB; Linux Documentation/mm/memory-model.rst,
 * SPARSEMEM_VMEMMAP), a kdump crash kernel when the image enables one (RHEL's kdump-utils default
 * reserves 256 MiB from 2 GiB up: crashkernel=2G-64G:256M), the kernel image and firmware holes.
 * 10 % of nominal covers all of them: a 4 GB CVM (4096 MiB) is planned as 3686 MiB. What the
 * guest really sees is read from each host before its members start (GET /info MemTotal,
 * components/hostCheck.ts), and a plan that does not fit it is refused (memoryFitProblem).
 */
export const GUEST_KERNEL_SHARE = 0.1;

/** The memory a guest of `nominalMiB` is planned with: what its kernel leaves to processes. */
export function guestVisibleMiB(nominalMiB: number): number {
  return Math.floor(nominalMiB * (1 - GUEST_KERNEL_SHARE));
}

/**
 * The least the OS, dockerd, containerd and the page cache keep beside the containers' caps on the
 * memory the guest really sees: below it a burst of every container at its cap leaves the kernel
 * reclaiming page cache TiKV reads through, then OOM-killing. Half the planned reserve.
 */
export const OS_HEADROOM_MIB = SYSTEM_RESERVE_MIB / 2;

/**
 * Whether the caps of every container on a host fit the memory its kernel reports (MemTotal),
 * with OS_HEADROOM_MIB to spare; a message naming the figures and the fix otherwise.
 */
export function memoryFitProblem(label: string, memTotalMiB: number, containersMiB: number): string | undefined {
  if (memTotalMiB <= 0 || containersMiB + OS_HEADROOM_MIB <= memTotalMiB) return undefined;
  return (
    `${label}: its kernel sees ${memTotalMiB} MiB (MemTotal), and the containers planned for it are capped at ` +
    `${containersMiB} MiB together, leaving less than ${OS_HEADROOM_MIB} MiB for the OS, dockerd and the page cache: ` +
    `under load the kernel would OOM-kill members. Set tikv-cvm:hostMemoryGiB to the host's real size (at most ` +
    `${Math.floor(memTotalMiB / 1024 / (1 - GUEST_KERNEL_SHARE))} here) or use a larger instance type; nothing was started on this host.`
  );
}

/**
 * Relative CPU weight under contention (Docker --cpu-shares, cgroup v2 cpu.weight; 1024 is
 * Docker's default): on a 2 vCPU host TiKV's Raft and gRPC threads get twice PD's share and
 * eight times each monitoring container's. A weight, not a cap: idle CPU is anybody's.
 */
export const CPU_SHARES = { tikv: 2048, pd: 1024, prometheus: 256, grafana: 256, alertmanager: 256 } as const;

/**
 * Prometheus's disk cap (--storage.tsdb.retention.size), which counts the WAL and head chunks as
 * well as blocks (prometheus tsdb/db.go BeyondSizeRetention): blocks beyond it are deleted.
 */
export const PROMETHEUS_RETENTION_GB = 2;
/**
 * What the data disk of the monitoring host keeps for Prometheus and Grafana: the retention cap,
 * a compaction's new block written before the old ones go, and Grafana's database.
 */
export const MONITORING_DISK_GB = PROMETHEUS_RETENTION_GB + 1;

/**
 * TiKV's `raftstore.capacity` on a host whose data disk it shares with monitoring (undefined: the
 * whole disk, TiKV's default), so the store's capacity, its reserve-space and PD's balance all
 * leave Prometheus's share alone.
 */
export function tikvCapacityGB(diskGB: number, runsMonitoring: boolean): number | undefined {
  return runsMonitoring ? diskGB - MONITORING_DISK_GB : undefined;
}
/** Prometheus (512) and Grafana (256) container limits, on the host that runs them. */
export const MONITORING_MIB = { prometheus: 512, grafana: 256 } as const;
export const MONITORING_TOTAL_MIB = MONITORING_MIB.prometheus + MONITORING_MIB.grafana;
/**
 * Alertmanager's limit (with alertWebhookUrl), taken from Prometheus's so the host's plan stays as
 * it is: a few alerts' state is small, and Alertmanager sets its Go heap limit to 90 % of the
 * container's (prometheus/alertmanager v0.34.0 cmd/alertmanager/main.go, auto-gomemlimit.ratio).
 */
export const ALERTMANAGER_MIB = 64;

/** The monitoring containers' limits, MiB, with or without Alertmanager; they add up to MONITORING_TOTAL_MIB. */
export function monitoringCapsMiB(alertmanager: boolean): {
  prometheus: number;
  grafana: number;
  alertmanager: number;
} {
  const am = alertmanager ? ALERTMANAGER_MIB : 0;
  return { prometheus: MONITORING_MIB.prometheus - am, grafana: MONITORING_MIB.grafana, alertmanager: am };
}
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
    pdGoMemLimitMiB: share.runsPd ? Math.floor(pdMiB * PD_SERVER_MEMORY_LIMIT) : 0,
  };
  const problems = tikvStartupProblems(budget);
  if (problems.length > 0) throw new Error(`TiKV would refuse this memory budget: ${problems.join("; ")}`);
  return budget;
}

/** One PD + TiKV pair per host: what its guest kernel leaves, less the system and, on its host, monitoring. */
export function hostShare(hostMemoryGiB: number, runsPd: boolean, runsMonitoring: boolean): MemoryShare {
  return {
    // What the guest's kernel leaves, not the nominal size (GUEST_KERNEL_SHARE).
    totalMiB: guestVisibleMiB(hostMemoryGiB * 1024),
    reserveMiB: SYSTEM_RESERVE_MIB + (runsMonitoring ? MONITORING_TOTAL_MIB : 0),
    runsPd,
    monitoringMiB: runsMonitoring ? MONITORING_TOTAL_MIB : 0,
  };
}

/** Every pair on one machine (mode local): what is left after the system and monitoring, split evenly. */
export function localShare(machineMemoryGiB: number, pairs: number, runsPd: boolean, monitoring: boolean): MemoryShare {
  const spare = machineMemoryGiB * 1024 - SYSTEM_RESERVE_MIB - (monitoring ? MONITORING_TOTAL_MIB : 0);
  return { totalMiB: Math.floor(spare / pairs), reserveMiB: 0, runsPd, monitoringMiB: 0 };
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

/**
 * The caps of its PD and TiKV, and monitoring where it runs, on one host's engine; index.ts adds PD's
 * client gateway (lib/pdGateway.ts GATEWAY_MIB) on a PD host when clients exist.
 */
export function engineCapsMiB(share: MemoryShare, budget: MemoryBudget): number {
  return budget.pdContainerMiB + budget.tikvContainerMiB + share.monitoringMiB;
}

/** Rounds down to a multiple of 64 MiB so figures read cleanly in the config files. */
function roundDown(mib: number): number {
  return Math.floor(mib / 64) * 64;
}

/** Bytes in a GB of TiKV's sizes (ReadableSize: binary) and of a CBS disk's. */
const GIB = 1024 ** 3;

/**
 * The free space TiKV keeps on a store's disk (reservedSpaceBytes), from what the program declares:
 * its capacity (the whole disk, or less beside monitoring) and reserve-space.
 */
export function storeReserveBytes(diskGB: number, runsMonitoring: boolean): number {
  const capacityGB = tikvCapacityGB(diskGB, runsMonitoring) ?? diskGB;
  return reservedSpaceBytes(capacityGB * GIB, reserveSpaceGB(diskGB) * GIB).reserved;
}
