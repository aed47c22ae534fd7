// Every Tencent Cloud input the program sends must exist in the provider's schema, with the right
// type, so a misspelt property fails here instead of in `pulumi up`. The fixture is the shared
// reference parsed from tencentcloudstack/pulumi-tencentcloud sdk/v0.2.3's generated Node.js SDK.
import * as fs from "fs";
import * as path from "path";
import { PLUGIN, TOKENS } from "../tencentcloud/bindings";
import { ProgramRun, runProgram, unwrap } from "./support/harness";

interface PropSpec { optional: boolean; type: string }
interface ResourceSpec {
  token: string;
  inputs: Record<string, PropSpec>;
  outputs: string[];
  nestedInputTypes: Record<string, Record<string, PropSpec>>;
}
interface Reference {
  source: { sdkVersion: string; pluginDownloadURL: string };
  resources: Record<string, ResourceSpec>;
  functions: Record<string, { token: string; args: Record<string, PropSpec> }>;
}

const reference = JSON.parse(
  fs.readFileSync(path.join(__dirname, "fixtures", "tencentcloud-provider-subset.json"), "utf8")) as Reference;
const byToken = new Map(Object.values(reference.resources).map((r) => [r.token, r]));

/** Strips `pulumi.Input<...>` wrappers: "pulumi.Input<pulumi.Input<string>[]>" -> "string[]". */
function bareType(type: string): string {
  let t = type;
  for (;;) {
    const next = t.replace(/pulumi\.Input<([^<>]*(?:<[^<>]*>[^<>]*)*)>/, "$1");
    if (next === t) return t;
    t = next;
  }
}

/** Returns problems with `value` against the SDK type text; nested input types are looked up. */
function checkValue(where: string, value: unknown, type: string, nested: ResourceSpec["nestedInputTypes"]): string[] {
  const t = bareType(type);
  if (value === undefined) return [];
  if (t.endsWith("[]")) {
    if (!Array.isArray(value)) return [`${where}: expected ${t}, got ${JSON.stringify(value)}`];
    return value.flatMap((v, i) => checkValue(`${where}[${i}]`, v, t.slice(0, -2), nested));
  }
  if (t === "string" || t === "number" || t === "boolean") {
    return typeof value === t ? [] : [`${where}: expected ${t}, got ${typeof value}`];
  }
  if (t.startsWith("{[key: string]:")) {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => checkValue(`${where}.${k}`, v, "string", nested));
  }
  const nestedName = t.replace(/^inputs\./, "");
  const spec = nested[nestedName];
  if (!spec) return [`${where}: unknown type ${t}`];
  return checkObject(where, value as Record<string, unknown>, spec, nested);
}

function checkObject(where: string, value: Record<string, unknown>, spec: Record<string, PropSpec>,
  nested: ResourceSpec["nestedInputTypes"]): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (!spec[k]) problems.push(`${where}.${k}: not a property of the schema (have ${Object.keys(spec).join(", ")})`);
    else problems.push(...checkValue(`${where}.${k}`, v, spec[k].type, nested));
  }
  for (const [k, p] of Object.entries(spec)) {
    if (!p.optional && value[k] === undefined) problems.push(`${where}.${k}: required but not set`);
  }
  return problems;
}

function schemaProblems(run: ProgramRun): string[] {
  const problems: string[] = [];
  for (const r of run.resources.filter((x) => x.type.startsWith("tencentcloud:"))) {
    const spec = byToken.get(r.type);
    if (!spec) { problems.push(`${r.name}: unknown token ${r.type}`); continue; }
    problems.push(...checkObject(r.name, unwrap(r.inputs) as Record<string, unknown>, spec.inputs, spec.nestedInputTypes));
  }
  for (const call of run.invokes) {
    const fn = Object.values(reference.functions).find((f) => f.token === call.token);
    if (!fn) { problems.push(`invoke ${call.token}: unknown token`); continue; }
    problems.push(...checkObject(call.token, call.args, fn.args, {}));
  }
  return problems;
}

test("the bindings' plugin facts match the SDK", () => {
  expect(PLUGIN.version).toBe(reference.source.sdkVersion);
  expect(PLUGIN.pluginDownloadURL).toBe(reference.source.pluginDownloadURL);
  const known = new Set([...byToken.keys(), ...Object.values(reference.functions).map((f) => f.token)]);
  for (const token of Object.values(TOKENS)) expect([token, known.has(token)]).toEqual([token, true]);
});

test("outputs the program reads are outputs of the resource", () => {
  expect(byToken.get(TOKENS.eip)!.outputs).toContain("publicIp");
  expect(byToken.get(TOKENS.instance)!.outputs).toEqual(expect.arrayContaining(["privateIp", "imageId"]));
});

test.each([
  ["default config", {}],
  ["5 hosts with SSH and a fixed image", {
    "tikv-cvm:nodeCount": "5", "tikv-cvm:imageId": "img-abcdefgh",
    "tikv-cvm:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@laptop",
  }],
] as [string, Record<string, string>][])("every tencentcloud input conforms to the schema: %s", async (_label, config) => {
  const run = await runProgram(config);
  expect(run.resources.filter((r) => r.type.startsWith("tencentcloud:")).length).toBeGreaterThan(5);
  expect(schemaProblems(run)).toEqual([]);
});

test("the checker catches a misspelt property, a wrong type and a missing required one", () => {
  const spec = byToken.get(TOKENS.securityGroupRuleSet)!;
  const problems = checkObject("rules", {
    securityGroupId: "sg-1",
    ingresses: [{ action: "ACCEPT", cidrBlock: "10.0.0.0/16", ports: "22" }, { cidrBlock: "10.0.0.0/16" }],
    egresses: "ALL",
  }, spec.inputs, spec.nestedInputTypes);
  expect(problems).toEqual([
    expect.stringMatching(/^rules.ingresses\[0\].ports: not a property/),
    "rules.ingresses[1].action: required but not set",
    expect.stringMatching(/^rules.egresses: expected/),
  ]);
});
