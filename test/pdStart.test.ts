// The PD start script, run by a real sh with real GNU wget and jq against the fake PD, with a
// stand-in pd-server that records the flags it was started with.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PD_BOOTSTRAP_PERMIT, PD_START_SCRIPT, pdStartEnv } from "../lib/pdStart";
import { planCluster } from "../lib/topology";
import { FakePd } from "./support/fakePd";
import { tempDir } from "./support/openssl";
import { describeWithTools } from "./support/tools";

const PLAN = planCluster(3, 3, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3"] }, false);
const INITIAL = PLAN.initialCluster;

describeWithTools(["sh", "wget", "jq"], "the PD start script", () => {
  let dir: string;
  let pd: FakePd;
  let pdUrl: string;

  beforeEach(async () => {
    dir = tempDir("pd-start");
    fs.writeFileSync(path.join(dir, "start.sh"), PD_START_SCRIPT);
    // Records its arguments instead of serving.
    fs.writeFileSync(path.join(dir, "pd-server"), `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/started-with"\n`, {
      mode: 0o755,
    });
    fs.mkdirSync(path.join(dir, "data"));
    pd = new FakePd();
    pdUrl = await pd.listen();
  });
  afterEach(() => {
    pd.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the script for host `index` with the program's own environment, PD_JOIN pointed at the fake PD. */
  let running: ReturnType<typeof spawn> | undefined;
  function start(
    index: number,
    overrides: Record<string, string> = {},
  ): Promise<{ code: number; flags: string[]; log: string }> {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      PD_SERVER: path.join(dir, "pd-server"),
      PD_RETRY_SECONDS: "0.1",
      PD_BOOTSTRAP_TRIES: "3",
    };
    for (const entry of pdStartEnv(PLAN.hosts[index - 1], PLAN, INITIAL, path.join(dir, "data"))) {
      const [k, ...v] = entry.split("=");
      env[k] = v.join("=");
    }
    env.PD_JOIN = pdUrl;
    Object.assign(env, overrides);
    return new Promise((resolve) => {
      const child = spawn("sh", [path.join(dir, "start.sh"), "--name=x", "--data-dir=y"], { env });
      running = child;
      let log = "";
      child.stderr.on("data", (d) => (log += d));
      child.on("exit", (code) => {
        const file = path.join(dir, "started-with");
        const flags = fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : [];
        resolve({ code: code ?? -1, flags, log });
      });
    });
  }

  test("a volume with member data restarts as itself: no --join, no --initial-cluster, PD only asked for its members", async () => {
    fs.mkdirSync(path.join(dir, "data", "member", "wal"), { recursive: true });
    const { flags } = await start(2);
    expect(flags).toEqual(["--name=x", "--data-dir=y"]);
    expect(pd.calls).toEqual(["GET /pd/api/v1/members"]);
  });

  /** The client URLs of the fake's started members: what --join is given. */
  const started = () =>
    pd.members
      .filter((m) => m.started)
      .map((m) => m.clientUrl)
      .join(",");
  const permit = () => path.join(dir, "data", PD_BOOTSTRAP_PERMIT);

  test("an empty volume while the cluster runs joins it through the members that answer", async () => {
    pd.members = pd.members.filter((m) => m.name !== "pd3");
    const { flags } = await start(3);
    expect(flags).toEqual(["--name=x", "--data-dir=y", `--join=${started()}`]);
  });

  test("an empty volume whose member is still listed: that identity is removed through PD's API first, then it joins", async () => {
    const { flags, log } = await start(2);
    expect(pd.calls).toContain("DELETE /pd/api/v1/members/name/pd2");
    expect(pd.members.map((m) => m.name)).toEqual(["pd1", "pd3"]);
    expect(flags).toEqual(["--name=x", "--data-dir=y", `--join=${started()}`]);
    expect(log).toMatch(/data is gone/);
  });

  test("a member of the initial cluster that has not started yet starts with --initial-cluster", async () => {
    pd.members[2].started = false;
    const { flags } = await start(3);
    expect(flags).toEqual(["--name=x", "--data-dir=y", `--initial-cluster=${INITIAL}`]);
  });

  test("nobody answers on the first deployment (the permit is there): a member of the initial cluster bootstraps it", async () => {
    pd.close();
    fs.writeFileSync(permit(), "");
    const { flags, log } = await start(1);
    expect(flags).toEqual(["--name=x", "--data-dir=y", `--initial-cluster=${INITIAL}`]);
    expect(log).toMatch(/bootstrapping/);
  });

  // Issue 18 item 1: once bootstrapped, no member ever bootstraps again.
  test("a wiped member of the initial cluster, nobody answering, no permit: it never bootstraps, and joins once a member answers", async () => {
    pd.close();
    const child = start(1);
    const asking = running!;
    const raced = await Promise.race([
      child.then((r) => `exited with ${r.flags.join(" ")}`),
      new Promise((r) => setTimeout(() => r("still asking"), 1500)),
    ]);
    expect(raced).toBe("still asking");
    asking.kill();
    const { log } = await child;
    expect(log).toMatch(/bootstrapped before \(no bootstrap permit on this volume\): waiting to join it/);
    pd = new FakePd();
    pd.members = pd.members.filter((m) => m.name !== "pd1");
    pd.leader = "pd2";
    const again = await start(1, { PD_JOIN: await pd.listen() });
    expect(again.flags).toEqual(["--name=x", "--data-dir=y", `--join=${started()}`]);
  }, 15_000);

  test("the permit goes as soon as the member has data, so a later wipe cannot bring it back", async () => {
    fs.mkdirSync(path.join(dir, "data", "member", "wal"), { recursive: true });
    fs.writeFileSync(permit(), "");
    await start(1);
    expect(fs.existsSync(permit())).toBe(false);
  });

  test("a member that joins a running cluster drops a permit it was given", async () => {
    fs.writeFileSync(permit(), "");
    pd.members = pd.members.filter((m) => m.name !== "pd3");
    await start(3);
    expect(fs.existsSync(permit())).toBe(false);
  });

  // Issue 18 item 3: a member removed by a scale-in restarts (etcd stops it) while its container
  // waits to be deleted: it must not add itself back, which would cost the cluster its quorum.
  test("member data of a removed member (the cluster lists it by neither name nor peer URL): it waits, data untouched, never rejoins", async () => {
    fs.mkdirSync(path.join(dir, "data", "member", "wal"), { recursive: true });
    fs.writeFileSync(path.join(dir, "data", "member", "wal", "0.wal"), "old");
    pd.members = pd.members.filter((m) => m.name !== "pd3");
    const child = start(3);
    const waiting = running!;
    const raced = await Promise.race([
      child.then((r) => `exited with ${r.flags.join(" ")}`),
      new Promise((r) => setTimeout(() => r("still waiting"), 1500)),
    ]);
    expect(raced).toBe("still waiting");
    waiting.kill();
    const { log } = await child;
    expect(log).toMatch(/no longer lists pd3: this member was removed from the cluster; not rejoining by itself/);
    expect(fs.readdirSync(path.join(dir, "data"))).toEqual(["member"]);
    expect(fs.readFileSync(path.join(dir, "data", "member", "wal", "0.wal"), "utf8")).toBe("old");
    expect(pd.calls.filter((c) => !c.startsWith("GET"))).toEqual([]);
  }, 15_000);

  test.each([
    ["listed by name", () => undefined],
    ["listed by peer URL only (added, not started)", (fake: FakePd) => (fake.members[2].started = false)],
  ])("member data of a member the cluster still has (%s): restarts as itself, data untouched", async (_, setup) => {
    setup(pd);
    fs.mkdirSync(path.join(dir, "data", "member", "wal"), { recursive: true });
    const { flags } = await start(3);
    expect(flags).toEqual(["--name=x", "--data-dir=y"]);
    expect(fs.readdirSync(path.join(dir, "data"))).toEqual(["member"]);
  });

  test("member data and nobody answering (a whole-cluster restart): restarts as itself", async () => {
    pd.close();
    fs.mkdirSync(path.join(dir, "data", "member", "wal"), { recursive: true });
    const { flags } = await start(3);
    expect(flags).toEqual(["--name=x", "--data-dir=y"]);
  });

  test("a member outside the initial cluster never bootstraps: it keeps asking until a member answers", async () => {
    pd.close();
    const child = start(3, { PD_INITIAL_CLUSTER: "" });
    const asking = running!;
    const raced = await Promise.race([
      child.then(() => "exited"),
      new Promise((r) => setTimeout(() => r("still asking"), 1500)),
    ]);
    expect(raced).toBe("still asking");
    // The cluster comes up: it joins.
    pd = new FakePd();
    const again = await start(3, { PD_INITIAL_CLUSTER: "", PD_JOIN: await pd.listen() });
    expect(again.flags[2]).toMatch(/^--join=/);
    asking.kill();
    await child;
  }, 15_000);

  test("an image without GNU Wget is refused with a message naming the images that have it", async () => {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.symlinkSync("/bin/busybox", path.join(bin, "wget"));
    for (const tool of ["sh", "jq", "grep", "ls", "tr", "sleep"]) {
      const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
      if (found) fs.symlinkSync(found, path.join(bin, tool));
    }
    const { code, flags, log } = await start(1, { PATH: bin });
    expect(code).toBe(1);
    expect(flags).toEqual([]);
    expect(log).toMatch(/no GNU Wget.*v7\.1\.0/);
  });
});

describeWithTools(["shellcheck"], "the PD start script under shellcheck", () => {
  test("passes shellcheck", () => {
    const dir = tempDir("pd-start-check");
    const file = path.join(dir, "start.sh");
    fs.writeFileSync(file, PD_START_SCRIPT);
    const result = spawnSync("shellcheck", ["--severity=style", file], { encoding: "utf8" });
    expect([result.status, result.stdout]).toEqual([0, ""]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
