// Every Tencent Cloud input the program sends must exist in the provider's schema, with the right
// type, on both routes, so a misspelt property fails here instead of in `pulumi up`.
// - bridged: fixtures/tencentcloud-provider-subset.json, parsed from the generated Node.js SDK of
//   tencentcloudstack/pulumi-tencentcloud sdk/v0.2.3.
// - terraform: fixtures/terraform-provider-tencentcloud-1.82.102.json, the schema maps of the
//   resources and data sources used, parsed from the Go source of
//   tencentcloudstack/terraform-provider-tencentcloud at tag v1.82.102; Pulumi names are derived
//   here the way the bridge derives them.
import * as fs from "fs";
import * as path from "path";
import { BRIDGED_PLUGIN, TERRAFORM_PACKAGE, TOKENS } from "../tencentcloud/bindings";
import { ProgramRun, runProgram, unwrap } from "./support/harness";
import { TfAttr, pulumiName, tfToken } from "./support/tfNames";

interface PropSpec {
  optional: boolean;
  type: string;
}
interface SdkResource {
  token: string;
  inputs: Record<string, PropSpec>;
  outputs: string[];
  nestedInputTypes: Record<string, Record<string, PropSpec>>;
}
interface SdkReference {
  source: { sdkVersion: string; pluginDownloadURL: string };
  resources: Record<string, SdkResource>;
  functions: Record<
    string,
    { token: string; args: Record<string, PropSpec>; nestedArgTypes?: SdkResource["nestedInputTypes"] }
  >;
}
interface TfReference {
  source: { tag: string };
  resources: Record<string, { schema: Record<string, TfAttr> }>;
  dataSources: Record<string, { schema: Record<string, TfAttr> }>;
}

const fixtures = path.join(__dirname, "fixtures");
const sdk = JSON.parse(
  fs.readFileSync(path.join(fixtures, "tencentcloud-provider-subset.json"), "utf8"),
) as SdkReference;
const tf = JSON.parse(
  fs.readFileSync(path.join(fixtures, "terraform-provider-tencentcloud-1.82.102.json"), "utf8"),
) as TfReference;

// ---- One checker for both schemas -------------------------------------------------------------

/** A property schema reduced to what the check needs. */
interface Prop {
  required: boolean;
  kind: "string" | "number" | "boolean" | "map" | "list" | "object";
  item?: Prop;
  fields?: Record<string, Prop>;
}

function fromTf(attr: TfAttr): Prop {
  const required = attr.required;
  switch (attr.type) {
    case "TypeString":
      return { required, kind: "string" };
    case "TypeInt":
    case "TypeFloat":
      return { required, kind: "number" };
    case "TypeBool":
      return { required, kind: "boolean" };
    case "TypeMap":
      return { required, kind: "map" };
    default: {
      const item: Prop =
        typeof attr.elem === "object"
          ? { required: true, kind: "object", fields: fieldsFromTf(attr.elem) }
          : fromTf({ type: attr.elem ?? "TypeString", required: true, optional: false, computed: false });
      return attr.maxItems === 1 ? { ...item, required } : { required, kind: "list", item };
    }
  }
}

function fieldsFromTf(schema: Record<string, TfAttr>): Record<string, Prop> {
  const out: Record<string, Prop> = {};
  for (const [name, attr] of Object.entries(schema)) {
    // Computed-only attributes are outputs, not inputs.
    if (attr.computed && !attr.optional && !attr.required) continue;
    out[pulumiName(name, attr)] = fromTf(attr);
  }
  return out;
}

function fromSdk(type: string, required: boolean, nested: SdkResource["nestedInputTypes"]): Prop {
  let t = type;
  for (let prev = ""; prev !== t;) {
    prev = t;
    t = t.replace(/pulumi\.Input<([^<>]*(?:<[^<>]*>[^<>]*)*)>/, "$1");
  }
  if (t.endsWith("[]")) return { required, kind: "list", item: fromSdk(t.slice(0, -2), true, nested) };
  if (t === "string" || t === "number" || t === "boolean") return { required, kind: t };
  if (t.startsWith("{[key: string]:")) return { required, kind: "map" };
  const spec = nested[t.replace(/^inputs\./, "")];
  if (!spec) throw new Error(`unknown SDK type ${t}`);
  return { required, kind: "object", fields: fieldsFromSdk(spec, nested) };
}

function fieldsFromSdk(spec: Record<string, PropSpec>, nested: SdkResource["nestedInputTypes"]): Record<string, Prop> {
  return Object.fromEntries(Object.entries(spec).map(([k, p]) => [k, fromSdk(p.type, !p.optional, nested)]));
}

function checkValue(where: string, value: unknown, prop: Prop): string[] {
  if (value === undefined) return [];
  switch (prop.kind) {
    case "list":
      if (!Array.isArray(value)) return [`${where}: expected a list, got ${JSON.stringify(value)}`];
      return value.flatMap((v, i) => checkValue(`${where}[${i}]`, v, prop.item!));
    case "object":
      if (typeof value !== "object" || value === null || Array.isArray(value)) return [`${where}: expected an object`];
      return checkObject(where, value as Record<string, unknown>, prop.fields!);
    case "map":
      return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
        typeof v === "string" ? [] : [`${where}.${k}: expected string`],
      );
    default:
      return typeof value === prop.kind ? [] : [`${where}: expected ${prop.kind}, got ${typeof value}`];
  }
}

function checkObject(where: string, value: Record<string, unknown>, fields: Record<string, Prop>): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (!fields[k]) problems.push(`${where}.${k}: not a property of the schema`);
    else problems.push(...checkValue(`${where}.${k}`, v, fields[k]));
  }
  for (const [k, p] of Object.entries(fields)) {
    if (p.required && value[k] === undefined) problems.push(`${where}.${k}: required but not set`);
  }
  return problems;
}

/** token -> input fields, per route. */
const SCHEMAS: Record<"terraform" | "bridged", Map<string, Record<string, Prop>>> = {
  bridged: new Map([
    ...Object.values(sdk.resources).map((r) => [r.token, fieldsFromSdk(r.inputs, r.nestedInputTypes)] as const),
    ...Object.values(sdk.functions).map((f) => [f.token, fieldsFromSdk(f.args, f.nestedArgTypes ?? {})] as const),
  ]),
  terraform: new Map([
    ...Object.entries(tf.resources).map(([n, r]) => [tfToken(n, false), fieldsFromTf(r.schema)] as const),
    ...Object.entries(tf.dataSources).map(([n, d]) => [tfToken(n, true), fieldsFromTf(d.schema)] as const),
  ]),
};

function schemaProblems(run: ProgramRun, route: "terraform" | "bridged"): string[] {
  const schemas = SCHEMAS[route];
  const problems: string[] = [];
  for (const r of run.resources.filter((x) => x.type.startsWith("tencentcloud:"))) {
    const fields = schemas.get(r.type);
    if (!fields) problems.push(`${r.name}: ${r.type} is not a ${route} token`);
    else problems.push(...checkObject(r.name, unwrap(r.inputs) as Record<string, unknown>, fields));
  }
  for (const call of run.invokes) {
    const fields = schemas.get(call.token);
    if (!fields) problems.push(`invoke ${call.token} is not a ${route} token`);
    else problems.push(...checkObject(call.token, call.args, fields));
  }
  return problems;
}

// ---- Tests ------------------------------------------------------------------------------------

test("bridged route: plugin facts and tokens match the generated SDK", () => {
  expect(BRIDGED_PLUGIN.version).toBe(sdk.source.sdkVersion);
  expect(BRIDGED_PLUGIN.pluginDownloadURL).toBe(sdk.source.pluginDownloadURL);
  for (const token of Object.values(TOKENS.bridged)) expect([token, SCHEMAS.bridged.has(token)]).toEqual([token, true]);
});

test("terraform route: tokens are the bridge's for the pinned Terraform provider", () => {
  expect(TERRAFORM_PACKAGE.packageVersion).toBe(tf.source.tag.replace(/^v/, ""));
  expect(TERRAFORM_PACKAGE.parameterValue.remote.version).toBe(TERRAFORM_PACKAGE.packageVersion);
  expect(new Set(Object.values(TOKENS.terraform))).toEqual(new Set(SCHEMAS.terraform.keys()));
});

test("the bridge's naming: list blocks pluralised, single-item blocks not", () => {
  expect(pulumiName("ingress", { type: "TypeList", required: false, optional: true, computed: false })).toBe(
    "ingresses",
  );
  expect(pulumiName("image_type", { type: "TypeList", required: false, optional: true, computed: false })).toBe(
    "imageTypes",
  );
  expect(pulumiName("key_ids", { type: "TypeList", required: false, optional: true, computed: false })).toBe("keyIds");
  expect(
    pulumiName("settings", { type: "TypeList", required: false, optional: true, computed: false, maxItems: 1 }),
  ).toBe("settings");
  expect(tfToken("tencentcloud_security_group_rule_set", false)).toBe(
    "tencentcloud:index/securityGroupRuleSet:SecurityGroupRuleSet",
  );
  expect(tfToken("tencentcloud_images", true)).toBe("tencentcloud:index/getImages:getImages");
});

test("outputs the program reads exist on both routes", () => {
  const bridgedEip = Object.values(sdk.resources).find((r) => r.token === TOKENS.bridged.eip)!;
  expect(bridgedEip.outputs).toContain("publicIp");
  expect(tf.resources.tencentcloud_eip.schema.public_ip.computed).toBe(true);
  const images = tf.dataSources.tencentcloud_images.schema.images.elem as Record<string, TfAttr>;
  expect(images.image_id.computed).toBe(true);
});

const FIVE = {
  "tikv-cvm:nodeCount": "5",
  "tikv-cvm:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@laptop",
};
const cases: { route: "terraform" | "bridged"; label: string; config: Record<string, string> }[] = [];
for (const route of ["terraform", "bridged"] as const) {
  cases.push({ route, label: "default config", config: { "tikv-cvm:tencentcloudRoute": route } });
  cases.push({
    route,
    label: "5 hosts with SSH and a fixed image",
    config: { ...FIVE, "tikv-cvm:tencentcloudRoute": route, "tikv-cvm:imageId": "img-abcdefgh" },
  });
  cases.push({
    route,
    label: "protected, encrypted data disks with daily snapshots",
    config: {
      "tikv-cvm:tencentcloudRoute": route,
      "tikv-cvm:protect": "true",
      "tikv-cvm:dataDiskEncrypt": "true",
      "tikv-cvm:dataDiskType": "CLOUD_SSD",
      "tikv-cvm:dataDiskSnapshotRetentionDays": "7",
    },
  });
}

test.each(cases)("$route route, $label: every tencentcloud input conforms to the schema", async ({ route, config }) => {
  const run = await runProgram(config);
  expect(run.resources.filter((r) => r.type.startsWith("tencentcloud:")).length).toBeGreaterThan(5);
  const t = TOKENS[route];
  const expected = [
    t.cbsStorage,
    t.cbsStorageAttachment,
    ...(config["tikv-cvm:dataDiskSnapshotRetentionDays"] ? [t.cbsSnapshotPolicy, t.cbsSnapshotPolicyAttachment] : []),
  ];
  expect(run.resources.map((r) => r.type)).toEqual(expect.arrayContaining(expected));
  expect(schemaProblems(run, route)).toEqual([]);
});

test("terraform route also looks images up through the data source, by its schema", async () => {
  const run = await runProgram();
  expect(run.invokes.map((i) => i.token)).toEqual([TOKENS.terraform.getImages]);
  expect(schemaProblems(run, "terraform")).toEqual([]);
});

test("terraform route registers the parameterized package, once, before any resource", async () => {
  const calls: unknown[] = [];
  await runProgram(
    {},
    {
      beforeProgram: () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { runtime } = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
        const real = runtime.registerPackage;
        jest.spyOn(runtime, "registerPackage").mockImplementation((args) => {
          calls.push(args);
          return real(args);
        });
      },
    },
  );
  expect(calls).toHaveLength(1);
  const args = calls[0] as Record<string, string>;
  expect(args).toMatchObject({
    baseProviderName: "terraform-provider",
    baseProviderVersion: TERRAFORM_PACKAGE.baseProviderVersion,
    baseProviderDownloadUrl: "",
    packageName: "tencentcloud",
    packageVersion: "1.82.102",
  });
  expect(JSON.parse(Buffer.from(args.base64Parameter, "base64").toString("utf8"))).toEqual({
    remote: { url: "registry.opentofu.org/tencentcloudstack/tencentcloud", version: "1.82.102" },
  });
});

test("bridged route registers no package and uses the bridged tokens", async () => {
  const calls: unknown[] = [];
  const run = await runProgram(
    { "tikv-cvm:tencentcloudRoute": "bridged" },
    {
      beforeProgram: () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { runtime } = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
        jest.spyOn(runtime, "registerPackage").mockImplementation((args) => {
          calls.push(args);
          return Promise.resolve("x");
        });
      },
    },
  );
  expect(calls).toHaveLength(0);
  expect(
    run.resources
      .filter((r) => r.type.startsWith("tencentcloud:"))
      .every((r) => Object.values(TOKENS.bridged).includes(r.type)),
  ).toBe(true);
});

test("the checker catches a misspelt property, a wrong type and a missing required one", () => {
  const fields = SCHEMAS.terraform.get(TOKENS.terraform.securityGroupRuleSet)!;
  const problems = checkObject(
    "rules",
    {
      securityGroupId: "sg-1",
      ingresses: [{ action: "ACCEPT", cidrBlock: "10.0.0.0/16", ports: "22" }, { cidrBlock: "10.0.0.0/16" }],
      egresses: "ALL",
    },
    fields,
  );
  expect(problems).toEqual([
    "rules.ingresses[0].ports: not a property of the schema",
    "rules.ingresses[1].action: required but not set",
    expect.stringMatching(/^rules.egresses: expected a list/),
  ]);
});
