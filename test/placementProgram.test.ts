// Placement (issue 21 item 1) under mocks: a subnet per zone, each CVM and its data disk in its
// host's zone, every CVM in the spread placement group on both Tencent Cloud routes, and the
// store labels handed to PD after every member's gate, in every mode.
import { TOKENS } from "../tencentcloud/bindings";
import { DeployedHost } from "../lib/rolloutPlan";
import { EXISTING_STACK, NOT_CVM, ProgramRun, byName, isSecret, ofType, runProgram, unwrap } from "./support/harness";

const ZONES = ["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6"];
const SPREAD = {
  "tikv-cvm:availabilityZone": undefined,
  "tikv-cvm:availabilityZones": JSON.stringify(ZONES),
  "tikv-cvm:nodeCount": "5",
  "tikv-cvm:monitoring": "false",
};
const LABELS = "pulumi-nodejs:dynamic/tikv-cvm:PlacementLabels";

describe.each(["terraform", "bridged"] as const)("three zones, %s route", (route) => {
  const T = TOKENS[route];
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({ ...SPREAD, "tikv-cvm:tencentcloudRoute": route });
  });

  test("one subnet per zone, the first keeping the single-zone stack's name and block", () => {
    expect(
      ofType(run, T.subnet).map((s) => [s.name, s.inputs.availabilityZone, s.inputs.cidrBlock, s.inputs.name]),
    ).toEqual([
      ["tikv-dev-net-subnet", "ap-guangzhou-3", "10.0.1.0/24", "tikv-dev-net"],
      ["tikv-dev-net-subnet-2", "ap-guangzhou-4", "10.0.2.0/24", "tikv-dev-net-2"],
      ["tikv-dev-net-subnet-3", "ap-guangzhou-6", "10.0.3.0/24", "tikv-dev-net-3"],
    ]);
  });

  test("each CVM and its data disk sit in its host's zone, on that zone's subnet, in the placement group", () => {
    const subnetId = Object.fromEntries(ofType(run, T.subnet).map((s) => [s.inputs.availabilityZone, s.id]));
    const [group] = ofType(run, T.placementGroup);
    expect(group.inputs).toMatchObject({ name: "tikv-dev-spread", type: "HOST" });
    const cvms = ofType(run, T.instance).sort((a, b) => a.name.localeCompare(b.name));
    expect(cvms.map((c) => [c.inputs.instanceName, c.inputs.availabilityZone, c.inputs.privateIp])).toEqual([
      ["tikv-host-1", "ap-guangzhou-3", "10.0.1.11"],
      ["tikv-host-2", "ap-guangzhou-4", "10.0.2.12"],
      ["tikv-host-3", "ap-guangzhou-6", "10.0.3.13"],
      ["tikv-host-4", "ap-guangzhou-3", "10.0.1.14"],
      ["tikv-host-5", "ap-guangzhou-4", "10.0.2.15"],
    ]);
    for (const c of cvms) {
      expect([c.name, c.inputs.subnetId]).toEqual([c.name, subnetId[c.inputs.availabilityZone as string]]);
      expect([c.name, c.inputs.placementGroupId]).toEqual([c.name, group.id]);
    }
    const disks = ofType(run, T.cbsStorage).sort((a, b) => a.name.localeCompare(b.name));
    expect(disks.map((d) => d.inputs.availabilityZone)).toEqual(cvms.map((c) => c.inputs.availabilityZone));
  });

  test("PD gets every store's zone and host, isolation at zone level, once every member's gate ran", () => {
    const labels = byName(run, "tikv-dev-cluster-placement");
    expect(labels.type).toBe(LABELS);
    expect(unwrap(labels.inputs.placement)).toEqual({
      stores: {
        "10.0.1.11:20160": { zone: "ap-guangzhou-3", host: "tikv-host-1" },
        "10.0.2.12:20160": { zone: "ap-guangzhou-4", host: "tikv-host-2" },
        "10.0.3.13:20160": { zone: "ap-guangzhou-6", host: "tikv-host-3" },
        "10.0.1.14:20160": { zone: "ap-guangzhou-3", host: "tikv-host-4" },
        "10.0.2.15:20160": { zone: "ap-guangzhou-4", host: "tikv-host-5" },
      },
      locationLabels: ["zone", "host"],
      isolationLevel: "zone",
    });
    const afterGates = ofType(run, "pulumi-nodejs:dynamic/tikv-cvm:RolloutGate")
      .filter((g) => /-(pd|tikv)\d-after$/.test(g.name))
      .map((g) => g.name);
    expect(afterGates).toHaveLength(8);
    expect(run.dependencies.get(labels.name)!.all).toEqual(expect.arrayContaining(afterGates));
    // The client key it presents stays secret.
    expect(isSecret(labels.inputs.tls)).toBe(true);
  });
});

test("one zone: isolation at host level; placementGroupType none: no group", async () => {
  const run = await runProgram({ "tikv-cvm:placementGroupType": "none", "tikv-cvm:monitoring": "false" });
  expect(ofType(run, TOKENS.terraform.placementGroup)).toEqual([]);
  expect(ofType(run, TOKENS.terraform.instance).map((c) => c.inputs.placementGroupId)).toEqual([
    undefined,
    undefined,
    undefined,
  ]);
  const placement = unwrap(byName(run, "tikv-dev-cluster-placement").inputs.placement) as { isolationLevel: string };
  expect(placement.isolationLevel).toBe("host");
});

test("joining the placement group is no reason to roll a host: the roll keys stay", async () => {
  const roll = async (type: string) => {
    const run = await runProgram({ "tikv-cvm:placementGroupType": type, "tikv-cvm:monitoring": "false" });
    const hosts = unwrap(run.outputs.hostRollout) as Record<string, DeployedHost>;
    return Object.values(hosts).map((h) => h.roll);
  };
  expect(await roll("HOST")).toEqual(await roll("none"));
});

test("modes local and existing label their stores too", async () => {
  const local = await runProgram({ ...NOT_CVM, "tikv-cvm:mode": "local", "tikv-cvm:hostMemoryGiB": "8" });
  expect(unwrap(byName(local, "tikv-dev-cluster-placement").inputs.placement)).toMatchObject({
    stores: { "tikv1:20160": { zone: "local", host: "local-1" } },
    isolationLevel: "host",
  });
  const hosts = (JSON.parse(EXISTING_STACK.config["tikv-cvm:hosts"]!) as Record<string, string>[]).map((h, i) => ({
    ...h,
    zone: `dc-${i + 1}`,
  }));
  const existing = await runProgram(
    { ...EXISTING_STACK.config, "tikv-cvm:hosts": JSON.stringify(hosts) },
    EXISTING_STACK.options,
  );
  expect(unwrap(byName(existing, "tikv-dev-cluster-placement").inputs.placement)).toEqual({
    stores: {
      "10.9.0.11:20160": { zone: "dc-1", host: "db1" },
      "10.9.0.12:20160": { zone: "dc-2", host: "db2" },
      "10.9.0.13:20160": { zone: "dc-3", host: "db3" },
    },
    locationLabels: ["zone", "host"],
    isolationLevel: "zone",
  });
});
