// Changes a running cluster cannot take, judged against the stack's last deployment. Pure.
import {
  LastDeployment,
  deploymentRecord,
  pdInitialCluster,
  readLastDeployment,
  refusedChanges,
  retiringMembers,
} from "../lib/lastDeployment";
import { RawConfig, Settings, validateConfig } from "../lib/settings";
import { planCluster } from "../lib/topology";

function settingsOf(values: Record<string, string>, mode: "cvm" | "existing" = "cvm"): Settings {
  const base: Record<string, string> =
    mode === "cvm"
      ? { availabilityZone: "ap-guangzhou-3", operatorCidrs: JSON.stringify(["5.6.7.0/28"]) }
      : {
          mode: "existing",
          hosts: JSON.stringify(
            [1, 2, 3].map((i) => ({
              name: `db${i}`,
              dockerHost: `tcp://192.0.2.1${i}:2376`,
              privateIp: `10.9.0.1${i}`,
            })),
          ),
          dockerCaPem: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----",
          dockerCertPem: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----",
          dockerKeyPem: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----",
        };
  const raw: RawConfig = {
    values: { ...base, ...values },
    region: "ap-guangzhou",
    hasSecretId: true,
    hasSecretKey: true,
    secretKeys: ["dockerCaPem", "dockerCertPem", "dockerKeyPem"],
  };
  const result = validateConfig(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.settings;
}

function planOf(s: Settings) {
  const addressing =
    s.mode === "cvm"
      ? { kind: "subnet" as const, subnetCidr: s.cvm.subnetCidr, zones: s.cvm.availabilityZones }
      : s.mode === "existing"
        ? { kind: "listed" as const, hosts: s.existing.hosts }
        : { kind: "containers" as const };
  return planCluster(s.nodeCount, s.pdCount, addressing, s.clusterTls);
}

/** The last deployment as the program would have recorded it with `values`. */
function deployed(values: Record<string, string>, mode: "cvm" | "existing" = "cvm"): LastDeployment {
  const s = settingsOf(values, mode);
  const plan = planOf(s);
  const members = [...plan.hosts.flatMap((h) => (h.pdName ? [h.pdName] : [])), ...plan.hosts.map((h) => h.tikvName)];
  return readLastDeployment({
    rolloutOrder: members,
    tikvStores: plan.tikvAddresses,
    deployment: deploymentRecord(s, plan, plan.initialCluster),
  });
}

function refused(values: Record<string, string>, last: LastDeployment, mode: "cvm" | "existing" = "cvm"): string[] {
  const s = settingsOf(values, mode);
  return refusedChanges(s, planOf(s), last).map((p) => `${p.key}: ${p.message}`);
}

describe("changes a running cluster cannot take are refused, naming the key and the way", () => {
  const last = deployed({});

  test("the same config, and changes a running cluster takes, are accepted", () => {
    expect(refused({}, last)).toEqual([]);
    for (const ok of [
      { tikvVersion: "v8.5.8" },
      { tikvVersion: "v8.5.1", allowDowngrade: "true" },
      { tikvVersion: "v9.0.0" },
      { nodeCount: "5" },
      { pdCount: "1" },
      { pdCount: "5", nodeCount: "5" },
      { hostMemoryGiB: "8" },
      { systemDiskSize: "80" },
      { monitoring: "false" },
      { instanceType: "S5.LARGE8" },
      // Data lives on the data disks: a new image re-images the hosts one at a time, a bigger disk grows.
      { imageId: "img-abcdefgh" },
      { dataDiskSize: "100" },
      { dataDiskType: "CLOUD_SSD" },
      { caRotation: "trust-next" },
      // The same one zone, as a list.
      { availabilityZone: "", availabilityZones: JSON.stringify(["ap-guangzhou-3"]) },
    ] as Record<string, string>[])
      expect([ok, refused(ok, last)]).toEqual([ok, []]);
  });

  test("a stack deployed before placement groups may join one, and one deployed before zone lists keeps its zone", () => {
    const old = deployed({});
    const { availabilityZones: _zones, placementGroupType: _group, ...cvm } = old.record!.cvm!;
    const before = { ...old, record: { ...old.record!, cvm } };
    expect(refused({}, before)).toEqual([]);
    expect(refused({ availabilityZone: "ap-guangzhou-4" }, before).join("\n")).toMatch(/would move tikv-host-1/);
  });

  test.each([
    [
      "tikvVersion",
      { tikvVersion: "v8.4.0" },
      /checkStoreVersion.*set it back with: pulumi config set tikv-cvm:tikvVersion v8\.5\.7/,
    ],
    ["tikvVersion", { tikvVersion: "v7.5.0" }, /below the cluster version/],
    // Issue 18 item 6: a patch downgrade is refused too unless asked for, saying what it risks.
    [
      "tikvVersion",
      { tikvVersion: "v8.5.1" },
      /older than the deployed v8\.5\.7: a downgrade .*may not read .*pulumi config set tikv-cvm:allowDowngrade true/,
    ],
    ["tikvVersion", { tikvVersion: "v8.4.0", allowDowngrade: "true" }, /allowDowngrade does not change that/],
    ["subnetCidr", { subnetCidr: "10.0.2.0/24" }, /fixed private address/],
    ["vpcCidr", { vpcCidr: "10.1.0.0/16", subnetCidr: "10.1.1.0/24" }, /ForceNew/],
    [
      "availabilityZone",
      { availabilityZone: "ap-guangzhou-4" },
      /would move tikv-host-1 from ap-guangzhou-3 to ap-guangzhou-4.*ForceNew/,
    ],
    // Round robin: spreading a running single-zone cluster would move hosts 2 and 3.
    [
      "availabilityZones",
      {
        availabilityZone: "",
        availabilityZones: JSON.stringify(["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6"]),
      },
      /tikv-host-2 from ap-guangzhou-3 to ap-guangzhou-4, tikv-host-3 from ap-guangzhou-3 to ap-guangzhou-6/,
    ],
    ["placementGroupType", { placementGroupType: "none" }, /cannot take a CVM out of its placement group/],
    ["placementGroupType", { placementGroupType: "RACK" }, /type is ForceNew/],
    ["dataDiskSize", { dataDiskSize: "40" }, /only grow.*pulumi config set tikv-cvm:dataDiskSize 50/],
    ["dataDiskEncrypt", { dataDiskEncrypt: "true" }, /encryption cannot change.*dataDiskEncrypt false/],
    ["caGeneration", { caGeneration: "2" }, /next step is caGeneration 1, caRotation trust-next/],
    ["tencentcloudRoute", { tencentcloudRoute: "bridged" }, /type tokens/],
  ])("%s %j", (key, values, why) => {
    const problems = refused(values as Record<string, string>, last);
    expect(problems.some((p) => p.startsWith(`tikv-cvm:${key}: `) && why.test(p))).toBe(true);
  });

  test("clusterTls (mode existing; mode cvm refuses plain text outright)", () => {
    const problems = refused({ clusterTls: "false" }, deployed({}, "existing"), "existing");
    expect(problems.some((p) => p.startsWith("tikv-cvm:clusterTls: ") && /peer URLs.*join\.go/.test(p))).toBe(true);
  });

  test("a system disk cannot shrink either", () => {
    expect(refused({ systemDiskSize: "30" }, deployed({ systemDiskSize: "40" })).join("\n")).toMatch(
      /^tikv-cvm:systemDiskSize: 30 GB is below the deployed 40 GB: a disk cannot shrink/,
    );
  });

  test("a pinned image can be unpinned, too: the data is on the data disks", () => {
    expect(refused({}, deployed({ imageId: "img-abcdefgh" }))).toEqual([]);
  });

  test("a stack deployed before data disks is refused: its data is on the system disks", () => {
    const record = deployed({}).record!;
    const { dataDisk: _dropped, ...cvm } = record.cvm!;
    void _dropped;
    const old = readLastDeployment({
      rolloutOrder: last.members,
      tikvStores: last.storeAddresses,
      deployment: { ...record, cvm },
    });
    expect(refused({}, old)).toEqual([
      expect.stringMatching(/^tikv-cvm:dataDiskSize: this stack was deployed by a version without data disks/),
    ]);
    // Before the record existed too, in mode cvm.
    expect(refused({}, readLastDeployment({ rolloutOrder: ["pd1", "tikv1"] }))).toEqual([
      expect.stringMatching(/without data disks/),
    ]);
  });

  test("mode existing: a listed host cannot change address", () => {
    const before = deployed({}, "existing");
    const moved = JSON.stringify(
      [1, 2, 3].map((i) => ({
        name: `db${i}`,
        dockerHost: `tcp://192.0.2.1${i}:2376`,
        privateIp: i === 2 ? "10.9.0.99" : `10.9.0.1${i}`,
      })),
    );
    expect(refused({ hosts: moved }, before, "existing").join("\n")).toMatch(
      /tikv-cvm:hosts: would move db2 from 10\.9\.0\.12 to 10\.9\.0\.99/,
    );
  });

  test("a mode change is refused alone, before anything else is compared", () => {
    const s = settingsOf({}, "existing");
    expect(refusedChanges(s, planOf(s), last).map((p) => p.key)).toEqual(["tikv-cvm:mode"]);
  });

  test("a stack never deployed, or (off CVMs) deployed before the record existed, has nothing to compare", () => {
    expect(refused({ subnetCidr: "10.0.2.0/24" }, readLastDeployment({}))).toEqual([]);
    expect(refused({}, readLastDeployment({ rolloutOrder: ["pd1", "tikv1"] }), "existing")).toEqual([]);
  });
});

describe("what the last deployment tells the next one", () => {
  const plan5 = planCluster(5, 5, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3"] }, true);

  test("the initial cluster is kept from the cluster's first deployment", () => {
    const first = deployed({});
    expect(pdInitialCluster(readLastDeployment({}), plan5)).toBe(plan5.initialCluster);
    expect(pdInitialCluster(first, plan5)).toBe(
      "pd1=https://10.0.1.11:2380,pd2=https://10.0.1.12:2380,pd3=https://10.0.1.13:2380",
    );
  });

  test("a stack deployed before the record existed bootstrapped the PD members it had", () => {
    const old = readLastDeployment({ rolloutOrder: ["pd1", "pd2", "pd3", "tikv1", "tikv2", "tikv3"] });
    expect(pdInitialCluster(old, plan5)).toBe(
      "pd1=https://10.0.1.11:2380,pd2=https://10.0.1.12:2380,pd3=https://10.0.1.13:2380",
    );
  });

  test("members leaving are listed highest first, the order they leave in", () => {
    const five = readLastDeployment({
      rolloutOrder: ["pd1", "pd2", "pd3", "pd4", "pd5", "tikv1", "tikv2", "tikv3", "tikv4", "tikv5"],
    });
    expect(
      retiringMembers(
        five,
        planCluster(4, 3, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3"] }, true),
      ),
    ).toEqual({
      pd: ["pd5", "pd4"],
      tikv: ["tikv5"],
    });
    expect(retiringMembers(five, plan5)).toEqual({ pd: [], tikv: [] });
  });
});
