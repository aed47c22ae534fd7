// What the Docker provider users get does on `pulumi up --refresh` and on a replacement, and the
// two decisions that make it safe (README "Certificates: renewal", "Recovering a host whose data
// disk was lost"; docs/e2e.md "What the e2e's docker plugin runs"):
// - every PD and TiKV container says `mustRun: false`, so a refresh keeps a stopped member as it
//   is (kreuzwerker v3.9.0 would force-remove it and the next `up` would recreate it past its
//   gates; lib/containerReplacement.ts MUST_RUN);
// - @pulumi/docker is pinned at 4.11.2: 4.11.0's plugin (patch 0002) dials DOCKER_HOST or the
//   local socket instead of a TLS provider's own `host` (lib/dockerProvider.ts).
import * as fs from "fs";
import * as path from "path";
import { IN_PLACE_INPUTS, MUST_RUN, REPLACING_INPUTS, replacementDigest } from "../lib/containerReplacement";
import { memberContainerArgs, memberSpecs } from "../lib/memberSpecs";
import { hostShare, planMemory } from "../lib/memoryBudget";
import { planCluster } from "../lib/topology";
import { EXISTING_STACK, NOT_CVM, ProgramRun, runProgram, unwrap } from "./support/harness";

const CONTAINER = "docker:index/container:Container";
const MEMBER = /-(pd|tikv)\d+$/;
const ROOT = path.join(__dirname, "..");
const readJson = (file: string) => JSON.parse(fs.readFileSync(path.join(ROOT, file), "utf8"));

function members(run: ProgramRun) {
  return run.resources.filter((r) => r.type === CONTAINER && MEMBER.test(r.name));
}

describe("a refresh keeps a stopped member: mustRun false on every PD and TiKV container", () => {
  test("the constant", () => {
    expect(MUST_RUN).toBe(false);
  });

  test.each([
    ["cvm", {}, {}],
    ["existing", EXISTING_STACK.config, EXISTING_STACK.options],
    [
      "local",
      { ...NOT_CVM, "tikv-cvm:mode": "local", "tikv-cvm:hostMemoryGiB": "12" },
      { env: { TENCENTCLOUD_SECRET_ID: undefined, TENCENTCLOUD_SECRET_KEY: undefined } },
    ],
  ])("mode %s", async (_mode, config, options) => {
    const run = await runProgram(config, options);
    const declared = members(run);
    expect(declared.length).toBeGreaterThanOrEqual(6);
    for (const c of declared) {
      // Stated, not left to the provider's default (true), and Docker still restarts a crashed member.
      expect([c.name, c.inputs.mustRun, c.inputs.restart]).toEqual([c.name, false, "unless-stopped"]);
    }
  });

  test("adding it to a deployed stack is an in-place change that wakes no gate", () => {
    expect(IN_PLACE_INPUTS).toContain("mustRun");
    expect(REPLACING_INPUTS).not.toContain("mustRun");
    const plan = planCluster(3, 3, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3"] }, true);
    const [pd1] = memberSpecs({
      plan,
      tikvVersion: "v8.5.7",
      diskGB: 50,
      pdInitialCluster: plan.initialCluster,
      memory: (h) => planMemory(hostShare(3, h.pdName !== undefined, h.index === 1)),
    });
    const args = unwrap(
      memberContainerArgs(pd1, {
        networking: { kind: "host" },
        imageId: "sha256:abc",
        volumeName: "pd-data",
        extraUploads: [],
        nofileLimit: 1_000_000,
      }),
    ) as Record<string, unknown>;
    const { mustRun, ...before } = args;
    expect(mustRun).toBe(false);
    expect(replacementDigest(args)).toBe(replacementDigest(before));
  });
});

describe("the docker plugin users get honours each provider's own host", () => {
  test("@pulumi/docker is pinned at 4.11.2 (4.11.0's plugin ignores `host` beside TLS material)", () => {
    expect(readJson("package.json").dependencies["@pulumi/docker"]).toBe("4.11.2");
    expect(readJson("package-lock.json").packages["node_modules/@pulumi/docker"].version).toBe("4.11.2");
    // The plugin version the engine is asked for (and e2e/engine.sh builds).
    expect(readJson("node_modules/@pulumi/docker/package.json").pulumi.version).toBe("4.11.2");
  });
});
