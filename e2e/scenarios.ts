// The end-to-end scenarios (issue 10, part 5), one function per step, run in order by main.ts
// against the test hosts (hosts.ts) with the real engine. Each step checks what it promises and
// throws on the first difference.
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { ConfigMap } from "@pulumi/pulumi/automation";
import { PdTarget } from "../lib/pdApi";
import {
  ContainerEvent,
  DockerEnv,
  allMembersHealthy,
  clusterId,
  containerEvents,
  evictedStores,
  healthOf,
  pdCtlStores,
  pdTarget,
  readMarker,
  readMarkerInVolume,
  storesUp,
  writeMarker,
} from "./cluster";
import { ownTikvBuild } from "./builds";
import { PORTS } from "../lib/topology";
import { TestHost, TestHosts, forwardLoopback } from "./hosts";
import { TestRegistry } from "./registry";
import { CLIENT, DataPath } from "./dataPath";
import { ImageSet, NODE_IMAGE, importImages } from "./images";
import { operatorShellEnv } from "./operatorShell";
import { E2EStack, REPO, StepRecord, StepResult, shortName } from "./stack";
import { assert, assertEqual, log, run, waitFor, watch } from "./util";

/** The release the stacks start on, and a second stand-in tag for the rolling upgrade. */
export const FIRST_TAG = "v8.5.7";
export const SECOND_TAG = "v8.5.8";
/** The most this sandbox lets a container open (runc: "error setting rlimit type 7" above it). */
export const SANDBOX_NOFILE = 20_000;

export const GATE = "pulumi-nodejs:dynamic/tikv-cvm:RolloutGate";
export const PIDS = "pulumi-nodejs:dynamic/tikv-cvm:PidsLimit";
export const CONTAINER = "docker:index/container:Container";
export const IMAGE = "docker:index/remoteImage:RemoteImage";
export const STACK_REFERENCE = "pulumi:pulumi:StackReference";
export const BUILD_REPORT = "pulumi-nodejs:dynamic/tikv-cvm:BuildReport";
/** Checks the stores' labels with PD again once restarted stores are back (components/placementLabels.ts). */
export const PLACEMENT_LABELS = "pulumi-nodejs:dynamic/tikv-cvm:PlacementLabels";
export const HOST_CHECK = "pulumi-nodejs:dynamic/tikv-cvm:HostCheck";

/** What the steps share. */
export interface World {
  readonly hosts: TestHosts;
  readonly images: ImageSet;
  readonly engineEnv: NodeJS.ProcessEnv;
  readonly stateDir: string;
  /** Results worth reporting: resource counts, durations inside a step. */
  readonly figures: Record<string, string | number>;
  /** TIKV_CVM_E2E_KEEP=1: where each stack's keep script goes; its stacks are not destroyed. */
  readonly keepDir?: string;
  stack?: E2EStack;
  /** PD's cluster ID and store IDs by address, as first seen; data survival is judged against them. */
  identity?: { clusterId: string; stores: Record<string, number> };
}

/** Settings every e2e stack of mode existing shares: what the sandbox needs, said out loud. */
function existingConfig(world: World, hosts: readonly TestHost[], tag: string): ConfigMap {
  const pki = world.hosts.pki!;
  const config: ConfigMap = {
    "tikv-cvm:mode": { value: "existing" },
    "tikv-cvm:tikvVersion": { value: tag },
    // No image registry here: Prometheus and Grafana have no stand-ins, so monitoring is off.
    "tikv-cvm:monitoring": { value: "false" },
    // Real TiKV would refuse to start at this limit; the program warns, the stand-in says so.
    "tikv-cvm:nofileLimit": { value: String(SANDBOX_NOFILE) },
    // The smallest readiness bound, so the untrusting host fails as fast as the program allows.
    "tikv-cvm:readinessTimeoutMinutes": { value: "1" },
    "tikv-cvm:rolloutTimeoutMinutes": { value: "3" },
    "tikv-cvm:clients[0]": { value: CLIENT },
    "tikv-cvm:clientGatewayImage": { value: NODE_IMAGE },
    "tikv-cvm:dockerCaPem": { value: fs.readFileSync(pki.ca.certPath, "utf8"), secret: true },
    "tikv-cvm:dockerCertPem": { value: fs.readFileSync(pki.client.certPath, "utf8"), secret: true },
    "tikv-cvm:dockerKeyPem": { value: fs.readFileSync(pki.client.keyPath, "utf8"), secret: true },
  };
  hosts.forEach((h, i) => {
    config[`tikv-cvm:hosts[${i}].name`] = { value: h.name };
    config[`tikv-cvm:hosts[${i}].dockerHost`] = { value: h.dockerHost };
    config[`tikv-cvm:hosts[${i}].privateIp`] = { value: h.address };
  });
  return config;
}

async function setHosts(world: World, hosts: readonly TestHost[], tag: string): Promise<void> {
  await world.stack!.removeConfig(["tikv-cvm:hosts"]);
  await world.stack!.configure(existingConfig(world, hosts, tag));
}

export function clusterHosts(world: World, count: number): TestHost[] {
  return world.hosts.hosts.filter((h) => h.index <= count).sort((a, b) => a.index - b.index);
}

export function asClusterHost(world: World, host: TestHost): ClusterHost {
  return { name: host.name, index: host.index, privateIp: host.address, env: world.hosts.dockerEnv(host) };
}

export function pdOf(world: World, outputs: Record<string, unknown>): PdTarget {
  const pdHosts = clusterHosts(world, 3);
  return pdTarget(
    outputs,
    pdHosts.map((h) => `https://${h.address}:2379`),
  );
}

/** Every PD and TiKV container on the hosts is healthy by Docker's own health check. */
export function expectHealthy(world: World, count: number): void {
  for (const host of clusterHosts(world, count)) {
    const names = [...(host.index <= 3 ? [`pd${host.index}`] : []), `tikv${host.index}`];
    const health = healthOf(world.hosts.dockerEnv(host), names);
    for (const name of names) assertEqual(health[name], "healthy", `${name} on ${host.name} is healthy`);
  }
}

async function expectStoresUp(
  world: World,
  outputs: Record<string, unknown>,
  count: number,
  version: string,
): Promise<Record<string, number>> {
  const target = pdOf(world, outputs);
  await waitFor(`${count} stores Up`, 60_000, async () =>
    (await storesUp(target)).length === count ? true : undefined,
  );
  // The README's own command: pd-ctl inside pd1, through the stack's pdCtlStores output.
  const stores = pdCtlStores(world.stack!, outputs);
  assertEqual(stores.length, count, "stores listed by the pdCtlStores output");
  const expected = clusterHosts(world, count)
    .map((h) => `${h.address}:20160`)
    .sort();
  assertEqual(stores.map((s) => s.store.address).sort(), expected, "store addresses");
  for (const s of stores) {
    assertEqual(s.store.state_name, "Up", `store ${s.store.address} state`);
    assertEqual(s.store.version, version.replace(/^v/, ""), `store ${s.store.address} version`);
  }
  return Object.fromEntries(stores.map((s) => [s.store.address, s.store.id]));
}

/**
 * Steps an operator sees in a preview. The engine also reports its default provider for the
 * dynamic resources (pulumi:providers:pulumi-nodejs::default, "update" whenever the stack's
 * config changes), which the CLI hides from previews and which acts on nothing.
 */
export function visible(steps: StepRecord[]): StepRecord[] {
  return steps.filter(
    (s) => s.phase === "pre" && !(s.type.startsWith("pulumi:providers:") && s.urn.endsWith("::default")),
  );
}

export function opsByType(steps: StepRecord[]): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const s of visible(steps)) {
    if (!m.has(s.type)) m.set(s.type, new Set());
    m.get(s.type)!.add(s.op);
  }
  return m;
}

export function describeSteps(steps: StepRecord[]): string {
  return visible(steps)
    .filter((s) => s.op !== "same")
    .map((s) => `${s.op} ${shortName(s.urn)}`)
    .join(", ");
}

// ---- Steps --------------------------------------------------------------------------------

/** First `pulumi up` on three hosts: every container healthy, three stores Up, outputs usable. */
export async function firstUp(world: World): Promise<StepResult> {
  // The operator's shell as the README once had it (issue 22): DOCKER_CERT_PATH, DOCKER_HOST and
  // DOCKER_TLS_VERIFY exported. Every up and preview of this stack runs with them; the program's
  // providers must ignore them, and the printed commands must need none of them.
  const host1 = clusterHosts(world, 1)[0];
  world.stack = await E2EStack.open(
    "e2e",
    path.join(world.stateDir, "existing"),
    world.engineEnv,
    operatorShellEnv(world.hosts.pki!.certDir, host1.dockerHost),
  );
  await world.stack.configure(existingConfig(world, clusterHosts(world, 3), FIRST_TAG));
  const result = await world.stack.up("first deployment on 3 hosts, DOCKER_* exported");
  assert(result.stdout.includes("tikv-cvm:nofileLimit is 20000"), "the up warns about the lowered nofile limit");
  const outputs = await world.stack.outputs();
  // The README's order: up, then certSetup, then the printed commands.
  await world.stack.certSetup();
  expectHealthy(world, 3);
  const stores = await expectStoresUp(world, outputs, 3, FIRST_TAG);
  world.identity = { clusterId: await clusterId(pdOf(world, outputs)), stores };
  // dockerCommands: `docker ps` against each host, as printed.
  const dockerCommands = outputs.dockerCommands as string[];
  assertEqual(dockerCommands.length, 3, "one docker command per host");
  dockerCommands.forEach((cmd, i) => {
    const ps = world.stack!.printed(cmd);
    assert(
      ps.includes(`tikv${i + 1}`) && ps.includes(`pd${i + 1}`),
      `docker ps on host ${i + 1} lists pd${i + 1} and tikv${i + 1}`,
    );
  });
  // The stand-in's own check of the rendered tikv.toml, as `tikv-server --config-check` would.
  for (const host of clusterHosts(world, 3)) {
    const check = run(
      "docker",
      ["exec", `tikv${host.index}`, "/tikv-server", "--config-check", "--config", "/etc/tikv/tikv.toml"],
      { env: world.hosts.dockerEnv(host), allowFailure: true },
    );
    assertEqual(
      check.stdout.trim(),
      "config check successful",
      `tikv-server --config-check on ${host.name} (${check.stderr.trim()})`,
    );
    const pdCheck =
      host.index <= 3
        ? run("docker", ["exec", `pd${host.index}`, "/pd-server", "--config-check", "--config", "/etc/pd/pd.toml"], {
            env: world.hosts.dockerEnv(host),
          }).stdout.trim()
        : "config check successful";
    assertEqual(pdCheck, "config check successful", `pd-server --config-check on ${host.name}`);
  }
  world.figures["resources after first up (3 hosts)"] = await world.stack.resourceCount();
  log(
    `3 stores Up, cluster ${world.identity.clusterId}; ${world.figures["resources after first up (3 hosts)"]} resources`,
  );
  return result;
}

/** `pulumi preview --expect-no-changes` straight after: no perpetual diff. */
export async function noOpPreview(world: World, label: string): Promise<StepResult> {
  const result = await world.stack!.preview(label, true);
  const changed = visible(result.steps).filter(
    (s) => s.op !== "same" && !(s.op === "read" && s.type === STACK_REFERENCE),
  );
  assertEqual(describeSteps(changed), "", "steps of a no-op preview");
  return result;
}

/** One host of a deployed cluster as the checks see it, whatever the mode. */
export interface ClusterHost {
  readonly name: string;
  readonly index: number;
  /** The address PD and TiKV advertise: stores are `<privateIp>:20160`. */
  readonly privateIp: string;
  /** The docker CLI's environment for its engine. */
  readonly env: DockerEnv;
}

/** What survives every day-2 step: PD's cluster ID and each store's ID by address. */
export interface ClusterIdentity {
  readonly clusterId: string;
  readonly stores: Record<string, number>;
}

export interface MemberRollout {
  readonly stack: E2EStack;
  /** The hosts of the three PD members and their stores, host 1 first. */
  readonly hosts: readonly ClusterHost[];
  readonly target: PdTarget;
  readonly identity: ClusterIdentity;
  readonly figures: Record<string, string | number>;
  readonly label: string;
  /** Every store Up at the new version; returns store IDs by address. */
  readonly storesUp: (version: string) => Promise<Record<string, number>>;
}

/**
 * tikvVersion change: the preview lists only images, containers, their gates and pids limits; the up replaces
 * members one at a time (PD first, then TiKV, in host order), PD shows the evict-leader
 * scheduler added before and removed after each store, and markers in the volumes survive.
 */
export async function upgradeOneAtATime(r: MemberRollout): Promise<StepResult> {
  const { stack, hosts, target } = r;
  const token = `marker-${Date.now()}`;
  for (const host of hosts) {
    writeMarker(host.env, `pd${host.index}`, token);
    writeMarker(host.env, `tikv${host.index}`, token);
  }
  await stack.configure({ "tikv-cvm:tikvVersion": { value: SECOND_TAG } });

  const preview = await stack.preview(`tikvVersion ${FIRST_TAG} -> ${SECOND_TAG}`);
  const touched = [...opsByType(preview.steps)].filter(([type, ops]) =>
    [...ops].some((op) => op !== "same" && !(op === "read" && type === STACK_REFERENCE)),
  );
  // Each member's build report (components/buildReport.ts) is read again once it is back, and the
  // stores' labels are checked with PD (nothing is sent when PD still holds them).
  const allowed = [CONTAINER, GATE, IMAGE, PIDS, BUILD_REPORT, PLACEMENT_LABELS];
  const unexpected = visible(preview.steps).filter((s) => !allowed.includes(s.type));
  // Images and pids limits may already be in place (a refused upgrade before this one creates them).
  const types = touched.map(([type]) => type);
  assert(
    types.every((t) => allowed.includes(t)) && types.includes(CONTAINER) && types.includes(GATE),
    `resource types the upgrade preview changes: ${types.join(", ")} (${describeSteps(unexpected)})`,
  );
  r.figures[`${r.label}: upgrade preview`] = describeSteps(preview.steps).split(", ").length + " steps";

  const outputs = await stack.outputs();
  const order = outputs.rolloutOrder as string[];
  assertEqual(order, ["pd1", "pd2", "pd3", "tikv1", "tikv2", "tikv3"], "documented rollout order");
  const watch = watchEvictions(target);
  const since = Math.floor(Date.now() / 1000) - 1;
  let result: StepResult;
  try {
    result = await stack.up(`rolling upgrade to ${SECOND_TAG}`);
  } finally {
    await watch.stop();
  }

  // Container replacements as each engine saw them.
  const events: (ContainerEvent & { host: string })[] = hosts.flatMap((h) =>
    containerEvents(h.env, since).map((e) => ({ ...e, host: h.name })),
  );
  const window = (member: string) => {
    const own = events.filter((e) => e.name === member);
    const die = own.find((e) => e.action === "die");
    const start = own.filter((e) => e.action === "start").pop();
    assert(
      die && start && die.at < start.at,
      `${member} was stopped and started again (events: ${own.map((e) => e.action).join(", ")})`,
    );
    return { die: die.at, start: start.at };
  };
  const windows = order.map((m) => ({ member: m, ...window(m) }));
  for (let i = 1; i < windows.length; i++) {
    assert(
      windows[i - 1].start < windows[i].die,
      `${windows[i - 1].member} is back before ${windows[i].member} stops (one member at a time)`,
    );
  }
  // Evict-leader around each store: present before its container stopped, gone after it started.
  for (const host of hosts) {
    const w = windows.find((x) => x.member === `tikv${host.index}`)!;
    expectDrainedAround(
      watch.samples,
      r.identity.stores[`${host.privateIp}:20160`],
      `tikv${host.index}`,
      w.die,
      w.start,
    );
  }
  assertEqual(await evictedStores(target), [], "no evict-leader scheduler left");
  // Data: the markers, PD's cluster and the stores' identities.
  for (const host of hosts) {
    assertEqual(readMarker(host.env, `pd${host.index}`), token, `marker in pd${host.index}'s volume`);
    assertEqual(readMarker(host.env, `tikv${host.index}`), token, `marker in tikv${host.index}'s volume`);
  }
  const stores = await r.storesUp(SECOND_TAG);
  assertEqual(stores, r.identity.stores, "store IDs after the upgrade");
  assertEqual(await clusterId(target), r.identity.clusterId, "PD cluster ID after the upgrade");
  r.figures[`${r.label}: evict-leader samples`] = watch.samples.length;
  log(`rolled ${order.join(" -> ")}; evict-leader seen around each store`);
  return result;
}

/** Samples of PD's evict-leader scheduler: which stores it held, when. */
export interface EvictionSample {
  readonly at: number;
  readonly evicted: number[];
}

/** Watches PD's evict-leader scheduler every 200 ms until stopped. */
export function watchEvictions(target: PdTarget): { samples: EvictionSample[]; stop(): Promise<void> } {
  return watch(200, async () => ({ evicted: await evictedStores(target) }));
}

/**
 * The store was drained around its downtime: PD showed it in the evict-leader scheduler before
 * `down` and dropped it after `back`; never two stores evicted at once.
 */
export function expectDrainedAround(
  samples: readonly EvictionSample[],
  storeId: number,
  what: string,
  down: number,
  back: number,
): void {
  const firstSeen = samples.find((s) => s.evicted.includes(storeId));
  assert(firstSeen, `PD showed evict-leader-scheduler for store ${storeId} (${what})`);
  assert(firstSeen.at < down, `evict-leader for store ${storeId} was added before ${what} went down`);
  const lastSeen = [...samples].reverse().find((s) => s.evicted.includes(storeId))!;
  const goneAfter = samples.find((s) => s.at > lastSeen.at);
  assert(goneAfter && goneAfter.at > back, `evict-leader for store ${storeId} was removed after ${what} was back`);
  assert(
    samples.every((s) => s.evicted.length <= 1),
    "at most one store evicted at a time",
  );
}

/** Mode existing's own-build steps (e2e/builds.ts) on its three hosts, running `tag`. */
export async function ownBuild(world: World, tag: string): Promise<void> {
  const outputs = await world.stack!.outputs();
  const started = Date.now();
  const registry = await TestRegistry.start(world.hosts.workDir);
  world.figures["existing: registry started"] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  try {
    await ownTikvBuild({
      ...onThreeHosts(world, outputs),
      tag,
      prefix: "tikv-e2e",
      registry,
    });
    expectHealthy(world, 3);
    passwordNotOnHosts(world, registry.password);
  } finally {
    registry.stop();
  }
}

/**
 * The registry password on the hosts: the Docker provider sends it with each pull only (the
 * X-Registry-Auth header of POST /images/create, kreuzwerker resource_docker_image_funcs.go
 * pullImage), which dockerd uses for that pull and does not store. No file of the engine's
 * (daemon.json, its log, its data root with image and container metadata, exec root) holds it;
 * left out are the vfs trees of image layers and container file systems, which only hold what
 * images and containers wrote.
 */
function passwordNotOnHosts(world: World, password: string): void {
  const started = Date.now();
  for (const host of clusterHosts(world, 3)) {
    const found = run("grep", ["-rlF", "-D", "skip", "--exclude-dir=vfs", "-e", password, host.dir], {
      allowFailure: true,
    });
    // Exit 2 is a file grep cannot read: dockerd's exec-root/netns/default, a network namespace
    // bind mount ("Invalid argument"). Such files are reported beside the result; the verdict is
    // the list of files holding the password.
    assertEqual(found.stdout.trim(), "", `files under ${host.dir} holding the registry password`);
    assert(found.status !== 0, `grep found the registry password under ${host.dir}`);
    if (found.stderr.trim() !== "")
      world.figures[`existing: registry password search, not read on ${host.name}`] = found.stderr.trim();
  }
  world.figures["existing: registry password searched on the hosts"] =
    `${((Date.now() - started) / 1000).toFixed(1)} s`;
}

/** What a step on mode existing's first three hosts works with. */
function onThreeHosts(world: World, outputs: Record<string, unknown>) {
  return {
    stack: world.stack!,
    hosts: clusterHosts(world, 3).map((h) => asClusterHost(world, h)),
    target: pdOf(world, outputs),
    identity: world.identity!,
    figures: world.figures,
    label: "existing",
  };
}

/** Mode existing's rolling upgrade on its three hosts. */
export async function rollingUpgrade(world: World): Promise<StepResult> {
  const outputs = await world.stack!.outputs();
  return upgradeOneAtATime({
    ...onThreeHosts(world, outputs),
    storesUp: (version) => {
      expectHealthy(world, 3);
      return expectStoresUp(world, outputs, 3, version);
    },
  });
}

/** Scale 3 -> 4 hosts: the preview touches nothing existing; the fourth store comes Up. */
export async function scaleOut(world: World): Promise<StepResult> {
  const host4 = await world.hosts.startHost(4);
  importImages(host4.socket, world.images, [FIRST_TAG, SECOND_TAG]);
  await setHosts(world, clusterHosts(world, 4), SECOND_TAG);
  const preview = await world.stack!.preview("nodeCount 3 -> 4");
  // In place, and restarting nothing: every host's check learns host 4's certificate (each host is
  // shown it, so its clock must be past its NotBefore too), and the placement labels the new store.
  const inPlace = (s: { op: string; type: string }) =>
    s.op === "update" && (s.type === HOST_CHECK || s.type === PLACEMENT_LABELS);
  const touched = visible(preview.steps).filter(
    (s) => s.op !== "same" && s.op !== "create" && !(s.op === "read" && s.type === STACK_REFERENCE) && !inPlace(s),
  );
  assertEqual(describeSteps(touched), "", "steps other than create, and in-place checks, in the scale-out preview");
  assert((preview.summary.create ?? 0) > 0, "the scale-out preview creates the new host's resources");
  const result = await world.stack!.up("scale out to 4 hosts");
  const outputs = await world.stack!.outputs();
  expectHealthy(world, 4);
  const stores = await expectStoresUp(world, outputs, 4, SECOND_TAG);
  for (const [address, id] of Object.entries(world.identity!.stores))
    assertEqual(stores[address], id, `store ID of ${address}`);
  world.identity = { ...world.identity!, stores };
  world.figures["resources after scale-out (4 hosts)"] = await world.stack!.resourceCount();
  return result;
}

/** The documented readiness failure, for a host whose daemon does not trust the operator's certificate. */
export const READINESS_MESSAGE = (host: TestHost) =>
  `Docker on ${host.name} (${host.address}) did not answer https://${host.address}:2376/_ping within 60 s`;

/** A fifth host that refuses the operator's certificate: the up fails at readiness, quickly, naming it. */
export async function untrustingHost(world: World): Promise<number> {
  const host5 = await world.hosts.startHost(5, { trustOperator: false });
  const listed = [...clusterHosts(world, 4), host5];
  await setHosts(world, listed, SECOND_TAG);
  const started = Date.now();
  let message = "";
  try {
    await world.stack!.up("a host that does not trust the operator");
  } catch (err) {
    message = err instanceof Error ? err.message : String(err);
  }
  const ms = Date.now() - started;
  assert(message !== "", "the up with an untrusting host fails");
  assert(
    message.includes(READINESS_MESSAGE(host5)),
    `the failure names the host and the probe: ${message.slice(-1500)}`,
  );
  assert(/certificate/.test(message), `the last error is the TLS refusal: ${message.slice(-800)}`);
  assert(ms < 150_000, `the failure came within the 1-minute readiness bound plus the engine's own time (${ms} ms)`);
  world.figures["untrusting host: failure after"] = `${(ms / 1000).toFixed(1)} s`;
  // Back to the four hosts: the partial host's resources go, nothing else changes.
  await setHosts(world, clusterHosts(world, 4), SECOND_TAG);
  await world.stack!.up("drop the untrusting host again");
  await noOpPreview(world, "after dropping the untrusting host");
  return ms;
}

/** destroy: containers gone, data volumes retained with their markers. */
export async function destroyRetainsData(world: World, hostCount = 4): Promise<StepResult> {
  const hosts = clusterHosts(world, hostCount);
  const token = `destroy-${Date.now()}`;
  for (const host of hosts) {
    if (host.index <= 3) writeMarker(world.hosts.dockerEnv(host), `pd${host.index}`, token);
    writeMarker(world.hosts.dockerEnv(host), `tikv${host.index}`, token);
  }
  const result = await world.stack!.destroy("containers go, volumes stay");
  assertEqual(await world.stack!.resourceCount(), 0, "resources in the state after destroy");
  for (const host of hosts) {
    const env = world.hosts.dockerEnv(host);
    const containers = run("docker", ["ps", "-a", "--format", "{{.Names}}"], { env }).stdout.trim();
    assertEqual(containers, "", `containers left on ${host.name}`);
    const volumes = run("docker", ["volume", "ls", "--format", "{{.Name}}"], { env }).stdout.trim().split("\n").sort();
    assertEqual(volumes, host.index <= 3 ? ["pd-data", "tikv-data"] : ["tikv-data"], `volumes on ${host.name}`);
    if (host.index <= 3)
      assertEqual(
        readMarkerInVolume(env, "pd-data", `pingcap/pd:${SECOND_TAG}`),
        token,
        `marker in pd-data on ${host.name}`,
      );
    assertEqual(
      readMarkerInVolume(env, "tikv-data", `pingcap/tikv:${SECOND_TAG}`),
      token,
      `marker in tikv-data on ${host.name}`,
    );
  }
  world.figures["destroy marker"] = token;
  return result;
}

/** A new up after destroy finds the data: same PD cluster, same stores, markers in place. */
export async function upAfterDestroy(world: World, hostCount = 4): Promise<StepResult> {
  const result = await world.stack!.up("new deployment over the retained volumes");
  const outputs = await world.stack!.outputs();
  expectHealthy(world, hostCount);
  const stores = await expectStoresUp(world, outputs, hostCount, SECOND_TAG);
  assertEqual(stores, world.identity!.stores, "store IDs after destroy and up");
  assertEqual(await clusterId(pdOf(world, outputs)), world.identity!.clusterId, "PD cluster ID after destroy and up");
  const token = String(world.figures["destroy marker"]);
  for (const host of clusterHosts(world, hostCount)) {
    if (host.index <= 3)
      assertEqual(readMarker(world.hosts.dockerEnv(host), `pd${host.index}`), token, `marker in pd${host.index}`);
    assertEqual(readMarker(world.hosts.dockerEnv(host), `tikv${host.index}`), token, `marker in tikv${host.index}`);
  }
  assert(await allMembersHealthy(pdOf(world, outputs)), "every PD member healthy");
  return result;
}

export async function finalDestroy(world: World): Promise<StepResult> {
  const result = await world.stack!.destroy("end of the existing-mode scenarios");
  await world.stack!.dispose();
  world.stack = undefined;
  return result;
}

/**
 * The local stack (the committed Pulumi.local.yaml, plus the sandbox's two settings) on one test
 * engine, reached through DOCKER_HOST as on a workstation: up, a no-op preview, destroy.
 */
export async function localStack(world: World, timings: (label: string, ms: number) => void): Promise<void> {
  const engine = clusterHosts(world, 1)[0];
  // The one place the program reads DOCKER_HOST on purpose (lib/dockerProvider.ts, mode local).
  const stack = await E2EStack.open("e2e-local", path.join(world.stateDir, "local"), world.engineEnv, {
    DOCKER_HOST: engine.socket,
  });
  // The engine runs in host 1's namespace, where mode local publishes PD's client port on loopback;
  // on a workstation that loopback is the operator's own, where the rollout gates, the placement
  // and the build reports reach PD.
  const stopForward = await forwardLoopback(engine.netns, PORTS.pdClient);
  try {
    const committed = parse(fs.readFileSync(path.join(REPO, "Pulumi.local.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    const config: ConfigMap = Object.fromEntries(
      Object.entries(committed.config).map(([k, v]) => [k, { value: String(v) }]),
    );
    config["tikv-cvm:monitoring"] = { value: "false" };
    config["tikv-cvm:nofileLimit"] = { value: String(SANDBOX_NOFILE) };
    config["tikv-cvm:clients[0]"] = { value: CLIENT };
    config["tikv-cvm:clientGatewayImage"] = { value: NODE_IMAGE };
    await stack.configure(config);
    const up = await stack.up("local mode on one engine");
    timings("local: up", up.ms);
    const outputs = await stack.outputs();
    const names = ["pd1", "pd2", "pd3", "tikv1", "tikv2", "tikv3"].map((n) => `tikv-e2e-local-${n}`);
    const health = run("docker", ["-H", engine.socket, "inspect", "--format", "{{.State.Health.Status}}", ...names])
      .stdout.trim()
      .split("\n");
    assertEqual(
      health,
      names.map(() => "healthy"),
      "local containers healthy",
    );
    const stores = await waitFor("3 local stores Up", 60_000, () => {
      const list = pdCtlStores(stack, outputs, true);
      return list.length === 3 && list.every((s) => s.store.state_name === "Up") ? list : undefined;
    });
    assertEqual(
      stores.map((s) => s.store.address).sort(),
      ["tikv1:20160", "tikv2:20160", "tikv3:20160"],
      "local store addresses",
    );
    // What the program read from PD through the published port: the labels it set and the builds.
    const placement = outputs.placement as { isolationLevel: string; storeLabels: Record<string, { zone?: string }> };
    assertEqual(placement.isolationLevel, "host", "local isolation-level (one zone)");
    assertEqual(
      Object.values(placement.storeLabels).map((l) => l.zone),
      ["local", "local", "local"],
      "local stores' zone labels as PD reports them",
    );
    const builds = outputs.builds as { member: string; version?: string; reported?: string }[];
    assertEqual(
      builds.filter((b) => b.version === undefined).map((b) => `${b.member}: ${b.reported}`),
      [],
      "every local member's build, as PD reports it",
    );
    // The data path on the cluster's own network, through the same clientCommands.
    const started = Date.now();
    const data = new DataPath(stack, true);
    await data.smoke(world.figures, "local");
    await data.write("local-keys");
    await data.check("local-keys", "a second client run");
    await data.workload(world.figures, "local", 3);
    timings("local: data path (smoke, write, check, workload)", Date.now() - started);
    world.figures["resources of the local stack"] = await stack.resourceCount();
    const preview = await stack.preview("local no-op", true);
    timings("local: no-op preview", preview.ms);
    // TIKV_CVM_E2E_KEEP's promise, checked on every run: a shell given the kept environment drives the
    // stack (its own preview and outputs), with nothing of this process's.
    const script = stack.writeKeepScript(world.stateDir);
    const kept = run(
      "bash",
      [
        "-c",
        `set -e; source '${script}'; pulumi preview --expect-no-changes >/dev/null; pulumi stack output pdCtlStores`,
      ],
      {
        env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
      },
    ).stdout.trim();
    assertEqual(kept, String(outputs.pdCtlStores), "the kept environment reads the stack's outputs");
    if (world.keepDir) {
      stack.writeKeepScript(world.keepDir);
      return;
    }
    const destroy = await stack.destroy("local");
    timings("local: destroy", destroy.ms);
    const left = run("docker", [
      "-H",
      engine.socket,
      "ps",
      "-a",
      "--format",
      "{{.Names}}",
      "--filter",
      "name=tikv-e2e-local",
    ]).stdout.trim();
    assertEqual(left, "", "local containers after destroy");
    const volumes = run("docker", [
      "-H",
      engine.socket,
      "volume",
      "ls",
      "--format",
      "{{.Name}}",
      "--filter",
      "name=tikv-e2e-local",
    ])
      .stdout.trim()
      .split("\n")
      .sort();
    assertEqual(volumes, names.map((n) => `${n}-data`).sort(), "local data volumes retained");
  } finally {
    await stopForward();
    // Kept (TIKV_CVM_E2E_KEEP=1) only when it got that far; a failed run still cleans up.
    if (!(world.keepDir && fs.existsSync(path.join(world.keepDir, `keep-${stack.name}.sh`)))) await stack.dispose();
  }
}

// ---- Config problems (no hosts) -----------------------------------------------------------

/** A committed stack file's config as Automation API entries: lists by index, as `--path` sets them. */
function stackFileConfig(file: string): ConfigMap {
  const committed = parse(fs.readFileSync(path.join(REPO, file), "utf8")) as { config: Record<string, unknown> };
  const config: ConfigMap = {};
  for (const [key, value] of Object.entries(committed.config)) {
    if (Array.isArray(value))
      value.forEach((item, i) => {
        config[`${key}[${i}]`] = { value: String(item) };
      });
    else config[key] = { value: String(value) };
  }
  return config;
}

/**
 * The config problems the operator reads: the lines of describeProblems (lib/settings.ts) in the
 * first Diagnostics section (the CommandError carries the CLI's output twice).
 */
function problemLines(output: string): string[] {
  const lines = output.split("\n").map((l) => l.trim());
  // The Diagnostics section's copy: the progress line above it carries only the heading.
  const heading = lines.findIndex(
    (l, i) => /^error: The stack configuration has \d+ problem\(s\):$/.test(l) && lines[i + 1]?.startsWith("- "),
  );
  if (heading < 0) return [];
  const end = lines.findIndex((l, i) => i > heading && !l.startsWith("- "));
  return lines.slice(heading + 1, end < 0 ? undefined : end);
}

/**
 * Issue 14, item 5, with the real engine and no hosts: mistyped values reach the program, which
 * reports them all with their fixes; the CLI's own type check ("must be of type", which stops at the
 * first key) never answers, because Pulumi.yaml declares no types (docs/config.md). Then the
 * committed Pulumi.dev.yaml as a user who skipped the operator-address step has it: `pulumi up`
 * stops at once, naming tikv-cvm:operatorCidrs and the command that fixes it, and creates nothing.
 */
export async function configProblems(
  engineEnv: NodeJS.ProcessEnv,
  stateDir: string,
  figures: Record<string, string | number>,
): Promise<void> {
  const stack = await E2EStack.open("e2e-config", stateDir, engineEnv);
  try {
    const credentials: ConfigMap = {
      // Never used: validation stops the program before any provider exists.
      "tencentcloud:secretId": { value: "AKIDe2eNeverUsed", secret: true },
      "tencentcloud:secretKey": { value: "e2eNeverUsed", secret: true },
    };
    await stack.configure({
      ...credentials,
      "tencentcloud:region": { value: "ap-guangzhou" },
      "tikv-cvm:availabilityZone": { value: "ap-guangzhou-3" },
      "tikv-cvm:nodeCount": { value: "abc" },
      // A single address where a list belongs.
      "tikv-cvm:operatorCidrs": { value: "5.6.7.8/32" },
      "tikv-cvm:monitoring": { value: "yes" },
    });
    const mistyped = await stack.failing("preview", "a mistyped number, list and boolean");
    figures["config problems: preview (s)"] = (mistyped.ms / 1000).toFixed(1);
    assert(
      !/must be of type/.test(mistyped.output),
      `the CLI's type check answered instead of the program:\n${mistyped.output}`,
    );
    assert(
      mistyped.output.includes("The stack configuration has 3 problem(s)"),
      `all three problems reported together:\n${mistyped.output}`,
    );
    const lines = problemLines(mistyped.output);
    assertEqual(
      lines.map((l) => l.split(": ")[0].slice(2)),
      ["tikv-cvm:nodeCount", "tikv-cvm:operatorCidrs", "tikv-cvm:monitoring"],
      `keys of the reported problems in:\n${mistyped.output}\n`,
    );
    assert(
      lines[0].endsWith('got "abc"; fix with: pulumi config set tikv-cvm:nodeCount 3'),
      `nodeCount's fix: ${lines[0]}`,
    );
    assert(
      lines[1].includes("must be a list of strings") &&
        lines[1].includes("pulumi config set --path 'tikv-cvm:operatorCidrs[0]'"),
      `operatorCidrs' fix: ${lines[1]}`,
    );
    assert(lines[2].endsWith("fix with: pulumi config set tikv-cvm:monitoring true"), `monitoring's fix: ${lines[2]}`);
    const created = mistyped.steps.filter((s) => s.type !== "pulumi:pulumi:Stack");
    assertEqual(
      created.map((s) => s.urn),
      [],
      "resources a refused config reaches",
    );

    // Pulumi.dev.yaml as committed: the operator address is still the placeholder.
    await stack.removeConfig(["tikv-cvm:nodeCount", "tikv-cvm:operatorCidrs", "tikv-cvm:monitoring"]);
    await stack.configure({ ...stackFileConfig("Pulumi.dev.yaml"), ...credentials });
    const placeholder = await stack.failing("up", "Pulumi.dev.yaml with its placeholder operator address");
    figures["placeholder operator address: up (s)"] = (placeholder.ms / 1000).toFixed(1);
    const placeholderLines = problemLines(placeholder.output);
    assertEqual(placeholderLines.length, 1, `one problem for the placeholder:\n${placeholder.output}`);
    assert(
      placeholderLines[0].startsWith(
        '- tikv-cvm:operatorCidrs: "203.0.113.10/32" overlaps 203.0.113.0/24: documentation',
      ) &&
        placeholderLines[0].includes(
          `pulumi config set --path 'tikv-cvm:operatorCidrs[0]' "$(curl -4 -s https://ifconfig.me)/32"`,
        ),
      `the placeholder's problem names the key and the fix: ${placeholderLines[0]}`,
    );
    // A failed up leaves at most the stack itself in the state: nothing in the cloud.
    assert((await stack.resourceCount()) <= 1, "the refused up created no resource");
  } finally {
    await stack.dispose();
  }
}
