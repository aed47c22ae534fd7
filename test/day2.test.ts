// Day-2 behaviour under mocks: repeatable inputs, upgrades and scaling that leave data alone, the
// order the engine is given for rolling restarts, and the guards (protect, retain, ignore).
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { validateConfig } from "../lib/settings";
import { TOKENS } from "../tencentcloud/bindings";
import { StoreDiskInputs, storeDiskChanges } from "../components/storeDisk";
import { ProgramRun, runProgram, unwrap } from "./support/harness";

const TC = TOKENS.terraform;
const GATE = "pulumi-nodejs:dynamic/tikv-cvm:RolloutGate";
const BUILD_REPORT = "pulumi-nodejs:dynamic/tikv-cvm:BuildReport";

/** name -> canonical JSON of its inputs. */
function inputsByName(run: ProgramRun): Map<string, string> {
  return new Map(run.resources.map((r) => [r.name, JSON.stringify(unwrap(r.inputs))]));
}

function changed(a: ProgramRun, b: ProgramRun): { name: string; type: string }[] {
  const before = inputsByName(a);
  return (
    b.resources
      .filter((r) => before.has(r.name) && before.get(r.name) !== JSON.stringify(unwrap(r.inputs)))
      // Their providers' diff never reports a change (components/bootstrapPermit.ts,
      // retiredMemberData.ts): no step, whatever their inputs.
      .filter((r) => !/^pulumi-nodejs:dynamic\/tikv-cvm:(BootstrapPermit|RetiredMemberData)$/.test(r.type))
      // Its provider's diff decides (components/storeDisk.ts): a new image alone is no step.
      .filter(
        (r) =>
          r.type !== "pulumi-nodejs:dynamic/tikv-cvm:StoreDisk" ||
          storeDiskChanges(JSON.parse(before.get(r.name)!) as StoreDiskInputs, unwrap(r.inputs) as StoreDiskInputs),
      )
      .map((r) => ({ name: r.name, type: r.type }))
  );
}

test("evaluating the program twice gives byte-identical inputs", async () => {
  const first = await runProgram({}, { fresh: true });
  const second = await runProgram({}, { fresh: true });
  expect([...inputsByName(second)]).toEqual([...inputsByName(first)]);
  expect(first.resources.length).toBeGreaterThan(60);
});

describe("upgrading tikvVersion", () => {
  let before: ProgramRun;
  let after: ProgramRun;
  beforeAll(async () => {
    before = await runProgram({ "tikv-cvm:tikvVersion": "v8.5.6" });
    after = await runProgram({ "tikv-cvm:tikvVersion": "v8.5.7" });
  });

  test("changes only images, containers and the gates in front of them", () => {
    const diff = changed(before, after);
    // The store labels are checked with PD again after the stores restart; nothing is sent when PD
    // still holds them (lib/placement.ts applyPlacement).
    expect(new Set(diff.map((d) => d.type))).toEqual(
      new Set([
        "docker:index/remoteImage:RemoteImage",
        "docker:index/container:Container",
        GATE,
        BUILD_REPORT,
        "pulumi-nodejs:dynamic/tikv-cvm:PlacementLabels",
      ]),
    );
    // Each member's build report follows its after gate: it is read again once the member is back.
    expect(
      diff
        .filter((d) => d.type === BUILD_REPORT)
        .map((d) => d.name)
        .sort(),
    ).toEqual(["pd1", "pd2", "pd3", "tikv1", "tikv2", "tikv3"].map((m) => `tikv-dev-cluster-${m}-build`).sort());
    // Both gates of every member: "before" drains it, "after" restores it.
    expect(
      diff
        .filter((d) => d.type === GATE)
        .map((d) => d.name)
        .sort(),
    ).toEqual(
      ["pd1", "pd2", "pd3", "tikv1", "tikv2", "tikv3"]
        .flatMap((m) => [`tikv-dev-cluster-${m}-after`, `tikv-dev-cluster-${m}-before`])
        .sort(),
    );
    expect(diff.filter((d) => d.type === "docker:index/container:Container")).toHaveLength(6);
  });

  test("leaves every volume, CVM, EIP, certificate and provider input unchanged", () => {
    const untouched = after.resources.filter(
      (r) =>
        r.type === "docker:index/volume:Volume" ||
        r.type === TC.instance ||
        r.type === TC.eip ||
        r.type === TC.cbsStorage ||
        r.type.startsWith("tls:") ||
        r.type === "pulumi:providers:docker",
    );
    // 8 volumes (6 data, 2 monitoring), 3 CVMs, 3 EIPs, 3 data disks, 31 TLS resources (Docker CA,
    // operator, 3 Docker servers; cluster CA, 3 component certificates, Prometheus, admin), 3 providers.
    expect(untouched.length).toBe(8 + 3 + 3 + 3 + 31 + 3);
    const names = new Set(changed(before, after).map((d) => d.name));
    expect(untouched.filter((r) => names.has(r.name))).toEqual([]);
  });
});

describe("changing nofileLimit", () => {
  test("replaces every PD and TiKV container through its gates; the default changes nothing", async () => {
    const base = await runProgram();
    const explicitDefault = await runProgram({ "tikv-cvm:nofileLimit": "1000000" });
    const lowered = await runProgram({ "tikv-cvm:nofileLimit": "20000" });
    expect(changed(base, explicitDefault)).toEqual([]);
    const diff = changed(base, lowered);
    const containers = diff.filter((d) => d.type === "docker:index/container:Container").map((d) => d.name);
    expect(containers).toHaveLength(6);
    // Each replaced container's "before" gate changes with it, so it is drained first.
    const gates = diff.filter((d) => d.type === GATE).map((d) => d.name);
    expect(gates).toEqual(expect.arrayContaining(containers.map((c) => `${c}-before`)));
    const ulimits = lowered.resources
      .filter((r) => r.type === "docker:index/container:Container" && r.name.includes("-cluster-"))
      .map((r) => r.inputs.ulimits);
    expect(ulimits).toEqual(Array(6).fill([{ name: "nofile", soft: 20000, hard: 20000 }]));
  });
});

describe("scaling from 3 to 5 hosts", () => {
  let three: ProgramRun;
  let five: ProgramRun;
  beforeAll(async () => {
    three = await runProgram();
    five = await runProgram({ "tikv-cvm:nodeCount": "5" }, { lastOutputs: three.outputs });
  });

  test("adds two hosts and two stores", () => {
    expect(five.resources.filter((r) => r.type === TC.instance)).toHaveLength(5);
    expect(
      five.resources.filter((r) => r.type === "docker:index/container:Container").map((r) => r.inputs.name),
    ).toEqual(expect.arrayContaining(["tikv4", "tikv5"]));
  });

  test("leaves every input of the existing hosts unchanged, but Prometheus's scrape targets", () => {
    // Prometheus learns the new stores from its config file, an upload that replaces its
    // container; its data is in a retained volume.
    // PD labels the new stores (components/placementLabels.ts): a call to PD, no member restarts.
    expect(changed(three, five).map((d) => d.name)).toEqual([
      "tikv-dev-monitoring-prometheus",
      "tikv-dev-cluster-placement",
    ]);
  });

  test("without monitoring, nothing on the existing hosts changes at all (PD only labels the new stores)", async () => {
    const off = { "tikv-cvm:monitoring": "false" };
    const a = await runProgram(off);
    const b = await runProgram({ ...off, "tikv-cvm:nodeCount": "5" }, { lastOutputs: a.outputs });
    expect(changed(a, b).map((d) => d.name)).toEqual(["tikv-dev-cluster-placement"]);
  });

  test("new stores are created in parallel, outside the rolling chain", () => {
    // Each only after its own data filesystem is read (components/storeDisk.ts).
    expect(five.options.get("tikv-dev-cluster-tikv4-before")!.dependsOn).toEqual(["tikv-dev-cluster-tikv4-data-fs"]);
    expect(five.options.get("tikv-dev-cluster-tikv5-before")!.dependsOn).toEqual(["tikv-dev-cluster-tikv5-data-fs"]);
    expect(five.options.get("tikv-dev-cluster-tikv3-before")!.dependsOn).toEqual([
      "tikv-dev-cluster-tikv2-after",
      "tikv-dev-cluster-tikv3-data-fs",
    ]);
  });
});

describe("the order the engine is given", () => {
  const chain = ["pd1", "pd2", "pd3", "tikv1", "tikv2", "tikv3"];
  /** A store's gate also waits for its own data filesystem (components/storeDisk.ts), nothing else. */
  const own = (m: string) => (m.startsWith("tikv") ? [`tikv-dev-cluster-${m}-data-fs`] : []);

  test("a first deployment creates every member in parallel", async () => {
    const run = await runProgram();
    for (const m of chain) expect([m, run.options.get(`tikv-dev-cluster-${m}-before`)!.dependsOn]).toEqual([m, own(m)]);
    expect(run.outputs.rolloutOrder).toEqual(chain);
  });

  test("on later deployments members are chained: before -> container -> after -> next member", async () => {
    const first = await runProgram();
    const run = await runProgram({}, { lastOutputs: first.outputs });
    const deps = (name: string) => run.options.get(`tikv-dev-cluster-${name}`)!.dependsOn;
    chain.forEach((m, i) => {
      expect(deps(m)).toContain(`tikv-dev-cluster-${m}-before`);
      expect(deps(`${m}-after`)).toEqual([`tikv-dev-cluster-${m}`]);
      expect(deps(`${m}-before`)).toEqual([...(i === 0 ? [] : [`tikv-dev-cluster-${chain[i - 1]}-after`]), ...own(m)]);
    });
    // TiKV never starts before PD: every store depends on every PD container (not during a
    // host-by-host roll, test/hostRollout.test.ts).
    expect(deps("tikv1")).toEqual(
      expect.arrayContaining(["tikv-dev-cluster-pd1", "tikv-dev-cluster-pd2", "tikv-dev-cluster-pd3"]),
    );
    expect(first.options.get("tikv-dev-cluster-tikv1")!.dependsOn).toEqual(
      expect.arrayContaining(["tikv-dev-cluster-pd1"]),
    );
  });

  test("containers with fixed names and host ports are deleted before they are replaced", async () => {
    const run = await runProgram();
    const containers = run.resources.filter((r) => r.type === "docker:index/container:Container");
    for (const c of containers) {
      expect([c.name, run.options.get(c.name)!.deleteBeforeReplace]).toEqual([c.name, true]);
      expect(c.inputs).toMatchObject({ wait: true });
    }
  });
});

describe("guards", () => {
  test("data volumes are always retained on delete; protect is off by default", async () => {
    const run = await runProgram();
    for (const v of run.resources.filter((r) => r.type === "docker:index/volume:Volume")) {
      expect(run.options.get(v.name)).toMatchObject({ retainOnDelete: true, protect: false });
    }
  });

  test("protect: true protects CVMs, EIPs and data volumes", async () => {
    const run = await runProgram({ "tikv-cvm:protect": "true" });
    const guarded = run.resources.filter((r) => [TC.instance, TC.eip, "docker:index/volume:Volume"].includes(r.type));
    expect(guarded).toHaveLength(3 + 3 + 8);
    for (const r of guarded) expect([r.name, run.options.get(r.name)!.protect]).toEqual([r.name, true]);
    const containers = run.resources.filter((r) => r.type === "docker:index/container:Container");
    for (const c of containers) expect(run.options.get(c.name)!.protect).toBe(false);
  });

  test("a looked-up image never reinstalls a running host; a chosen image does", async () => {
    const lookedUp = await runProgram();
    for (const i of lookedUp.resources.filter((r) => r.type === TC.instance)) {
      expect(lookedUp.options.get(i.name)!.ignoreChanges).toEqual(["imageId"]);
    }
    const pinned = await runProgram({ "tikv-cvm:imageId": "img-abcdefgh" });
    for (const i of pinned.resources.filter((r) => r.type === TC.instance)) {
      expect(pinned.options.get(i.name)!.ignoreChanges).toEqual([]);
    }
  });

  test("a nodeCount below pdCount is refused", async () => {
    await expect(runProgram({ "tikv-cvm:nodeCount": "3", "tikv-cvm:pdCount": "5" })).rejects.toThrow(
      /tikv-cvm:pdCount: must not exceed nodeCount/,
    );
  });
});

describe("stack files", () => {
  const load = (stack: string) =>
    parse(fs.readFileSync(path.join(__dirname, "..", `Pulumi.${stack}.yaml`), "utf8")).config as Record<
      string,
      unknown
    >;
  const validate = (config: Record<string, unknown>) => {
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
      if (k.startsWith("tikv-cvm:")) values[k.slice(9)] = typeof v === "string" ? v : JSON.stringify(v);
    }
    // The committed operator address is a documentation placeholder, refused until replaced
    // (test/settings.test.ts); stand in the address a user would put there.
    if (values.operatorCidrs !== undefined) values.operatorCidrs = JSON.stringify(["5.6.7.8/32"]);
    return validateConfig({
      values,
      region: config["tencentcloud:region"] as string | undefined,
      hasSecretId: true,
      hasSecretKey: true,
    });
  };

  test("local: mode local, no cloud settings", () => {
    const result = validate(load("local"));
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.settings.mode).toBe("local");
  });

  test("dev: three small hosts, unprotected", () => {
    const result = validate(load("dev"));
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.settings).toMatchObject({
      mode: "cvm",
      nodeCount: 3,
      protect: false,
      cvm: { instanceType: "S5.MEDIUM4" },
    });
  });

  test("prod: at least three larger hosts, protected", () => {
    const result = validate(load("prod"));
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.settings.nodeCount).toBeGreaterThanOrEqual(3);
    expect(result.settings.hostMemoryGiB).toBeGreaterThan(4);
    expect(result.settings.mode === "cvm" && result.settings.cvm.instanceType).not.toBe("S5.MEDIUM4");
    expect(result.settings.protect).toBe(true);
  });
});
