// The data-disk script every CVM runs before Docker, run for real: the exact script and disk id
// from a host's rendered user data, against a file-backed block device (losetup), with the real
// mkfs.ext4, blkid and mount; then a real dockerd started the way docker.service starts it, probed
// by the program's readiness check.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DATA_DISK_SCRIPT_PATH, DATA_DISK_UNIT, DOCKERD_DATA_DISK_FLAGS } from "../lib/dataDisk";
import { DOCKER_DROP_IN_PATH } from "../lib/cloudInit";
import { waitForDocker } from "../lib/dockerProbe";
import { besideOthers, freePort, startDockerd } from "./support/dockerd";
import { runProgram } from "./support/harness";
import { Issued, issue, tempDir } from "./support/openssl";
import { renderedHosts, writtenFile } from "./support/program";
import { describeWithTools } from "./support/tools";

const TOOLS = [
  "losetup",
  "mkfs.ext4",
  "mkfs.ext2",
  "blkid",
  "mount",
  "umount",
  "findmnt",
  "mountpoint",
  "resize2fs",
  "dumpe2fs",
  "e2fsck",
  "blockdev",
];
const isRoot = process.getuid?.() === 0;
const CAP_SYS_RESOURCE = 24;
/** Whether this process holds a capability (CapEff in /proc/self/status, linux/capability.h numbering). */
function hasCapability(bit: number): boolean {
  const hex = /^CapEff:\s+([0-9a-f]+)$/m.exec(fs.readFileSync("/proc/self/status", "utf8"))![1];
  return ((BigInt(`0x${hex}`) >> BigInt(bit)) & 1n) === 1n;
}

let script = "";
let unit = "";
let dropIn = "";
let diskId = "";
let growService = "";
let growTimer = "";
beforeAll(async () => {
  const host = renderedHosts(await runProgram())[1];
  script = writtenFile(host.cloudConfig, DATA_DISK_SCRIPT_PATH);
  unit = writtenFile(host.cloudConfig, `/etc/systemd/system/${DATA_DISK_UNIT}`);
  dropIn = writtenFile(host.cloudConfig, DOCKER_DROP_IN_PATH);
  diskId = /^Environment=TIKV_DATA_DISK_ID=(.+)$/m.exec(unit)![1];
  growService = writtenFile(host.cloudConfig, "/etc/systemd/system/tikv-data-disk-grow.service");
  growTimer = writtenFile(host.cloudConfig, "/etc/systemd/system/tikv-data-disk-grow.timer");
});

test("the unit and docker.service agree: Docker waits for the disk unit and reads what it decided", () => {
  expect(diskId).toBe("tikv-dev-2-data-disk-id");
  expect(unit).toMatch(/^Before=docker\.service$/m);
  expect(unit).toMatch(/^ExecStart=\/usr\/local\/sbin\/tikv-data-disk$/m);
  expect(unit).toMatch(/^Environment=TIKV_DATA_DISK_WAIT_SECONDS=450$/m);
  expect(dropIn).toMatch(/^Wants=tikv-data-disk\.service$/m);
  expect(dropIn).toMatch(/^After=tikv-data-disk\.service$/m);
  expect(dropIn).toMatch(/^EnvironmentFile=\/run\/tikv-data-disk\/docker\.env$/m);
  expect(dropIn).toContain(DOCKERD_DATA_DISK_FLAGS);
});

test("a running host runs the same script every 30 s (the grow timer), for this host's disk", () => {
  expect(growService).toMatch(/^ExecStart=\/usr\/local\/sbin\/tikv-data-disk$/m);
  expect(growService).toMatch(new RegExp(`^Environment=TIKV_DATA_DISK_ID=${diskId}$`, "m"));
  expect(growTimer).toMatch(/^OnUnitActiveSec=30$/m);
});

describeWithTools(["systemd-analyze"], "systemd's own parser", () => {
  const SYSTEM_UNITS = "/usr/lib/systemd/system";
  test("accepts the data-disk unit, the grow timer and its service, and, over this machine's docker.service, the drop-in", () => {
    const root = tempDir("units");
    const write = (p: string, content: string, mode = 0o644) => {
      fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
      fs.writeFileSync(path.join(root, p), content, { mode });
    };
    // The distribution's units (targets, and docker.service where Docker is installed) under the root.
    fs.cpSync(SYSTEM_UNITS, path.join(root, SYSTEM_UNITS), { recursive: true });
    write(DATA_DISK_SCRIPT_PATH, script, 0o755);
    write(`/etc/systemd/system/${DATA_DISK_UNIT}`, unit);
    write("/etc/systemd/system/tikv-data-disk-grow.service", growService);
    write("/etc/systemd/system/tikv-data-disk-grow.timer", growTimer);
    const units = [
      `/etc/systemd/system/${DATA_DISK_UNIT}`,
      "/etc/systemd/system/tikv-data-disk-grow.service",
      "/etc/systemd/system/tikv-data-disk-grow.timer",
    ];
    if (fs.existsSync(path.join(SYSTEM_UNITS, "docker.service"))) {
      write(DOCKER_DROP_IN_PATH, dropIn);
      // verify checks that every command exists: stand-ins for the ones the units name.
      const packaged = fs.readFileSync(path.join(SYSTEM_UNITS, "docker.service"), "utf8");
      for (const [, command] of `${packaged}\n${dropIn}`.matchAll(/^Exec\w*=[-@+!:]*(\/\S+)/gm))
        write(command, "#!/bin/sh\n", 0o755);
      units.push("docker.service");
    }
    for (const u of units) {
      const result = spawnSync("systemd-analyze", ["verify", "--man=no", "--root", root, u], { encoding: "utf8" });
      const said = `${result.stdout}${result.stderr}`;
      expect([
        u,
        result.status,
        said.split("\n").filter((l) => /tikv|override\.conf|Unknown|Invalid|Failed|Missing/i.test(l)),
      ]).toEqual([u, 0, []]);
    }
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("the check can fail: a misspelt key is reported", () => {
    const root = tempDir("units-bad");
    fs.cpSync(SYSTEM_UNITS, path.join(root, SYSTEM_UNITS), { recursive: true });
    fs.mkdirSync(path.join(root, "etc/systemd/system"), { recursive: true });
    fs.writeFileSync(
      path.join(root, "etc/systemd/system/bad.service"),
      "[Service]\nType=oneshot\nExecStart=/bin/true\nRemainAfterExt=yes\n",
    );
    const result = spawnSync(
      "systemd-analyze",
      ["verify", "--man=no", "--root", root, "/etc/systemd/system/bad.service"],
      { encoding: "utf8" },
    );
    expect(`${result.stdout}${result.stderr}`).toMatch(/Unknown key 'RemainAfterExt'/);
    fs.rmSync(root, { recursive: true, force: true });
  });
});

describeWithTools(
  TOOLS,
  "the data disk script on a file-backed block device",
  () => {
    const dir = tempDir("data-disk");
    const byId = path.join(dir, "by-id");
    const mnt = path.join(dir, "mnt");
    const envFile = path.join(dir, "run", "docker.env");
    const quarantine = path.join(dir, "run", "no-data-disk");
    const loops: string[] = [];
    const scriptPath = path.join(dir, "tikv-data-disk");

    /** A new blank file-backed block device. */
    function blankDisk(name: string): string {
      const image = path.join(dir, `${name}.img`);
      execFileSync("truncate", ["-s", "64M", image]);
      const loop = execFileSync("losetup", ["-f", "--show", image], { encoding: "utf8" }).trim();
      loops.push(loop);
      return loop;
    }

    /** Puts `device` where the guest finds a CBS disk: /dev/disk/by-id/virtio-<disk id>. */
    function attach(device: string): void {
      fs.mkdirSync(byId, { recursive: true });
      fs.rmSync(path.join(byId, `virtio-${diskId}`), { force: true });
      fs.symlinkSync(device, path.join(byId, `virtio-${diskId}`));
    }

    function detach(): void {
      fs.rmSync(path.join(byId, `virtio-${diskId}`), { force: true });
    }

    /** One boot's run of the unit. */
    function boot(waitSeconds = 4): {
      status: number | null;
      stdout: string;
      stderr: string;
      env: Record<string, string>;
    } {
      fs.rmSync(envFile, { force: true });
      const result = spawnSync("sh", [scriptPath], {
        encoding: "utf8",
        env: {
          PATH: process.env.PATH,
          TIKV_DATA_DISK_ID: diskId,
          TIKV_DATA_DISK_WAIT_SECONDS: String(waitSeconds),
          TIKV_DATA_DISK_BY_ID: byId,
          TIKV_DATA_DISK_MOUNT: mnt,
          TIKV_DATA_DISK_ENV: envFile,
          TIKV_DATA_DISK_QUARANTINE: quarantine,
        },
      });
      const env = fs.existsSync(envFile)
        ? Object.fromEntries(
            fs
              .readFileSync(envFile, "utf8")
              .trim()
              .split("\n")
              .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
          )
        : {};
      return { status: result.status, stdout: result.stdout, stderr: result.stderr, env };
    }

    const probe = (device: string) => execFileSync("blkid", ["-p", "-o", "export", device], { encoding: "utf8" });
    const mountedSource = () =>
      execFileSync("findmnt", ["-n", "-o", "SOURCE", "--mountpoint", mnt], { encoding: "utf8" }).trim();
    const unmount = () => {
      if (spawnSync("mountpoint", ["-q", mnt]).status === 0) execFileSync("umount", [mnt]);
    };

    beforeAll(() => fs.writeFileSync(scriptPath, script, { mode: 0o755 }));
    afterAll(() => {
      unmount();
      for (const loop of loops) spawnSync("losetup", ["-d", loop]);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    let disk = "";
    let uuid = "";

    test("a blank disk is formatted ext4 (label tikv-data), mounted by UUID, and given to Docker", () => {
      disk = blankDisk("blank");
      expect(spawnSync("blkid", ["-p", disk]).status).toBe(2);
      attach(disk);
      const run = boot();
      expect([run.status, run.stderr]).toEqual([0, ""]);
      expect(run.stdout).toMatch(/is blank: formatting it/);
      const found = probe(disk);
      expect(found).toMatch(/^TYPE=ext4$/m);
      expect(found).toMatch(/^LABEL=tikv-data$/m);
      uuid = /^UUID=(.+)$/m.exec(found)![1];
      expect(fs.realpathSync(mountedSource())).toBe(disk);
      expect(run.env).toEqual({
        TIKV_DOCKER_DATA_ROOT: path.join(mnt, "docker"),
        TIKV_DOCKER_LABEL: `tikv-cvm.data-disk=${diskId}`,
      });
      fs.writeFileSync(path.join(mnt, "docker", "pd-data-marker"), "regions");
    });

    test("the same boot again (the unit restarted) leaves the mounted disk as it is", () => {
      const run = boot();
      expect(run.status).toBe(0);
      expect(run.stdout).not.toMatch(/formatting/);
      expect(fs.readFileSync(path.join(mnt, "docker", "pd-data-marker"), "utf8")).toBe("regions");
    });

    test("every later boot (a replaced or reinstalled CVM) finds the data untouched: no format", () => {
      for (let bootCount = 0; bootCount < 2; bootCount++) {
        unmount();
        const run = boot();
        expect([run.status, run.stderr]).toEqual([0, ""]);
        expect(run.stdout).not.toMatch(/formatting/);
        expect(/^UUID=(.+)$/m.exec(probe(disk))![1]).toBe(uuid);
        expect(fs.readFileSync(path.join(mnt, "docker", "pd-data-marker"), "utf8")).toBe("regions");
      }
    });

    test("a disk grown in place (a bigger dataDiskSize) is filled at the next boot, data intact", () => {
      unmount();
      const blocks = () =>
        Number(
          /^Block count:\s+(\d+)$/m.exec(
            execFileSync("dumpe2fs", ["-h", disk], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }),
          )![1],
        );
      const before = blocks();
      execFileSync("truncate", ["-s", "128M", path.join(dir, "blank.img")]);
      execFileSync("losetup", ["-c", disk]);
      const run = boot();
      expect([run.status, run.stderr]).toEqual([0, ""]);
      expect(run.stdout).toMatch(/growing the filesystem/);
      expect(blocks()).toBeGreaterThan(before * 1.9);
      // Not again at the boot after.
      unmount();
      expect(boot().stdout).not.toMatch(/growing/);
      expect(fs.readFileSync(path.join(mnt, "docker", "pd-data-marker"), "utf8")).toBe("regions");
    });

    test("mounted with TiUP's ext4 options, and a disk grown under the running host is grown online by the timer's run, data intact", () => {
      if (spawnSync("mountpoint", ["-q", mnt]).status !== 0) expect(boot().status).toBe(0);
      // pingcap/tiup check.go CheckPartitions: ext4 needs nodelalloc (fails without) and noatime (warns).
      const options = execFileSync("findmnt", ["-n", "-o", "OPTIONS", "--mountpoint", mnt], { encoding: "utf8" });
      expect(options.trim().split(",")).toEqual(expect.arrayContaining(["noatime", "nodelalloc"]));
      const size = () => fs.statfsSync(mnt).blocks * fs.statfsSync(mnt).bsize;
      const before = size();
      execFileSync("truncate", ["-s", "192M", path.join(dir, "blank.img")]);
      execFileSync("losetup", ["-c", disk]);
      // What tikv-data-disk-grow.service runs every 30 s: the same script, the disk still mounted.
      const run = boot();
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/growing .* online/);
      expect(spawnSync("mountpoint", ["-q", mnt]).status).toBe(0);
      expect(fs.readFileSync(path.join(mnt, "docker", "pd-data-marker"), "utf8")).toBe("regions");
      expect(run.env).toEqual({
        TIKV_DOCKER_DATA_ROOT: path.join(mnt, "docker"),
        TIKV_DOCKER_LABEL: `tikv-cvm.data-disk=${diskId}`,
      });
      // ext4's online resize needs CAP_SYS_RESOURCE in the initial namespace (fs/ext4/resize.c
      // ext4_resize_begin), which a CVM's root has. Where the kernel grants it the filesystem must have
      // grown under the mount (statfs, the kernel's own view); where it refuses (this sandbox drops
      // the capability) the refusal must be reported and the disk keep serving, to grow at next boot.
      if (hasCapability(CAP_SYS_RESOURCE)) {
        expect(size()).toBeGreaterThan(before * 1.4);
        expect(boot().stdout).not.toMatch(/growing/);
      } else {
        expect(run.stderr).toMatch(
          /Permission denied to resize filesystem[\s\S]*online resize2fs .* failed; it grows at the next boot/,
        );
        expect(size()).toBe(before);
        unmount();
        const next = boot();
        expect([next.status, next.stdout]).toEqual([0, expect.stringMatching(/growing the filesystem/)]);
        expect(size()).toBeGreaterThan(before * 1.4);
      }
      expect(fs.readFileSync(path.join(mnt, "docker", "pd-data-marker"), "utf8")).toBe("regions");
    });

    describeWithTools(["dockerd", "openssl"], "Docker on it, probed by the readiness check", () => {
      let ca: Issued;
      let client: Issued;
      let server: Issued;
      beforeAll(() => {
        const certs = path.join(dir, "certs");
        fs.mkdirSync(certs);
        const ecdsa = { algorithm: "ECDSA" as const, ecdsaCurve: "P256" as const };
        ca = issue(certs, "ca", {
          commonName: "ca",
          allowedUses: ["cert_signing", "digital_signature"],
          isCa: true,
          ...ecdsa,
        });
        server = issue(
          certs,
          "server",
          {
            commonName: "host",
            allowedUses: ["digital_signature", "server_auth"],
            ipAddresses: ["127.0.0.1"],
            ...ecdsa,
          },
          ca,
        );
        client = issue(
          certs,
          "client",
          { commonName: "operator", allowedUses: ["digital_signature", "client_auth"], ...ecdsa },
          ca,
        );
      });

      /** dockerd as the drop-in starts it: --data-root and --label from the env file (here as daemon.json keys). */
      async function dockerWith(env: Record<string, string>, name: string) {
        const home = path.join(dir, name);
        fs.mkdirSync(home);
        const port = await freePort();
        const daemon = await startDockerd(
          home,
          {
            tls: true,
            tlsverify: true,
            tlscacert: ca.certPath,
            tlscert: server.certPath,
            tlskey: server.keyPath,
            hosts: [`tcp://127.0.0.1:${port}`, `unix://${home}/docker.sock`],
            ...besideOthers(home),
            // What the data-disk script decided, in place of the default data root.
            "data-root": env.TIKV_DOCKER_DATA_ROOT,
            labels: [env.TIKV_DOCKER_LABEL],
          },
          port,
        );
        const target = {
          host: "127.0.0.1",
          port,
          caPem: ca.certPem,
          certPem: client.certPem,
          keyPem: client.keyPem,
          dataDiskId: diskId,
        };
        return { daemon, target, home };
      }
      const fast = {
        label: "tikv-host-2",
        origin: "cvm" as const,
        firstDelayMs: 100,
        maxDelayMs: 400,
        attemptTimeoutMs: 2000,
      };

      test("on the mounted disk: ready, and a named volume lives on the disk", async () => {
        const { daemon, target, home } = await dockerWith(boot().env, "docker-on-disk");
        try {
          await expect(waitForDocker(target, { ...fast, timeoutMs: 10_000 })).resolves.toBe(1);
          execFileSync("docker", ["-H", `unix://${home}/docker.sock`, "volume", "create", "tikv-data"]);
          expect(fs.existsSync(path.join(mnt, "docker", "volumes", "tikv-data"))).toBe(true);
        } finally {
          await daemon.stop();
        }
      }, 60_000);

      test("without its disk: Docker comes up on the empty quarantine root and the readiness check says why", async () => {
        unmount();
        detach();
        const run = boot(2);
        expect(run.status).toBe(1);
        expect(run.stderr).toMatch(/ERROR: data disk .* did not appear/);
        expect(run.env.TIKV_DOCKER_DATA_ROOT).toBe(quarantine);
        const { daemon, target } = await dockerWith(run.env, "docker-quarantined");
        try {
          const error = await waitForDocker(target, { ...fast, timeoutMs: 10_000 }).catch((e: Error) => e);
          expect(String(error)).toMatch(
            new RegExp(
              `tikv-host-2: Docker runs without its data disk: data disk ${diskId} did not appear at .*within 2 s`,
            ),
          );
        } finally {
          await daemon.stop();
        }
        attach(disk);
      }, 60_000);
    });

    test("a disk that carries anything but ext4 is never formatted or mounted", () => {
      unmount();
      const other = blankDisk("other");
      execFileSync("mkfs.ext2", ["-q", other]);
      const before = probe(other);
      attach(other);
      const run = boot();
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/holds no ext4 filesystem but: .*TYPE=ext2.*left untouched/);
      expect(run.env.TIKV_DOCKER_LABEL).toMatch(/^tikv-cvm\.data-disk-error=.*TYPE=ext2/);
      expect(probe(other)).toBe(before);
      // 32: a directory that is not a mount point (util-linux mountpoint); 1 would be an error.
      expect(spawnSync("mountpoint", ["-q", mnt]).status).toBe(32);
      attach(disk);
    });
  },
  [{ met: isRoot, reason: "needs root for losetup and mount" }],
);
