// Item 4 (ordering): a store never starts with a config sized for a disk its filesystem has not
// grown to. The filesystem is made and grown by the real data-disk script (the host's boot unit and
// grow timer) on a file-backed block device, and read as the program reads it: a one-shot
// container on a real dockerd, through the Engine API, with the store's volume mounted.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { dataDiskScript } from "../lib/dataDisk";
import { EXT4_SIZE_SHARE, FsReading, fillsDisk, parseStatfs, waitForDataFs } from "../lib/dataFs";
import { stdoutOfLogs } from "../lib/dockerApi";
import { tempDir } from "./support/openssl";
import { TlsDockerd, startTlsDockerd } from "./support/tlsDockerd";
import { describeWithTools } from "./support/tools";

const GIB = 1024 ** 3;

test("stat -f's figures are read as TiKV reads statvfs: fundamental block size times blocks", () => {
  expect(parseStatfs("4096 5116564 5112462\n")).toEqual({
    totalBytes: 4096 * 5116564,
    availableBytes: 4096 * 5112462,
  });
  expect(() => parseStatfs("stat: cannot read file system information for '/data'")).toThrow(/not "<block size>/);
  expect(() => parseStatfs("0 10 10")).toThrow();
});

test("a log stream's stdout frames are read, stderr ones left out (moby stdcopy framing)", () => {
  const frame = (stream: number, text: string) => {
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(Buffer.byteLength(text), 4);
    return Buffer.concat([header, Buffer.from(text)]);
  };
  expect(stdoutOfLogs(Buffer.concat([frame(1, "4096 5 "), frame(2, "warning\n"), frame(1, "3\n")]))).toBe("4096 5 3\n");
});

const TOOLS = ["dockerd", "docker", "openssl", "busybox", "losetup", "mkfs.ext4", "resize2fs", "e2fsck", "dumpe2fs"];
const TOOLS_TOO = ["blkid", "mount", "umount", "findmnt", "mountpoint", "blockdev", "truncate"];

describeWithTools(
  [...TOOLS, ...TOOLS_TOO],
  "a store's filesystem on a grown CBS disk, made by the data-disk script",
  () => {
    const dir = tempDir("data-fs");
    const byId = path.join(dir, "by-id");
    const mnt = path.join(dir, "mnt");
    const image = path.join(dir, "disk.img");
    const scriptPath = path.join(dir, "tikv-data-disk");
    const diskId = "disk-datafs1";
    let loop = "";
    let engine: TlsDockerd | undefined;

    /** One run of the data-disk script: the boot unit's (unmounted) or the grow timer's (mounted). */
    function runScript(): { status: number | null; stdout: string; stderr: string } {
      const r = spawnSync("sh", [scriptPath], {
        encoding: "utf8",
        env: {
          PATH: process.env.PATH,
          TIKV_DATA_DISK_ID: diskId,
          TIKV_DATA_DISK_WAIT_SECONDS: "4",
          TIKV_DATA_DISK_BY_ID: byId,
          TIKV_DATA_DISK_MOUNT: mnt,
          TIKV_DATA_DISK_ENV: path.join(dir, "run", "docker.env"),
          TIKV_DATA_DISK_QUARANTINE: path.join(dir, "run", "no-data-disk"),
        },
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }
    const mounted = () => spawnSync("mountpoint", ["-q", mnt]).status === 0;
    const endpoint = () => engine!.endpoint;
    const wait = (diskGB: number, maxWaitMs: number) => ({
      label: "tikv-host-1",
      store: "tikv1",
      image: "tikv-cvm-test/busybox-stat:1",
      volumeName: "tikv-data",
      name: "tikv1-data-fs",
      diskGB,
      maxWaitMs,
      intervalMs: 10,
      attemptTimeoutMs: 30_000,
    });
    /** What this machine's kernel says of the mounted filesystem. */
    const statfs = (): FsReading => {
      const s = fs.statfsSync(mnt);
      return { totalBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize };
    };
    /** Grows the disk under the host, as a resize of the CBS disk does (virtio-blk reports the new size). */
    const resizeDisk = (gb: number) => {
      execFileSync("truncate", ["-s", `${gb}G`, image]);
      execFileSync("losetup", ["-c", loop]);
    };

    beforeAll(async () => {
      fs.writeFileSync(scriptPath, dataDiskScript(), { mode: 0o755 });
      // dataDiskSize's least: 20 GB. Sparse, and mkfs.ext4 initializes inode tables lazily: seconds.
      execFileSync("truncate", ["-s", "20G", image]);
      loop = execFileSync("losetup", ["-f", "--show", image], { encoding: "utf8" }).trim();
      fs.mkdirSync(byId, { recursive: true });
      fs.symlinkSync(loop, path.join(byId, `virtio-${diskId}`));
      expect(runScript().status).toBe(0);
      expect(mounted()).toBe(true);

      // Docker's data root stays off the disk here so the disk can be unmounted (a reboot's offline
      // grow); the store's volume is the disk's directory, as a named volume on a CVM's data root is.
      const home = path.join(dir, "docker");
      fs.mkdirSync(home);
      engine = await startTlsDockerd(home);
      const rootfs = path.join(dir, "rootfs");
      fs.mkdirSync(path.join(rootfs, "bin"), { recursive: true });
      fs.copyFileSync("/bin/busybox", path.join(rootfs, "bin", "busybox"));
      fs.symlinkSync("busybox", path.join(rootfs, "bin", "stat"));
      execFileSync("tar", ["-C", rootfs, "-cf", path.join(dir, "rootfs.tar"), "."]);
      engine.docker("import", path.join(dir, "rootfs.tar"), "tikv-cvm-test/busybox-stat:1");
      engine.docker(
        "volume",
        "create",
        "--opt",
        "type=none",
        "--opt",
        "o=bind",
        "--opt",
        `device=${mnt}/docker`,
        "tikv-data",
      );
    }, 120_000);

    afterAll(async () => {
      await engine?.daemon.stop();
      if (mounted()) spawnSync("umount", [mnt]);
      if (loop) spawnSync("losetup", ["-d", loop]);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test("mkfs.ext4 -m 0 gives TiKV at least 97 % of the disk, and a disk one GB larger is told apart", () => {
      const { totalBytes } = statfs();
      expect(totalBytes / (20 * GIB)).toBeGreaterThan(EXT4_SIZE_SHARE);
      expect(fillsDisk(totalBytes, 20)).toBe(true);
      expect(fillsDisk(totalBytes, 21)).toBe(false);
    });

    test("a fresh disk: read through the Engine API as the kernel reports it, the store starts at once", async () => {
      let sleeps = 0;
      const reading = await waitForDataFs(endpoint(), wait(20, 60_000), async () => void sleeps++);
      expect(sleeps).toBe(0);
      expect(reading.totalBytes).toBe(statfs().totalBytes);
      expect(engine!.docker("ps", "-a", "--format", "{{.Names}}").trim()).toBe("");
    }, 60_000);

    test("dataDiskSize 20 -> 21: the store waits until the filesystem has grown, then starts", async () => {
      resizeDisk(21);
      const before = statfs().totalBytes;
      let sleeps = 0;
      // Between two readings the host grows its filesystem: the grow timer's run of the script where
      // the kernel allows an online resize (CAP_SYS_RESOURCE), else the next boot's (this sandbox).
      const grow = async () => {
        sleeps++;
        if (sleeps > 1) return;
        const online = runScript();
        expect(online.status).toBe(0);
        if (statfs().totalBytes === before) {
          execFileSync("umount", [mnt]);
          const boot = runScript();
          expect([boot.status, boot.stdout]).toEqual([0, expect.stringMatching(/growing the filesystem/)]);
        }
      };
      const reading = await waitForDataFs(endpoint(), wait(21, 60_000), grow);
      expect(sleeps).toBe(1);
      expect(reading.totalBytes).toBeGreaterThan(before);
      expect(reading.totalBytes).toBe(statfs().totalBytes);
      expect(fillsDisk(reading.totalBytes, 21)).toBe(true);
    }, 120_000);

    test("a filesystem that does not grow in time: refused, naming the key, the figures and the fix", async () => {
      resizeDisk(22);
      const error = await waitForDataFs(endpoint(), wait(22, 50), async () => undefined).catch((e: Error) => e);
      expect(String(error)).toMatch(
        /tikv-host-1: the filesystem tikv1's data lives on is 20\.\d GiB \(20\.\d GiB free\) after \d+ s, while tikv-cvm:dataDiskSize is 22 GB/,
      );
      expect(String(error)).toMatch(
        /journalctl -u tikv-data-disk-grow[\s\S]*sudo reboot[\s\S]*Nothing was changed on tikv1/,
      );
    }, 60_000);
  },
);
