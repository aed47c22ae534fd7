// npm run e2e: the program through the real Pulumi engine against Docker engines shaped like the
// CVMs (see docs/e2e.md, "Testing against a real engine"). Prints the wall time of each step and the
// stacks' resource counts. Fails, never skips, when something it needs is missing.
//
// Environment: TIKV_CVM_E2E_CACHE (cache folder, default ~/.cache/tikv-cvm-e2e),
// TIKV_CVM_E2E_KEEP=1 (leave the hosts running after the run, for debugging).
// `node bin/e2e/e2e/main.js --config-only` runs only the first scenario, which needs no hosts (and no root).
import * as fs from "fs";
import * as path from "path";
import {
  CvmWorld,
  cleanUpCvm,
  cvmBridgedRoute,
  cvmCaRotation,
  cvmDestroyAndAdopt,
  cvmFinalDestroy,
  cvmFirstUp,
  cvmHostRoll,
  cvmNoOp,
  cvmOwnBuild,
  cvmScale,
  cvmUpgrade,
  prepareCloud,
} from "./cvm";
import { TestHosts } from "./hosts";
import { TestRegistry } from "./registry";
import {
  pdThreeToOneToThree,
  storesInAndBackOut,
  upgradeRefusedWhileStoreDown,
  wipedPdNeverBootstraps,
} from "./membership";
import { ensureImageTarball, importImages } from "./images";
import type { RenderedSpecs } from "./render";
import {
  FIRST_TAG,
  SECOND_TAG,
  World,
  configProblems,
  destroyRetainsData,
  finalDestroy,
  firstUp,
  localStack,
  noOpPreview,
  ownBuild,
  rollingUpgrade,
  scaleOut,
  untrustingHost,
  upAfterDestroy,
} from "./scenarios";
import { DataPath } from "./dataPath";
import { REPO } from "./stack";
import { CACHE_DIR, log, run } from "./util";

/** The key set written through client-go after each first up and read back after every day-2 step. */
const KEPT_KEYS = "kept-through-day-2";

const REQUIRED_TOOLS = [
  "dockerd",
  "docker",
  "ip",
  "nsenter",
  "debootstrap",
  "openssl",
  "tar",
  "go",
  "jq",
  "docker-registry",
  "htpasswd",
];

interface Timing {
  readonly step: string;
  readonly ms: number;
}

/** The engine: e2e/engine.sh's environment when the repository has it, else a normal install. */
function engineEnvironment(timings: Timing[]): NodeJS.ProcessEnv {
  const script = path.join(REPO, "e2e", "engine.sh");
  if (fs.existsSync(script)) {
    const started = Date.now();
    log("engine: e2e/engine.sh");
    const out = run("bash", ["-c", `set -euo pipefail; eval "$(bash '${script}')"; env -0`], {
      passStderr: true,
    }).stdout;
    timings.push({ step: "engine (e2e/engine.sh)", ms: Date.now() - started });
    const env: NodeJS.ProcessEnv = {};
    for (const entry of out.split("\0").filter(Boolean)) {
      const eq = entry.indexOf("=");
      env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return env;
  }
  if (run("sh", ["-c", "command -v pulumi"], { allowFailure: true }).status === 0) return { ...process.env };
  throw new Error("no Pulumi engine: e2e/engine.sh is missing and `pulumi` is not on PATH");
}

function checkPrerequisites(): void {
  if (process.getuid?.() !== 0)
    throw new Error("the e2e test creates network namespaces and runs dockerd: run it as root");
  const missing = REQUIRED_TOOLS.filter(
    (t) => run("sh", ["-c", `command -v ${t}`], { allowFailure: true }).status !== 0,
  );
  if (missing.length > 0)
    throw new Error(
      `missing tools: ${missing.join(", ")} (apt-get install docker.io iproute2 util-linux debootstrap openssl jq docker-registry apache2-utils; Go 1.26)`,
    );
}

function printReport(timings: Timing[], figures: Record<string, string | number>): void {
  const width = Math.max(...timings.map((t) => t.step.length), 10);
  const lines = [
    "",
    "e2e wall times",
    ...timings.map((t) => `  ${t.step.padEnd(width)}  ${(t.ms / 1000).toFixed(1).padStart(7)} s`),
  ];
  lines.push("", "figures", ...Object.entries(figures).map(([k, v]) => `  ${k}: ${v}`), "");
  process.stdout.write(`${lines.join("\n")}\n`);
}

async function main(): Promise<void> {
  const timings: Timing[] = [];
  const figures: Record<string, string | number> = {};
  const timed = async <T>(step: string, fn: () => Promise<T> | T): Promise<T> => {
    const started = Date.now();
    log(`step: ${step}`);
    try {
      return await fn();
    } finally {
      timings.push({ step, ms: Date.now() - started });
    }
  };
  const workDir = path.join(CACHE_DIR, "run");
  let hosts: TestHosts | undefined;
  let failure: unknown;
  const configOnly = process.argv.includes("--config-only");
  // Keep every stack running after the run, with a script that gives a shell its environment.
  const keep = process.env.TIKV_CVM_E2E_KEEP === "1";
  const only = process.env.TIKV_CVM_E2E_ONLY;
  let world: World | undefined;
  let cvm: CvmWorld | undefined;
  // Developer shortcuts (CI runs everything): cvm runs only mode cvm's steps; data runs mode
  // existing's first up, the data-path steps around its rolling upgrade and destroy/up, and the
  // local stack; membership runs mode existing's first up and its PD membership steps.
  // existing-build runs mode existing's first up, its rolling upgrade and the own-build step.
  if (only !== undefined && !["cvm", "data", "membership", "existing-build"].includes(only))
    throw new Error(`TIKV_CVM_E2E_ONLY=${only}: the values are cvm, data, membership and existing-build`);

  try {
    if (!configOnly) checkPrerequisites();
    const engineEnv = engineEnvironment(timings);
    // The Automation API looks `pulumi` up on this process's PATH.
    Object.assign(process.env, engineEnv);
    const version = run("pulumi", ["version"], { env: engineEnv }).stdout.trim();
    figures["pulumi CLI"] = version;
    // First and fast: config problems stop the program before any host is needed.
    await timed("config: problems reported by the program, placeholder refused (no hosts)", () =>
      configProblems(engineEnv, path.join(CACHE_DIR, "config-state"), figures),
    );
    if (!configOnly) {
      const images = await timed("images: root filesystem + stand-ins (cached after the first run)", () =>
        ensureImageTarball(),
      );
      const specs = JSON.parse(run("node", [path.join(__dirname, "render.js")]).stdout) as RenderedSpecs;
      cleanUpCvm(workDir);
      TestHosts.cleanUp(workDir);
      TestRegistry.cleanUp();
      hosts = new TestHosts(workDir, specs);
      const h = hosts;
      await timed("hosts: network, PKI, 3 engines, images imported", async () => {
        h.createNetwork();
        h.createPki();
        for (const i of [1, 2, 3]) importImages((await h.startHost(i)).socket, images, [FIRST_TAG, SECOND_TAG]);
      });
      const cloud = await timed("cvm: Tencent Cloud stand-in built and installed, images saved", () =>
        prepareCloud(
          engineEnv,
          workDir,
          h.hosts[0].socket,
          `${images.standinKey}-${path.basename(images.client, ".tar")}-${path.basename(images.node, ".tar")}`,
        ),
      );
      const existing: World = {
        hosts,
        images,
        engineEnv,
        stateDir: path.join(workDir, "state"),
        figures,
        keepDir: keep ? workDir : undefined,
      };
      world = existing;
      // TIKV_CVM_E2E_ONLY=cvm: a developer's shortcut to mode cvm's steps; =membership: the first
      // up and the membership steps of mode existing, on 3 hosts (CI runs everything).
      // The own-build step as in the full run: on the upgraded cluster.
      const ownBuildStep = `existing: own TiKV build on ${SECOND_TAG}: tikvPatch, tikvImage from a private registry, back to the release`;
      if (only === "existing-build") {
        await timed("existing: first up (3 hosts)", () => firstUp(existing));
        await timed(`existing: rolling upgrade ${FIRST_TAG} -> ${SECOND_TAG} (preview + up)`, () =>
          rollingUpgrade(existing),
        );
        await timed(ownBuildStep, () => ownBuild(existing, SECOND_TAG));
        if (!keep) await timed("existing: final destroy", () => finalDestroy(existing));
        return;
      }
      if (only === "membership") {
        await timed("existing: first up (3 hosts)", () => firstUp(existing));
        await timed("existing: pdCount 3 -> 1 -> 3 over the retained volumes", () => pdThreeToOneToThree(existing));
        await timed("existing: a wiped PD member waits, never bootstraps, rejoins", () =>
          wipedPdNeverBootstraps(existing),
        );
        return;
      }
      if (only !== "cvm") {
        await timed("existing: first up (3 hosts)", () => firstUp(existing));
        const data = new DataPath(existing.stack!);
        await timed(
          "existing: data path: smoke check, keys written through client-go, refused certificates",
          async () => {
            await data.smoke(figures, "existing");
            await data.write(KEPT_KEYS);
            await data.refusals((await existing.stack!.outputs()).tikvStores as string[], figures, "existing");
          },
        );
        await timed("existing: no-op preview", () => noOpPreview(existing, "right after the first up"));
        if (only !== "data")
          await timed("existing: upgrade refused while a store is down, no member touched", () =>
            upgradeRefusedWhileStoreDown(existing, SECOND_TAG),
          );
        await timed(`existing: rolling upgrade ${FIRST_TAG} -> ${SECOND_TAG} (preview + up)`, () =>
          rollingUpgrade(existing),
        );
        await timed("existing: keys read back after the rolling upgrade", () =>
          data.check(KEPT_KEYS, "the rolling upgrade"),
        );
        await timed("existing: no-op preview after the upgrade", () => noOpPreview(existing, "after the upgrade"));
        if (only !== "data") {
          // Ends back on the release (SECOND_TAG), as the steps below expect.
          await timed(ownBuildStep, () => ownBuild(existing, SECOND_TAG));
          await timed("existing: scale 3 -> 4 hosts (host, preview, up)", () => scaleOut(existing));
          await timed("existing: stores 4 -> 3 -> 4 over the retained volume", () => storesInAndBackOut(existing));
          await timed("existing: pdCount 3 -> 1 -> 3 over the retained volumes", () => pdThreeToOneToThree(existing));
          await timed("existing: a wiped PD member waits, never bootstraps, rejoins", () =>
            wipedPdNeverBootstraps(existing),
          );
          await timed("existing: keys read back after the membership changes", () =>
            data.check(KEPT_KEYS, "stores 3 -> 4 -> 3 -> 4 and pdCount 3 -> 1 -> 3"),
          );
          await timed("existing: untrusting host fails readiness, then dropped", () => untrustingHost(existing));
        }
        await timed("existing: destroy (volumes retained)", () =>
          destroyRetainsData(existing, only === "data" ? 3 : 4),
        );
        await timed("existing: up over the retained volumes", () => upAfterDestroy(existing, only === "data" ? 3 : 4));
        await timed("existing: keys read back after destroy and up; the workload", async () => {
          await data.check(KEPT_KEYS, "destroy and a new up");
          await data.workload(figures, "existing");
        });
        if (!keep) await timed("existing: final destroy", () => finalDestroy(existing));
        await timed("local: up, no-op preview, kept environment, destroy", () =>
          localStack(existing, (step, ms) => timings.push({ step, ms })),
        );
      }
      // Mode cvm's hosts are the stand-in's CVMs: the engines above are done with.
      if (!keep) h.stopAll();
      if (only !== "data") {
        const cvmWorld: CvmWorld = { engineEnv, stateDir: path.join(workDir, "state"), figures, ...cloud };
        cvm = cvmWorld;
        await timed("cvm: first up (3 CVMs)", () => cvmFirstUp(cvmWorld));
        const cvmData = new DataPath(cvmWorld.stack!);
        await timed("cvm: data path: smoke check, keys written through client-go, refused certificates", async () => {
          await cvmData.smoke(figures, "cvm");
          await cvmData.write(KEPT_KEYS);
          await cvmData.refusals((await cvmWorld.stack!.outputs()).tikvStores as string[], figures, "cvm");
        });
        await timed("cvm: no-op preview", () => cvmNoOp(cvmWorld, "right after the first up"));
        await timed("cvm: refresh, then no-op preview", () => cvmNoOp(cvmWorld, "after a refresh", true));
        await timed(`cvm: rolling upgrade ${FIRST_TAG} -> ${SECOND_TAG}`, () => cvmUpgrade(cvmWorld));
        await timed(`cvm: own TiKV build on ${SECOND_TAG}: tikvPatch, tikvImage, back to the release`, () =>
          cvmOwnBuild(cvmWorld, SECOND_TAG),
        );
        await timed("cvm: keys read back after the rolling upgrade", () =>
          cvmData.check(KEPT_KEYS, "the rolling upgrade"),
        );
        await timed("cvm: boot-config change, CVMs replaced host by host", () => cvmHostRoll(cvmWorld));
        await timed("cvm: keys read back after the host roll", () => cvmData.check(KEPT_KEYS, "the host roll"));
        await timed("cvm: no-op preview after the host roll", () => cvmNoOp(cvmWorld, "after the host roll"));
        await timed("cvm: scale 3 -> 4 -> 3", () => cvmScale(cvmWorld));
        await timed("cvm: keys read back after scale 3 -> 4 -> 3", () => cvmData.check(KEPT_KEYS, "scale 3 -> 4 -> 3"));
        await timed("cvm: CA rotation, three steps", () => cvmCaRotation(cvmWorld));
        await timed("cvm: keys read back after the CA rotation", () => cvmData.check(KEPT_KEYS, "the CA rotation"));
        await timed("cvm: destroy, then up on the retained data disks", () => cvmDestroyAndAdopt(cvmWorld));
        await timed("cvm: keys read back after destroy and up on the retained disks; the workload", async () => {
          await cvmData.check(KEPT_KEYS, "destroy and up on the retained disks");
          await cvmData.workload(figures, "cvm");
        });
        if (!keep) {
          await timed("cvm: final destroy", () => cvmFinalDestroy(cvmWorld));
          await timed("cvm, bridged route: up, no-op preview, destroy", () => cvmBridgedRoute(cvmWorld));
        }
      }
    }
  } catch (err) {
    failure = err;
  } finally {
    if (configOnly) {
      // Nothing of the hosts' was made; the scenario removed its own stack.
    } else if (keep) {
      // Also after a failure: whatever stack is still open is the one worth looking at.
      for (const stack of [world?.stack, cvm?.stack]) stack?.writeKeepScript(workDir);
      log(`kept (TIKV_CVM_E2E_KEEP=1): hosts, CVMs, stacks, state in ${workDir}/state, Pulumi.e2e*.yaml`);
      for (const file of fs.readdirSync(workDir).filter((f) => f.startsWith("keep-") && f.endsWith(".sh")))
        log(`  drive it with: source ${path.join(workDir, file)}   # then pulumi preview, pulumi stack output, ...`);
    } else {
      hosts?.stopAll();
      cleanUpCvm(workDir);
      TestHosts.cleanUp(workDir);
      TestRegistry.cleanUp();
      for (const f of fs.readdirSync(REPO).filter((n) => /^Pulumi\.e2e.*\.yaml$/.test(n)))
        fs.rmSync(path.join(REPO, f));
    }
    printReport(timings, figures);
  }
  if (failure !== undefined) {
    process.stderr.write(
      `\ne2e FAILED: ${failure instanceof Error ? (failure.stack ?? failure.message) : String(failure)}\n`,
    );
    process.exit(1);
  }
  log("e2e passed");
}

void main();
