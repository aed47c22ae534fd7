import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { DEFAULTS, KNOWN_KEYS, RawConfig, describeProblems, validateConfig } from "../lib/settings";

const GOOD: Record<string, string> = {
  availabilityZone: "ap-guangzhou-3",
  operatorCidrs: JSON.stringify(["203.0.113.7/32"]),
};

function raw(values: Record<string, string | undefined>, extra: Partial<RawConfig> = {}): RawConfig {
  return { values: { ...GOOD, ...values }, region: "ap-guangzhou", hasSecretId: true, hasSecretKey: true, ...extra };
}

describe("validateConfig", () => {
  test("applies the documented defaults", () => {
    const result = validateConfig(raw({}));
    if (!result.ok) throw new Error(describeProblems(result.problems));
    expect(result.settings).toMatchObject({
      nodeCount: 3, pdCount: 3, tikvVersion: DEFAULTS.tikvVersion, instanceType: "S5.MEDIUM4",
      systemDiskType: "CLOUD_PREMIUM", systemDiskSize: 40, vpcCidr: "10.0.0.0/16", subnetCidr: "10.0.1.0/24",
      bandwidthMbps: 10, registryMirrors: ["https://mirror.ccs.tencentyun.com"], readinessTimeoutMinutes: 15,
      operatorCidrs: ["203.0.113.7/32"], imageId: undefined, sshPublicKey: undefined,
    });
  });

  test("accepts a 5-node cluster with 3 PD members and an SSH key", () => {
    const result = validateConfig(raw({
      nodeCount: "5", pdCount: "3", sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@laptop",
      imageId: "img-487zeit5", subnetCidr: "10.0.1.0/27",
    }));
    expect(result.ok).toBe(true);
  });

  interface BadCase { label: string; values: Record<string, string | undefined>; key: string; extra?: Partial<RawConfig> }
  const bad: BadCase[] = [
    { label: "nodeCount below 3", values: { nodeCount: "2" }, key: "tikv-cvm:nodeCount" },
    { label: "nodeCount above 20", values: { nodeCount: "21" }, key: "tikv-cvm:nodeCount" },
    { label: "nodeCount not a number", values: { nodeCount: "three" }, key: "tikv-cvm:nodeCount" },
    { label: "nodeCount fractional", values: { nodeCount: "3.5" }, key: "tikv-cvm:nodeCount" },
    { label: "pdCount even", values: { pdCount: "2" }, key: "tikv-cvm:pdCount" },
    { label: "pdCount zero", values: { pdCount: "0" }, key: "tikv-cvm:pdCount" },
    { label: "pdCount above 7", values: { pdCount: "9", nodeCount: "10" }, key: "tikv-cvm:pdCount" },
    { label: "pdCount above nodeCount", values: { pdCount: "5", nodeCount: "4" }, key: "tikv-cvm:pdCount" },
    { label: "tikvVersion latest", values: { tikvVersion: "latest" }, key: "tikv-cvm:tikvVersion" },
    { label: "tikvVersion without v", values: { tikvVersion: "8.5.7" }, key: "tikv-cvm:tikvVersion" },
    { label: "tikvVersion nightly", values: { tikvVersion: "v8.5.7-nightly" }, key: "tikv-cvm:tikvVersion" },
    { label: "availabilityZone missing", values: { availabilityZone: undefined }, key: "tikv-cvm:availabilityZone" },
    { label: "availabilityZone of another region", values: { availabilityZone: "ap-shanghai-2" }, key: "tikv-cvm:availabilityZone" },
    { label: "instanceType empty", values: { instanceType: " " }, key: "tikv-cvm:instanceType" },
    { label: "imageId malformed", values: { imageId: "ubuntu-22.04" }, key: "tikv-cvm:imageId" },
    { label: "systemDiskType unknown", values: { systemDiskType: "LOCAL_BASIC" }, key: "tikv-cvm:systemDiskType" },
    { label: "systemDiskSize too small", values: { systemDiskSize: "10" }, key: "tikv-cvm:systemDiskSize" },
    { label: "systemDiskSize too large", values: { systemDiskSize: "4096" }, key: "tikv-cvm:systemDiskSize" },
    { label: "hostMemoryGiB below 4", values: { hostMemoryGiB: "2" }, key: "tikv-cvm:hostMemoryGiB" },
    { label: "vpcCidr invalid", values: { vpcCidr: "10.0.0.0/33" }, key: "tikv-cvm:vpcCidr" },
    { label: "vpcCidr with host bits", values: { vpcCidr: "10.0.0.1/16" }, key: "tikv-cvm:vpcCidr" },
    { label: "subnetCidr outside the VPC", values: { subnetCidr: "192.168.1.0/24" }, key: "tikv-cvm:subnetCidr" },
    { label: "subnetCidr too small for the hosts", values: { subnetCidr: "10.0.1.0/28", nodeCount: "5" }, key: "tikv-cvm:subnetCidr" },
    { label: "operatorCidrs missing", values: { operatorCidrs: undefined }, key: "tikv-cvm:operatorCidrs" },
    { label: "operatorCidrs empty", values: { operatorCidrs: "[]" }, key: "tikv-cvm:operatorCidrs" },
    { label: "operatorCidrs open to the internet", values: { operatorCidrs: JSON.stringify(["0.0.0.0/0"]) }, key: "tikv-cvm:operatorCidrs" },
    { label: "operatorCidrs not a list", values: { operatorCidrs: "203.0.113.7/32" }, key: "tikv-cvm:operatorCidrs" },
    { label: "operatorCidrs entry not a CIDR", values: { operatorCidrs: JSON.stringify(["my-laptop"]) }, key: "tikv-cvm:operatorCidrs" },
    { label: "sshPublicKey not a public key", values: { sshPublicKey: "-----BEGIN OPENSSH PRIVATE KEY-----" }, key: "tikv-cvm:sshPublicKey" },
    { label: "bandwidthMbps zero", values: { bandwidthMbps: "0" }, key: "tikv-cvm:bandwidthMbps" },
    { label: "bandwidthMbps above 200", values: { bandwidthMbps: "1000" }, key: "tikv-cvm:bandwidthMbps" },
    { label: "registryMirrors not URLs", values: { registryMirrors: JSON.stringify(["mirror.ccs.tencentyun.com"]) }, key: "tikv-cvm:registryMirrors" },
    { label: "readinessTimeoutMinutes zero", values: { readinessTimeoutMinutes: "0" }, key: "tikv-cvm:readinessTimeoutMinutes" },
    { label: "tencentcloudRoute unknown", values: { tencentcloudRoute: "npm" }, key: "tikv-cvm:tencentcloudRoute" },
    { label: "a misspelt key", values: { nodecount: "5" }, key: "tikv-cvm:nodecount" },
    { label: "region missing", values: {}, key: "tencentcloud:region", extra: { region: undefined } },
    { label: "credentials missing", values: {}, key: "tencentcloud:secretId/secretKey", extra: { hasSecretId: false, hasSecretKey: false } },
    { label: "secret key missing", values: {}, key: "tencentcloud:secretKey", extra: { hasSecretKey: false } },
  ];

  // One object per case: jest passes a `done` callback to a function with more parameters than a row has.
  test.each(bad)("rejects $label, naming the key", ({ values, key, extra }) => {
    const result = validateConfig(raw(values, extra));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.key)).toContain(key);
    expect(describeProblems(result.problems)).toContain(`${key}:`);
  });

  test("the table covers at least 25 bad configs", () => {
    expect(bad.length).toBeGreaterThanOrEqual(25);
  });

  test("collects every problem at once", () => {
    const result = validateConfig(raw({ nodeCount: "1", tikvVersion: "latest", operatorCidrs: undefined }, { region: undefined }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.key).sort()).toEqual(
      ["tencentcloud:region", "tikv-cvm:nodeCount", "tikv-cvm:operatorCidrs", "tikv-cvm:tikvVersion"]);
  });

  test("explains why the whole internet is refused and how to fix a bad number", () => {
    const open = validateConfig(raw({ operatorCidrs: JSON.stringify(["0.0.0.0/0"]) }));
    const small = validateConfig(raw({ nodeCount: "2" }));
    if (open.ok || small.ok) throw new Error("expected failures");
    expect(open.problems[0].message).toMatch(/whole internet/);
    expect(small.problems[0].message).toMatch(/pulumi config set tikv-cvm:nodeCount 3/);
  });
});

describe("Pulumi.yaml", () => {
  const project = parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"));
  const declared = project.config as Record<string, { type: string; default?: unknown; description: string }>;

  test("declares every key the program reads, each with a description", () => {
    expect(project.name).toBe("tikv-cvm");
    expect(Object.keys(declared).map((k) => k.replace(/^tikv-cvm:/, "")).sort()).toEqual([...KNOWN_KEYS].sort());
    for (const decl of Object.values(declared)) expect(decl.description.length).toBeGreaterThan(10);
  });

  test("declares the same defaults as the program", () => {
    for (const [key, value] of Object.entries(DEFAULTS)) {
      expect([key, declared[`tikv-cvm:${key}`].default]).toEqual([key, value]);
    }
  });

  test("the dev stack's config passes validation", () => {
    const stack = parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.dev.yaml"), "utf8")).config as Record<string, unknown>;
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(stack)) {
      if (k.startsWith("tikv-cvm:")) values[k.slice(9)] = typeof v === "string" ? v : JSON.stringify(v);
    }
    const result = validateConfig({ values, region: stack["tencentcloud:region"] as string, hasSecretId: true, hasSecretKey: true });
    expect(result.ok).toBe(true);
  });
});
