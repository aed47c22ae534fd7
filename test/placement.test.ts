// Placement (issue 21 item 1): zones per host, their subnets, PD's quorum across zones, the
// isolation level, and the labels set through PD's API (against test/support/fakePd.ts, which
// answers as PD v8.5.7's handlers do).
import { placementLabelsProvider } from "../components/placementLabels";
import { PdTarget } from "../lib/pdApi";
import {
  applyPlacement,
  isolationLevel,
  pdQuorumProblem,
  placementOf,
  zoneOfHost,
  zoneSubnetCidr,
} from "../lib/placement";
import { planCluster } from "../lib/topology";
import { FakePd } from "./support/fakePd";

const ZONES = ["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6"];

describe("zones", () => {
  test("hosts go round robin, so the first three (the PD members) land in three zones", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((i) => zoneOfHost(ZONES, i))).toEqual([...ZONES, ...ZONES, "ap-guangzhou-3"]);
  });

  test("each zone's subnet is the next block of subnetCidr's size; the first is subnetCidr", () => {
    expect([0, 1, 2].map((k) => zoneSubnetCidr("10.0.1.0/24", k))).toEqual([
      "10.0.1.0/24",
      "10.0.2.0/24",
      "10.0.3.0/24",
    ]);
    expect(zoneSubnetCidr("10.0.1.0/27", 2)).toBe("10.0.1.64/27");
    expect(zoneSubnetCidr("255.255.255.0/24", 1)).toBeUndefined();
  });

  test("hosts keep their offsets in their own zone's subnet", () => {
    const plan = planCluster(5, 3, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ZONES }, true);
    expect(plan.hosts.map((h) => [h.zone, h.privateIp])).toEqual([
      ["ap-guangzhou-3", "10.0.1.11"],
      ["ap-guangzhou-4", "10.0.2.12"],
      ["ap-guangzhou-6", "10.0.3.13"],
      ["ap-guangzhou-3", "10.0.1.14"],
      ["ap-guangzhou-4", "10.0.2.15"],
    ]);
  });

  test("local and existing hosts get a zone too", () => {
    expect(planCluster(3, 3, { kind: "containers" }, true).hosts.map((h) => h.zone)).toEqual([
      "local",
      "local",
      "local",
    ]);
    const listed = (zone?: string) =>
      [1, 2, 3].map((i) => ({ name: `db${i}`, privateIp: `10.9.0.1${i}`, ...(zone ? { zone: `${zone}${i}` } : {}) }));
    expect(planCluster(3, 3, { kind: "listed", hosts: listed("dc-") }, true).hosts.map((h) => h.zone)).toEqual([
      "dc-1",
      "dc-2",
      "dc-3",
    ]);
    expect(planCluster(3, 3, { kind: "listed", hosts: listed() }, true).hosts.map((h) => h.zone)).toEqual([
      "default",
      "default",
      "default",
    ]);
  });

  test("PD's quorum must survive any one zone", () => {
    expect(pdQuorumProblem(["a", "b", "c"], 3)).toBeUndefined();
    expect(pdQuorumProblem(["a", "b", "c", "a", "b"], 3)).toBeUndefined();
    expect(pdQuorumProblem(["a", "a", "a"], 1)).toBeUndefined();
    expect(pdQuorumProblem(["a", "b", "a"], 2)).toMatch(/^a would hold 2 of the 3 PD member\(s\), a majority/);
    expect(pdQuorumProblem(["a"], 3)).toMatch(/1 of the 1 PD member/);
  });

  test("isolation-level is zone only when every replica can have a zone of its own", () => {
    expect(isolationLevel(ZONES, 3)).toBe("zone");
    expect(isolationLevel(["a", "b", "a"], 3)).toBe("host");
    expect(isolationLevel(["a", "a", "a", "a"], 3)).toBe("host");
  });

  test("each store is labelled with its host's zone and name, by its advertised address", () => {
    const plan = planCluster(3, 3, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ZONES }, true);
    expect(placementOf(plan.hosts, 20160, 3)).toEqual({
      stores: {
        "10.0.1.11:20160": { zone: "ap-guangzhou-3", host: "tikv-host-1" },
        "10.0.2.12:20160": { zone: "ap-guangzhou-4", host: "tikv-host-2" },
        "10.0.3.13:20160": { zone: "ap-guangzhou-6", host: "tikv-host-3" },
      },
      locationLabels: ["zone", "host"],
      isolationLevel: "zone",
    });
  });
});

describe("labels through PD's API", () => {
  const policy = { timeoutMs: 2_000, intervalMs: 50 };
  let pd: FakePd;
  let target: PdTarget;
  const want = {
    stores: {
      "10.0.1.11:20160": { zone: "z1", host: "h1" },
      "10.0.1.12:20160": { zone: "z2", host: "h2" },
    },
    locationLabels: ["zone", "host"],
    isolationLevel: "host" as const,
  };

  beforeEach(async () => {
    pd = new FakePd();
    target = { endpoints: [await pd.listen()], requestTimeoutMs: 1_000 };
  });
  afterEach(() => pd.close());

  const posts = () => pd.calls.filter((c) => c.startsWith("POST"));

  test("labels each store, then sets location-labels and isolation-level, and reports what PD holds", async () => {
    const reported = await applyPlacement(target, want, policy);
    expect(posts()).toEqual([
      'POST /pd/api/v1/store/1/label {"zone":"z1","host":"h1"}',
      'POST /pd/api/v1/store/4/label {"zone":"z2","host":"h2"}',
      'POST /pd/api/v1/config/replicate {"location-labels":"zone,host","isolation-level":"host"}',
    ]);
    expect(reported).toMatchObject({
      locationLabels: "zone,host",
      isolationLevel: "host",
      storeLabels: { "10.0.1.11:20160": { zone: "z1", host: "h1" }, "10.0.1.12:20160": { zone: "z2", host: "h2" } },
    });
  });

  test("sends nothing PD already holds, and keeps labels a user set on a store", async () => {
    pd.stores[0].labels = [
      { key: "zone", value: "z1" },
      { key: "host", value: "h1" },
      { key: "disk", value: "nvme" },
    ];
    pd.replication = { locationLabels: ["zone", "host"], isolationLevel: "zone" };
    const reported = await applyPlacement(target, want, policy);
    expect(posts()).toEqual([
      'POST /pd/api/v1/store/4/label {"zone":"z2","host":"h2"}',
      'POST /pd/api/v1/config/replicate {"location-labels":"zone,host","isolation-level":"host"}',
    ]);
    expect(reported.storeLabels["10.0.1.11:20160"]).toEqual({ zone: "z1", host: "h1", disk: "nvme" });
    expect(reported.changed).toHaveLength(2);
    pd.calls = [];
    await applyPlacement(target, want, policy);
    expect(posts()).toEqual([]);
  });

  test("waits for a store PD does not list yet, and names it when it never comes", async () => {
    const late = { ...want, stores: { ...want.stores, "10.0.1.13:20160": { zone: "z3", host: "h3" } } };
    let polls = 0;
    pd.onStores = () => {
      if (++polls === 3) pd.stores.push({ id: 7, address: "10.0.1.13:20160", state: "Up", leaders: 0 });
    };
    await applyPlacement(target, late, policy);
    expect(pd.stores.find((s) => s.id === 7)!.labels).toEqual([
      { key: "zone", value: "z3" },
      { key: "host", value: "h3" },
    ]);
    pd.onStores = () => undefined;
    const never = { ...want, stores: { "10.0.1.19:20160": { zone: "z9", host: "h9" } } };
    await expect(applyPlacement(target, never, { timeoutMs: 300, intervalMs: 50 })).rejects.toThrow(
      /PD does not list the store\(s\) 10\.0\.1\.19:20160/,
    );
  });

  test("PD's refusal is passed on in PD's words", async () => {
    const bad = { ...want, isolationLevel: "rack" as unknown as "host" };
    await expect(applyPlacement(target, bad, policy)).rejects.toThrow(
      /PD refused it \(500\): "isolation-level must be one of location-labels or empty"/,
    );
  });

  test("the dynamic resource runs again when a store was replaced (its gate's trigger), not otherwise", async () => {
    const inputs = { placement: want, trigger: "a,b", pdEndpoints: target.endpoints as string[], timeoutMinutes: 1 };
    const outs = (await placementLabelsProvider.create(inputs)).outs!;
    expect(outs.reported.locationLabels).toBe("zone,host");
    const diff = placementLabelsProvider.diff!;
    expect((await diff("placement-labels", outs, inputs)).changes).toBe(false);
    expect((await diff("placement-labels", outs, { ...inputs, trigger: "a,c" })).changes).toBe(true);
    const moved = { ...want, isolationLevel: "zone" as const };
    expect((await diff("placement-labels", outs, { ...inputs, placement: moved })).changes).toBe(true);
  });
});
