// The secrecy walk: every resource the program declares, on both Tencent Cloud routes, has each
// input and each output its provider's schema says it returns checked for private keys, passwords
// and user data; any that would reach the state unencrypted fails the test.
//
// How the engine decides what is secret (what this walk models):
// - an input is secret when it is a secret Output, or flows from an output its provider marks
//   secret (the SDKs' additionalSecretOutputs; mocks do not propagate those, so values are tracked);
// - an output is secret when its provider's schema marks it, when the program lists it in
//   additionalSecretOutputs, or when the input of the same name held a secret (the engine copies
//   secretness from inputs to outputs; additionalSecretOutputs "augments the list of values that
//   Pulumi detects, based on secret inputs", pulumi.com/docs/concepts/options/additionalsecretoutputs).
import * as fs from "fs";
import * as path from "path";
import { readyOutputs } from "../components/dockerReady";
import { permitOutputs } from "../components/bootstrapPermit";
import { memberGuardProvider } from "../components/memberGuard";
import { retiredDataOutputs } from "../components/retiredMemberData";
import { pidsLimitOutputs } from "../components/pidsLimit";
import { reportOutputs } from "../components/buildReport";
import { patchedOutputs } from "../components/patchedImage";
import { checkOutputs } from "../components/hostCheck";
import { storeDiskOutputs } from "../components/storeDisk";
import { retirementOutputs, rolloutGateProvider } from "../components/rollout";
import { labelsOutputs } from "../components/placementLabels";
import { TOKENS } from "../tencentcloud/bindings";
import {
  Declared,
  ProgramRun,
  SECRET_SIG,
  isSecret,
  lastOutputsOf,
  runProgram,
  unwrap,
  EXISTING_STACK,
} from "./support/harness";
import { mockState } from "./support/mocks";
import { loadTfFixture, pulumiName, tfToken } from "./support/tfNames";

interface SdkReference {
  resources: Record<string, { token: string; outputs: string[] }>;
}
const sdk = JSON.parse(
  fs.readFileSync(path.join(__dirname, "fixtures", "tencentcloud-provider-subset.json"), "utf8"),
) as SdkReference;
const tf = loadTfFixture();

/** Output names (and the ones the provider itself marks secret) per type token, from each provider's schema. */
interface OutputSchema {
  outputs: string[];
  providerSecret: string[];
}

function tencentSchemas(): Map<string, OutputSchema> {
  const map = new Map<string, OutputSchema>();
  for (const r of Object.values(sdk.resources)) map.set(r.token, { outputs: r.outputs, providerSecret: [] });
  for (const [name, r] of Object.entries(tf.resources)) {
    // Every attribute is in the state; a computed one is filled by the provider itself.
    map.set(tfToken(name, false), {
      outputs: Object.entries(r.schema).map(([k, a]) => pulumiName(k, a)),
      providerSecret: [],
    });
  }
  return map;
}

/**
 * @pulumi/docker, tls and random: output names from the generated class's `readonly x: pulumi.Output<>`
 * declarations, provider-secret ones from its `additionalSecretOutputs` (the SDKs are generated from
 * each provider's schema; a property the schema marks secret lands in that list).
 */
function sdkSchema(token: string): OutputSchema | undefined {
  const m =
    /^(docker|tls|random):index\/(\w+):\w+$/.exec(token) ?? /^pulumi:providers:(docker|tls|random)$/.exec(token);
  if (!m) return undefined;
  const dir = path.join(__dirname, "..", "node_modules", "@pulumi", m[1]);
  const file = m[2] ?? "provider";
  const dts = fs.readFileSync(path.join(dir, `${file}.d.ts`), "utf8");
  const js = fs.readFileSync(path.join(dir, `${file}.js`), "utf8");
  const outputs = [...dts.matchAll(/^\s+readonly (\w+)[!?]?: pulumi\.Output</gm)].map((x) => x[1]);
  const secret = /additionalSecretOutputs: \[([^\]]*)\]/.exec(js);
  return { outputs, providerSecret: secret ? [...secret[1].matchAll(/"(\w+)"/g)].map((x) => x[1]) : [] };
}

const TENCENT = tencentSchemas();

/** Names that hold a key, a password or user data whatever their value. */
const SENSITIVE_NAME = /^userData(Raw)?$|privateKey|password|secretKey|secretId|keyMaterial|bcryptHash|token/i;
/** Property names of one resource type that always hold a secret (a generated password). */
const SENSITIVE_BY_TYPE: Record<string, string[]> = { "random:index/randomPassword:RandomPassword": ["result"] };

interface Walk {
  run: ProgramRun;
  /** Values that come out of provider-secret outputs: secret wherever they flow. */
  secretValues: Set<string>;
  /** Values that must never be stored in clear: generated passwords. */
  passwords: Set<string>;
}

function prepare(run: ProgramRun): Walk {
  const secretValues = new Set<string>();
  const passwords = new Set<string>();
  for (const r of run.resources) {
    const state = mockState(r.type, r.name, r.inputs);
    for (const name of sdkSchema(r.type)?.providerSecret ?? []) {
      if (typeof state[name] === "string") secretValues.add(state[name] as string);
    }
    for (const name of SENSITIVE_BY_TYPE[r.type] ?? []) passwords.add(state[name] as string);
  }
  return { run, secretValues, passwords };
}

/** Does this (unwrapped) value carry something that must be secret? */
function sensitiveContent(w: Walk, value: unknown): boolean {
  if (typeof value === "string")
    return value.includes("PRIVATE KEY") || [...w.passwords].some((p) => value.includes(p));
  if (Array.isArray(value)) return value.some((v) => sensitiveContent(w, v));
  if (typeof value === "object" && value !== null) return Object.values(value).some((v) => sensitiveContent(w, v));
  return false;
}

/** Is this raw input value (with its envelopes) secret, as a whole or around every sensitive part? */
function keptSecret(w: Walk, value: unknown): boolean {
  if (isSecret(value)) return true;
  if (typeof value === "string") return w.secretValues.has(value) || !sensitiveContent(w, value);
  if (Array.isArray(value)) return value.every((v) => keptSecret(w, v));
  if (typeof value === "object" && value !== null) return Object.values(value).every((v) => keptSecret(w, v));
  return true;
}

/** Holds a secret anywhere: the engine then marks the whole same-named output secret. */
function holdsSecret(w: Walk, value: unknown): boolean {
  if (isSecret(value)) return true;
  if (typeof value === "string") return w.secretValues.has(value);
  if (Array.isArray(value)) return value.some((v) => holdsSecret(w, v));
  if (typeof value === "object" && value !== null) return Object.values(value).some((v) => holdsSecret(w, v));
  return false;
}

/** The outputs a dynamic provider of this program returns for these inputs. */
async function dynamicOutputs(r: Declared): Promise<Record<string, unknown> | undefined> {
  const inputs = unwrap(r.inputs) as never;
  if (r.type === "pulumi-nodejs:dynamic/tikv-cvm:DockerReady")
    return readyOutputs(inputs) as unknown as Record<string, unknown>;
  if (r.type === "pulumi-nodejs:dynamic/tikv-cvm:PidsLimit")
    return pidsLimitOutputs(inputs) as unknown as Record<string, unknown>;
  if (r.type === "pulumi-nodejs:dynamic/tikv-cvm:HostCheck")
    return checkOutputs(inputs, { offsetMs: 0, uncertaintyMs: 1, memTotalBytes: 3_865_000_000 }) as unknown as Record<
      string,
      unknown
    >;
  if (r.type === "pulumi-nodejs:dynamic/tikv-cvm:StoreDisk")
    return storeDiskOutputs(inputs, {
      totalBytes: 52_000_000_000,
      availableBytes: 50_000_000_000,
    }) as unknown as Record<string, unknown>;
  // It keeps the admin's client material for its delete; `tls` is marked secret (additionalSecretOutputs).
  if (r.type === "pulumi-nodejs:dynamic/tikv-cvm:MemberGuard")
    return (await memberGuardProvider.create(inputs)).outs as unknown as Record<string, unknown>;
  if (r.type === "pulumi-nodejs:dynamic/tikv-cvm:RetiredMemberData")
    return retiredDataOutputs(inputs, "no retired store at this address") as unknown as Record<string, unknown>;
  if (r.type === "pulumi-nodejs:dynamic/tikv-cvm:BootstrapPermit")
    return permitOutputs(inputs, "permit written") as unknown as Record<string, unknown>;
  if (r.type === "pulumi-nodejs:dynamic/tikv-cvm:RolloutGate")
    return (await rolloutGateProvider.create(inputs)).outs as unknown as Record<string, unknown>;
  // Its create talks to PD; what it keeps is the same whatever PD answered.
  if (r.type === "pulumi-nodejs:dynamic/tikv-cvm:MemberRetirement")
    return retirementOutputs(inputs, "removed") as unknown as Record<string, unknown>;
  // Both talk to PD or an engine; what they keep is the same whatever the answer.
  if (r.type === "pulumi-nodejs:dynamic/tikv-cvm:BuildReport")
    return reportOutputs(inputs, {
      member: "pd1",
      kind: "pd",
      image: "x",
      version: "8.5.7",
      gitHash: "abc",
    }) as unknown as Record<string, unknown>;
  if (r.type === "pulumi-nodejs:dynamic/tikv-cvm:PlacementLabels")
    return labelsOutputs(inputs, {
      locationLabels: "zone,host",
      isolationLevel: "host",
      storeLabels: { "10.0.1.11:20160": { zone: "z", host: "h" } },
      changed: [],
    }) as unknown as Record<string, unknown>;
  if (r.type === "pulumi-nodejs:dynamic/tikv-cvm:PatchedImage")
    return patchedOutputs(inputs, "sha256:0") as unknown as Record<string, unknown>;
  return undefined;
}

/** Every leak, as "resource: input|output name: why". */
async function leaks(run: ProgramRun): Promise<{ leaks: string[]; checkedOutputs: number }> {
  const w = prepare(run);
  const found: string[] = [];
  let checkedOutputs = 0;
  for (const r of run.resources) {
    if (r.type === "pulumi:pulumi:Stack" || r.type === "pulumi:pulumi:StackReference" || r.type.startsWith("tikv-cvm:"))
      continue;
    const programSecret = run.options.get(r.name)?.additionalSecretOutputs ?? [];
    for (const [name, value] of Object.entries(r.inputs)) {
      if (name === SECRET_SIG || value === undefined) continue;
      const mustBeSecret = SENSITIVE_NAME.test(name) || sensitiveContent(w, unwrap(value));
      if (mustBeSecret && !keptSecret(w, value) && !(SENSITIVE_NAME.test(name) && holdsSecret(w, value))) {
        found.push(`${r.name}: input ${name} is stored in clear`);
      }
    }
    const dynamic = await dynamicOutputs(r);
    if (dynamic) {
      for (const [name, value] of Object.entries(dynamic)) {
        checkedOutputs++;
        if ((SENSITIVE_NAME.test(name) || sensitiveContent(w, value)) && !holdsSecret(w, r.inputs[name]))
          found.push(`${r.name}: output ${name} is stored in clear`);
      }
      continue;
    }
    const schema = r.type.startsWith("tencentcloud:") ? TENCENT.get(r.type) : sdkSchema(r.type);
    if (!schema) {
      found.push(`${r.name}: no schema for ${r.type}: add one to the walk`);
      continue;
    }
    for (const name of schema.outputs) {
      const input = r.inputs[name];
      // A provider's state is its configuration: nothing there it was not given.
      if (r.type.startsWith("pulumi:providers:") && input === undefined) continue;
      checkedOutputs++;
      const sensitive =
        SENSITIVE_NAME.test(name) ||
        (SENSITIVE_BY_TYPE[r.type] ?? []).includes(name) ||
        (input !== undefined && sensitiveContent(w, unwrap(input)));
      const secret =
        schema.providerSecret.includes(name) ||
        programSecret.includes(name) ||
        (input !== undefined && holdsSecret(w, input));
      if (sensitive && !secret) found.push(`${r.name}: output ${name} is stored in clear`);
    }
  }
  for (const [name, value] of Object.entries(run.outputs)) {
    if (sensitiveContent(w, value) && !run.secretOutputs.includes(name))
      found.push(`stack output ${name} is not secret`);
  }
  // What components register is stored as their outputs too.
  for (const component of run.componentOutputs) {
    for (const [name, value] of Object.entries(component.outputs)) {
      checkedOutputs++;
      if ((SENSITIVE_NAME.test(name) || sensitiveContent(w, value)) && !component.secret.includes(name)) {
        found.push(`${component.name}: component output ${name} is stored in clear`);
      }
    }
  }
  return { leaks: found, checkedOutputs };
}

const SSH = { "tikv-cvm:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@laptop" };

describe.each(["terraform", "bridged"] as const)("the %s route", (route) => {
  let run: ProgramRun;
  beforeAll(async () => {
    // Every kind of resource the program can declare in mode cvm: SSH key pair, public Grafana,
    // data disks with their snapshot policy.
    run = await runProgram({
      ...SSH,
      "tikv-cvm:tencentcloudRoute": route,
      "tikv-cvm:grafanaPublic": "true",
      "tikv-cvm:dataDiskSnapshotRetentionDays": "7",
    });
  });

  test("every component's registered outputs are walked too", () => {
    expect(run.componentOutputs.map((c) => c.name)).toEqual(
      expect.arrayContaining(["tikv-dev-pki", "tikv-dev-1", "tikv-dev-cluster-tls", "tikv-dev-net"]),
    );
    expect(Object.keys(run.componentOutputs.find((c) => c.name === "tikv-dev-pki")!.outputs).sort()).toEqual([
      "caCertPem",
      "clientCertPem",
    ]);
  });

  test("no key, password or user data is stored in clear, in any input or schema output", async () => {
    const tencent = run.resources.filter((r) => r.type.startsWith("tencentcloud:"));
    expect(new Set(tencent.map((r) => r.type))).toEqual(
      new Set([
        TOKENS[route].vpc,
        TOKENS[route].subnet,
        TOKENS[route].securityGroup,
        TOKENS[route].securityGroupRuleSet,
        TOKENS[route].instance,
        TOKENS[route].eip,
        TOKENS[route].eipAssociation,
        TOKENS[route].keyPair,
        TOKENS[route].cbsStorage,
        TOKENS[route].cbsStorageAttachment,
        TOKENS[route].cbsSnapshotPolicy,
        TOKENS[route].cbsSnapshotPolicyAttachment,
        TOKENS[route].placementGroup,
      ]),
    );
    const result = await leaks(run);
    expect(result.leaks).toEqual([]);
    expect(result.checkedOutputs).toBeGreaterThan(500);
  });

  test("the CVM's user data is secret in both outputs that carry it", () => {
    const instance = run.resources.find((r) => r.type === TOKENS[route].instance)!;
    expect(isSecret(instance.inputs.userData)).toBe(true);
    expect(run.options.get(instance.name)!.additionalSecretOutputs).toEqual(
      expect.arrayContaining(["userData", "userDataRaw"]),
    );
    // The schema says the provider returns userDataRaw; the program never sets it.
    expect(TENCENT.get(TOKENS[route].instance)!.outputs).toContain("userDataRaw");
    expect(instance.inputs.userDataRaw).toBeUndefined();
  });
});

test("scaling in leaks nothing: the retirements that talk to PD with the admin's key", async () => {
  // 5 PD members deployed, 3 wanted: pd5 and pd4 leave through PD's API (test/scaling.test.ts).
  const five = await runProgram({ "tikv-cvm:nodeCount": "5", "tikv-cvm:pdCount": "5" });
  const three = await runProgram(
    { "tikv-cvm:nodeCount": "5" },
    {
      lastOutputs: lastOutputsOf(five, ["rolloutOrder", "tikvStores", "deployment"]),
    },
  );
  const retirements = three.resources.filter((r) => r.type === "pulumi-nodejs:dynamic/tikv-cvm:MemberRetirement");
  expect(retirements.map((r) => r.inputs.member)).toEqual(["pd5", "pd4"]);
  expect(JSON.stringify(unwrap(retirements[0].inputs))).toContain("PRIVATE KEY");
  expect((await leaks(three)).leaks).toEqual([]);
  // A key in clear in a retirement's inputs is found (one that does not come from a provider-secret
  // output: those stay secret wherever they flow, the walk's model of the engine).
  const foreignKey = "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n";
  const clear = three.resources.map((r) =>
    r === retirements[0]
      ? { ...r, inputs: { ...r.inputs, tls: { ...(unwrap(r.inputs.tls) as object), keyPem: foreignKey } } }
      : r,
  );
  expect((await leaks({ ...three, resources: clear })).leaks).toEqual([
    `${retirements[0].name}: input tls is stored in clear`,
  ]);
});

test("modes local and existing leak nothing either", async () => {
  const local = await runProgram({
    "tencentcloud:region": undefined,
    "tikv-cvm:availabilityZone": undefined,
    "tikv-cvm:operatorCidrs": undefined,
    "tikv-cvm:mode": "local",
    "tikv-cvm:hostMemoryGiB": "12",
  });
  const existing = await runProgram(EXISTING_STACK.config, EXISTING_STACK.options);
  expect((await leaks(local)).leaks).toEqual([]);
  expect((await leaks(existing)).leaks).toEqual([]);
});

test("the walk finds a leak: user data, a password in an env, a config key, a stack output, each in clear", async () => {
  const run = await runProgram(SSH);
  const instance = run.resources.find((r) => r.type === TOKENS.terraform.instance)!;
  const opts = run.options.get(instance.name)!;
  const grafana = run.resources.find((r) => r.name === "tikv-dev-monitoring-grafana")!;
  const tampered: ProgramRun = {
    ...run,
    resources: run.resources.map((r) =>
      r === grafana ? { ...r, inputs: { ...r.inputs, envs: unwrap(r.inputs.envs) } } : r,
    ),
    options: new Map([...run.options, [instance.name, { ...opts, additionalSecretOutputs: ["userData", "password"] }]]),
    secretOutputs: run.secretOutputs.filter((o) => o !== "clusterAdminKeyPem"),
    // A component registering its key in clear (Pki registers only certificates).
    componentOutputs: run.componentOutputs.map((c) =>
      c.name === "tikv-dev-pki" ? { ...c, outputs: { ...c.outputs, operatorKey: run.outputs.clientKeyPem } } : c,
    ),
  };
  expect((await leaks(tampered)).leaks.sort()).toEqual(
    [
      `${instance.name}: output userDataRaw is stored in clear`,
      "stack output clusterAdminKeyPem is not secret",
      "tikv-dev-pki: component output operatorKey is stored in clear",
      "tikv-dev-monitoring-grafana: input envs is stored in clear",
      "tikv-dev-monitoring-grafana: output envs is stored in clear",
    ].sort(),
  );

  // A key from the stack config (mode existing) is secret only because the program keeps it so.
  const existing = await runProgram(EXISTING_STACK.config, EXISTING_STACK.options);
  const provider = existing.resources.find((r) => r.type === "pulumi:providers:docker")!;
  const ready = existing.resources.find((r) => r.name === "tikv-dev-1-docker-ready")!;
  const clear = (r: Declared, key: string): Declared => ({
    ...r,
    inputs: { ...r.inputs, [key]: unwrap(r.inputs[key]) },
  });
  const leaked = await leaks({
    ...existing,
    resources: existing.resources.map((r) =>
      r === provider ? clear(r, "keyMaterial") : r === ready ? clear(r, "keyPem") : r,
    ),
  });
  expect(leaked.leaks.sort()).toEqual(
    [
      `${provider.name}: input keyMaterial is stored in clear`,
      `${provider.name}: output keyMaterial is stored in clear`,
      `${ready.name}: input keyPem is stored in clear`,
    ].sort(),
  );
});
