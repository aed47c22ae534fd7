// Issue 20 through the real engine: the user's own TiKV build, first as a binary (tikvPatch: the
// image is built on each host's engine), then as an image of a registry-less tag (tikvImage), then
// back to the release by removing both keys. Each change must roll the stores one at a time
// through the gates, touch nothing of PD, keep the data, and PD must report each store's new git
// hash (metapb.Store git_hash from the TiKV's PutStore), as must the stack's `builds` output.
import * as fs from "fs";
import * as path from "path";
import { getReportedBuilds } from "../lib/pdApi";
import { clusterId, containerEvents, evictedStores, readMarker, storesUp, writeMarker } from "./cluster";
import {
  BUILD_REPORT,
  PLACEMENT_LABELS,
  CONTAINER,
  ClusterHost,
  ClusterIdentity,
  GATE,
  PIDS,
  STACK_REFERENCE,
  describeSteps,
  expectDrainedAround,
  visible,
  watchEvictions,
} from "./scenarios";
import type { PdTarget } from "../lib/pdApi";
import { REGISTRY_HOST, TestRegistry } from "./registry";
import { E2EStack, REPO } from "./stack";
import { STANDIN_SRC } from "./images";
import { CACHE_DIR, assert, assertEqual, log, run } from "./util";

const PATCHED = "pulumi-nodejs:dynamic/tikv-cvm:PatchedImage";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const DOCKER_PROVIDER = "pulumi:providers:docker";
/** What the stand-ins report unless rebuilt (e2e/standins/internal/wire GitHash). */
export const RELEASE_GIT_HASH = "tikv-cvm-e2e-stand-in";

export interface OwnBuildWorld {
  readonly stack: E2EStack;
  readonly hosts: readonly ClusterHost[];
  readonly target: PdTarget;
  readonly identity: ClusterIdentity;
  readonly figures: Record<string, string | number>;
  readonly label: string;
  /** The release the cluster runs (tikvVersion). */
  readonly tag: string;
  /** The stack's resource prefix and component name: containers are `<prefix>-cluster-tikv<i>`. */
  readonly prefix: string;
  /**
   * A private registry the hosts reach (mode existing): the own image is pushed there and pulled
   * with registryUsername/registryPassword. Without it, the image is a registry-less tag.
   */
  readonly registry?: TestRegistry;
}

/** The stand-in rebuilt to report `gitHash`, as a developer rebuilds tikv-server from a commit of theirs. */
export function rebuiltStandin(gitHash: string): string {
  const binary = path.join(CACHE_DIR, "own-build", gitHash, "tikv-server");
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  run(
    "go",
    [
      "build",
      "-trimpath",
      "-ldflags",
      `-s -w -X tikv-cvm.test/standins/internal/wire.GitHash=${gitHash}`,
      "-o",
      binary,
      ".",
    ],
    { cwd: STANDIN_SRC, env: { ...process.env, CGO_ENABLED: "0" } },
  );
  return binary;
}

/** The preview of a TiKV build change: only TiKV's images, containers and what belongs to them. */
async function previewTouchesOnlyTikv(w: OwnBuildWorld, label: string): Promise<void> {
  const preview = await w.stack.preview(label);
  const changed = visible(preview.steps).filter(
    (s) => s.op !== "same" && !(s.op === "read" && s.type === STACK_REFERENCE),
  );
  const allowed = [CONTAINER, GATE, IMAGE, PIDS, PATCHED, BUILD_REPORT, PLACEMENT_LABELS];
  // New or removed registry credentials change each host's Docker provider (its registryAuth):
  // an update in place, never a replacement, which would replace everything on the host.
  const providers = changed.filter((s) => s.type === DOCKER_PROVIDER);
  assertEqual(
    describeSteps(providers.filter((s) => s.op !== "update")),
    "",
    `${label}: Docker provider steps other than an update`,
  );
  const stray = changed.filter((s) => !allowed.includes(s.type) && s.type !== DOCKER_PROVIDER);
  assertEqual(
    describeSteps(stray),
    "",
    `${label}: steps outside images, containers, gates, pids limits, build reports`,
  );
  const pdTouched = changed.filter((s) => /-pd\d+(-|$)/.test(s.urn.split("::").pop() ?? ""));
  assertEqual(describeSteps(pdTouched), "", `${label}: steps on PD members`);
  // A replacement is several steps of one resource (replace, create-replacement, delete-replaced).
  const containers = [...new Set(changed.filter((s) => s.type === CONTAINER).map((s) => s.urn.split("::").pop()))];
  assertEqual(
    containers.sort(),
    w.hosts.map((h) => `${w.prefix}-cluster-tikv${h.index}`).sort(),
    `${label}: containers replaced`,
  );
  w.figures[`${w.label}: ${label}: preview`] = `${changed.length} steps`;
}

/**
 * One `pulumi up` that must replace tikv1..tikvN one at a time, each drained around its restart,
 * and end with every store reporting `gitHash`, the markers and identities intact.
 */
async function rollStores(w: OwnBuildWorld, label: string, gitHash: string, image: (i: number) => RegExp) {
  const token = `own-build-${Date.now()}`;
  for (const h of w.hosts) writeMarker(h.env, `tikv${h.index}`, token);
  await previewTouchesOnlyTikv(w, label);
  const since = Math.floor(Date.now() / 1000) - 1;
  const watch = watchEvictions(w.target);
  const started = Date.now();
  try {
    await w.stack.up(label);
  } finally {
    await watch.stop();
  }
  w.figures[`${w.label}: ${label}: up`] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const events = w.hosts.flatMap((h) => containerEvents(h.env, since));
  assert(
    events.every((e) => !/^pd\d+$/.test(e.name)),
    `${label}: no PD container stopped (${events.map((e) => `${e.name} ${e.action}`).join(", ")})`,
  );
  const windows = w.hosts.map((h) => {
    const own = events.filter((e) => e.name === `tikv${h.index}`);
    const die = own.find((e) => e.action === "die");
    const start = own.filter((e) => e.action === "start").pop();
    assert(die && start && die.at < start.at, `${label}: tikv${h.index} was stopped and started again`);
    return { member: `tikv${h.index}`, die: die.at, start: start.at, host: h };
  });
  for (let i = 1; i < windows.length; i++)
    assert(
      windows[i - 1].start < windows[i].die,
      `${label}: ${windows[i - 1].member} is back before ${windows[i].member} stops (one store at a time)`,
    );
  for (const x of windows)
    expectDrainedAround(watch.samples, w.identity.stores[`${x.host.privateIp}:20160`], x.member, x.die, x.start);
  assertEqual(await evictedStores(w.target), [], `${label}: no evict-leader scheduler left`);
  // PD, store by store: the git hash each TiKV sent in PutStore; PD members keep the release's.
  const reported = await getReportedBuilds(w.target);
  for (const h of w.hosts) {
    const store = reported.tikv[`${h.privateIp}:20160`];
    assertEqual(store?.gitHash, gitHash, `${label}: git hash PD reports for the store on ${h.name}`);
    assertEqual(store?.version, w.tag.replace(/^v/, ""), `${label}: version PD reports for the store on ${h.name}`);
  }
  for (const [name, build] of Object.entries(reported.pd))
    assertEqual(build.gitHash, RELEASE_GIT_HASH, `${label}: git hash of PD member ${name}`);
  // The stack's `builds` output says the same, with the image each member runs.
  const outputs = await w.stack.outputs();
  const builds = outputs.builds as { member: string; image: string; gitHash?: string; reported?: string }[];
  for (const h of w.hosts) {
    const b = builds.find((x) => x.member === `tikv${h.index}`);
    assertEqual(b?.gitHash, gitHash, `${label}: builds output, tikv${h.index} git hash`);
    assert(image(h.index).test(b?.image ?? ""), `${label}: builds output, tikv${h.index} image ${b?.image}`);
  }
  for (const b of builds.filter((x) => x.member.startsWith("pd")))
    assertEqual(b.gitHash, RELEASE_GIT_HASH, `${label}: builds output, ${b.member} git hash`);
  for (const h of w.hosts)
    assertEqual(readMarker(h.env, `tikv${h.index}`), token, `${label}: marker on tikv${h.index}`);
  assertEqual(await clusterId(w.target), w.identity.clusterId, `${label}: PD cluster ID`);
  const stores = await storesUp(w.target);
  for (const s of stores) assertEqual(w.identity.stores[s.address], s.id, `${label}: store ID of ${s.address}`);
  log(`${label}: rolled ${windows.map((x) => x.member).join(" -> ")}; PD reports ${gitHash} for every store`);
}

/** The no-op preview after a build change: the same binary or image again changes nothing. */
async function unchanged(w: OwnBuildWorld, label: string): Promise<void> {
  const result = await w.stack.preview(label, true);
  const changed = visible(result.steps).filter(
    (s) => s.op !== "same" && !(s.op === "read" && s.type === STACK_REFERENCE),
  );
  assertEqual(describeSteps(changed), "", `${label}: steps`);
}

/** tikvPatch, then tikvImage (a registry-less tag made on each host), then both removed. */
export async function ownTikvBuild(w: OwnBuildWorld): Promise<void> {
  // 1. A rebuilt tikv-server: the image is built on each host from the release image.
  const patchHash = "e2e-own-build-patch-1";
  const binary = rebuiltStandin(patchHash);
  // A file that is no executable for the hosts is refused before anything happens.
  const script = path.join(path.dirname(binary), "not-a-binary.sh");
  fs.writeFileSync(script, "#!/bin/sh\nexec true\n", { mode: 0o755 });
  await w.stack.configure({ "tikv-cvm:tikvPatch": { value: script } });
  const refused = await w.stack.failing("preview", "tikvPatch is a script");
  assert(
    refused.output.includes(`tikv-cvm:tikvPatch: ${script} is a script, not a compiled binary`),
    `the preview refuses the script, naming the key: ${refused.output.slice(-600)}`,
  );
  assertEqual(
    describeSteps(refused.steps.filter((s) => s.type !== STACK_REFERENCE && s.type !== "pulumi:pulumi:Stack")),
    "",
    "steps of the refused preview",
  );

  await w.stack.configure({ "tikv-cvm:tikvPatch": { value: binary } });
  await rollStores(
    w,
    "tikvPatch: a rebuilt tikv-server",
    patchHash,
    () => /^tikv-cvm\/tikv-patched:[0-9a-f]{16}-[0-9a-f]{8}$/,
  );
  for (const h of w.hosts) {
    const inspected = run("docker", ["inspect", `tikv${h.index}`, "--format", "{{.Config.Image}}"], {
      env: h.env,
    }).stdout.trim();
    const patched = run(
      "docker",
      ["image", "inspect", inspected, "--format", '{{index .Config.Labels "org.tikv-cvm.patch.sha256"}}'],
      {
        env: h.env,
      },
    ).stdout.trim();
    assert(/^[0-9a-f]{64}$/.test(patched), `tikv${h.index} runs the image built from the patch (label ${patched})`);
  }
  await unchanged(w, "tikvPatch: the same binary again");

  // 2. An image of the user's own, from a registry-less tag (built here with the docker CLI, as a
  // user would `docker build` and push; no registry: the tag is on every host already).
  const imageHash = "e2e-own-build-image-2";
  const imageBinary = rebuiltStandin(imageHash);
  const context = path.dirname(imageBinary);
  fs.writeFileSync(path.join(context, "Dockerfile"), `FROM pingcap/tikv:${w.tag}\nCOPY tikv-server /tikv-server\n`);
  fs.rmSync(path.join(context, "not-a-binary.sh"), { force: true });
  await w.stack.removeConfig(["tikv-cvm:tikvPatch"]);
  if (w.registry) {
    await registryImage(w, w.registry, imageHash, context);
  } else {
    const ownImage = `tikv-own:${w.tag}-fix2`;
    for (const h of w.hosts)
      run("docker", ["build", "-q", "-t", ownImage, context], { env: { ...h.env, DOCKER_BUILDKIT: "0" } });
    await w.stack.configure({ "tikv-cvm:tikvImage": { value: ownImage } });
    await rollStores(w, "tikvImage: a registry-less tag", imageHash, () => new RegExp(`^${ownImage}$`));
  }
  await unchanged(w, "tikvImage: the same image again");

  // 3. Back to the release: remove the keys.
  await w.stack.removeConfig([
    "tikv-cvm:tikvImage",
    ...(w.registry ? ["tikv-cvm:registryUsername", "tikv-cvm:registryPassword"] : []),
  ]);
  await rollStores(w, "back to the release", RELEASE_GIT_HASH, () => new RegExp(`^pingcap/tikv:${w.tag}$`));
  await unchanged(w, "back on the release");
}

/**
 * The user's image from a private registry: built and pushed as a user does, refused without
 * credentials and with a wrong password (the pull fails, nothing else happens), then
 * pulled by every host with registryUsername/registryPassword and rolled like any build, the
 * password never in clear in the stack's state or settings.
 */
async function registryImage(w: OwnBuildWorld, registry: TestRegistry, gitHash: string, context: string) {
  const reference = `${REGISTRY_HOST}/tikv-own:${w.tag}-fix2`;
  const first = w.hosts[0];
  const started = Date.now();
  run("docker", ["build", "-q", "-t", reference, context], { env: { ...first.env, DOCKER_BUILDKIT: "0" } });
  const digest = registry.push(first.env, reference);
  w.figures[`${w.label}: registry: docker build + push on ${first.name}`] = seconds(Date.now() - started);

  await w.stack.configure({ "tikv-cvm:tikvImage": { value: reference } });
  await refusedPull(w, "no registry credentials", reference, "no basic auth credentials");
  await w.stack.configure({
    "tikv-cvm:registryUsername": { value: registry.username },
    "tikv-cvm:registryPassword": { value: `${registry.password}-wrong`, secret: true },
  });
  await refusedPull(w, "a wrong registryPassword", reference, "unauthorized: authentication required");
  // The failed up left the providers with the wrong password: it too only encrypted.
  await passwordOnlyEncrypted(w, "after the refused password", `${registry.password}-wrong`, false);

  await w.stack.configure({ "tikv-cvm:registryPassword": { value: registry.password, secret: true } });
  await rollStores(
    w,
    "tikvImage: pulled from a private registry with registryUsername/registryPassword",
    gitHash,
    () => new RegExp(`^${reference.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`),
  );
  // Pulled, not built there: each engine records the registry's manifest digest for the image.
  for (const h of w.hosts) {
    const digests = run("docker", ["image", "inspect", reference, "--format", "{{json .RepoDigests}}"], {
      env: h.env,
    }).stdout;
    assert(
      (JSON.parse(digests) as string[]).includes(`${REGISTRY_HOST}/tikv-own@${digest}`),
      `${h.name} pulled ${reference} from the registry (repo digests ${digests.trim()}, pushed ${digest})`,
    );
  }
  await passwordOnlyEncrypted(w, "after the pull", registry.password, true);
}

/** `pulumi up` fails at the pull of the user's image, naming it, and changes nothing. */
async function refusedPull(w: OwnBuildWorld, label: string, reference: string, daemonSays: string) {
  const since = Math.floor(Date.now() / 1000) - 1;
  const failed = await w.stack.failing("up", label);
  // What the user sees, once per host: the provider's words around the engine's answer.
  const seen = failed.output.split("\n").find((l) => l.includes(daemonSays));
  assert(
    seen !== undefined && seen.includes(`unable to pull image ${reference}`),
    `${label}: the up names the image and the registry's refusal "${daemonSays}": ${failed.output.slice(-1500)}`,
  );
  const failedSteps = failed.steps.filter((s) => s.phase === "failed" && s.type !== "pulumi:pulumi:Stack");
  const failedImages = failedSteps.filter((s) => s.type === IMAGE).map((s) => s.urn.split("::").pop());
  assertEqual(describeSteps(failedSteps.filter((s) => s.type !== IMAGE)), "", `${label}: other failed steps`);
  // The engine launches no new step once one failed (no --continue-on-error): the hosts whose
  // pull had not started yet are not tried, so one or more TiKV images fail, nothing else.
  const tikvImages = w.hosts.map((h) => `${w.prefix}-cluster-tikv${h.index}-image`);
  assert(
    failedImages.length > 0 && failedImages.every((n) => tikvImages.includes(n ?? "")),
    `${label}: the steps that failed are TiKV images: ${failedImages.join(", ")}`,
  );
  const events = w.hosts.flatMap((h) => containerEvents(h.env, since));
  assertEqual(
    events.map((e) => `${e.name} ${e.action}`),
    [],
    `${label}: container events during the failed up`,
  );
  assertEqual(await evictedStores(w.target), [], `${label}: evict-leader schedulers after the failed up`);
  w.figures[`${w.label}: registry, ${label}: up failed after`] = seconds(failed.ms);
  w.figures[`${w.label}: registry, ${label}: the user sees`] = seen.trim();
}

/**
 * The registry password is in the stack's settings and state only encrypted: `pulumi stack
 * export` (secrets not shown) never has it in clear, and holds each host's Docker provider's
 * registryAuth as a secret; Pulumi.<stack>.yaml holds it as `secure:`.
 */
async function passwordOnlyEncrypted(w: OwnBuildWorld, label: string, password: string, pulled: boolean) {
  const exported = w.stack.exportedState();
  const deployment = (JSON.parse(exported) as { deployment: { resources?: ExportedResource[] } }).deployment;
  const resources = deployment.resources;
  assertEqual(
    placesOf(deployment, password),
    [],
    `${label}: places in \`pulumi stack export\` holding the registry password in clear`,
  );
  const providers = (resources ?? []).filter((r) => r.type === DOCKER_PROVIDER && r.inputs?.registryAuth !== undefined);
  if (pulled) assert(providers.length >= w.hosts.length, `Docker providers with registryAuth: ${providers.length}`);
  for (const p of providers) {
    const auth = p.inputs?.registryAuth as Record<string, unknown> | undefined;
    assert(
      auth?.[SECRET_KEY] === SECRET_SIGNATURE && typeof auth.ciphertext === "string",
      `${p.urn}: registryAuth is an encrypted secret in the state`,
    );
  }
  const settings = fs.readFileSync(path.join(REPO, `Pulumi.${w.stack.name}.yaml`), "utf8");
  assert(
    !settings.includes(password),
    `${label}: the registry password is not in clear in Pulumi.${w.stack.name}.yaml`,
  );
  assert(/registryPassword:\s*\n\s*secure: /.test(settings), `Pulumi.${w.stack.name}.yaml stores it as secure:`);
}

/** Where `needle` appears in a string of `value`: resource URN and property path, at most 5. */
function placesOf(value: unknown, needle: string): string[] {
  const places: string[] = [];
  const walk = (v: unknown, where: string) => {
    if (places.length >= 5) return;
    if (typeof v === "string") {
      if (v.includes(needle)) places.push(where);
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${where}[${i}]`));
    } else if (typeof v === "object" && v !== null) {
      const urn = (v as { urn?: unknown }).urn;
      for (const [k, x] of Object.entries(v)) walk(x, typeof urn === "string" ? `${urn} ${k}` : `${where}.${k}`);
    }
  };
  walk(value, "deployment");
  return places;
}

/** A secret value in Pulumi's state: {[Key]: Secret, ciphertext} (pulumi sdk/go/common/resource/sig/sig.go). */
const SECRET_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";

interface ExportedResource {
  readonly urn: string;
  readonly type: string;
  readonly inputs?: Record<string, unknown>;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
