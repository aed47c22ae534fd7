// The Tencent Cloud stand-in (e2e/standins/tencentcloud, a Go provider plugin; a test fixture,
// never offered to users): built once per source revision and installed into the engine's
// PULUMI_HOME under both names the program can ask for (tencentcloud/bindings.ts): the
// parameterized base plugin `terraform-provider` 1.1.3 and the bridged plugin `tencentcloud` 0.2.3.
// One binary; it picks its route from the name it runs as. The plugin's own interface is the
// environment (TIKV_CVM_STANDIN_CLOUD_DIR, _BRIDGE_NETNS, _NETNS_PREFIX, _EIP_POOL, _IMAGES): see
// the doc comment of its main.go.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { CACHE_DIR, goSourceHash, log, run } from "./util";

const SRC = path.join(__dirname, "..", "..", "..", "e2e", "standins", "tencentcloud");

/** The plugin names and versions the program's two routes load. */
const INSTALLS = [
  { name: "terraform-provider", version: "1.1.3" },
  { name: "tencentcloud", version: "0.2.3" },
] as const;

function sha256(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Tests and builds the plugin (cached by its sources' hash): one directory per plugin name. */
function buildStandIn(): { dirs: Record<string, string>; binary: string } {
  const key = goSourceHash(SRC);
  const root = path.join(CACHE_DIR, `tencentcloud-standin-${key}`);
  const dirs: Record<string, string> = {};
  for (const p of INSTALLS) dirs[p.name] = path.join(root, p.name);
  const binary = path.join(dirs["terraform-provider"], "pulumi-resource-terraform-provider");
  if (INSTALLS.every((p) => fs.existsSync(path.join(dirs[p.name], `pulumi-resource-${p.name}`)))) {
    return { dirs, binary };
  }
  log(`testing and building the Tencent Cloud stand-in (${SRC})`);
  run("go", ["test", "./..."], { cwd: SRC });
  const tmp = `${root}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const first = path.join(tmp, "terraform-provider", "pulumi-resource-terraform-provider");
  fs.mkdirSync(path.dirname(first), { recursive: true });
  run("go", ["build", "-trimpath", "-o", first, "."], { cwd: SRC, env: { ...process.env, CGO_ENABLED: "0" } });
  const second = path.join(tmp, "tencentcloud", "pulumi-resource-tencentcloud");
  fs.mkdirSync(path.dirname(second), { recursive: true });
  fs.copyFileSync(first, second);
  fs.chmodSync(second, 0o755);
  fs.rmSync(root, { recursive: true, force: true });
  fs.renameSync(tmp, root);
  return { dirs, binary };
}

/**
 * Builds the stand-in and installs it as `terraform-provider` 1.1.3 and `tencentcloud` 0.2.3 into
 * engineEnv.PULUMI_HOME, unless the same build is installed there already.
 */
export function installTencentCloudStandIn(engineEnv: NodeJS.ProcessEnv): { binary: string } {
  const home = engineEnv.PULUMI_HOME;
  if (!home)
    throw new Error("installTencentCloudStandIn: engineEnv.PULUMI_HOME is not set (source the engine's env.sh)");
  const { dirs, binary } = buildStandIn();
  const want = sha256(binary);
  for (const p of INSTALLS) {
    const installed = path.join(home, "plugins", `resource-${p.name}-v${p.version}`, `pulumi-resource-${p.name}`);
    if (fs.existsSync(installed) && sha256(installed) === want) continue;
    log(`installing the Tencent Cloud stand-in as plugin ${p.name} ${p.version}`);
    run("pulumi", ["plugin", "install", "resource", p.name, p.version, "--file", dirs[p.name], "--reinstall"], {
      env: engineEnv,
    });
  }
  return { binary };
}

/**
 * Removes what the stand-in made for a cloud directory: every process in the hosts' namespaces
 * (<netnsPrefix><n>) and the namespaces, mounts under cloudDir, loop devices backing its disk
 * files, then cloudDir itself.
 */
export function cleanUpCloud(cloudDir: string, netnsPrefix: string): void {
  const dir = path.resolve(cloudDir);
  const hostNs = new RegExp(`^${netnsPrefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\d+$`);
  const namespaces = run("ip", ["netns", "list"])
    .stdout.split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => hostNs.test(n));
  for (const ns of namespaces) {
    for (const pid of run("ip", ["netns", "pids", ns], { allowFailure: true }).stdout.split("\n")) {
      try {
        if (pid.trim()) process.kill(Number(pid), "SIGKILL");
      } catch {
        /* gone already */
      }
    }
  }
  // Boot processes run inside the namespaces; give the kills a moment before unmounting.
  run("sleep", ["0.5"]);
  if (fs.existsSync("/proc/mounts")) {
    const mounts = fs
      .readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[1])
      .filter((m) => m && (m === dir || m.startsWith(`${dir}/`)));
    for (const m of mounts.sort((a, b) => b.length - a.length)) run("umount", ["-l", m], { allowFailure: true });
  }
  const loops = run("losetup", ["-n", "-l", "-O", "NAME,BACK-FILE"], { allowFailure: true }).stdout.split("\n");
  for (const line of loops) {
    const [dev, file] = line.trim().split(/\s+/, 2);
    if (dev && file && file.startsWith(`${dir}/`)) run("losetup", ["-d", dev], { allowFailure: true });
  }
  for (const ns of namespaces) run("ip", ["netns", "del", ns], { allowFailure: true });
  const left = fs.existsSync("/proc/mounts")
    ? fs
        .readFileSync("/proc/mounts", "utf8")
        .split("\n")
        .map((l) => l.split(" ")[1])
        .filter((m) => m && m.startsWith(`${dir}/`))
    : [];
  if (left.length > 0) throw new Error(`cleanUpCloud: still mounted under ${dir}: ${left.join(", ")}`);
  fs.rmSync(dir, { recursive: true, force: true });
}
