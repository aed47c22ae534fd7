// Members as data: what each PD and TiKV container is made of, checked without Pulumi.
import { parse } from "smol-toml";
import { PD_CONFIG_PATH, tikvRequiredOpenFiles } from "../lib/clusterConfig";
import { replacementDigest } from "../lib/containerReplacement";
import { INSTANCE_LABEL } from "../lib/labels";
import {
  HEALTH_WAIT_SECONDS,
  STOP_GRACE_SECONDS,
  memberContainerArgs,
  memberSpecs,
  memberVolumeName,
} from "../lib/memberSpecs";
import { hostShare, planMemory } from "../lib/memoryBudget";
import { ClusterNetworking } from "../lib/networking";
import { DEFAULTS } from "../lib/settings";
import { placementOf } from "../lib/placement";
import { PORTS, planCluster } from "../lib/topology";

const plan = planCluster(4, 3, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3"] }, true);
const specs = memberSpecs({
  plan,
  tikvVersion: "v8.5.7",
  diskGB: 50,
  pdInitialCluster: plan.initialCluster,
  memory: (h) => planMemory(hostShare(4, h.pdName !== undefined, h.index === 1)),
});
const HOST: ClusterNetworking = { kind: "host" };
const wiring = {
  networking: HOST,
  imageId: "sha256:abc",
  volumeName: "pd-data",
  extraUploads: [],
  nofileLimit: 1_000_000,
};

test("PD members first, on the first pdCount hosts, then a store on every host, each known to PD by its own name", () => {
  expect(specs.map((s) => [s.member, s.host.index, s.pdMember])).toEqual([
    ["pd1", 1, "pd1"],
    ["pd2", 2, "pd2"],
    ["pd3", 3, "pd3"],
    ["tikv1", 1, "10.0.1.11:20160"],
    ["tikv2", 2, "10.0.1.12:20160"],
    ["tikv3", 3, "10.0.1.13:20160"],
    ["tikv4", 4, "10.0.1.14:20160"],
  ]);
  expect(specs.map((s) => s.image)).toEqual([
    ...Array(3).fill("pingcap/pd:v8.5.7"),
    ...Array(4).fill("pingcap/tikv:v8.5.7"),
  ]);
  // Only the first PD's client port is published (on a shared engine's loopback).
  expect(specs.filter((s) => s.publish.length > 0).map((s) => s.member)).toEqual(["pd1"]);
});

test("PD keeps three replicas of every region", () => {
  const toml = specs[0].files.find((f) => f.file === PD_CONFIG_PATH)!.content;
  expect((parse(toml) as { replication: { "max-replicas": number } }).replication["max-replicas"]).toBe(3);
});

test("the container: a grace period on stop and delete, a bounded health wait, no swap, the instance label on CVMs", () => {
  const args = memberContainerArgs(specs[3], { ...wiring, instanceId: "ins-1" });
  expect(args).toMatchObject({
    name: "tikv1",
    networkMode: "host",
    stopTimeout: STOP_GRACE_SECONDS,
    destroyGraceSeconds: STOP_GRACE_SECONDS,
    wait: true,
    waitTimeout: HEALTH_WAIT_SECONDS,
    memory: specs[3].memoryMiB,
    memorySwap: specs[3].memoryMiB,
    ulimits: [{ name: "nofile", soft: 1_000_000, hard: 1_000_000 }],
    labels: [{ label: INSTANCE_LABEL, value: "ins-1" }],
  });
  expect([STOP_GRACE_SECONDS, HEALTH_WAIT_SECONDS]).toEqual([90, 300]);
  expect(memberContainerArgs(specs[3], wiring).labels).toBeUndefined();
});

test("volumes: the recipe's names on a host of its own, one per member on a shared engine", () => {
  const shared: ClusterNetworking = { kind: "bridge", network: "tikv-dev", namePrefix: "tikv-dev" };
  expect(specs.map((s) => memberVolumeName(HOST, s))).toEqual([
    ...Array(3).fill("pd-data"),
    ...Array(4).fill("tikv-data"),
  ]);
  expect(memberVolumeName(shared, specs[1])).toBe("tikv-dev-pd2-data");
});

test("the replacement digest covers the whole spec: an input classified nowhere counts as replacing", () => {
  const args = memberContainerArgs(specs[0], wiring) as unknown as Record<string, unknown>;
  expect(replacementDigest({ ...args, somethingNew: 1 })).not.toBe(replacementDigest(args));
  // In-place inputs still change nothing.
  expect(replacementDigest({ ...args, restart: "always" })).toBe(replacementDigest(args));
});

test("the default nofile limit passes TiKV's start-up check", () => {
  expect(DEFAULTS.nofileLimit).toBeGreaterThanOrEqual(tikvRequiredOpenFiles(true));
});

test("each store starts with the zone and host labels the placement step gives PD (server.labels)", () => {
  const zoned = planCluster(
    4,
    3,
    { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6"] },
    true,
  );
  const stores = memberSpecs({
    plan: zoned,
    tikvVersion: "v8.5.7",
    diskGB: 50,
    pdInitialCluster: zoned.initialCluster,
    memory: (h) => planMemory(hostShare(4, h.pdName !== undefined, h.index === 1)),
  }).filter((s) => s.kind === "tikv");
  const toPd = placementOf(zoned.hosts, PORTS.tikv, 3).stores;
  for (const s of stores) {
    const tikv = parse(s.files[0].content) as { server?: { labels?: Record<string, string> } };
    expect(tikv.server?.labels).toEqual(toPd[s.pdMember]);
  }
  expect(
    stores.map((s) => (parse(s.files[0].content) as { server: { labels: { zone: string } } }).server.labels.zone),
  ).toEqual(["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6", "ap-guangzhou-3"]);
});
