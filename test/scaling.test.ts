// The program read against its own last deployment: refusals before anything is declared, PD
// scaling (3 -> 5 -> 3, 3 -> 1), store retirement, and which changes wake the rollout gates.
import {
  IN_PLACE_INPUTS,
  PROVIDER_IN_PLACE_INPUTS,
  PROVIDER_REPLACING_INPUTS,
  REPLACING_INPUTS,
  replacementDigest,
} from "../lib/containerReplacement";
import { GuardInputs, memberGuardProvider } from "../components/memberGuard";
import { FakePd } from "./support/fakePd";
import { Declared, ProgramRun, byName, lastOutputsOf, runProgram, unwrap } from "./support/harness";

const CONTAINER = "docker:index/container:Container";
const GATE = "pulumi-nodejs:dynamic/tikv-cvm:RolloutGate";
const RETIREMENT = "pulumi-nodejs:dynamic/tikv-cvm:MemberRetirement";
const NO_MONITORING = { "tikv-cvm:monitoring": "false" };

/** What the stack reference returns after `run` was deployed. */
function outputsOf(run: ProgramRun): Record<string, unknown> {
  return lastOutputsOf(run, ["rolloutOrder", "tikvStores", "deployment", "hostRollout"]);
}

function envOf(c: Declared, name: string): string | undefined {
  return (c.inputs.envs as string[]).find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
}

const container = (run: ProgramRun, member: string) => byName(run, `tikv-dev-cluster-${member}`);
const json = (r: Declared) => JSON.stringify(unwrap(r.inputs));

describe("a change the running cluster cannot take is refused before any resource is declared", () => {
  let first: ProgramRun;
  beforeAll(async () => {
    first = await runProgram();
  });

  test.each([
    ["tikvVersion", { "tikv-cvm:tikvVersion": "v8.1.2" }],
    ["subnetCidr", { "tikv-cvm:subnetCidr": "10.0.2.0/24" }],
  ])("%s", async (key, config) => {
    await expect(runProgram(config, { lastOutputs: outputsOf(first) })).rejects.toThrow(
      new RegExp(`tikv-cvm:${key}: [\\s\\S]*nothing was changed`),
    );
  });

  test("only the stack's own reference is read before the refusal", async () => {
    const seen: string[] = [];
    await expect(
      runProgram(
        { "tikv-cvm:subnetCidr": "10.0.2.0/24" },
        {
          lastOutputs: outputsOf(first),
          onResource: (type) => seen.push(type),
        },
      ),
    ).rejects.toThrow(/subnetCidr/);
    // The root stack resource exists before any program runs.
    expect(seen.filter((t) => t !== "pulumi:pulumi:Stack")).toEqual(["pulumi:pulumi:StackReference"]);
  });
});

describe("scaling PD on a running cluster: 3 -> 5 -> 3, and 3 -> 1", () => {
  let three: ProgramRun;
  let five: ProgramRun;
  let backToThree: ProgramRun;
  let one: ProgramRun;
  beforeAll(async () => {
    three = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "5" });
    five = await runProgram(
      { ...NO_MONITORING, "tikv-cvm:nodeCount": "5", "tikv-cvm:pdCount": "5" },
      { lastOutputs: outputsOf(three) },
    );
    backToThree = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "5" }, { lastOutputs: outputsOf(five) });
    one = await runProgram(
      { ...NO_MONITORING, "tikv-cvm:nodeCount": "5", "tikv-cvm:pdCount": "1" },
      { lastOutputs: outputsOf(three) },
    );
  });

  test("new members join the running cluster, never bootstrap, one after another after the members already there", () => {
    for (const m of ["pd4", "pd5"]) {
      expect(envOf(container(five, m), "PD_INITIAL_CLUSTER")).toBe("");
      expect(envOf(container(five, m), "PD_JOIN")).toContain(":2379");
    }
    expect(five.options.get("tikv-dev-cluster-pd4-before")!.dependsOn).toEqual(["tikv-dev-cluster-pd3-after"]);
    expect(five.options.get("tikv-dev-cluster-pd5-before")!.dependsOn).toEqual(["tikv-dev-cluster-pd4-after"]);
    // The cluster keeps the initial cluster it was born with.
    expect(envOf(container(five, "pd1"), "PD_INITIAL_CLUSTER")).toBe(
      envOf(container(three, "pd1"), "PD_INITIAL_CLUSTER"),
    );
    expect(five.outputs.deployment).toMatchObject({
      pdCount: 5,
      pdInitialCluster: envOf(container(three, "pd1"), "PD_INITIAL_CLUSTER"),
    });
  });

  test("no store is restarted: TiKV is told about the first three PD members only", () => {
    for (const i of [1, 2, 3, 4, 5]) {
      expect(json(container(five, `tikv${i}`))).toBe(json(container(three, `tikv${i}`)));
      expect(json(container(backToThree, `tikv${i}`))).toBe(json(container(three, `tikv${i}`)));
    }
    expect(five.resources.some((r) => r.type === RETIREMENT)).toBe(false);
  });

  test("going back to 3 removes pd5 then pd4 through PD's API, after the remaining members are rolled", () => {
    const retirements = backToThree.resources.filter((r) => r.type === RETIREMENT);
    expect(retirements.map((r) => [r.inputs.member, r.inputs.kind])).toEqual([
      ["pd5", "pd"],
      ["pd4", "pd"],
    ]);
    expect(retirements[0].inputs.remaining).toEqual(["pd1", "pd2", "pd3"]);
    expect(backToThree.options.get("tikv-dev-cluster-pd5-retire")!.dependsOn).toEqual(["tikv-dev-cluster-pd3-after"]);
    expect(backToThree.options.get("tikv-dev-cluster-pd4-retire")!.dependsOn).toEqual(["tikv-dev-cluster-pd5-retire"]);
    expect(backToThree.resources.some((r) => r.name === "tikv-dev-cluster-pd4")).toBe(false);
  });

  test("3 -> 1 removes pd3 then pd2 one at a time, so PD keeps its quorum", () => {
    expect(one.resources.filter((r) => r.type === RETIREMENT).map((r) => r.inputs.member)).toEqual(["pd3", "pd2"]);
    expect(one.options.get("tikv-dev-cluster-pd2-retire")!.dependsOn).toEqual(["tikv-dev-cluster-pd3-retire"]);
  });

  test("the retirements are declared for that one deployment only", async () => {
    const next = await runProgram(
      { ...NO_MONITORING, "tikv-cvm:nodeCount": "5" },
      { lastOutputs: outputsOf(backToThree) },
    );
    expect(next.resources.filter((r) => r.type === RETIREMENT)).toEqual([]);
  });
});

describe("scaling stores in", () => {
  test("a host going away first has its store checked for Tombstone, by address", async () => {
    const five = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "5" });
    const four = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "4" }, { lastOutputs: outputsOf(five) });
    expect(four.resources.filter((r) => r.type === RETIREMENT).map((r) => [r.inputs.kind, r.inputs.member])).toEqual([
      ["tikv", "10.0.1.15:20160"],
    ]);
  });
});

describe("the gates wake exactly when the engine replaces a container", () => {
  let base: ProgramRun;
  beforeAll(async () => {
    base = await runProgram(NO_MONITORING);
  });

  test("every input the program sets on PD and TiKV is classified as replacing or in place", () => {
    for (const c of base.resources.filter((r) => r.type === CONTAINER)) {
      const unclassified = Object.keys(c.inputs).filter(
        (k) => !REPLACING_INPUTS.includes(k) && !IN_PLACE_INPUTS.includes(k),
      );
      expect([c.name, unclassified]).toEqual([c.name, []]);
    }
    // The provider's two lists do not overlap.
    expect(
      (PROVIDER_REPLACING_INPUTS as readonly string[]).filter((k) =>
        (PROVIDER_IN_PLACE_INPUTS as readonly string[]).includes(k),
      ),
    ).toEqual([]);
  });

  test("a replacing change (an image upgrade) drains and restores: both gates of every member change", async () => {
    const upgraded = await runProgram({ ...NO_MONITORING, "tikv-cvm:tikvVersion": "v8.5.8" });
    for (const m of ["pd1", "pd2", "pd3", "tikv1", "tikv2", "tikv3"]) {
      for (const phase of ["before", "after"]) {
        const name = `tikv-dev-cluster-${m}-${phase}`;
        expect([name, unwrap(byName(upgraded, name).inputs.trigger)]).not.toEqual([
          name,
          unwrap(byName(base, name).inputs.trigger),
        ]);
      }
    }
  });

  test("an in-place change touches no gate: the trigger ignores every in-place input", () => {
    const pd1 = unwrap(container(base, "pd1").inputs) as Record<string, unknown>;
    const digest = replacementDigest(pd1);
    const changes: Record<string, unknown> = {
      restart: "always",
      mustRun: true,
      wait: false,
      waitTimeout: 60,
      destroyGraceSeconds: 5,
    };
    for (const key of IN_PLACE_INPUTS) {
      expect([key, replacementDigest({ ...pd1, [key]: changes[key] })]).toEqual([key, digest]);
    }
    for (const key of REPLACING_INPUTS.filter((k) => pd1[k] !== undefined)) {
      expect([key, replacementDigest({ ...pd1, [key]: "changed" }) === digest]).toEqual([key, false]);
    }
  });

  test("memory replaces PD and TiKV (replaceOnChanges), so a memory-only change drains a member that really restarts", async () => {
    const bigger = await runProgram({ ...NO_MONITORING, "tikv-cvm:hostMemoryGiB": "8" });
    const pd1 = container(bigger, "pd1");
    // PD's config is a ratio of its limit: only `memory` (and the swap limit pinned to it) differs,
    // and GOMEMLIMIT in its environment, which a replacement would apply anyway.
    const before = unwrap(container(base, "pd1").inputs) as Record<string, unknown>;
    const after = unwrap(pd1.inputs) as Record<string, unknown>;
    expect(Object.keys(after).filter((k) => JSON.stringify(after[k]) !== JSON.stringify(before[k]))).toEqual([
      "envs",
      "memory",
      "memorySwap",
    ]);
    expect(bigger.options.get("tikv-dev-cluster-pd1")!.replaceOnChanges).toEqual(
      expect.arrayContaining(["memory", "healthcheck"]),
    );
    expect(unwrap(byName(bigger, "tikv-dev-cluster-pd1-before").inputs.trigger)).not.toEqual(
      unwrap(byName(base, "tikv-dev-cluster-pd1-before").inputs.trigger),
    );
  });

  test("a setting that changes no container changes no trigger", async () => {
    const slower = await runProgram({ ...NO_MONITORING, "tikv-cvm:rolloutTimeoutMinutes": "30" });
    for (const gate of slower.resources.filter((r) => r.type === GATE)) {
      expect([gate.name, unwrap(gate.inputs.trigger)]).toEqual([
        gate.name,
        unwrap(byName(base, gate.name).inputs.trigger),
      ]);
    }
  });
});

// Issue 18 item 5: adding or removing a PD member restarts no other member. Each container's
// inputs (and so the digest the engine replaces it on) are the same across the change.
describe("a pdCount change leaves every other PD member's container as it was", () => {
  const pdNames = (run: ProgramRun) =>
    run.resources.filter((r) => r.type === CONTAINER && /-pd\d$/.test(r.name)).map((r) => r.name);
  const digestOf = (run: ProgramRun, member: string) =>
    replacementDigest(unwrap(container(run, member).inputs) as Record<string, unknown>);

  test.each([
    ["3 -> 5", "3", "5"],
    ["5 -> 3", "5", "3"],
    ["3 -> 1", "3", "1"],
    ["1 -> 3", "1", "3"],
  ])("%s", async (_, from, to) => {
    const config = (pd: string) => ({ ...NO_MONITORING, "tikv-cvm:nodeCount": "5", "tikv-cvm:pdCount": pd });
    const first = await runProgram(config("3"));
    const before = from === "3" ? first : await runProgram(config(from), { lastOutputs: outputsOf(first) });
    const after = await runProgram(config(to), { lastOutputs: outputsOf(before) });
    const kept = pdNames(after).filter((n) => pdNames(before).includes(n));
    expect(kept.length).toBeGreaterThan(0);
    // No store either: TiKV starts from the initial cluster's members (lib/clusterConfig.ts pdSeeds).
    for (const i of [1, 2, 3, 4, 5])
      expect([i, json(container(after, `tikv${i}`))]).toEqual([i, json(container(before, `tikv${i}`))]);
    for (const name of kept) {
      const member = name.replace(/^tikv-dev-cluster-/, "");
      expect([member, json(container(after, member))]).toEqual([member, json(container(before, member))]);
      expect([member, digestOf(after, member)]).toEqual([member, digestOf(before, member)]);
      expect([member, unwrap(byName(after, `${name}-before`).inputs.trigger)]).toEqual([
        member,
        unwrap(byName(before, `${name}-before`).inputs.trigger),
      ]);
    }
  });

  test("a member added back after a scale-in asks the members that may be there: the initial ones and those before it", async () => {
    const three = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "5" });
    const five = await runProgram(
      { ...NO_MONITORING, "tikv-cvm:nodeCount": "5", "tikv-cvm:pdCount": "5" },
      { lastOutputs: outputsOf(three) },
    );
    const url = (i: number) => `https://10.0.1.1${i}:2379`;
    expect(envOf(container(five, "pd1"), "PD_JOIN")).toBe([2, 3].map(url).join(","));
    expect(envOf(container(five, "pd3"), "PD_JOIN")).toBe([1, 2].map(url).join(","));
    expect(envOf(container(five, "pd5"), "PD_JOIN")).toBe([1, 2, 3, 4].map(url).join(","));
  });
});

// Issue 18 item 1: only the cluster's first deployment leaves the bootstrap permit.
describe("the bootstrap permit", () => {
  const PERMIT = "pulumi-nodejs:dynamic/tikv-cvm:BootstrapPermit";
  const permits = (run: ProgramRun) =>
    run.resources.filter((r) => r.type === PERMIT).map((r) => [r.name, unwrap(r.inputs.bootstrap)]);

  test("is written on the first deployment, to each initial member's volume, before the member starts", async () => {
    const first = await runProgram(NO_MONITORING);
    expect(permits(first)).toEqual(["pd1", "pd2", "pd3"].map((m) => [`tikv-dev-cluster-${m}-bootstrap-permit`, true]));
    const permit = byName(first, "tikv-dev-cluster-pd1-bootstrap-permit");
    expect(unwrap(permit.inputs)).toMatchObject({
      name: "pd1-bootstrap-permit",
      dataDir: "/data",
      volumeName: (unwrap(container(first, "pd1").inputs.volumes) as { volumeName: string }[])[0].volumeName,
    });
    expect(first.options.get("tikv-dev-cluster-pd1")!.dependsOn).toContain("tikv-dev-cluster-pd1-bootstrap-permit");
  });

  test("later deployments, and members joining later, get no permit written", async () => {
    const first = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "5" });
    const second = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "5" }, { lastOutputs: outputsOf(first) });
    const five = await runProgram(
      { ...NO_MONITORING, "tikv-cvm:nodeCount": "5", "tikv-cvm:pdCount": "5" },
      { lastOutputs: outputsOf(second) },
    );
    expect(permits(second)).toEqual(
      ["pd1", "pd2", "pd3"].map((m) => [`tikv-dev-cluster-${m}-bootstrap-permit`, false]),
    );
    expect(permits(five)).toEqual(permits(second));
    // Nothing of the PD containers depends on it: they are the same on both deployments.
    for (const m of ["pd1", "pd2", "pd3"]) expect(json(container(second, m))).toBe(json(container(first, m)));
  });

  test("a failed first deployment recorded nothing: the next run may still bootstrap", async () => {
    // The stack keeps the outputs it had before (pulumi/pulumi#14621): none.
    const failed = await runProgram(NO_MONITORING);
    const retry = await runProgram(NO_MONITORING, { lastOutputs: lastOutputsOf(failed, []) });
    expect(permits(retry).every(([, b]) => b === true)).toBe(true);
  });
});

// Issue 18 item 4: scale-in safety does not depend on the last successful outputs. A failed
// deployment is modelled by giving the next run the outputs of the run before the failed one
// (the stack keeps them, pulumi/pulumi#14621).
describe("a store created by a failed scale-out is retired through PD before it goes", () => {
  const GUARD = "pulumi-nodejs:dynamic/tikv-cvm:MemberGuard";
  let three: ProgramRun;
  let failedFour: ProgramRun;
  let revert: ProgramRun;
  beforeAll(async () => {
    three = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "3" });
    failedFour = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "4" }, { lastOutputs: outputsOf(three) });
    // The failed run recorded nothing: the revert sees the outputs of the run before it.
    revert = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "3" }, { lastOutputs: outputsOf(three) });
  });

  test("the outputs cannot tell: the revert declares no outputs-based retirement for tikv4", () => {
    expect(revert.resources.filter((r) => r.type === RETIREMENT)).toEqual([]);
    expect(revert.resources.some((r) => r.name === "tikv-dev-cluster-tikv4")).toBe(false);
  });

  test("every member has a guard that lives exactly as long as its container and is deleted before it", () => {
    const guards = failedFour.resources.filter((r) => r.type === GUARD);
    expect(guards.map((g) => [g.name, g.inputs.kind, g.inputs.member]).sort()).toEqual([
      ["tikv-dev-cluster-pd1-guard", "pd", "pd1"],
      ["tikv-dev-cluster-pd2-guard", "pd", "pd2"],
      ["tikv-dev-cluster-pd3-guard", "pd", "pd3"],
      ...[1, 2, 3, 4].map((i) => [`tikv-dev-cluster-tikv${i}-guard`, "tikv", `10.0.1.1${i}:20160`]),
    ]);
    // Depends on its container: the engine deletes dependents first, so the guard's delete (the
    // retirement) runs while the container still stands, and a failed retirement keeps it.
    expect(failedFour.options.get("tikv-dev-cluster-tikv4-guard")!.dependsOn).toEqual(["tikv-dev-cluster-tikv4"]);
    // PD members leave one at a time, highest first.
    expect(failedFour.options.get("tikv-dev-cluster-pd3-guard")!.dependsOn).toEqual([
      "tikv-dev-cluster-pd3",
      "tikv-dev-cluster-pd2-guard",
    ]);
    // Not on destroy, which keeps the data: skipped when the cluster component goes with it.
    for (const g of guards) expect(failedFour.options.get(g.name)!.deletedWith).toBe("tikv-dev-cluster");
    expect(failedFour.options.get("tikv-dev-cluster-tikv4-guard")!.additionalSecretOutputs).toEqual(["tls"]);
    // The revert no longer declares it: the engine deletes it.
    expect(revert.resources.some((r) => r.name === "tikv-dev-cluster-tikv4-guard")).toBe(false);
  });

  test("the guard's delete, with what it kept, retires the store through PD: Offline, then Tombstone", async () => {
    const pd = new FakePd();
    pd.stores = [1, 2, 3, 4].map((i) => ({ id: i, address: `10.0.1.1${i}:20160`, state: "Up" as const, leaders: 0 }));
    const endpoint = await pd.listen();
    try {
      const kept = {
        ...(unwrap(byName(failedFour, "tikv-dev-cluster-tikv4-guard").inputs) as GuardInputs),
        pdEndpoints: [endpoint],
        tls: undefined,
        timeoutMinutes: 0.05,
      };
      await memberGuardProvider.delete!("guard-tikv-10.0.1.14:20160", kept);
      expect(pd.calls).toContain("DELETE /pd/api/v1/store/4");
      expect(pd.stores.find((s) => s.id === 4)!.state).toBe("Tombstone");
      // A PD member's guard removes the member, handing leadership over first.
      pd.leader = "pd3";
      await memberGuardProvider.delete!("guard-pd-pd3", { ...kept, kind: "pd", member: "pd3" });
      expect(pd.members.map((m) => m.name)).toEqual(["pd1", "pd2"]);
      expect(pd.leaderHistory).toContain("pd1");
    } finally {
      pd.close();
    }
  });

  test("a store PD cannot retire yet fails the delete, so the engine keeps its container", async () => {
    const pd = new FakePd();
    pd.stores = [1, 2, 3, 4].map((i) => ({ id: i, address: `10.0.1.1${i}:20160`, state: "Up" as const, leaders: 0 }));
    pd.tombstoneAfter = Infinity;
    const endpoint = await pd.listen();
    try {
      await expect(
        memberGuardProvider.delete!("guard-tikv-10.0.1.14:20160", {
          kind: "tikv",
          member: "10.0.1.14:20160",
          pdEndpoints: [endpoint],
          timeoutMinutes: 0.005,
        }),
      ).rejects.toThrow(/store 4 \(10.0.1.14:20160\) is Offline.*run pulumi up again/);
    } finally {
      pd.close();
    }
  });
});

// Issue 18 item 3: nodeCount 4 -> 3 -> 4 and pdCount 3 -> 1 -> 3 come back over the retained volumes.
describe("scaling back out over retained volumes", () => {
  const RETIRED = "pulumi-nodejs:dynamic/tikv-cvm:RetiredMemberData";
  test("4 -> 3 -> 4: the store created again first has its Tombstone predecessor's data moved aside, asked of PD", async () => {
    const four = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "4" });
    const three = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "3" }, { lastOutputs: outputsOf(four) });
    const again = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "4" }, { lastOutputs: outputsOf(three) });
    // Retired through PD on the way in (the outputs-based retirement and the guard), on the same volume name.
    expect(three.resources.filter((r) => r.type === RETIREMENT).map((r) => r.inputs.member)).toEqual([
      "10.0.1.14:20160",
    ]);
    const check = byName(again, "tikv-dev-cluster-tikv4-retired-data");
    expect(check.type).toBe(RETIRED);
    expect(unwrap(check.inputs)).toMatchObject({
      kind: "tikv",
      member: "10.0.1.14:20160",
      firstDeployment: false,
      dataDir: "/data",
    });
    expect(again.options.get("tikv-dev-cluster-tikv4")!.dependsOn).toContain("tikv-dev-cluster-tikv4-retired-data");
    expect(unwrap(byName(again, "tikv-dev-cluster-tikv4-data").inputs.name)).toBe(
      unwrap(byName(four, "tikv-dev-cluster-tikv4-data").inputs.name),
    );
    // On the first deployment there is nothing to ask PD.
    expect(unwrap(byName(four, "tikv-dev-cluster-tikv4-retired-data").inputs.firstDeployment)).toBe(true);
  });

  test("3 -> 1 -> 3: pd2 and pd3 come back on their volumes, their removed member data moved aside first (asked of PD)", async () => {
    const three = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "3" });
    const one = await runProgram(
      { ...NO_MONITORING, "tikv-cvm:nodeCount": "3", "tikv-cvm:pdCount": "1" },
      { lastOutputs: outputsOf(three) },
    );
    const back = await runProgram({ ...NO_MONITORING, "tikv-cvm:nodeCount": "3" }, { lastOutputs: outputsOf(one) });
    for (const m of ["pd2", "pd3"]) {
      // The same volume and the same container spec as before they left; before the container,
      // PD's member list decides whether the volume's member data is a removed member's
      // (components/retiredMemberData.ts), and the start script then joins it afresh.
      expect(json(container(back, m))).toBe(json(container(three, m)));
      const check = byName(back, `tikv-dev-cluster-${m}-retired-data`);
      expect(check.type).toBe(RETIRED);
      expect(unwrap(check.inputs)).toMatchObject({
        kind: "pd",
        member: m,
        peerUrl: `https://10.0.1.1${m.slice(2)}:2380`,
        firstDeployment: false,
      });
      expect(back.options.get(`tikv-dev-cluster-${m}`)!.dependsOn).toContain(`tikv-dev-cluster-${m}-retired-data`);
    }
    // pd1 was never restarted by any of it.
    expect(json(container(one, "pd1"))).toBe(json(container(three, "pd1")));
    expect(json(container(back, "pd1"))).toBe(json(container(three, "pd1")));
  });
});
