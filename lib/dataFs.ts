// A store's data filesystem as TiKV sees it, read through the host's Docker API before the store's
// container starts with a config sized for the disk. Only Node built-ins and lib/dockerApi.ts are
// imported: this module is serialized into the dynamic provider that waits (components/storeDisk.ts).
//
// Why wait: TiKV sizes its reserve from the filesystem it finds at start (tikv/tikv v8.5.7
// components/server/src/common.rs TikvServerCore::init_fs: capacity = min(statvfs total,
// raftstore.capacity), reserve = max(5 % of capacity, storage.reserve-space)), while the program
// sizes reserve-space and raftstore.capacity from dataDiskSize (lib/memoryBudget.ts). A raised
// dataDiskSize resizes the CBS disk at once, but the filesystem grows only when the host's grow
// timer runs resize2fs (lib/dataDisk.ts, every 30 s), or at the next boot when online resize is
// refused. A store restarted in between would keep a reserve sized for a disk it does not have.
import { DockerEndpoint, runOneShot } from "./dockerApi";

const GIB = 1024 ** 3;

/**
 * The share of a disk its ext4 filesystem reports as its size (statvfs f_blocks x f_frsize, what
 * TiKV reads): mkfs.ext4 -m 0 keeps inode tables (256 B per 16 KiB, 1.56 %), the journal and the
 * bitmaps out of it. Measured here with e2fsprogs 1.47 on 20, 40, 41 and 200 GiB: 97.59 to 97.90 %
 * (test/dataFs.test.ts formats one). A filesystem below 97 % of the disk has not been grown to it.
 */
export const EXT4_SIZE_SHARE = 0.97;

/** What statvfs says of a filesystem, bytes. */
export interface FsReading {
  readonly totalBytes: number;
  readonly availableBytes: number;
}

/** The command a one-shot runs on the store's volume: coreutils (or busybox) stat of its filesystem. */
export const STATFS_COMMAND = ["stat", "-f", "-c", "%S %b %a", "/data"] as const;

/** Parses STATFS_COMMAND's output: fundamental block size, total blocks, blocks free to non-root. */
export function parseStatfs(output: string): FsReading {
  const fields = output.trim().split(/\s+/).map(Number);
  if (fields.length !== 3 || fields.some((n) => !Number.isSafeInteger(n) || n < 0) || fields[0] === 0)
    throw new Error(`stat -f printed ${JSON.stringify(output.slice(0, 200))}, not "<block size> <blocks> <available>"`);
  const [blockSize, blocks, available] = fields;
  return { totalBytes: blockSize * blocks, availableBytes: blockSize * available };
}

/** Whether a filesystem of `totalBytes` fills a disk of `diskGB` (a CBS disk's GB are GiB). */
export function fillsDisk(totalBytes: number, diskGB: number): boolean {
  return totalBytes >= diskGB * GIB * EXT4_SIZE_SHARE;
}

const gib = (bytes: number) => `${(bytes / GIB).toFixed(1)} GiB`;

/** The error when the filesystem has not grown to the disk within the wait. */
export function notGrown(label: string, store: string, diskGB: number, reading: FsReading, waitedMs: number): string {
  return (
    `${label}: the filesystem ${store}'s data lives on is ${gib(reading.totalBytes)} (${gib(reading.availableBytes)} free) ` +
    `after ${Math.round(waitedMs / 1000)} s, while tikv-cvm:dataDiskSize is ${diskGB} GB: the disk was resized but its ` +
    "filesystem not grown, and TiKV would start with a reserve-space and capacity sized for a disk it does not have. " +
    "On the host, `journalctl -u tikv-data-disk-grow` says why the online resize2fs failed; reboot the CVM " +
    "(`sudo reboot`: tikv-data-disk.service grows the filesystem before mounting it), then run pulumi up again. " +
    `Nothing was changed on ${store}.`
  );
}

export interface DataFsWait {
  /** Names the host in messages. */
  readonly label: string;
  /** The store whose volume is read, e.g. tikv2. */
  readonly store: string;
  /** The member's image: any image with stat (coreutils or busybox) does. */
  readonly image: string;
  readonly volumeName: string;
  /** Container name of the one-shot read, e.g. tikv2-data-fs. */
  readonly name: string;
  readonly diskGB: number;
  readonly maxWaitMs: number;
  /** Between readings: the grow timer runs every 30 s. */
  readonly intervalMs: number;
  readonly attemptTimeoutMs: number;
}

/** Reads the filesystem of `volumeName` from a one-shot container (read-only mount, no network). */
export async function readDataFs(
  endpoint: DockerEndpoint,
  wait: Pick<DataFsWait, "image" | "volumeName" | "name" | "attemptTimeoutMs">,
): Promise<FsReading> {
  const output = await runOneShot(
    endpoint,
    {
      name: wait.name,
      image: wait.image,
      entrypoint: [STATFS_COMMAND[0]],
      cmd: STATFS_COMMAND.slice(1),
      binds: [`${wait.volumeName}:/data:ro`],
      output: true,
    },
    wait.attemptTimeoutMs,
  );
  return parseStatfs(output);
}

/**
 * Reads the store's filesystem until it fills the disk of `diskGB`; fails naming the figures and
 * the fix when it has not within `maxWaitMs`. Returns the last reading.
 */
export async function waitForDataFs(
  endpoint: DockerEndpoint,
  wait: DataFsWait,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  now: () => number = Date.now,
): Promise<FsReading> {
  const start = now();
  for (;;) {
    const reading = await readDataFs(endpoint, wait);
    if (fillsDisk(reading.totalBytes, wait.diskGB)) return reading;
    const waited = now() - start;
    if (waited + wait.intervalMs > wait.maxWaitMs)
      throw new Error(notGrown(wait.label, wait.store, wait.diskGB, reading, waited));
    await sleep(wait.intervalMs);
  }
}
