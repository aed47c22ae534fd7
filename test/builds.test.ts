// The user's own builds (issue 20): the ELF check against real binaries with readelf as the oracle,
// the patched image's name, the registry a reference is pulled from, the build context (checked
// with the real tar), and the program's resources with tikvPatch, tikvImage and registry credentials.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { elfProblem, patchedTag, readPatch, registryAuths, registryOf } from "../lib/builds";
import { patchDockerfile, tarArchive } from "../lib/dockerApi";
import { validateConfig } from "../lib/settings";
import { DeployedImage, readReport } from "../components/buildReport";
import { FakePd } from "./support/fakePd";
import { EXISTING_STACK, ProgramRun, runProgram, unwrap } from "./support/harness";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tikv-cvm-builds-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** This machine's own executable: node, an x86_64 or aarch64 ELF. */
const NODE = process.execPath;
const readelf = (file: string) => execFileSync("readelf", ["-h", file], { encoding: "utf8" });
const machineOf = (file: string) => /Machine:\s+(.*)/.exec(readelf(file))![1].trim();
const here = machineOf(NODE).includes("X86-64") ? "x86_64" : "aarch64";
const other = here === "x86_64" ? "aarch64" : "x86_64";

/** A copy of node with e_machine set to `machine` (readelf then names the architecture). */
function withMachine(machine: number): string {
  const file = path.join(dir, `node-machine-${machine}`);
  const content = fs.readFileSync(NODE);
  content.writeUInt16LE(machine, 18);
  fs.writeFileSync(file, content, { mode: 0o755 });
  return file;
}

describe("the ELF check", () => {
  test("accepts this machine's node for its own architecture, as readelf reads it", () => {
    expect(readelf(NODE)).toMatch(/Class:\s+ELF64/);
    expect(elfProblem(fs.readFileSync(NODE).subarray(0, 64), here)).toBeUndefined();
    expect(elfProblem(fs.readFileSync(NODE).subarray(0, 64), other)).toBe(
      `is built for ${here}, but the hosts are ${other}`,
    );
  });

  test("refuses an aarch64 binary for x86_64 hosts and the reverse, as readelf names them", () => {
    const arm = withMachine(183);
    const x86 = withMachine(62);
    expect(machineOf(arm)).toBe("AArch64");
    expect(machineOf(x86)).toMatch(/X86-64/);
    expect(elfProblem(fs.readFileSync(arm), "x86_64")).toBe("is built for aarch64, but the hosts are x86_64");
    expect(elfProblem(fs.readFileSync(x86), "aarch64")).toBe("is built for x86_64, but the hosts are aarch64");
    expect(elfProblem(fs.readFileSync(arm), "aarch64")).toBeUndefined();
  });

  test("refuses a script, a text file, a 32-bit ELF and an object file", () => {
    expect(elfProblem(Buffer.from("#!/bin/sh\nexec true\n"), "x86_64")).toBe("is a script, not a compiled binary");
    expect(elfProblem(Buffer.from("just some text, long enough"), "x86_64")).toMatch(/not an ELF executable/);
    const head = Buffer.from(fs.readFileSync(NODE).subarray(0, 64));
    const elf32 = Buffer.from(head);
    elf32[4] = 1;
    expect(elfProblem(elf32, here)).toMatch(/32-bit/);
    const object = Buffer.from(head);
    object.writeUInt16LE(1, 16);
    expect(elfProblem(object, here)).toMatch(/relocatable object/);
  });

  test("readPatch: the hash is sha256sum's; a missing file or a directory is refused naming the key", () => {
    const patch = readPatch("tikv", NODE, here, "/");
    expect(patch.sha256).toBe(execFileSync("sha256sum", [NODE], { encoding: "utf8" }).split(" ")[0]);
    expect(patch.target).toBe("/tikv-server");
    expect(() => readPatch("tikv", "no-such-file", here, dir)).toThrow(
      new RegExp(`^tikv-cvm:tikvPatch: ${dir}/no-such-file cannot be read`),
    );
    expect(() => readPatch("pd", dir, here, "/")).toThrow(/tikv-cvm:pdPatch: .* is not a regular file.*pd-server/);
    const script = path.join(dir, "tikv-server.sh");
    fs.writeFileSync(script, "#!/bin/sh\n", { mode: 0o755 });
    expect(() => readPatch("tikv", script, "x86_64", "/")).toThrow(
      /is a script, not a compiled binary\. Give the path of a tikv-server built for x86_64 Linux.*pulumi config rm tikv-cvm:tikvPatch/,
    );
  });
});

describe("names and registries", () => {
  test("the patched image is named by the binary's hash and its base", () => {
    const a = "a".repeat(64);
    expect(patchedTag("tikv", "pingcap/tikv:v8.5.7", a)).toMatch(/^tikv-cvm\/tikv-patched:a{16}-[0-9a-f]{8}$/);
    expect(patchedTag("tikv", "pingcap/tikv:v8.5.7", a)).toBe(patchedTag("tikv", "pingcap/tikv:v8.5.7", a));
    expect(patchedTag("tikv", "pingcap/tikv:v8.5.8", a)).not.toBe(patchedTag("tikv", "pingcap/tikv:v8.5.7", a));
    expect(patchedTag("tikv", "pingcap/tikv:v8.5.7", "b".repeat(64))).not.toBe(
      patchedTag("tikv", "pingcap/tikv:v8.5.7", a),
    );
  });

  test.each([
    ["ccr.ccs.tencentyun.com/me/tikv:fix1", "ccr.ccs.tencentyun.com"],
    ["localhost:5000/tikv:fix1", "localhost:5000"],
    ["localhost/tikv:fix1", "localhost"],
    ["me/tikv:fix1", "registry-1.docker.io"],
    ["tikv:fix1", "registry-1.docker.io"],
  ])("%s is pulled from %s", (reference, registry) => {
    expect(registryOf(reference)).toBe(registry);
  });

  test("one credential per registry of the images set, none without credentials", () => {
    const builds = {
      images: { pd: "ccr.ccs.tencentyun.com/me/pd:fix1", tikv: "ccr.ccs.tencentyun.com/me/tikv:fix1" },
      patches: {},
      registry: { username: "100012345678", password: "clear" },
    };
    expect(registryAuths(builds, "SECRET")).toEqual([
      { address: "ccr.ccs.tencentyun.com", username: "100012345678", password: "SECRET" },
    ]);
    expect(registryAuths({ ...builds, registry: undefined }, "SECRET")).toEqual([]);
  });
});

describe("the build context sent to the engine", () => {
  test("the real tar lists the Dockerfile and the binary, executable, at their sizes", () => {
    const binary = crypto.randomBytes(1300);
    const archive = tarArchive([
      {
        name: "Dockerfile",
        content: Buffer.from(patchDockerfile({ baseImageId: "sha256:abc", target: "/tikv-server" })),
        mode: 0o644,
      },
      { name: "binary", content: binary, mode: 0o755 },
    ]);
    const file = path.join(dir, "context.tar");
    fs.writeFileSync(file, archive);
    const listing = execFileSync("tar", ["-tvf", file], { encoding: "utf8" }).trim().split("\n");
    expect(listing[0]).toMatch(/^-rw-r--r-- 0\/0 +\d+ .* Dockerfile$/);
    expect(listing[1]).toMatch(/^-rwxr-xr-x 0\/0 +1300 .* binary$/);
    const out = path.join(dir, "out");
    fs.mkdirSync(out);
    execFileSync("tar", ["-xf", file, "-C", out]);
    expect(fs.readFileSync(path.join(out, "binary")).equals(binary)).toBe(true);
    expect(fs.readFileSync(path.join(out, "Dockerfile"), "utf8")).toBe("FROM sha256:abc\nCOPY binary /tikv-server\n");
  });
});

describe("the build report: what PD says each member runs", () => {
  const member: DeployedImage = {
    member: "tikv2",
    kind: "tikv",
    pdMember: "10.0.1.12:20160",
    image: "tikv-cvm/tikv-patched:x",
  };
  const inputs = (endpoints: string[], m = member) => ({
    member: m,
    trigger: "t",
    pdEndpoints: endpoints,
    timeoutMinutes: 1,
  });
  let pd: FakePd;
  beforeEach(() => (pd = new FakePd()));
  afterEach(() => pd.close());

  test("a store's version and git hash from PD's store API, a PD member's from its member API", async () => {
    pd.stores[1].gitHash = "0123abcd";
    const url = await pd.listen();
    expect((await readReport(inputs([url]), 10)).build).toEqual({
      member: "tikv2",
      kind: "tikv",
      image: "tikv-cvm/tikv-patched:x",
      version: "8.5.7",
      gitHash: "0123abcd",
    });
    const pd2 = { member: "pd2", kind: "pd" as const, pdMember: "pd2", image: "pingcap/pd:v8.5.7" };
    pd.members[1].gitHash = "pd-own";
    expect((await readReport(inputs([url], pd2), 10)).build).toMatchObject({ version: "v8.5.7", gitHash: "pd-own" });
  });

  test("waits for a store that registers late; a store never listed is reported, not failed", async () => {
    const late = pd.stores.splice(1, 1)[0];
    let calls = 0;
    pd.onStores = () => {
      if (++calls === 3) pd.stores.push({ ...late, gitHash: "late" });
    };
    const url = await pd.listen();
    expect((await readReport(inputs([url]), 10)).build.gitHash).toBe("late");
    const missing = { ...member, pdMember: "10.0.1.19:20160" };
    const report = await readReport({ ...inputs([url], missing), timeoutMinutes: 0.001 }, 10);
    expect(report.build).toEqual({
      member: "tikv2",
      kind: "tikv",
      image: member.image,
      reported: "PD does not list 10.0.1.19:20160",
    });
  });

  test("PD unreachable: the reason is the report", async () => {
    const report = await readReport({ ...inputs(["http://127.0.0.1:9"]), timeoutMinutes: 0.001 }, 10);
    expect(report.build.reported).toMatch(/^PD did not answer: PD GET \/pd\/api\/v1\/members failed on every endpoint/);
  });
});

describe("config", () => {
  const base = { values: { mode: "local", hostMemoryGiB: "8" }, hasSecretId: false, hasSecretKey: false };
  const problems = (values: Record<string, string>, secretKeys: string[] = []) => {
    const r = validateConfig({ ...base, values: { ...base.values, ...values }, secretKeys });
    return r.ok ? [] : r.problems.map((p) => `${p.key}: ${p.message}`);
  };

  test("image references: a tag or digest, never latest", () => {
    expect(problems({ tikvImage: "ccr.ccs.tencentyun.com/me/tikv:v8.5.7-fix1" })).toEqual([]);
    expect(problems({ tikvImage: `me/tikv@sha256:${"0".repeat(64)}` })).toEqual([]);
    expect(problems({ tikvImage: "me/tikv" })[0]).toMatch(/^tikv-cvm:tikvImage: "me\/tikv" names no tag or digest/);
    expect(problems({ pdImage: "me/pd:latest" })[0]).toMatch(/^tikv-cvm:pdImage: .* uses the tag latest/);
    expect(problems({ pdImage: "Me/PD:x" })[0]).toMatch(/^tikv-cvm:pdImage: "Me\/PD:x" is not an image reference/);
  });

  test("registry credentials: both, as a secret, and only with an image to pull", () => {
    const image = { tikvImage: "ccr.ccs.tencentyun.com/me/tikv:fix1" };
    expect(problems({ ...image, registryUsername: "u", registryPassword: "p" }, ["registryPassword"])).toEqual([]);
    expect(problems({ ...image, registryUsername: "u" })).toEqual([
      expect.stringMatching(/^tikv-cvm:registryPassword: is required with registryUsername/),
    ]);
    expect(problems({ ...image, registryUsername: "u", registryPassword: "p" })).toEqual([
      expect.stringMatching(/^tikv-cvm:registryPassword: must be stored as a secret: pulumi config set --secret/),
    ]);
    expect(problems({ registryUsername: "u", registryPassword: "p" }, ["registryPassword"])).toEqual([
      expect.stringMatching(/^tikv-cvm:registryUsername: is set but neither tikvImage nor pdImage/),
    ]);
  });
});

describe("the program with a patch and an image", () => {
  const byName = (run: ProgramRun, name: string) => run.resources.find((r) => r.name === name);
  const inputsOf = (run: ProgramRun, name: string) => unwrap(byName(run, name)?.inputs) as Record<string, unknown>;
  const binary = withMachine(62);
  const sha256 = crypto.createHash("sha256").update(fs.readFileSync(binary)).digest("hex");
  let release: ProgramRun;
  let patched: ProgramRun;
  beforeAll(async () => {
    release = await runProgram({});
    patched = await runProgram({ "tikv-cvm:tikvPatch": binary }, { lastOutputs: release.outputs });
  });

  test("each TiKV member gets an image built on its host from the release image; PD is untouched", () => {
    for (const i of [1, 2, 3]) {
      const image = byName(patched, `tikv-dev-cluster-tikv${i}-patched-image`)!;
      expect(image.type).toBe("pulumi-nodejs:dynamic/tikv-cvm:PatchedImage");
      const inputs = inputsOf(patched, image.name);
      expect(inputs).toMatchObject({ binaryFile: binary, sha256, target: "/tikv-server" });
      expect(inputs.tag).toBe(patchedTag("tikv", "pingcap/tikv:v8.5.7", sha256));
      // The base is the member's release image resource (the mock's id for it), and the container
      // runs the image the engine built (the mock's id for that).
      const id = (text: string) => `sha256:${crypto.createHash("sha256").update(text).digest("hex")}`;
      expect(inputs.baseImageId).toBe(id("pingcap/tikv:v8.5.7"));
      expect(inputsOf(patched, `tikv-dev-cluster-tikv${i}`).image).toBe(id(`built ${String(inputs.tag)}`));
    }
    expect(patched.resources.filter((r) => r.name.includes("pd") && r.name.endsWith("patched-image"))).toEqual([]);
    for (const i of [1, 2, 3])
      expect(inputsOf(patched, `tikv-dev-cluster-pd${i}`)).toEqual(inputsOf(release, `tikv-dev-cluster-pd${i}`));
  });

  test("the release image resources stay as they were: only the containers point elsewhere", () => {
    for (const i of [1, 2, 3])
      expect(inputsOf(patched, `tikv-dev-cluster-tikv${i}-image`)).toEqual(
        inputsOf(release, `tikv-dev-cluster-tikv${i}-image`),
      );
  });

  test("an unchanged binary gives the same inputs; the client key is kept secret", async () => {
    const again = await runProgram({ "tikv-cvm:tikvPatch": binary }, { lastOutputs: release.outputs, fresh: true });
    for (const i of [1, 2, 3]) {
      const name = `tikv-dev-cluster-tikv${i}-patched-image`;
      expect(JSON.stringify(inputsOf(again, name))).toBe(JSON.stringify(inputsOf(patched, name)));
      expect(JSON.stringify(byName(patched, name)!.inputs)).toContain("4dabf18193072939515e22adb298388d");
    }
  });

  test("pdPatch: each PD member gets /pd-server in place, TiKV is untouched", async () => {
    const run = await runProgram({ "tikv-cvm:pdPatch": binary }, { lastOutputs: release.outputs });
    const images = run.resources.filter((r) => r.type === "pulumi-nodejs:dynamic/tikv-cvm:PatchedImage");
    expect(images.map((r) => r.name).sort()).toEqual([1, 2, 3].map((i) => `tikv-dev-cluster-pd${i}-patched-image`));
    for (const r of images)
      expect(unwrap(r.inputs)).toMatchObject({
        target: "/pd-server",
        tag: patchedTag("pd", "pingcap/pd:v8.5.7", sha256),
      });
    for (const i of [1, 2, 3])
      expect(inputsOf(run, `tikv-dev-cluster-tikv${i}`)).toEqual(inputsOf(release, `tikv-dev-cluster-tikv${i}`));
  });

  test("a binary for another architecture stops the program before anything is declared", async () => {
    await expect(runProgram({ "tikv-cvm:tikvPatch": withMachine(183) })).rejects.toThrow(
      /tikv-cvm:tikvPatch: .* is built for aarch64, but the hosts are x86_64/,
    );
  });

  test("tikvImage replaces the TiKV image resources' names, and the registry password stays secret", async () => {
    const run = await runProgram(
      {
        ...EXISTING_STACK.config,
        "tikv-cvm:tikvImage": "ccr.ccs.tencentyun.com/me/tikv:v8.5.7-fix1",
        "tikv-cvm:registryUsername": "100012345678",
        "tikv-cvm:registryPassword": "s3cret-token",
      },
      { ...EXISTING_STACK.options, secretKeys: [...EXISTING_STACK.options.secretKeys!, "tikv-cvm:registryPassword"] },
    );
    for (const i of [1, 2, 3]) {
      expect(
        inputsOf(run, `tikv-e2e-cluster-tikv${i}-image`)?.name ?? inputsOf(run, `tikv-dev-cluster-tikv${i}-image`).name,
      ).toBe("ccr.ccs.tencentyun.com/me/tikv:v8.5.7-fix1");
    }
    const providers = run.resources.filter((r) => r.type === "pulumi:providers:docker");
    expect(providers).toHaveLength(3);
    for (const p of providers) {
      expect((unwrap(p.inputs) as { registryAuth?: unknown }).registryAuth).toEqual(
        JSON.stringify([{ address: "ccr.ccs.tencentyun.com", username: "100012345678", password: "s3cret-token" }]),
      );
      // Sent to the engine as a secret (the SDK's secret envelope), so the state keeps it encrypted.
      expect(JSON.stringify(p.inputs.registryAuth)).toContain("4dabf18193072939515e22adb298388d");
    }
  });
});
