// Mode cvm, the default, through the real engine (issue 17): the program's own Tencent Cloud
// resources served by the Tencent Cloud stand-in (e2e/standins/tencentcloud, a test fixture), whose
// CVMs boot as test hosts on the suite's bridge from the program's own user data. Every step is
// what a user runs: up, no-op previews, refresh, an upgrade, a boot-config change that replaces the
// CVMs host by host, scale 3 -> 4 -> 3, the three steps of a CA rotation, destroy and a new up on
// the retained data disks.
import { ownTikvBuild } from "./builds";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { ConfigMap } from "@pulumi/pulumi/automation";
import { PdTarget, pdRequest } from "../lib/pdApi";
import { TOKENS } from "../tencentcloud/bindings";
import { cleanUpCloud, installTencentCloudStandIn } from "./cloud";
import { clusterId, healthOf, pdCtlStores, pdTarget, readMarker, storesUp, writeMarker } from "./cluster";
import { CLIENT, CLIENT_IMAGE } from "./dataPath";
import { BRIDGE_NETNS, OPERATOR_LINK } from "./hosts";
import { NODE_IMAGE } from "./images";
import {
  ClusterHost,
  ClusterIdentity,
  EvictionSample,
  FIRST_TAG,
  SANDBOX_NOFILE,
  SECOND_TAG,
  expectDrainedAround,
  upgradeOneAtATime,
  watchEvictions,
} from "./scenarios";
import { E2EStack, StepRecord, StepResult, shortName } from "./stack";
import { CACHE_DIR, assert, assertEqual, log, run, waitFor, watch } from "./util";

/** EIPs come from here; the operator's machine is .1 on its own link (its "public" address). */
const EIP_POOL = "10.213.1.0/24";
const OPERATOR_EIP_SIDE = "10.213.1.1";
/** The stand-in's host namespaces: tkve2e-c<n>, so TestHosts.cleanUp also finds them. */
export const CVM_NETNS_PREFIX = "tkve2e-c";

const INSTANCE = TOKENS.terraform.instance;
/** Both routes' tokens: the bridged route's stack is read the same way. */
const INSTANCES = [TOKENS.terraform.instance, TOKENS.bridged.instance];
const DISKS = [TOKENS.terraform.cbsStorage, TOKENS.bridged.cbsStorage];
const RETIREMENT = "pulumi-nodejs:dynamic/tikv-cvm:MemberRetirement";

export interface CvmWorld {
  readonly engineEnv: NodeJS.ProcessEnv;
  readonly stateDir: string;
  readonly cloudDir: string;
  /** `docker save` tarball of the stand-in images, standing for the registry the CVMs pull from. */
  readonly savedImages: string;
  readonly figures: Record<string, string | number>;
  stack?: E2EStack;
  identity?: ClusterIdentity;
}

/** The stand-in plugin, the operator's EIP-side address, and the images the CVMs "pull". */
export function prepareCloud(
  engineEnv: NodeJS.ProcessEnv,
  workDir: string,
  host1Socket: string,
  standinKey: string,
): { cloudDir: string; savedImages: string } {
  installTencentCloudStandIn(engineEnv);
  run("ip", ["addr", "add", `${OPERATOR_EIP_SIDE}/24`, "dev", OPERATOR_LINK]);
  const savedImages = path.join(CACHE_DIR, `saved-images-${standinKey}.tar`);
  if (!fs.existsSync(savedImages)) {
    const images = [
      ...[FIRST_TAG, SECOND_TAG].flatMap((t) => [`pingcap/pd:${t}`, `pingcap/tikv:${t}`]),
      CLIENT_IMAGE,
      NODE_IMAGE,
    ];
    run("docker", ["-H", host1Socket, "save", "-o", `${savedImages}.tmp`, ...images]);
    fs.renameSync(`${savedImages}.tmp`, savedImages);
  }
  const cloudDir = path.join(workDir, "cloud");
  fs.mkdirSync(cloudDir, { recursive: true });
  return { cloudDir, savedImages };
}

/** Removes what the stand-in made (hosts, loop devices, mounts) before the suite's own clean-up. */
export function cleanUpCvm(workDir: string): void {
  const cloudDir = path.join(workDir, "cloud");
  if (fs.existsSync(cloudDir)) cleanUpCloud(cloudDir, CVM_NETNS_PREFIX);
}

/** The stand-in's settings, which the engine passes on to its plugins. */
function cloudShell(world: CvmWorld): Record<string, string> {
  return {
    TIKV_CVM_STANDIN_CLOUD_DIR: world.cloudDir,
    TIKV_CVM_STANDIN_BRIDGE_NETNS: BRIDGE_NETNS,
    TIKV_CVM_STANDIN_NETNS_PREFIX: CVM_NETNS_PREFIX,
    TIKV_CVM_STANDIN_EIP_POOL: EIP_POOL,
    TIKV_CVM_STANDIN_IMAGES: world.savedImages,
  };
}

const ZONES = ["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6"];

interface CloudResource {
  readonly kind: string;
  readonly id: string;
  readonly inputs: Record<string, unknown>;
}

/**
 * Placement as the stand-in cloud and PD hold it: each CVM's zone, subnet and placement group
 * (cloud.json), the labels PD reports for each store and the location-labels PD's config API
 * reports. Host i sits in ZONES[(i-1) % 3], in the one group; PD labels its store with that zone
 * and the host's name, and isolates replicas by zone.
 */
async function expectPlacement(world: CvmWorld, label: string): Promise<void> {
  const { hosts, pd } = await view(world);
  const cloud = JSON.parse(fs.readFileSync(path.join(world.cloudDir, "cloud.json"), "utf8")) as {
    resources: Record<string, CloudResource>;
  };
  const all = Object.values(cloud.resources);
  const groups = all.filter((r) => r.kind === "placementGroup");
  const subnets = new Map(all.filter((r) => r.kind === "subnet").map((r) => [r.id, r]));
  const instances = all
    .filter((r) => r.kind === "instance")
    .sort((a, b) =>
      String(a.inputs.instanceName).localeCompare(String(b.inputs.instanceName), "en", { numeric: true }),
    );
  const cvms = instances.map((r) => {
    const subnet = subnets.get(String(r.inputs.subnetId));
    return {
      host: String(r.inputs.instanceName),
      zone: String(r.inputs.availabilityZone),
      subnet: `${String(subnet?.inputs.cidrBlock)} in ${String(subnet?.inputs.availabilityZone)}`,
      placementGroup: String(r.inputs.placementGroupId),
    };
  });
  log(
    `cvm placement (${label}), stand-in state: placement groups ${JSON.stringify(groups.map((g) => ({ id: g.id, ...g.inputs })))}`,
  );
  for (const c of cvms) log(`  ${c.host}: zone ${c.zone}, subnet ${c.subnet}, placement group ${c.placementGroup}`);
  assertEqual(groups.length, 1, "placement groups in the cloud");
  assertEqual(groups[0].inputs.type, "HOST", "the placement group's type");
  assertEqual(
    cvms.map((c) => [c.host, c.zone, c.subnet, c.placementGroup]),
    hosts.map((h) => {
      const zone = ZONES[(h.index - 1) % ZONES.length];
      return [h.name, zone, `10.0.${ZONES.indexOf(zone) + 1}.0/24 in ${zone}`, groups[0].id];
    }),
    "each CVM in its zone's subnet and in the placement group",
  );
  const stores = JSON.parse((await pdRequest(pd, "GET", "/pd/api/v1/stores")).body) as {
    stores: { store: { id: number; address: string; labels?: { key: string; value: string }[] } }[];
  };
  const replicate = JSON.parse((await pdRequest(pd, "GET", "/pd/api/v1/config/replicate")).body) as Record<
    string,
    unknown
  >;
  const labelsOf = (address: string) =>
    Object.fromEntries(
      (stores.stores.find((s) => s.store.address === address)?.store.labels ?? []).map((l) => [l.key, l.value]),
    );
  for (const s of stores.stores)
    log(`  PD store ${s.store.id} ${s.store.address}: labels ${JSON.stringify(s.store.labels ?? [])}`);
  log(
    `  PD config/replicate: location-labels ${JSON.stringify(replicate["location-labels"])}, ` +
      `isolation-level ${JSON.stringify(replicate["isolation-level"])}, max-replicas ${String(replicate["max-replicas"])}`,
  );
  assertEqual(
    // As objects of the same key order: assertEqual compares JSON.
    hosts.map((h) => {
      const labels = labelsOf(`${h.privateIp}:20160`);
      return { zone: labels.zone, host: labels.host };
    }),
    hosts.map((h) => ({ zone: ZONES[(h.index - 1) % ZONES.length], host: h.name })),
    "the labels PD reports for each store",
  );
  assertEqual(
    [replicate["location-labels"], replicate["isolation-level"]],
    ["zone,host", "zone"],
    "PD's location-labels and isolation-level",
  );
  world.figures[`cvm placement (${label})`] =
    `${new Set(cvms.map((c) => c.zone)).size} zones, ${cvms.length} CVMs in group ${groups[0].id}, ` +
    `PD location-labels ${String(replicate["location-labels"])} isolation ${String(replicate["isolation-level"])}`;
}

/** A cvm stack as a user configures one, plus what this sandbox needs, said out loud. */
function cvmConfig(): ConfigMap {
  return {
    "tencentcloud:region": { value: "ap-guangzhou" },
    "tencentcloud:secretId": { value: "AKIDe2eStandIn", secret: true },
    "tencentcloud:secretKey": { value: "e2eStandIn", secret: true },
    // Spread over three zones (issue 21 item 1): a subnet each, every CVM in the HOST placement group.
    ...Object.fromEntries(ZONES.map((zone, i) => [`tikv-cvm:availabilityZones[${i}]`, { value: zone }])),
    "tikv-cvm:operatorCidrs[0]": { value: `${OPERATOR_EIP_SIDE}/32` },
    "tikv-cvm:tikvVersion": { value: FIRST_TAG },
    // No image registry here: Prometheus and Grafana have no stand-ins, so monitoring is off.
    "tikv-cvm:monitoring": { value: "false" },
    "tikv-cvm:nofileLimit": { value: String(SANDBOX_NOFILE) },
    "tikv-cvm:readinessTimeoutMinutes": { value: "3" },
    "tikv-cvm:rolloutTimeoutMinutes": { value: "3" },
    "tikv-cvm:clients[0]": { value: CLIENT },
    "tikv-cvm:clientGatewayImage": { value: NODE_IMAGE },
  };
}

interface CvmHost extends ClusterHost {
  readonly eip: string;
}

/** The hosts as the stack's `hosts` output lists them, with the operator's docker CLI env from certSetup. */
function cvmHosts(outputs: Record<string, unknown>, certDir: string): CvmHost[] {
  const listed = outputs.hosts as { name: string; operatorAddress: string; privateIp: string }[];
  return listed.map((h, i) => ({
    name: h.name,
    index: i + 1,
    eip: h.operatorAddress,
    privateIp: h.privateIp,
    env: {
      ...process.env,
      DOCKER_HOST: `tcp://${h.operatorAddress}:2376`,
      DOCKER_TLS_VERIFY: "1",
      DOCKER_CERT_PATH: certDir,
    },
  }));
}

/** Everything a check needs after an up: outputs, hosts, PD's API as the gates reach it. */
async function view(world: CvmWorld): Promise<{ outputs: Record<string, unknown>; hosts: CvmHost[]; pd: PdTarget }> {
  const stack = world.stack!;
  const certDir = await stack.certSetup();
  const outputs = await stack.outputs();
  const hosts = cvmHosts(outputs, certDir);
  const pd = pdTarget(
    outputs,
    hosts.filter((h) => h.index <= 3).map((h) => `https://${h.eip}:2379`),
  );
  return { outputs, hosts, pd };
}

/** Every member container healthy and `count` stores Up at `version` (pd-ctl through the printed command). */
async function expectCluster(world: CvmWorld, count: number, version: string): Promise<Record<string, number>> {
  const { outputs, hosts, pd } = await view(world);
  assertEqual(hosts.length, count, "hosts in the stack's output");
  for (const host of hosts) {
    const names = [...(host.index <= 3 ? [`pd${host.index}`] : []), `tikv${host.index}`];
    await waitFor(`${names.join(", ")} healthy on ${host.name}`, 120_000, () => {
      const health = healthOf(host.env, names);
      return names.every((n) => health[n] === "healthy") ? true : undefined;
    });
  }
  await waitFor(`${count} stores Up`, 90_000, async () => ((await storesUp(pd)).length === count ? true : undefined));
  const stores = pdCtlStores(world.stack!, outputs).filter((s) => s.store.state_name !== "Tombstone");
  assertEqual(
    stores.map((s) => s.store.address).sort(),
    hosts.map((h) => `${h.privateIp}:20160`).sort(),
    "store addresses (the CVMs' private IPs)",
  );
  for (const s of stores) {
    assertEqual(s.store.state_name, "Up", `store ${s.store.address}`);
    assertEqual(s.store.version, version.replace(/^v/, ""), `store ${s.store.address} version`);
  }
  return Object.fromEntries(stores.map((s) => [s.store.address, s.store.id]));
}

/** Instance and data-disk ids by host name, from the stack's state. */
async function cloudIds(
  stack: E2EStack,
): Promise<{ instances: Record<string, string>; disks: Record<string, string> }> {
  const state = await stack.stack.exportStack();
  const resources = (state.deployment.resources ?? []) as { type: string; urn: string; id?: string }[];
  // tikv-e2e-cvm-<i>-cvm, tikv-e2e-cvm-<i>-data-disk: host i is tikv-host-<i>.
  const byHost = (types: readonly string[]) =>
    Object.fromEntries(
      resources
        .filter((r) => types.includes(r.type))
        .map((r) => [`tikv-host-${/-(\d+)-(cvm|data-disk)$/.exec(shortName(r.urn))?.[1]}`, String(r.id)])
        // In host order, whatever order the state lists them in (assertEqual compares JSON).
        .sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true })),
    );
  return { instances: byHost(INSTANCES), disks: byHost(DISKS) };
}

function writeMarkers(hosts: readonly CvmHost[], token: string): void {
  for (const host of hosts) {
    if (host.index <= 3) writeMarker(host.env, `pd${host.index}`, token);
    writeMarker(host.env, `tikv${host.index}`, token);
  }
}

function expectMarkers(hosts: readonly CvmHost[], token: string, when: string): void {
  for (const host of hosts) {
    if (host.index <= 3)
      assertEqual(readMarker(host.env, `pd${host.index}`), token, `pd${host.index}'s marker ${when}`);
    assertEqual(readMarker(host.env, `tikv${host.index}`), token, `tikv${host.index}'s marker ${when}`);
  }
}

/** A store's state as PD's `GET /pd/api/v1/store/{id}` reports it (Tombstone included). */
async function storeState(pd: PdTarget, id: number): Promise<string> {
  const res = await pdRequest(pd, "GET", `/pd/api/v1/store/${id}`);
  assert(res.status === 200, `GET /pd/api/v1/store/${id}: ${res.status} ${res.body}`);
  return (JSON.parse(res.body) as { store: { state_name: string } }).store.state_name;
}

/** Whether TiKV answers on a host's EIP: a host counts as down while it does not. */
function tikvAnswers(eip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: eip, port: 20160, timeout: 400 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
  });
}

interface HostSample {
  readonly at: number;
  readonly down: string[];
}

/** Samples which hosts' TiKV does not answer, every 500 ms, until stopped. */
function watchHosts(hosts: readonly CvmHost[]): { samples: HostSample[]; stop(): Promise<void> } {
  return watch(500, async () => {
    const answers = await Promise.all(hosts.map((h) => tikvAnswers(h.eip)));
    return { down: hosts.filter((_, i) => !answers[i]).map((h) => h.name) };
  });
}

/** A host's downtime: first and last sample it was down in. */
function downtime(samples: readonly HostSample[], host: string): { down: number; back: number } | undefined {
  const down = samples.filter((s) => s.down.includes(host));
  if (down.length === 0) return undefined;
  const back = samples.find((s) => s.at > down[down.length - 1].at);
  return { down: down[0].at, back: back ? back.at : Number.POSITIVE_INFINITY };
}

function opsOf(steps: readonly StepRecord[], type: string): string[] {
  return steps
    .filter((s) => s.phase === "pre" && s.type === type && s.op !== "same")
    .map((s) => `${s.op} ${shortName(s.urn)}`);
}

// ---- Steps --------------------------------------------------------------------------------

/** First `pulumi up` of a cvm stack: three CVMs booted from their user data, three stores Up. */
export async function cvmFirstUp(world: CvmWorld): Promise<StepResult> {
  world.stack = await E2EStack.open("e2e-cvm", path.join(world.stateDir, "cvm"), world.engineEnv, cloudShell(world));
  await world.stack.configure(cvmConfig());
  const result = await world.stack.up("first deployment: 3 CVMs");
  const stores = await expectCluster(world, 3, FIRST_TAG);
  const { pd } = await view(world);
  world.identity = { clusterId: await clusterId(pd), stores };
  await expectPlacement(world, "first up");
  world.figures["cvm: resources after first up"] = await world.stack.resourceCount();
  log(`cvm: 3 stores Up, cluster ${world.identity.clusterId}`);
  return result;
}

/** `pulumi preview --expect-no-changes`; with `refresh`, after a `pulumi refresh` (the stand-in's Read). */
export async function cvmNoOp(world: CvmWorld, label: string, refresh = false): Promise<void> {
  if (refresh) {
    const refreshed = await world.stack!.refresh(label);
    world.figures["cvm: refresh (s)"] = (refreshed.ms / 1000).toFixed(1);
  }
  const preview = await world.stack!.preview(label, true);
  const changed = preview.steps.filter(
    (s) =>
      s.phase === "pre" &&
      s.op !== "same" &&
      !(s.op === "read" && s.type === "pulumi:pulumi:StackReference") &&
      !(s.type.startsWith("pulumi:providers:") && s.urn.endsWith("::default")),
  );
  assertEqual(
    changed.map((s) => `${s.op} ${shortName(s.urn)}`),
    [],
    `steps of the no-op preview (${label})`,
  );
}

/** tikvVersion change on CVMs: members one at a time, each store drained, data kept. */
export async function cvmUpgrade(world: CvmWorld): Promise<StepResult> {
  const { hosts, pd } = await view(world);
  return upgradeOneAtATime({
    stack: world.stack!,
    hosts: hosts.filter((h) => h.index <= 3),
    target: pd,
    identity: world.identity!,
    figures: world.figures,
    label: "cvm",
    storesUp: (version) => expectCluster(world, 3, version),
  });
}

/** The own-build steps (e2e/builds.ts) on the CVMs, on the upgraded release. */
export async function cvmOwnBuild(world: CvmWorld, tag: string): Promise<void> {
  const { hosts, pd } = await view(world);
  await ownTikvBuild({
    stack: world.stack!,
    hosts: hosts.filter((h) => h.index <= 3),
    target: pd,
    identity: world.identity!,
    figures: world.figures,
    label: "cvm",
    tag,
    prefix: "tikv-e2e-cvm",
  });
  await expectCluster(world, 3, tag);
}

/**
 * A boot-config change (registryMirrors): every CVM is replaced (new user data), host by host,
 * each drained first; never two hosts down; the data disks come back with each host's data.
 */
export async function cvmHostRoll(world: CvmWorld): Promise<StepResult> {
  const stack = world.stack!;
  const { hosts, pd } = await view(world);
  const token = `roll-${Date.now()}`;
  writeMarkers(hosts, token);
  const before = await cloudIds(stack);
  await stack.configure({ "tikv-cvm:registryMirrors[0]": { value: "https://mirror.e2e.example" } });
  const preview = await stack.preview("registryMirrors: a boot-config change");
  // A replacement shows as replace, create-replacement and delete-replaced (deleteBeforeReplace).
  const cvmOps = opsOf(preview.steps, INSTANCE);
  assertEqual(
    [...new Set(cvmOps.filter((o) => o.startsWith("create-replacement ")))].sort(),
    hosts.map((h) => `create-replacement tikv-e2e-cvm-${h.index}-cvm`).sort(),
    "the preview replaces every CVM",
  );
  assertEqual(
    cvmOps.filter((o) => !/^(replace|create-replacement|delete-replaced) /.test(o)),
    [],
    "nothing but replacements of the CVMs",
  );
  assertEqual(opsOf(preview.steps, TOKENS.terraform.cbsStorage), [], "the preview touches no data disk");

  const evictions = watchEvictions(pd);
  const downs = watchHosts(hosts);
  let result: StepResult;
  try {
    result = await stack.up("host roll for the new boot config");
  } finally {
    await downs.stop();
    await evictions.stop();
  }
  const after = await cloudIds(stack);
  for (const h of hosts) {
    assert(after.instances[h.name] !== before.instances[h.name], `${h.name} is a new CVM`);
    assertEqual(after.disks[h.name], before.disks[h.name], `${h.name}'s data disk`);
  }
  assert(
    downs.samples.every((s) => s.down.length <= 1),
    `never two hosts down at once (${JSON.stringify(downs.samples.filter((s) => s.down.length > 1).slice(0, 3))})`,
  );
  const windows = hosts.map((h) => ({ host: h, window: downtime(downs.samples, h.name) }));
  for (const { host, window } of windows) {
    assert(window, `${host.name} went down while its CVM was replaced`);
    expectDrainedAround(
      evictions.samples,
      world.identity!.stores[`${host.privateIp}:20160`],
      host.name,
      window.down,
      window.back,
    );
  }
  for (let i = 1; i < windows.length; i++)
    assert(
      windows[i - 1].window!.back < windows[i].window!.down,
      `${windows[i - 1].host.name} is back before ${windows[i].host.name} goes`,
    );
  const stores = await expectCluster(world, 3, SECOND_TAG);
  assertEqual(stores, world.identity!.stores, "store IDs after the host roll");
  assertEqual(await clusterId(pd), world.identity!.clusterId, "PD cluster ID after the host roll");
  expectMarkers((await view(world)).hosts, token, "after the host roll");
  // New CVMs, back in the group; the stores restarted without labels of their own, and PD kept its.
  await expectPlacement(world, "after the host roll");
  // One host's chain: drained (evict-leader added) -> CVM replaced -> TiKV back and undrained.
  const id1 = world.identity!.stores[`${hosts[0].privateIp}:20160`];
  const drained = evictions.samples.find((s: EvictionSample) => s.evicted.includes(id1))!.at;
  const undrained = [...evictions.samples].reverse().find((s) => s.evicted.includes(id1))!.at;
  world.figures["cvm: one host's drain -> replace -> ready (s)"] = ((undrained - drained) / 1000).toFixed(1);
  world.figures["cvm: whole host roll, 3 CVMs (s)"] = (result.ms / 1000).toFixed(1);
  return result;
}

/** nodeCount 3 -> 4 -> 3: the fourth store is retired through PD (Tombstone) before its CVM goes. */
export async function cvmScale(world: CvmWorld): Promise<void> {
  const stack = world.stack!;
  await stack.configure({ "tikv-cvm:nodeCount": { value: "4" } });
  await stack.up("nodeCount 3 -> 4");
  const four = await expectCluster(world, 4, SECOND_TAG);
  // Host 4 goes round robin to the first zone again, and its new store is labelled through PD.
  await expectPlacement(world, "4 hosts");
  for (const [address, id] of Object.entries(world.identity!.stores))
    assertEqual(four[address], id, `store ${address}`);
  const { hosts, pd } = await view(world);
  const host4 = hosts[3];
  const id4 = four[`${host4.privateIp}:20160`];

  await stack.configure({ "tikv-cvm:nodeCount": { value: "3" } });
  // One deployment, as the README's scale-in: store 4 retires through PD (Offline, then Tombstone)
  // before its container and CVM go.
  const result = await stack.up("nodeCount 4 -> 3, store 4 retired through PD");
  assert(
    result.steps.some((s) => s.type === RETIREMENT),
    `the scale-in retires the store through PD (${opsOf(result.steps, RETIREMENT).join(", ")})`,
  );
  assertEqual(await storeState(pd, id4), "Tombstone", `store ${id4} after the scale-in`);
  assert(!(await tikvAnswers(host4.eip)), "host 4 is gone");
  const three = await expectCluster(world, 3, SECOND_TAG);
  assertEqual(three, world.identity!.stores, "store IDs after scaling back to 3");
  world.figures["cvm: scale 4 -> 3 (s)"] = (result.ms / 1000).toFixed(1);
}

/** The README's three CA rotation steps, each a deployment; the cluster is whole after each. */
export async function cvmCaRotation(world: CvmWorld): Promise<void> {
  const stack = world.stack!;
  const steps: [string, ConfigMap, string[]][] = [
    ["trust-next", { "tikv-cvm:caRotation": { value: "trust-next" } }, []],
    [
      "issue from CA 2",
      { "tikv-cvm:caGeneration": { value: "2" }, "tikv-cvm:caRotation": { value: "trust-previous" } },
      [],
    ],
    ["drop CA 1", {}, ["tikv-cvm:caRotation"]],
  ];
  for (const [label, set, remove] of steps) {
    if (remove.length > 0) await stack.removeConfig(remove);
    if (Object.keys(set).length > 0) await stack.configure(set);
    const result = await stack.up(`CA rotation: ${label}`);
    world.figures[`cvm: CA rotation, ${label} (s)`] = (result.ms / 1000).toFixed(1);
    const stores = await expectCluster(world, 3, SECOND_TAG);
    assertEqual(stores, world.identity!.stores, `store IDs after "${label}"`);
  }
  await cvmNoOp(world, "after the CA rotation");
}

/** destroy leaves the data disks; a new up given their ids finds the same cluster on them. */
export async function cvmDestroyAndAdopt(world: CvmWorld): Promise<void> {
  const stack = world.stack!;
  const { hosts } = await view(world);
  const token = `destroy-${Date.now()}`;
  writeMarkers(hosts, token);
  const { disks } = await cloudIds(stack);
  const destroyed = await stack.destroy("CVMs go, data disks stay");
  world.figures["cvm: destroy (s)"] = (destroyed.ms / 1000).toFixed(1);
  const cloud = fs.readFileSync(path.join(world.cloudDir, "cloud.json"), "utf8");
  for (const h of hosts)
    assert(cloud.includes(disks[h.name]), `${h.name}'s data disk ${disks[h.name]} is still in the cloud`);
  const namespaces = run("ip", ["netns", "list"]).stdout;
  assert(!namespaces.includes(CVM_NETNS_PREFIX), `no CVM left running (namespaces: ${namespaces})`);

  const ids: ConfigMap = {};
  hosts.forEach((h) => {
    ids[`tikv-cvm:dataDiskIds[${h.index - 1}]`] = { value: disks[h.name] };
  });
  await stack.configure(ids);
  const up = await stack.up("a new deployment on the retained data disks");
  world.figures["cvm: up on the retained disks (s)"] = (up.ms / 1000).toFixed(1);
  const stores = await expectCluster(world, 3, SECOND_TAG);
  assertEqual(stores, world.identity!.stores, "store IDs on the adopted disks");
  const { pd, hosts: again } = await view(world);
  assertEqual(await clusterId(pd), world.identity!.clusterId, "PD cluster ID on the adopted disks");
  expectMarkers(again, token, "on the adopted disks");
  assertEqual((await cloudIds(stack)).disks, disks, "the stack's data disks are the adopted ones");
  // The key is refused from now on: the README says to remove it.
  const refused = await stack.failing("preview", "dataDiskIds left set on a deployed stack");
  assert(refused.output.includes("tikv-cvm:dataDiskIds: this stack already has its data disks"), refused.output);
  await stack.removeConfig(["tikv-cvm:dataDiskIds"]);
  await cvmNoOp(world, "after adopting the disks");
}

export async function cvmFinalDestroy(world: CvmWorld): Promise<void> {
  await world.stack!.destroy("end of the cvm scenarios");
  await world.stack!.dispose();
  world.stack = undefined;
}

/**
 * The bridged route (`tencentcloudRoute: bridged`, the tencentcloud 0.2.3 plugin's tokens) on the same
 * stand-in: a first up, three stores Up, a no-op preview, destroy with the disks deleted.
 */
export async function cvmBridgedRoute(world: CvmWorld): Promise<void> {
  const stack = await E2EStack.open(
    "e2e-cvm-bridged",
    path.join(world.stateDir, "cvm-bridged"),
    world.engineEnv,
    cloudShell(world),
  );
  const bridged: CvmWorld = { ...world, stack };
  try {
    await stack.configure({
      ...cvmConfig(),
      "tikv-cvm:tencentcloudRoute": { value: "bridged" },
      "tikv-cvm:retainDataDisks": { value: "false" },
    });
    const up = await stack.up("bridged route: 3 CVMs");
    world.figures["cvm bridged: first up (s)"] = (up.ms / 1000).toFixed(1);
    assert(
      up.steps.some((s) => s.type === TOKENS.bridged.instance),
      "the CVMs are the bridged plugin's tokens",
    );
    await expectCluster(bridged, 3, FIRST_TAG);
    // The bridged plugin's placement group token, and the same placement.
    assert(
      up.steps.some((s) => s.type === TOKENS.bridged.placementGroup),
      "the placement group is the bridged plugin's token",
    );
    await expectPlacement(bridged, "bridged route");
    await cvmNoOp(bridged, "bridged route, right after the first up");
    const { disks } = await cloudIds(stack);
    assertEqual(Object.keys(disks).length, 3, "three data disks");
    await stack.destroy("bridged route, disks deleted");
    const cloud = fs.readFileSync(path.join(world.cloudDir, "cloud.json"), "utf8");
    for (const id of Object.values(disks)) assert(!cloud.includes(id), `disk ${id} deleted (retainDataDisks false)`);
  } finally {
    await stack.dispose();
  }
}
