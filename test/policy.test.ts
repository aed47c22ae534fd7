// The CrossGuard rules: the program as declared passes every one; each fails on a bad resource.
import { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { dockerOverMutualTls, noInternetAdminPorts, policies, portCovers, retainedDataVolumes, secretUserData } from "../policy/rules";
import { TOKENS } from "../tencentcloud/bindings";
import { Declared, ProgramRun, runProgram, unwrap } from "./support/harness";

function args(type: string, props: Record<string, unknown>, opts: Partial<ResourceValidationArgs["opts"]> = {}): ResourceValidationArgs {
  return {
    type, props, urn: `urn:pulumi:dev::tikv-cvm::${type}::x`, name: "x", stackTags: new Map(),
    opts: { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, ...opts },
    isType: () => false, asType: () => undefined, getConfig: <T extends object>() => ({} as T),
    notApplicable: () => { throw new Error("not applicable"); },
  } as ResourceValidationArgs;
}

function violations(policy: ResourceValidationPolicy, a: ResourceValidationArgs): string[] {
  const found: string[] = [];
  const validations = ([] as unknown[]).concat(policy.validateResource) as ((x: ResourceValidationArgs, r: (m: string) => void) => void)[];
  for (const v of validations) v(a, (m) => found.push(m));
  return found;
}

function fromProgram(run: ProgramRun, r: Declared): ResourceValidationArgs {
  const o = run.options.get(r.name);
  const props = unwrap(r.inputs) as Record<string, unknown>;
  return args(r.type, props, { protect: o?.protect ?? false, ignoreChanges: o?.ignoreChanges ?? [], additionalSecretOutputs: o?.additionalSecretOutputs ?? [] });
}

test("the program in mode local passes every policy", async () => {
  const run = await runProgram({ "tencentcloud:region": undefined, "tikv-cvm:availabilityZone": undefined, "tikv-cvm:operatorCidrs": undefined,
    "tikv-cvm:mode": "local", "tikv-cvm:hostMemoryGiB": "12" });
  expect(run.resources.filter((r) => r.type === "docker:index/volume:Volume")).toHaveLength(8);
  const found = run.resources.flatMap((r) => policies.flatMap((p) => violations(p, fromProgram(run, r)).map((m) => `${r.name}: ${p.name}: ${m}`)));
  expect(found).toEqual([]);
});

describe.each(["terraform", "bridged"])("the program on the %s route", (route) => {
  test("passes every policy", async () => {
    const run = await runProgram({ "tikv-cvm:tencentcloudRoute": route, "tikv-cvm:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@laptop" });
    const found = run.resources.flatMap((r) => policies.flatMap((p) => violations(p, fromProgram(run, r)).map((m) => `${r.name}: ${p.name}: ${m}`)));
    expect(found).toEqual([]);
  });
});

test("port specs", () => {
  expect(portCovers("ALL", 22)).toBe(true);
  expect(portCovers("2379-2380", 2380)).toBe(true);
  expect(portCovers("80,443", 443)).toBe(true);
  expect(portCovers("2376", 2379)).toBe(false);
});

describe("no-internet-admin-ports", () => {
  const ruleSet = (ingresses: unknown[]) => args(TOKENS.terraform.securityGroupRuleSet, { securityGroupId: "sg", ingresses });
  test("fails a rule opening 2376, a range covering 2380, and ALL", () => {
    expect(violations(noInternetAdminPorts, ruleSet([{ action: "ACCEPT", cidrBlock: "0.0.0.0/0", protocol: "TCP", port: "2376" }]))).toHaveLength(1);
    expect(violations(noInternetAdminPorts, ruleSet([{ action: "ACCEPT", cidrBlock: "0.0.0.0/0", protocol: "TCP", port: "2379-2380" }]))[0]).toMatch(/2379, 2380/);
    expect(violations(noInternetAdminPorts, args(TOKENS.bridged.securityGroupRuleSet, { ingresses: [{ action: "ACCEPT", cidrBlock: "0.0.0.0/0", protocol: "ALL", port: "ALL" }] }))).toHaveLength(1);
  });
  test("passes operator networks, DROP rules and unrelated public ports", () => {
    expect(violations(noInternetAdminPorts, ruleSet([
      { action: "ACCEPT", cidrBlock: "203.0.113.7/32", protocol: "TCP", port: "2376" },
      { action: "DROP", cidrBlock: "0.0.0.0/0", protocol: "ALL", port: "ALL" },
      { action: "ACCEPT", cidrBlock: "0.0.0.0/0", protocol: "TCP", port: "443" },
    ]))).toEqual([]);
  });
});

describe("docker-provider-client-certificate", () => {
  test("fails a TCP provider without client material", () => {
    expect(violations(dockerOverMutualTls, args("pulumi:providers:docker", { host: "tcp://203.0.113.5:2376" }))).toHaveLength(1);
    expect(violations(dockerOverMutualTls, args("pulumi:providers:docker", { host: "tcp://203.0.113.5:2376", caMaterial: "ca", certMaterial: "c" }))).toHaveLength(1);
  });
  test("passes full material, and a local unix socket", () => {
    expect(violations(dockerOverMutualTls, args("pulumi:providers:docker", { host: "tcp://h:2376", caMaterial: "a", certMaterial: "b", keyMaterial: "c" }))).toEqual([]);
    expect(violations(dockerOverMutualTls, args("pulumi:providers:docker", { host: "unix:///var/run/docker.sock" }))).toEqual([]);
  });
});

describe("cvm-user-data-secret", () => {
  test("fails user data not declared secret", () => {
    expect(violations(secretUserData, args(TOKENS.terraform.instance, { userData: "I2Nsb3Vk" }))).toHaveLength(1);
    expect(violations(secretUserData, args(TOKENS.bridged.instance, { userDataRaw: "#cloud-config" }, { additionalSecretOutputs: ["userData"] }))).toHaveLength(1);
  });
  test("passes secret user data and instances without any", () => {
    expect(violations(secretUserData, args(TOKENS.terraform.instance, { userData: "I2Nsb3Vk" }, { additionalSecretOutputs: ["userData"] }))).toEqual([]);
    expect(violations(secretUserData, args(TOKENS.terraform.instance, { instanceType: "S5.MEDIUM4" }))).toEqual([]);
  });
});

describe("data-volume-retain-on-delete", () => {
  test("fails a data volume that is not retained", () => {
    expect(violations(retainedDataVolumes, args("docker:index/volume:Volume", { name: "tikv-data" }))).toHaveLength(1);
    expect(violations(retainedDataVolumes, args("docker:index/volume:Volume", { name: "tikv-local-pd2-data" }))).toHaveLength(1);
    expect(violations(retainedDataVolumes, args("docker:index/volume:Volume", { name: "pd-data", labels: [{ label: "tikv-cvm.retain-on-delete", value: "true" }] },
      { retainOnDelete: false } as never))).toHaveLength(1);
  });
  test("passes retained data volumes and ignores other volumes", () => {
    expect(violations(retainedDataVolumes, args("docker:index/volume:Volume", { name: "pd-data", labels: [{ label: "tikv-cvm.retain-on-delete", value: "true" }] }))).toEqual([]);
    expect(violations(retainedDataVolumes, args("docker:index/volume:Volume", { name: "scratch" }))).toEqual([]);
  });
});
