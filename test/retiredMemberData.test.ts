// Issue 18 item 3: a store made Tombstone by a scale-in, or a PD member removed by one, comes back
// over its retained volume; before its container is created, the volume's old contents are moved
// aside (kept), decided from PD's store or member list (the live cluster), never touching a live
// member's data.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { RetiredDataInputs, moveAsideCommand, retiredMemberDataProvider } from "../components/retiredMemberData";
import { PdStore, retiredStoreAt } from "../lib/pdApi";
import { FakeEngine } from "./support/fakeEngine";
import { FakePd } from "./support/fakePd";
import { tempDir } from "./support/openssl";
import { describeWithTools } from "./support/tools";

const store = (id: number, address: string, stateName: string): PdStore => ({ id, address, stateName, leaderCount: 0 });

describe("retiredStoreAt", () => {
  const A = "10.0.1.14:20160";
  test.each([
    [
      "a Tombstone store and no live one at the address: the latest Tombstone",
      [store(4, A, "Tombstone"), store(9, A, "Tombstone")],
      9,
    ],
    ["a live store at the address (its data is live)", [store(4, A, "Tombstone"), store(9, A, "Up")], undefined],
    ["an Offline store at the address (still being retired)", [store(4, A, "Offline")], undefined],
    ["a Disconnected store (an Up store not heartbeating)", [store(4, A, "Disconnected")], undefined],
    ["nothing at the address", [store(1, "10.0.1.11:20160", "Tombstone")], undefined],
  ])("%s", (_, stores, id) => {
    expect(retiredStoreAt(stores, A)?.id).toBe(id);
  });
});

/**
 * A fresh fake PD and fake Docker engine for each test of the enclosing describe, and the inputs
 * of one member's check against them.
 */
function againstFakes(
  member: Pick<RetiredDataInputs, "kind" | "member" | "peerUrl" | "image" | "volumeName" | "name">,
) {
  const f = {} as { pd: FakePd; engine: FakeEngine; inputs: RetiredDataInputs };
  let stop: () => void;
  beforeEach(async () => {
    f.pd = new FakePd();
    f.engine = new FakeEngine();
    stop = await f.engine.listen();
    f.inputs = {
      ...member,
      endpoint: { kind: "environment" },
      dataDir: "/data",
      pdEndpoints: [await f.pd.listen()],
      timeoutMinutes: 0.01,
      firstDeployment: false,
    };
  });
  afterEach(() => {
    f.pd.close();
    stop();
  });
  return f;
}

describe("the retired-store provider, against a fake PD and a fake Docker engine", () => {
  const f = againstFakes({
    kind: "tikv",
    member: "10.0.1.14:20160",
    image: "sha256:tikv",
    volumeName: "tikv-data",
    name: "tikv4-retired-data",
  });
  beforeEach(() => {
    f.pd.stores = [1, 2, 3].map((i) => ({ id: i, address: `10.0.1.1${i}:20160`, state: "Up" as const, leaders: 0 }));
  });

  test("store 4 Tombstone, none live at its address: the volume's contents move aside before the store starts", async () => {
    f.pd.stores.push({ id: 4, address: "10.0.1.14:20160", state: "Tombstone", leaders: 0 });
    const { outs } = await retiredMemberDataProvider.create(f.inputs);
    expect(outs?.outcome).toMatch(/^store 4 is Tombstone: its data moved to retired-store-4-\d{14} on tikv-data$/);
    expect(f.engine.calls.filter((c) => c.startsWith("POST"))).toEqual([
      "POST /containers/create?name=tikv4-retired-data",
      "POST /containers/abc/start",
      "POST /containers/abc/wait",
    ]);
    expect(f.engine.bodies[0]).toMatchObject({ Image: "sha256:tikv", HostConfig: { Binds: ["tikv-data:/data"] } });
  });

  test.each([
    [
      "a live store at the address",
      () => f.pd.stores.push({ id: 4, address: "10.0.1.14:20160", state: "Up", leaders: 0 }),
    ],
    ["no store at the address (a new host)", () => undefined],
  ])("%s: nothing is touched", async (_, setup) => {
    setup();
    const { outs } = await retiredMemberDataProvider.create(f.inputs);
    expect(outs?.outcome).toBe("no retired store at this address");
    expect(f.engine.calls).toEqual([]);
  });

  test("the first deployment asks nobody: PD is not up yet", async () => {
    f.pd.close();
    const { outs } = await retiredMemberDataProvider.create({ ...f.inputs, firstDeployment: true });
    expect(outs?.outcome).toMatch(/first deployment/);
    expect(f.engine.calls).toEqual([]);
  });

  test("PD not answering later: the deployment stops before the store, nothing changed", async () => {
    f.pd.failWith = 503;
    await expect(retiredMemberDataProvider.create(f.inputs)).rejects.toThrow(
      /before creating TiKV store 10.0.1.14:20160: PD did not answer .*nothing was changed/,
    );
    expect(f.engine.calls).toEqual([]);
  });

  test("never runs again for the same member", async () => {
    await expect(
      retiredMemberDataProvider.diff!(
        "x",
        { kind: "tikv", member: f.inputs.member, outcome: "…" },
        { ...f.inputs, image: "other" },
      ),
    ).resolves.toEqual({ changes: false, replaces: [] });
  });
});

describe("the retired-member provider for a PD member (pdCount 3 -> 1 -> 3)", () => {
  const f = againstFakes({
    kind: "pd",
    member: "pd3",
    peerUrl: "http://10.0.1.13:2380",
    image: "sha256:pd",
    volumeName: "pd-data",
    name: "pd3-retired-data",
  });

  test("a member PD no longer lists: its member data, if any, moves aside before it starts", async () => {
    f.pd.members = f.pd.members.filter((m) => m.name !== "pd3");
    const { outs } = await retiredMemberDataProvider.create(f.inputs);
    expect(outs?.outcome).toMatch(
      /^PD member pd3 is not in the cluster: member data on pd-data, if any, moved to removed-\d{14}$/,
    );
    expect(f.engine.calls.filter((c) => c.startsWith("POST"))).toEqual([
      "POST /containers/create?name=pd3-retired-data",
      "POST /containers/abc/start",
      "POST /containers/abc/wait",
    ]);
    expect(f.engine.bodies[0]).toMatchObject({ Image: "sha256:pd", HostConfig: { Binds: ["pd-data:/data"] } });
  });

  test.each([
    ["listed by name", () => undefined],
    ["listed by peer URL only (added, not started)", () => (f.pd.members[2].started = false)],
  ])("a member PD still has (%s): nothing is touched", async (_, setup) => {
    setup();
    const { outs } = await retiredMemberDataProvider.create(f.inputs);
    expect(outs?.outcome).toBe("PD member pd3 is in the cluster: its data is its own");
    expect(f.engine.calls).toEqual([]);
  });

  test("PD not answering: the deployment stops before the member, nothing changed", async () => {
    f.pd.failWith = 503;
    await expect(retiredMemberDataProvider.create(f.inputs)).rejects.toThrow(
      /before creating PD member pd3: PD did not answer .*nothing was changed/,
    );
    expect(f.engine.calls).toEqual([]);
  });
});

describeWithTools(["sh"], "the move-aside command, run by a real sh", () => {
  test("moves every entry, hidden ones too, into the aside directory, and keeps earlier asides where they are", () => {
    const dir = tempDir("retired");
    fs.mkdirSync(path.join(dir, "db"));
    fs.writeFileSync(path.join(dir, "db", "CURRENT"), "x");
    fs.writeFileSync(path.join(dir, "LOCK"), "");
    fs.writeFileSync(path.join(dir, ".hidden"), "");
    fs.mkdirSync(path.join(dir, "retired-store-2-20260101000000"));
    const [flag, script] = moveAsideCommand(dir, "retired-store-4-20261207000000");
    const result = spawnSync("sh", [flag, script], { encoding: "utf8" });
    expect([result.status, result.stderr]).toEqual([0, ""]);
    expect(fs.readdirSync(dir).sort()).toEqual(["retired-store-2-20260101000000", "retired-store-4-20261207000000"]);
    expect(fs.readdirSync(path.join(dir, "retired-store-4-20261207000000")).sort()).toEqual([".hidden", "LOCK", "db"]);
    expect(fs.readFileSync(path.join(dir, "retired-store-4-20261207000000", "db", "CURRENT"), "utf8")).toBe("x");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("for a PD member: only when the volume holds member data; earlier asides of both kinds stay", () => {
    const dir = tempDir("removed");
    const [flag, script] = moveAsideCommand(dir, "removed-20261207000000", "member");
    fs.writeFileSync(path.join(dir, "join"), "pd1=…");
    let result = spawnSync("sh", [flag, script], { encoding: "utf8" });
    expect([result.status, result.stdout.trim()]).toEqual([0, "no member data"]);
    expect(fs.readdirSync(dir)).toEqual(["join"]);
    fs.mkdirSync(path.join(dir, "member", "wal"), { recursive: true });
    fs.mkdirSync(path.join(dir, "removed-20260101000000"));
    fs.mkdirSync(path.join(dir, "retired-store-2-20260101000000"));
    result = spawnSync("sh", [flag, script], { encoding: "utf8" });
    expect([result.status, result.stderr]).toEqual([0, ""]);
    expect(fs.readdirSync(dir).sort()).toEqual([
      "removed-20260101000000",
      "removed-20261207000000",
      "retired-store-2-20260101000000",
    ]);
    expect(fs.readdirSync(path.join(dir, "removed-20261207000000")).sort()).toEqual(["join", "member"]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
