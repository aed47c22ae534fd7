// Hosts are disposable, data is not: what a later deployment declares when CVMs change, evaluated
// under mocks against the previous deployment's own outputs.
import { rolloutGateProvider } from "../components/rollout";
import { TOKENS } from "../tencentcloud/bindings";
import {
  ProgramRun,
  byName,
  lastOutputsAfterFailedUpdate,
  lastOutputsOf,
  ofType,
  runProgram,
  unwrap,
} from "./support/harness";

const TC = TOKENS.terraform;
const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const HOSTS = [1, 2, 3];

function changedNames(a: ProgramRun, b: ProgramRun): string[] {
  const before = new Map(a.resources.map((r) => [r.name, JSON.stringify(unwrap(r.inputs))]));
  return (
    b.resources
      .filter((r) => before.has(r.name) && before.get(r.name) !== JSON.stringify(unwrap(r.inputs)))
      // Their providers' diff never reports a change (components/bootstrapPermit.ts,
      // retiredMemberData.ts): no step, whatever their inputs.
      .filter((r) => !/^pulumi-nodejs:dynamic\/tikv-cvm:(BootstrapPermit|RetiredMemberData)$/.test(r.type))
      .map((r) => r.name)
  );
}

const deps = (run: ProgramRun, name: string) => run.options.get(name)!.dependsOn;
const trigger = (run: ProgramRun, name: string) => unwrap(byName(run, name).inputs.trigger);

/** The chain a host-by-host roll must have, gate by gate. */
function expectHostByHost(run: ProgramRun): void {
  for (const i of HOSTS) {
    expect(deps(run, `tikv-dev-${i}-cvm`)).toEqual([`tikv-dev-cluster-tikv-host-${i}-before`]);
    expect(deps(run, `tikv-dev-cluster-tikv-host-${i}-before`)).toEqual(
      i === 1 ? [] : [`tikv-dev-cluster-tikv-host-${i - 1}-after`],
    );
    expect(deps(run, `tikv-dev-cluster-tikv-host-${i}-after`)).toEqual([
      `tikv-dev-cluster-pd${i}-after`,
      `tikv-dev-cluster-tikv${i}-after`,
    ]);
    expect(deps(run, `tikv-dev-cluster-pd${i}-before`)).toEqual([`tikv-dev-cluster-tikv-host-${i}-before`]);
    // Its data filesystem must fill its disk before its leaders leave (components/storeDisk.ts).
    expect(deps(run, `tikv-dev-cluster-tikv${i}-before`)).toEqual([
      `tikv-dev-cluster-pd${i}-after`,
      `tikv-dev-cluster-tikv${i}-data-fs`,
    ]);
    // A running store never waits for another host's PD container: that would point backwards.
    // Besides its gate, the check of its volume for a retired store (created once,
    // before it), its own host's check (clock and memory) and its filesystem's.
    expect(deps(run, `tikv-dev-cluster-tikv${i}`)).toEqual([
      `tikv-dev-cluster-tikv${i}-before`,
      `tikv-dev-cluster-tikv${i}-retired-data`,
      `tikv-dev-cluster-tikv-host-${i}-check`,
      `tikv-dev-cluster-tikv${i}-data-fs`,
    ]);
  }
}

/** Both host gates of every host run: their triggers changed. */
function expectHostGatesRun(before: ProgramRun, after: ProgramRun): void {
  for (const i of HOSTS) {
    for (const phase of ["before", "after"]) {
      const name = `tikv-dev-cluster-tikv-host-${i}-${phase}`;
      expect([name, trigger(after, name) !== trigger(before, name)]).toEqual([name, true]);
    }
  }
}

function expectDataUntouched(before: ProgramRun, after: ProgramRun): void {
  const data = after.resources.filter((r) => [TC.cbsStorage, VOLUME].includes(r.type)).map((r) => r.name);
  // 3 data disks, 6 PD/TiKV volumes, 2 monitoring volumes.
  expect(data).toHaveLength(3 + 6 + 2);
  const changed = changedNames(before, after);
  expect(data.filter((n) => changed.includes(n))).toEqual([]);
}

let baseline: ProgramRun;
beforeAll(async () => {
  baseline = await runProgram();
});

describe("a cloud-config change (registryMirrors)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(
      { "tikv-cvm:registryMirrors": JSON.stringify(["https://mirror.example.com"]) },
      { lastOutputs: baseline.outputs },
    );
  });

  test("gives every CVM new user data, which replaces it (userDataReplaceOnChange)", () => {
    for (const i of HOSTS) {
      const name = `tikv-dev-${i}-cvm`;
      expect(unwrap(byName(run, name).inputs.userData)).not.toBe(unwrap(byName(baseline, name).inputs.userData));
      expect(byName(run, name).inputs.userDataReplaceOnChange).toBe(true);
    }
  });

  test("replaces CVMs one after another, drained before and healthy after each", () => {
    expectHostByHost(run);
    expectHostGatesRun(baseline, run);
  });

  test("changes no data disk and no volume", () => expectDataUntouched(baseline, run));
});

describe("a host roll whose update failed part-way (pulumi/pulumi#14621)", () => {
  // The failed run registered `deployment` (plain settings, resolved at once) but not hostRollout,
  // which waits on every CVM: the stack keeps the old roll record beside the new deployment record.
  test("the next deployment still rolls every CVM host by host, each behind its gates", async () => {
    const mirrors = { "tikv-cvm:registryMirrors": JSON.stringify(["https://mirror.example.com"]) };
    const failed = await runProgram(mirrors, { lastOutputs: baseline.outputs });
    const retried = await runProgram(mirrors, {
      lastOutputs: lastOutputsAfterFailedUpdate(baseline, failed, ["deployment"]),
    });
    for (const i of HOSTS) {
      const name = `tikv-dev-${i}-cvm`;
      expect(unwrap(byName(retried, name).inputs.userData)).toBe(unwrap(byName(failed, name).inputs.userData));
    }
    expectHostByHost(retried);
    expectHostGatesRun(baseline, retried);
  });
});

describe("an image change (a pinned imageId)", () => {
  let pinned: ProgramRun;
  let run: ProgramRun;
  beforeAll(async () => {
    pinned = await runProgram({ "tikv-cvm:imageId": "img-aaaaaaaa" }, { lastOutputs: baseline.outputs });
    run = await runProgram({ "tikv-cvm:imageId": "img-bbbbbbbb" }, { lastOutputs: pinned.outputs });
  });

  test("reinstalls each CVM in place (same user data), one after another with gates", () => {
    for (const i of HOSTS) {
      const name = `tikv-dev-${i}-cvm`;
      expect(byName(run, name).inputs.imageId).toBe("img-bbbbbbbb");
      expect(unwrap(byName(run, name).inputs.userData)).toBe(unwrap(byName(pinned, name).inputs.userData));
      // Docker restarts with the reinstall: readiness waits again.
      expect(unwrap(byName(run, `tikv-dev-${i}-docker-ready`).inputs.hostKey)).not.toBe(
        unwrap(byName(pinned, `tikv-dev-${i}-docker-ready`).inputs.hostKey),
      );
    }
    expectHostByHost(run);
    expectHostGatesRun(pinned, run);
  });

  test("changes no data disk and no volume", () => expectDataUntouched(pinned, run));
});

describe("a Docker server certificate renewal (pulumi up --refresh past early renewal)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(
      {},
      {
        lastOutputs: baseline.outputs,
        // What the refresh leaves: a replaced certificate resource, with a new certPem.
        adjust: (r) =>
          /^tikv-dev-\d-docker-server-cert$/.test(r.name)
            ? {
                ...r,
                state: {
                  ...r.state,
                  certPem: String(r.state.certPem).replace(
                    "BEGIN CERTIFICATE-----\n",
                    "BEGIN CERTIFICATE-----\nMIIRENEWED",
                  ),
                },
              }
            : r,
      },
    );
  });

  test("rolls the hosts, one after another, with the new certificate in their user data", () => {
    for (const i of HOSTS) {
      const text = Buffer.from(unwrap(byName(run, `tikv-dev-${i}-cvm`).inputs.userData) as string, "base64").toString(
        "utf8",
      );
      expect(text).toContain("MIIRENEWED");
    }
    expectHostByHost(run);
    expectHostGatesRun(baseline, run);
  });

  test("changes no data disk and no volume, and no container input", () => {
    expectDataUntouched(baseline, run);
    // Containers are replaced with their CVM (a new instance id), not because their inputs changed.
    expect(changedNames(baseline, run).filter((n) => ofType(run, CONTAINER).some((c) => c.name === n))).toEqual([]);
  });
});

describe("a component certificate renewal", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(
      {},
      {
        lastOutputs: baseline.outputs,
        adjust: (r) =>
          /^tikv-dev-cluster-tls-tikv\d-cert$/.test(r.name)
            ? { ...r, state: { ...r.state, certPem: `${String(r.state.certPem)}renewed` } }
            : r,
      },
    );
  });

  test("rolls the containers in TiUP's order, each drained first; no CVM changes", () => {
    const changed = changedNames(baseline, run);
    expect(changed.filter((n) => n.endsWith("-cvm"))).toEqual([]);
    for (const m of ["pd1", "pd2", "pd3", "tikv1", "tikv2", "tikv3"]) {
      expect(changed).toEqual(expect.arrayContaining([`tikv-dev-cluster-${m}`, `tikv-dev-cluster-${m}-before`]));
    }
    expect(deps(run, "tikv-dev-cluster-pd2-before")).toEqual(["tikv-dev-cluster-pd1-after"]);
    expect(deps(run, "tikv-dev-cluster-tikv1-before")).toEqual([
      "tikv-dev-cluster-pd3-after",
      "tikv-dev-cluster-tikv1-data-fs",
    ]);
    for (const i of HOSTS) expect(deps(run, `tikv-dev-cluster-tikv-host-${i}-before`)).toEqual([]);
  });

  test("changes no data disk and no volume", () => expectDataUntouched(baseline, run));
});

describe("a replaced CVM (a new instance id)", () => {
  const replaced = (host: number) =>
    runProgram(
      {},
      {
        lastOutputs: baseline.outputs,
        adjust: (r) => (r.name === `tikv-dev-${host}-cvm` ? { ...r, id: `ins-new${host}` } : r),
      },
    );

  test("replaces exactly that host's containers, in the same deployment, and nothing else of the cluster", async () => {
    const run = await replaced(2);
    const changed = changedNames(baseline, run);
    // The member gates of pd2 and tikv2 run too: their trigger is every input that replaces the
    // container (lib/containerReplacement.ts), the instance label among them. The new CVM's clock
    // is read again before its members start (components/hostClock.ts).
    expect(changed.sort()).toEqual([
      "tikv-dev-2-data-disk-attach",
      "tikv-dev-2-docker-ready",
      "tikv-dev-2-eip-assoc",
      "tikv-dev-cluster-pd2",
      "tikv-dev-cluster-pd2-after",
      "tikv-dev-cluster-pd2-before",
      // Each member's build report is read again after its after gate (components/buildReport.ts).
      "tikv-dev-cluster-pd2-build",
      // The stores' labels are checked with PD again: a store recreated empty would carry none.
      "tikv-dev-cluster-placement",
      "tikv-dev-cluster-tikv-host-2-after",
      "tikv-dev-cluster-tikv-host-2-check",
      "tikv-dev-cluster-tikv2",
      "tikv-dev-cluster-tikv2-after",
      "tikv-dev-cluster-tikv2-before",
      "tikv-dev-cluster-tikv2-build",
    ]);
    expect(byName(run, "tikv-dev-cluster-tikv2").inputs.labels).toEqual([
      { label: "tikv-cvm.instance", value: "ins-new2" },
    ]);
  });

  test("on host 1, Prometheus and Grafana come back with it", async () => {
    const changed = changedNames(baseline, await replaced(1));
    expect(changed.filter((n) => n.includes("monitoring")).sort()).toEqual([
      "tikv-dev-monitoring-grafana",
      "tikv-dev-monitoring-prometheus",
    ]);
    expect(changed.filter((n) => /-(2|3)-|pd2|pd3|tikv2|tikv3/.test(n))).toEqual([]);
  });
});

describe("destroy and scale-out semantics", () => {
  test("data disks are retained on delete by default, and deleted when retainDataDisks is false", async () => {
    for (const d of ofType(baseline, TC.cbsStorage))
      expect(baseline.options.get(d.name)).toMatchObject({ retainOnDelete: true, protect: false });
    const off = await runProgram({ "tikv-cvm:retainDataDisks": "false" });
    for (const d of ofType(off, TC.cbsStorage)) expect(off.options.get(d.name)!.retainOnDelete).toBe(false);
    // Docker volumes stay retained whatever the disks do.
    for (const v of ofType(off, VOLUME)) expect(off.options.get(v.name)!.retainOnDelete).toBe(true);
  });

  test("after destroy, a new deployment adopts the retained disks it is given (dataDiskIds), host 1 first", async () => {
    const disks = ["disk-1a2b3c4d", "disk-5e6f7a8b"];
    const adopting = await runProgram({ "tikv-cvm:dataDiskIds": JSON.stringify(disks) });
    expect(ofType(adopting, TC.cbsStorage).map((d) => [d.name, adopting.options.get(d.name)!.import])).toEqual([
      ["tikv-dev-1-data-disk", "disk-1a2b3c4d"],
      ["tikv-dev-2-data-disk", "disk-5e6f7a8b"],
      ["tikv-dev-3-data-disk", undefined],
    ]);
    // On a deployed stack the engine would swap a host's own disk for the listed one: refused.
    await expect(
      runProgram({ "tikv-cvm:dataDiskIds": JSON.stringify(disks) }, { lastOutputs: adopting.outputs }),
    ).rejects.toThrow(
      /tikv-cvm:dataDiskIds: this stack already has its data disks.*pulumi config rm tikv-cvm:dataDiskIds/s,
    );
  });

  test("scaling 3 -> 5 adds two disks and touches no existing disk, CVM or host gate", async () => {
    const five = await runProgram({ "tikv-cvm:nodeCount": "5" }, { lastOutputs: baseline.outputs });
    expect(ofType(five, TC.cbsStorage).map((d) => d.name)).toEqual(
      [1, 2, 3, 4, 5].map((i) => `tikv-dev-${i}-data-disk`),
    );
    const changed = changedNames(baseline, five);
    // Prometheus scrapes the new members; PD labels the new stores (components/placementLabels.ts).
    expect(changed).toEqual(["tikv-dev-monitoring-prometheus", "tikv-dev-cluster-placement"]);
    // New hosts are created in parallel; running ones stay in TiUP's chain.
    expect(deps(five, "tikv-dev-cluster-tikv-host-4-before")).toEqual([]);
    expect(deps(five, "tikv-dev-cluster-tikv4")).toEqual(
      expect.arrayContaining(["tikv-dev-cluster-pd1", "tikv-dev-cluster-pd3"]),
    );
    expect(deps(five, "tikv-dev-cluster-tikv2-before")).toEqual([
      "tikv-dev-cluster-tikv1-after",
      "tikv-dev-cluster-tikv2-data-fs",
    ]);
  });
});

describe("prod guard rails (protect: true)", () => {
  let prod: ProgramRun;
  beforeAll(async () => {
    prod = await runProgram({
      "tikv-cvm:protect": "true",
      "tikv-cvm:dataDiskSnapshotRetentionDays": "7",
      "tikv-cvm:dataDiskSnapshotHour": "2",
    });
  });

  test("CVMs carry termination protection and Pulumi protect; data disks are protected", () => {
    for (const i of HOSTS) {
      expect(byName(prod, `tikv-dev-${i}-cvm`).inputs.disableApiTermination).toBe(true);
      expect(prod.options.get(`tikv-dev-${i}-cvm`)!.protect).toBe(true);
      expect(prod.options.get(`tikv-dev-${i}-data-disk`)).toMatchObject({ protect: true, retainOnDelete: true });
    }
  });

  test("one daily snapshot policy, every data disk attached to it", () => {
    const [policy] = ofType(prod, TC.cbsSnapshotPolicy);
    expect(policy.inputs).toEqual({
      snapshotPolicyName: "tikv-dev-data-daily",
      repeatWeekdays: [0, 1, 2, 3, 4, 5, 6],
      repeatHours: [2],
      retentionDays: 7,
    });
    expect(ofType(prod, TC.cbsSnapshotPolicyAttachment).map((a) => a.inputs)).toEqual(
      HOSTS.map((i) => ({ snapshotPolicyId: policy.id, storageId: `tikv-dev-${i}-data-disk-id` })),
    );
    expect(ofType(baseline, TC.cbsSnapshotPolicy)).toEqual([]);
  });

  test("a change that would replace a protected CVM is held back, through the unprotecting deployment, then rolled", async () => {
    const mirrors = { "tikv-cvm:registryMirrors": JSON.stringify(["https://mirror.example.com"]) };
    const userData = (run: ProgramRun, i: number) => unwrap(byName(run, `tikv-dev-${i}-cvm`).inputs.userData);
    // 1. Protected: the CVMs keep their user data (and so are not replaced), nothing rolls.
    const held = await runProgram({ "tikv-cvm:protect": "true", ...mirrors }, { lastOutputs: prod.outputs });
    for (const i of HOSTS) expect(userData(held, i)).toBe(userData(prod, i));
    for (const i of HOSTS) expect(deps(held, `tikv-dev-cluster-tikv-host-${i}-before`)).toEqual([]);
    // 2. protect set to false: termination protection is lifted in place; the change still waits,
    //    since the cloud only deletes a CVM whose protection is already off.
    const lifting = await runProgram(mirrors, { lastOutputs: held.outputs });
    for (const i of HOSTS) {
      expect(byName(lifting, `tikv-dev-${i}-cvm`).inputs.disableApiTermination).toBe(false);
      expect(userData(lifting, i)).toBe(userData(prod, i));
    }
    // 3. The next deployment rolls them, host by host.
    const rolled = await runProgram(mirrors, { lastOutputs: lifting.outputs });
    for (const i of HOSTS) expect(userData(rolled, i)).not.toBe(userData(prod, i));
    expectHostByHost(rolled);
  });
});

describe("changes a data disk cannot take", () => {
  test("a new encryption setting is refused before anything is declared; the disks ignore it anyway", async () => {
    await expect(runProgram({ "tikv-cvm:dataDiskEncrypt": "true" }, { lastOutputs: baseline.outputs })).rejects.toThrow(
      /tikv-cvm:dataDiskEncrypt: was false: a disk's encryption cannot change/,
    );
    for (const d of ofType(baseline, TC.cbsStorage))
      expect(baseline.options.get(d.name)!.ignoreChanges).toEqual(["availabilityZone", "encrypt"]);
  });

  test("a bigger disk is fine: the disks grow in place", async () => {
    const run = await runProgram({ "tikv-cvm:dataDiskSize": "100" }, { lastOutputs: baseline.outputs });
    expect(ofType(run, TC.cbsStorage).map((d) => d.inputs.storageSize)).toEqual([100, 100, 100]);
  });
});

describe("a stack deployed before data disks", () => {
  test("is refused before anything is declared", async () => {
    const record = baseline.outputs.deployment as { cvm: Record<string, unknown> };
    const { dataDisk: _dropped, ...cvm } = record.cvm;
    void _dropped;
    const registered: string[] = [];
    await expect(
      runProgram(
        {},
        {
          lastOutputs: lastOutputsOf(baseline, undefined, { hostRollout: undefined, deployment: { ...record, cvm } }),
          onResource: (type) => registered.push(type),
        },
      ),
    ).rejects.toThrow(/deployed by a version without data disks/);
    expect(registered.filter((t) => t !== "pulumi:pulumi:StackReference" && t !== "pulumi:pulumi:Stack")).toEqual([]);
  });
});

describe("the rollout gates' provider", () => {
  test("a host gate drains the host's PD member and store, and brings them back, through PD's API", () => {
    const before = unwrap(byName(baseline, "tikv-dev-cluster-tikv-host-2-before").inputs) as Record<string, unknown>;
    expect(before).toMatchObject({
      kind: "host",
      phase: "before",
      member: "10.0.1.12:20160",
      pdMember: "pd2",
      rolled: ["pd1"],
      pending: ["pd3"],
    });
    expect(typeof rolloutGateProvider.update).toBe("function");
  });
});
