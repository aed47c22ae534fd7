// Issue 18 in the end-to-end suite: membership changes on the mode existing stack, against the
// PD and TiKV stand-ins. Each step checks what it promises and throws on the first difference.
// Wired by e2e/main.ts after scaleOut (4 hosts, SECOND_TAG) and before untrustingHost, in order:
//   storesInAndBackOut -> pdThreeToOneToThree -> wipedPdNeverBootstraps
// Each step leaves the stack as it found it: 4 hosts, pdCount 3, every member healthy.
import { PdTarget, getAllStores, getMembers } from "../lib/pdApi";
import { clusterId, healthOf, pdTarget } from "./cluster";
import { TestHost } from "./hosts";
import { CONTAINER, SECOND_TAG, World } from "./scenarios";
import { StepResult } from "./stack";
import { assert, assertEqual, log, run, waitFor } from "./util";

/** The first `count` test hosts, in host order. */
function hostsUpTo(world: World, count: number): TestHost[] {
  return world.hosts.hosts.filter((h) => h.index <= count).sort((a, b) => a.index - b.index);
}

/** Stores the stack runs: one per test host started (3, or 4 after the scale-out). */
function storeCount(world: World): number {
  return world.hosts.hosts.length;
}

function host(world: World, index: number): TestHost {
  const found = world.hosts.hosts.find((h) => h.index === index);
  assert(found, `test host ${index} is running`);
  return found;
}

/** PD through every PD host's address, with the cluster admin's certificate. */
function pdOf(world: World, outputs: Record<string, unknown>, pdCount = 3): PdTarget {
  return pdTarget(
    outputs,
    hostsUpTo(world, pdCount).map((h) => `https://${h.address}:2379`),
  );
}

/** The stack's `hosts` list set to the first `count` test hosts (the other keys stay as they are). */
async function useHosts(world: World, count: number): Promise<void> {
  await world.stack!.removeConfig(["tikv-cvm:hosts"]);
  const config: Record<string, { value: string }> = {};
  hostsUpTo(world, count).forEach((h, i) => {
    config[`tikv-cvm:hosts[${i}].name`] = { value: h.name };
    config[`tikv-cvm:hosts[${i}].dockerHost`] = { value: h.dockerHost };
    config[`tikv-cvm:hosts[${i}].privateIp`] = { value: h.address };
  });
  await world.stack!.configure(config);
}

/** A throwaway container with `volume` at /data and no network, on a test host; its stdout. */
function onVolume(world: World, hostIndex: number, volume: string, image: string, command: string[]): string {
  const [entrypoint, ...args] = command;
  return run(
    "docker",
    ["run", "--rm", "--network", "none", "--entrypoint", entrypoint, "-v", `${volume}:/data`, image, ...args],
    { env: world.hosts.dockerEnv(host(world, hostIndex)) },
  ).stdout;
}

/** The names in a volume's root, read with a throwaway container of the TiKV image. */
function volumeEntries(world: World, hostIndex: number, volume: string): string[] {
  return onVolume(world, hostIndex, volume, `pingcap/tikv:${SECOND_TAG}`, ["ls", "-A", "/data"])
    .trim()
    .split("\n")
    .filter(Boolean);
}

function containerId(world: World, hostIndex: number, name: string): string {
  return run("docker", ["inspect", "--format", "{{.Id}}", name], {
    env: world.hosts.dockerEnv(host(world, hostIndex)),
  }).stdout.trim();
}

async function expectAllHealthy(world: World, target: PdTarget, stores: number, pdMembers: string[]): Promise<void> {
  await waitFor(`${stores} stores Up`, 120_000, async () =>
    (await getAllStores(target)).filter((s) => s.stateName === "Up").length === stores ? true : undefined,
  );
  await waitFor(`PD members ${pdMembers.join(", ")}`, 120_000, async () => {
    const names = (await getMembers(target)).map((m) => m.name).sort();
    return JSON.stringify(names) === JSON.stringify([...pdMembers].sort()) ? true : undefined;
  });
}

/**
 * nodeCount 4 -> 3 -> 4 (item 3, item 4): the scale-in retires host 4's store through PD (it
 * becomes Tombstone before its container goes, with no pd-ctl by hand); the scale-out brings a new
 * store up over the retained `tikv-data` volume, whose old contents were moved aside.
 */
export async function storesInAndBackOut(world: World): Promise<StepResult[]> {
  const outputs = await world.stack!.outputs();
  const target = pdOf(world, outputs);
  const address4 = `${host(world, 4).address}:20160`;
  const old = (await getAllStores(target)).find((s) => s.address === address4);
  assert(old && old.stateName === "Up", `store ${address4} is Up before the scale-in`);
  const id = await clusterId(target);

  await useHosts(world, 3);
  const down = await world.stack!.up("nodeCount 4 -> 3: the store retires through PD");
  const after = (await getAllStores(target)).filter((s) => s.address === address4);
  assertEqual(
    after.map((s) => [s.id, s.stateName]),
    [[old.id, "Tombstone"]],
    `store ${old.id} is Tombstone after the scale-in`,
  );
  assertEqual(healthOf(world.hosts.dockerEnv(host(world, 4)), ["tikv4"]).tikv4, "missing", "tikv4's container");
  assert(volumeEntries(world, 4, "tikv-data").length > 0, "tikv-data on host 4 is retained, with its data");

  await useHosts(world, 4);
  const back = await world.stack!.up("nodeCount 3 -> 4 over the retained volume");
  await expectAllHealthy(world, target, storeCount(world), ["pd1", "pd2", "pd3"]);
  const live = (await getAllStores(target)).filter((s) => s.address === address4 && s.stateName === "Up");
  assertEqual(live.length, 1, `one live store at ${address4}`);
  assert(live[0].id !== old.id, `a new store ID at ${address4} (was ${old.id}, now ${live[0].id})`);
  const aside = volumeEntries(world, 4, "tikv-data").filter((e) => e.startsWith(`retired-store-${old.id}-`));
  assertEqual(aside.length, 1, `the Tombstone store's data kept aside on tikv-data (retired-store-${old.id}-…)`);
  assertEqual(await clusterId(target), id, "PD's cluster ID");
  // Host 4's store is a new one from now on: later steps check the stores' IDs against this.
  world.identity = { ...world.identity!, stores: { ...world.identity!.stores, [address4]: live[0].id } };
  log(`store ${old.id} retired and store ${live[0].id} up at ${address4}`);
  return [down, back];
}

/**
 * pdCount 3 -> 1 -> 3 (items 3, 5): pd3 and pd2 leave through PD's API; pd1's container is never
 * replaced; on the way back pd2 and pd3 find their removed member data, move it aside and join.
 */
export async function pdThreeToOneToThree(world: World): Promise<StepResult[]> {
  const outputs = await world.stack!.outputs();
  const target = pdOf(world, outputs);
  const id = await clusterId(target);
  const pd1 = containerId(world, 1, "pd1");

  await world.stack!.configure({ "tikv-cvm:pdCount": { value: "1" } });
  const one = await world.stack!.up("pdCount 3 -> 1");
  const onlyPd1: PdTarget = { ...target, endpoints: target.endpoints.slice(0, 1) };
  await expectAllHealthy(world, onlyPd1, storeCount(world), ["pd1"]);
  assertEqual(containerId(world, 1, "pd1"), pd1, "pd1's container is the same after 3 -> 1");

  await world.stack!.removeConfig(["tikv-cvm:pdCount"]);
  const three = await world.stack!.up("pdCount 1 -> 3 over the retained volumes");
  await expectAllHealthy(world, target, storeCount(world), ["pd1", "pd2", "pd3"]);
  assertEqual(containerId(world, 1, "pd1"), pd1, "pd1's container is the same after 1 -> 3");
  for (const index of [2, 3]) {
    const entries = volumeEntries(world, index, "pd-data");
    assert(
      entries.some((e) => e.startsWith("removed-")),
      `pd${index}'s removed member data kept aside on pd-data (${entries.join(" ")})`,
    );
  }
  assertEqual(await clusterId(target), id, "PD's cluster ID");
  return [one, three];
}

/**
 * Item 1: with pd2 and pd3 stopped, pd1's volume wiped and pd1 started again finds nobody and,
 * having no bootstrap permit (only the first deployment writes one), waits instead of
 * bootstrapping a second cluster; once pd2 and pd3 are back it rejoins the same cluster.
 */
export async function wipedPdNeverBootstraps(world: World): Promise<void> {
  const outputs = await world.stack!.outputs();
  const target = pdOf(world, outputs);
  const id = await clusterId(target);
  const env = (i: number) => world.hosts.dockerEnv(host(world, i));

  run("docker", ["stop", "pd2"], { env: env(2) });
  run("docker", ["stop", "pd3"], { env: env(3) });
  run("docker", ["stop", "pd1"], { env: env(1) });
  // Wipe pd1's data with a throwaway container (the PD image's shell), keeping the volume.
  onVolume(world, 1, "pd-data", `pingcap/pd:${SECOND_TAG}`, ["sh", "-c", "rm -rf /data/* /data/.[!.]*"]);
  // Its logs from this start on: the container is the first deployment's, which did bootstrap.
  const since = String(Math.floor(Date.now() / 1000) - 1);
  run("docker", ["start", "pd1"], { env: env(1) });
  await waitFor("pd1 says it waits instead of bootstrapping", 60_000, async () => {
    const logs = run("docker", ["logs", "--since", since, "pd1"], { env: env(1), allowFailure: true });
    return /never bootstrapping another/.test(logs.stdout + logs.stderr) ? true : undefined;
  });
  const logs = run("docker", ["logs", "--since", since, "pd1"], { env: env(1), allowFailure: true });
  assert(!/bootstrapping pd1=/.test(logs.stdout + logs.stderr), "pd1 never bootstrapped a cluster");

  run("docker", ["start", "pd2"], { env: env(2) });
  run("docker", ["start", "pd3"], { env: env(3) });
  await expectAllHealthy(world, target, storeCount(world), ["pd1", "pd2", "pd3"]);
  assertEqual(await clusterId(target), id, "PD's cluster ID after pd1 rejoined");
  // The program sees nothing to change: the member's container and spec are as deployed.
  await world.stack!.preview("after pd1 rejoined", true);
}

/**
 * Item 2: with host 3's TiKV container stopped (its store Disconnected in PD), the rolling upgrade
 * is refused at its first gate, naming the store: no member is stopped. Once the store is back
 * the stack is as before, with the new tikvVersion in its config for the upgrade that follows.
 */
export async function upgradeRefusedWhileStoreDown(world: World, nextTag: string): Promise<void> {
  const stack = world.stack!;
  const target = pdOf(world, await stack.outputs());
  const address3 = `${host(world, 3).address}:20160`;
  const members = [1, 2, 3].flatMap((i) => [`pd${i}`, `tikv${i}`].map((m) => ({ i, m })));
  const before = members.map(({ i, m }) => containerId(world, i, m));
  const env3 = world.hosts.dockerEnv(host(world, 3));

  run("docker", ["stop", "tikv3"], { env: env3 });
  try {
    // PD calls a store Disconnected 20 s after its last heartbeat (pkg/core/store.go).
    await waitFor(`store ${address3} Disconnected`, 90_000, async () =>
      (await getAllStores(target)).find((s) => s.address === address3)?.stateName === "Disconnected" ? true : undefined,
    );
    await stack.configure({
      "tikv-cvm:tikvVersion": { value: nextTag },
      "tikv-cvm:rolloutTimeoutMinutes": { value: "1" },
    });
    const refused = await stack.failing("up", `tikvVersion -> ${nextTag} while tikv3 is stopped`);
    assert(
      refused.output.includes("refusing to stop PD member pd1") &&
        refused.output.includes(`(${address3}) is Disconnected`),
      `the refusal names the first member and the down store: ${refused.output.slice(-1500)}`,
    );
    assertEqual(
      refused.steps
        .filter((s) => s.phase === "done" && s.type === CONTAINER && s.op !== "same")
        .map((s) => `${s.op} ${s.urn.split("::").pop()}`),
      [],
      "containers the refused upgrade touched",
    );
    assertEqual(
      members.map(({ i, m }) => containerId(world, i, m)),
      before,
      "every member's container is the one from before the refused upgrade",
    );
    world.figures["existing: upgrade refused at its first gate (s)"] = (refused.ms / 1000).toFixed(1);
  } finally {
    run("docker", ["start", "tikv3"], { env: env3 });
  }
  await waitFor(`store ${address3} Up again`, 120_000, async () =>
    (await getAllStores(target)).find((s) => s.address === address3)?.stateName === "Up" ? true : undefined,
  );
  await stack.configure({ "tikv-cvm:rolloutTimeoutMinutes": { value: "3" } });
}
