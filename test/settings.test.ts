import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { DEFAULTS, KNOWN_KEYS, RawConfig, describeProblems, validateConfig } from "../lib/settings";

const GOOD: Record<string, string> = {
  availabilityZone: "ap-guangzhou-3",
  operatorCidrs: JSON.stringify(["5.6.7.8/32"]),
};

function raw(values: Record<string, string | undefined>, extra: Partial<RawConfig> = {}): RawConfig {
  return { values: { ...GOOD, ...values }, region: "ap-guangzhou", hasSecretId: true, hasSecretKey: true, ...extra };
}

describe("validateConfig", () => {
  test("applies the documented defaults", () => {
    const result = validateConfig(raw({}));
    if (!result.ok) throw new Error(describeProblems(result.problems));
    expect(result.settings).toMatchObject({
      mode: "cvm",
      nodeCount: 3,
      pdCount: 3,
      tikvVersion: DEFAULTS.tikvVersion,
      hostMemoryGiB: 4,
      diskGB: 50,
      protect: false,
      rolloutTimeoutMinutes: 10,
      clusterTls: true,
      monitoring: true,
      nofileLimit: 1_000_000,
      cvm: {
        instanceType: "S5.MEDIUM4",
        systemDiskType: "CLOUD_PREMIUM",
        systemDiskSize: 20,
        dataDisk: { sizeGB: 50, type: "CLOUD_PREMIUM", encrypt: false, retain: true, snapshot: undefined, adopt: [] },
        vpcCidr: "10.0.0.0/16",
        subnetCidr: "10.0.1.0/24",
        bandwidthMbps: 10,
        registryMirrors: ["https://mirror.ccs.tencentyun.com"],
        readinessTimeoutMinutes: 15,
        operatorCidrs: ["5.6.7.8/32"],
        imageId: undefined,
        sshPublicKey: undefined,
        tencentcloudRoute: "terraform",
      },
    });
  });

  test("accepts a 5-node cluster with 3 PD members and an SSH key", () => {
    const result = validateConfig(
      raw({
        nodeCount: "5",
        pdCount: "3",
        sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@laptop",
        imageId: "img-487zeit5",
        subnetCidr: "10.0.1.0/27",
      }),
    );
    expect(result.ok).toBe(true);
  });

  test("reads the data disk: size for TiKV's reserve-space, type, encryption, retention and a daily snapshot", () => {
    const result = validateConfig(
      raw({
        dataDiskSize: "200",
        dataDiskType: "CLOUD_SSD",
        dataDiskEncrypt: "true",
        retainDataDisks: "false",
        dataDiskSnapshotRetentionDays: "7",
        dataDiskSnapshotHour: "2",
        dataDiskIds: JSON.stringify(["disk-1a2b3c4d", "disk-5e6f7a8b"]),
      }),
    );
    if (!result.ok) throw new Error(describeProblems(result.problems));
    if (result.settings.mode !== "cvm") throw new Error("wrong mode");
    expect(result.settings.diskGB).toBe(200);
    expect(result.settings.cvm.dataDisk).toEqual({
      sizeGB: 200,
      type: "CLOUD_SSD",
      encrypt: true,
      retain: false,
      adopt: ["disk-1a2b3c4d", "disk-5e6f7a8b"],
      snapshot: { hour: 2, retentionDays: 7 },
    });
  });

  interface BadCase {
    label: string;
    values: Record<string, string | undefined>;
    key: string;
    extra?: Partial<RawConfig>;
  }
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
    { label: "tikvVersion zero-padded", values: { tikvVersion: "v08.05.07" }, key: "tikv-cvm:tikvVersion" },
    // Alpine-based images with busybox wget (no client certificates), no write-buffer-limit.
    { label: "tikvVersion before the floor", values: { tikvVersion: "v6.5.3" }, key: "tikv-cvm:tikvVersion" },
    { label: "tikvVersion just before the floor", values: { tikvVersion: "v7.0.9" }, key: "tikv-cvm:tikvVersion" },
    { label: "availabilityZone missing", values: { availabilityZone: undefined }, key: "tikv-cvm:availabilityZone" },
    {
      label: "availabilityZone of another region",
      values: { availabilityZone: "ap-shanghai-2" },
      key: "tikv-cvm:availabilityZone",
    },
    // Placement (issue 21 item 1): zones that cannot keep PD's quorum through the loss of one are refused.
    {
      label: "availabilityZone and availabilityZones both set",
      values: { availabilityZones: JSON.stringify(["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6"]) },
      key: "tikv-cvm:availabilityZones",
    },
    {
      label: "availabilityZones of two zones",
      values: { availabilityZone: undefined, availabilityZones: JSON.stringify(["ap-guangzhou-3", "ap-guangzhou-4"]) },
      key: "tikv-cvm:availabilityZones",
    },
    {
      label: "availabilityZones listing a zone twice",
      values: {
        availabilityZone: undefined,
        availabilityZones: JSON.stringify(["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-3"]),
      },
      key: "tikv-cvm:availabilityZones",
    },
    {
      label: "availabilityZones with a zone of another region",
      values: {
        availabilityZone: undefined,
        availabilityZones: JSON.stringify(["ap-guangzhou-3", "ap-guangzhou-4", "ap-shanghai-2"]),
      },
      key: "tikv-cvm:availabilityZones",
    },
    {
      label: "availabilityZones with more zones than hosts",
      values: {
        availabilityZone: undefined,
        availabilityZones: JSON.stringify(["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6", "ap-guangzhou-7"]),
      },
      key: "tikv-cvm:availabilityZones",
    },
    {
      label: "availabilityZones with a malformed zone",
      values: { availabilityZone: undefined, availabilityZones: JSON.stringify(["Guangzhou 3"]) },
      key: "tikv-cvm:availabilityZones",
    },
    {
      label: "a single PD member spread over three zones",
      values: {
        availabilityZone: undefined,
        availabilityZones: JSON.stringify(["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6"]),
        pdCount: "1",
      },
      key: "tikv-cvm:pdCount",
    },
    {
      label: "three zones whose subnets leave the VPC",
      values: {
        availabilityZone: undefined,
        availabilityZones: JSON.stringify(["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6"]),
        vpcCidr: "10.0.0.0/24",
        subnetCidr: "10.0.0.128/25",
      },
      key: "tikv-cvm:subnetCidr",
    },
    { label: "placementGroupType unknown", values: { placementGroupType: "SW" }, key: "tikv-cvm:placementGroupType" },
    { label: "instanceType empty", values: { instanceType: " " }, key: "tikv-cvm:instanceType" },
    { label: "imageId malformed", values: { imageId: "ubuntu-22.04" }, key: "tikv-cvm:imageId" },
    { label: "systemDiskType unknown", values: { systemDiskType: "LOCAL_BASIC" }, key: "tikv-cvm:systemDiskType" },
    { label: "systemDiskSize too small", values: { systemDiskSize: "10" }, key: "tikv-cvm:systemDiskSize" },
    { label: "systemDiskSize too large", values: { systemDiskSize: "4096" }, key: "tikv-cvm:systemDiskSize" },
    { label: "dataDiskSize too small", values: { dataDiskSize: "10" }, key: "tikv-cvm:dataDiskSize" },
    { label: "dataDiskType unknown", values: { dataDiskType: "CLOUD_BASIC" }, key: "tikv-cvm:dataDiskType" },
    { label: "dataDiskEncrypt not a boolean", values: { dataDiskEncrypt: "yes" }, key: "tikv-cvm:dataDiskEncrypt" },
    { label: "retainDataDisks not a boolean", values: { retainDataDisks: "1" }, key: "tikv-cvm:retainDataDisks" },
    {
      label: "snapshot retention over a year",
      values: { dataDiskSnapshotRetentionDays: "400" },
      key: "tikv-cvm:dataDiskSnapshotRetentionDays",
    },
    {
      label: "snapshot hour 24",
      values: { dataDiskSnapshotRetentionDays: "7", dataDiskSnapshotHour: "24" },
      key: "tikv-cvm:dataDiskSnapshotHour",
    },
    {
      label: "snapshot hour without snapshots",
      values: { dataDiskSnapshotHour: "5" },
      key: "tikv-cvm:dataDiskSnapshotHour",
    },
    { label: "hostMemoryGiB below 4", values: { hostMemoryGiB: "2" }, key: "tikv-cvm:hostMemoryGiB" },
    { label: "caGeneration zero", values: { caGeneration: "0" }, key: "tikv-cvm:caGeneration" },
    { label: "caRotation unknown", values: { caRotation: "rotate" }, key: "tikv-cvm:caRotation" },
    {
      label: "trust-previous without a previous CA",
      values: { caRotation: "trust-previous" },
      key: "tikv-cvm:caRotation",
    },
    { label: "vpcCidr invalid", values: { vpcCidr: "10.0.0.0/33" }, key: "tikv-cvm:vpcCidr" },
    { label: "vpcCidr with host bits", values: { vpcCidr: "10.0.0.1/16" }, key: "tikv-cvm:vpcCidr" },
    // Zero-padded octets read as octal to inet_aton and are refused by Go's parser: one spelling only.
    {
      label: "vpcCidr zero-padded",
      values: { vpcCidr: "010.0.0.0/16", subnetCidr: "010.0.1.0/24" },
      key: "tikv-cvm:vpcCidr",
    },
    { label: "subnetCidr zero-padded", values: { subnetCidr: "10.0.01.0/24" }, key: "tikv-cvm:subnetCidr" },
    { label: "vpcCidr with a zero-padded prefix", values: { vpcCidr: "10.0.0.0/016" }, key: "tikv-cvm:vpcCidr" },
    { label: "subnetCidr outside the VPC", values: { subnetCidr: "192.168.1.0/24" }, key: "tikv-cvm:subnetCidr" },
    {
      label: "subnetCidr too small for the hosts",
      values: { subnetCidr: "10.0.1.0/28", nodeCount: "5" },
      key: "tikv-cvm:subnetCidr",
    },
    { label: "operatorCidrs missing", values: { operatorCidrs: undefined }, key: "tikv-cvm:operatorCidrs" },
    { label: "operatorCidrs empty", values: { operatorCidrs: "[]" }, key: "tikv-cvm:operatorCidrs" },
    {
      label: "operatorCidrs open to the internet",
      values: { operatorCidrs: JSON.stringify(["0.0.0.0/0"]) },
      key: "tikv-cvm:operatorCidrs",
    },
    { label: "operatorCidrs not a list", values: { operatorCidrs: "5.6.7.8/32" }, key: "tikv-cvm:operatorCidrs" },
    {
      label: "operatorCidrs entry not a CIDR",
      values: { operatorCidrs: JSON.stringify(["my-laptop"]) },
      key: "tikv-cvm:operatorCidrs",
    },
    { label: "clusterTls off in mode cvm", values: { clusterTls: "false" }, key: "tikv-cvm:clusterTls" },
    {
      label: "grafanaPublic without monitoring",
      values: { grafanaPublic: "true", monitoring: "false" },
      key: "tikv-cvm:grafanaPublic",
    },
    { label: "grafanaPublic not a boolean", values: { grafanaPublic: "yes" }, key: "tikv-cvm:grafanaPublic" },
    {
      label: "alertWebhookUrl not a URL",
      values: { alertWebhookUrl: "hooks.example.com/alerts" },
      extra: { secretKeys: ["alertWebhookUrl"] },
      key: "tikv-cvm:alertWebhookUrl",
    },
    {
      label: "alertWebhookUrl not http(s)",
      values: { alertWebhookUrl: "ftp://hooks.example.com/alerts" },
      extra: { secretKeys: ["alertWebhookUrl"] },
      key: "tikv-cvm:alertWebhookUrl",
    },
    {
      label: "alertWebhookUrl in plaintext",
      values: { alertWebhookUrl: "https://hooks.example.com/T0/B0/token" },
      key: "tikv-cvm:alertWebhookUrl",
    },
    {
      label: "alertWebhookUrl without monitoring",
      values: { alertWebhookUrl: "https://hooks.example.com/T0/B0/token", monitoring: "false" },
      extra: { secretKeys: ["alertWebhookUrl"] },
      key: "tikv-cvm:alertWebhookUrl",
    },
    {
      label: "secretKey in plaintext",
      values: {},
      key: "tencentcloud:secretKey",
      extra: { providerKeysInClear: ["tencentcloud:secretKey"] },
    },
    {
      label: "secretId in plaintext",
      values: {},
      key: "tencentcloud:secretId",
      extra: { providerKeysInClear: ["tencentcloud:secretId"] },
    },
    {
      label: "sshPublicKey not a public key",
      values: { sshPublicKey: "-----BEGIN OPENSSH PRIVATE KEY-----" },
      key: "tikv-cvm:sshPublicKey",
    },
    { label: "bandwidthMbps zero", values: { bandwidthMbps: "0" }, key: "tikv-cvm:bandwidthMbps" },
    { label: "bandwidthMbps above 200", values: { bandwidthMbps: "1000" }, key: "tikv-cvm:bandwidthMbps" },
    {
      label: "registryMirrors not URLs",
      values: { registryMirrors: JSON.stringify(["mirror.ccs.tencentyun.com"]) },
      key: "tikv-cvm:registryMirrors",
    },
    {
      label: "dataDiskIds not disk ids",
      values: { dataDiskIds: JSON.stringify(["vol-12345678"]) },
      key: "tikv-cvm:dataDiskIds",
    },
    {
      label: "dataDiskIds with more disks than hosts",
      values: { dataDiskIds: JSON.stringify(["disk-aaaaaaa1", "disk-aaaaaaa2", "disk-aaaaaaa3", "disk-aaaaaaa4"]) },
      key: "tikv-cvm:dataDiskIds",
    },
    {
      label: "dataDiskIds listing a disk twice",
      values: { dataDiskIds: JSON.stringify(["disk-aaaaaaa1", "disk-aaaaaaa1"]) },
      key: "tikv-cvm:dataDiskIds",
    },
    {
      label: "readinessTimeoutMinutes zero",
      values: { readinessTimeoutMinutes: "0" },
      key: "tikv-cvm:readinessTimeoutMinutes",
    },
    { label: "tencentcloudRoute unknown", values: { tencentcloudRoute: "npm" }, key: "tikv-cvm:tencentcloudRoute" },
    { label: "nofileLimit below 1024", values: { nofileLimit: "512" }, key: "tikv-cvm:nofileLimit" },
    { label: "nofileLimit above Linux's nr_open", values: { nofileLimit: "2000000" }, key: "tikv-cvm:nofileLimit" },
    { label: "a misspelt key", values: { nodecount: "5" }, key: "tikv-cvm:nodecount" },
    { label: "region missing", values: {}, key: "tencentcloud:region", extra: { region: undefined } },
    {
      label: "credentials missing",
      values: {},
      key: "tencentcloud:secretId/secretKey",
      extra: { hasSecretId: false, hasSecretKey: false },
    },
    { label: "secret key missing", values: {}, key: "tencentcloud:secretKey", extra: { hasSecretKey: false } },
    { label: "mode unknown", values: { mode: "kubernetes" }, key: "tikv-cvm:mode" },
    { label: "protect not a boolean", values: { protect: "yes" }, key: "tikv-cvm:protect" },
    { label: "monitoring not a boolean", values: { monitoring: "on" }, key: "tikv-cvm:monitoring" },
    { label: "allowDowngrade not a boolean", values: { allowDowngrade: "yes" }, key: "tikv-cvm:allowDowngrade" },
    {
      label: "rolloutTimeoutMinutes zero",
      values: { rolloutTimeoutMinutes: "0" },
      key: "tikv-cvm:rolloutTimeoutMinutes",
    },
    {
      label: "clients: a name that is not one",
      values: { clients: JSON.stringify(["My App"]) },
      key: "tikv-cvm:clients",
    },
    { label: "clients: a name twice", values: { clients: JSON.stringify(["a1", "a1"]) }, key: "tikv-cvm:clients" },
    {
      label: "clientGatewayImage on latest",
      values: { clientGatewayImage: "node:latest" },
      key: "tikv-cvm:clientGatewayImage",
    },
    {
      label: "clientGatewayImage without a tag",
      values: { clientGatewayImage: "node" },
      key: "tikv-cvm:clientGatewayImage",
    },
    {
      label: "rolloutTimeoutMinutes above an hour",
      values: { rolloutTimeoutMinutes: "61" },
      key: "tikv-cvm:rolloutTimeoutMinutes",
    },
    { label: "tikvImage without a tag", values: { tikvImage: "me/tikv" }, key: "tikv-cvm:tikvImage" },
    { label: "pdImage not a reference", values: { pdImage: "Me/PD:x" }, key: "tikv-cvm:pdImage" },
    { label: "tikvPatch not a path", values: { tikvPatch: "a\nb" }, key: "tikv-cvm:tikvPatch" },
    { label: "pdPatch not a path", values: { pdPatch: "a\u0000b" }, key: "tikv-cvm:pdPatch" },
    {
      label: "registry credentials with no image to pull",
      values: { registryUsername: "u", registryPassword: "p" },
      extra: { secretKeys: ["registryPassword"] },
      key: "tikv-cvm:registryUsername",
    },
    {
      label: "registryUsername without registryPassword",
      values: { tikvImage: "ccr.ccs.tencentyun.com/me/tikv:fix1", registryUsername: "u" },
      key: "tikv-cvm:registryPassword",
    },
  ];

  // One object per case: jest passes a `done` callback to a function with more parameters than a row has.
  const FIX = /pulumi config (set|rm)|export |e\.g\.|like |must be one of|write it as|use |lower |raise |choose /;
  test.each(bad)("rejects $label, naming the key", ({ values, key, extra }) => {
    const result = validateConfig(raw(values, extra));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.key)).toContain(key);
    expect(describeProblems(result.problems)).toContain(`${key}:`);
    // Each says how to fix it: a command, an example, or the allowed values.
    for (const p of result.problems.filter((p) => p.key === key))
      expect([p.message, FIX.test(p.message)]).toEqual([p.message, true]);
  });

  // Mode existing's own keys are refused in its table below ("mode existing").
  test("every key the program reads in mode cvm has a refused value in the table", () => {
    const refused = new Set(bad.map((b) => b.key));
    const existingOnly = ["hosts", "dockerCaPem", "dockerCertPem", "dockerKeyPem"];
    expect(KNOWN_KEYS.filter((k) => !existingOnly.includes(k) && !refused.has(`tikv-cvm:${k}`))).toEqual([]);
  });

  // Every rule of lib/operatorCidrs.ts, each refusal naming the entry and why.
  const cidrCases: { label: string; cidrs: string[]; entry: string; why: RegExp }[] = [
    { label: "the whole internet", cidrs: ["0.0.0.0/0"], entry: "0.0.0.0/0", why: /whole internet/ },
    {
      label: "the internet as two /1 halves",
      cidrs: ["0.0.0.0/1", "128.0.0.0/1"],
      entry: "128.0.0.0/1",
      why: /is a \/1, wider than a \/8/,
    },
    { label: "a /7", cidrs: ["8.0.0.0/7"], entry: "8.0.0.0/7", why: /wider than a \/8/ },
    { label: "a /4", cidrs: ["16.0.0.0/4"], entry: "16.0.0.0/4", why: /wider than a \/8/ },
    {
      label: "two /8s together",
      cidrs: ["8.0.0.0/8", "9.0.0.0/8"],
      entry: "8.0.0.0/8, 9.0.0.0/8",
      why: /together cover 33554432 addresses/,
    },
    {
      label: "many /9s adding up past a /8",
      cidrs: ["8.0.0.0/9", "8.128.0.0/9", "9.0.0.0/9"],
      entry: "8.0.0.0/9, 8.128.0.0/9, 9.0.0.0/9",
      why: /together cover/,
    },
    {
      label: "a range inside the VPC",
      cidrs: ["10.0.1.0/24"],
      entry: "10.0.1.0/24",
      why: /overlaps the VPC 10\.0\.0\.0\/16/,
    },
    { label: "a range containing the VPC", cidrs: ["10.0.0.0/8"], entry: "10.0.0.0/8", why: /overlaps the VPC/ },
    { label: "loopback", cidrs: ["127.0.0.1/32"], entry: "127.0.0.1/32", why: /loopback/ },
    {
      label: "link-local (the metadata service)",
      cidrs: ["169.254.0.23/32"],
      entry: "169.254.0.23/32",
      why: /link-local/,
    },
    { label: "multicast", cidrs: ["239.1.0.0/16"], entry: "239.1.0.0/16", why: /multicast/ },
    { label: "reserved", cidrs: ["240.0.0.0/8"], entry: "240.0.0.0/8", why: /reserved/ },
    { label: "the broadcast address", cidrs: ["255.255.255.255/32"], entry: "255.255.255.255/32", why: /broadcast/ },
    { label: '"this network"', cidrs: ["0.0.0.0/8"], entry: "0.0.0.0/8", why: /this network/ },
    { label: "host bits set", cidrs: ["5.6.7.8/24"], entry: "5.6.7.8/24", why: /write it as 5\.6\.7\.0\/24/ },
    { label: "a zero-padded prefix", cidrs: ["5.6.7.0/024"], entry: "5.6.7.0/024", why: /write it as 5\.6\.7\.0\/24/ },
    { label: "a zero-padded octet", cidrs: ["5.6.7.08/32"], entry: "5.6.7.08/32", why: /not an IPv4 network/ },
    { label: "surrounding spaces", cidrs: [" 5.6.7.8/32"], entry: " 5.6.7.8/32", why: /not an IPv4 network/ },
    { label: "an address without a prefix", cidrs: ["5.6.7.8"], entry: "5.6.7.8", why: /not an IPv4 network/ },
    // RFC 5737: never on the internet, so an operator there is a placeholder nobody replaced.
    {
      label: "documentation TEST-NET-1",
      cidrs: ["192.0.2.0/24"],
      entry: "192.0.2.0/24",
      why: /documentation \(TEST-NET-1, RFC 5737\)/,
    },
    {
      label: "documentation TEST-NET-2",
      cidrs: ["198.51.100.7/32"],
      entry: "198.51.100.7/32",
      why: /documentation \(TEST-NET-2, RFC 5737\)/,
    },
    {
      label: "documentation TEST-NET-3 (the stack files' placeholder)",
      cidrs: ["203.0.113.10/32"],
      entry: "203.0.113.10/32",
      why: /documentation \(TEST-NET-3, RFC 5737\).*ifconfig\.me/,
    },
    {
      label: "a range containing a documentation range",
      cidrs: ["203.0.0.0/16"],
      entry: "203.0.0.0/16",
      why: /RFC 5737/,
    },
    {
      label: "the same network twice",
      cidrs: ["5.6.7.8/32", "9.9.9.0/24", "5.6.7.8/32"],
      entry: "5.6.7.8/32",
      why: /is listed twice/,
    },
    { label: "hexadecimal", cidrs: ["0xcb.0.113.7/32"], entry: "0xcb.0.113.7/32", why: /not an IPv4 network/ },
    { label: "IPv6", cidrs: ["::/0"], entry: "::/0", why: /not an IPv4 network/ },
  ];
  test.each(cidrCases)("operatorCidrs: refuses $label, naming the entry and why", ({ cidrs, entry, why }) => {
    const result = validateConfig(raw({ operatorCidrs: JSON.stringify(cidrs) }));
    if (result.ok) throw new Error("expected a refusal");
    const messages = result.problems.filter((p) => p.key === "tikv-cvm:operatorCidrs").map((p) => p.message);
    expect(messages.some((m) => m.startsWith(`"${entry}" `) && why.test(m))).toBe(true);
  });

  test("operatorCidrs: accepts narrow public networks, up to a /8 in all", () => {
    for (const cidrs of [
      ["5.6.7.8/32"],
      ["8.0.0.0/8"],
      ["5.6.7.0/24", "9.9.9.0/28"],
      ["8.0.0.0/9", "8.128.0.0/9"],
      ["192.168.0.0/16"],
      ["5.6.7.0/24", "5.6.7.8/32"],
    ]) {
      const result = validateConfig(raw({ operatorCidrs: JSON.stringify(cidrs) }));
      expect([cidrs, result.ok ? [] : result.problems]).toEqual([cidrs, []]);
    }
  });

  test("operatorCidrs: the VPC rule follows vpcCidr", () => {
    expect(
      validateConfig(
        raw({ operatorCidrs: JSON.stringify(["10.0.1.0/24"]), vpcCidr: "172.16.0.0/16", subnetCidr: "172.16.1.0/24" }),
      ).ok,
    ).toBe(true);
    expect(
      validateConfig(
        raw({
          operatorCidrs: JSON.stringify(["172.16.9.0/24"]),
          vpcCidr: "172.16.0.0/16",
          subnetCidr: "172.16.1.0/24",
        }),
      ).ok,
    ).toBe(false);
  });

  test("clusterTls off stays possible where PD is not on the internet; credentials as secrets pass", () => {
    const existing = { mode: "existing", availabilityZone: undefined, operatorCidrs: undefined, clusterTls: "false" };
    expect(
      validateConfig(
        raw({
          mode: "local",
          hostMemoryGiB: "12",
          availabilityZone: undefined,
          operatorCidrs: undefined,
          clusterTls: "false",
        }),
      ).ok,
    ).toBe(true);
    const result = validateConfig(raw(existing));
    expect(result.ok ? [] : result.problems.map((p) => p.key)).not.toContain("tikv-cvm:clusterTls");
    expect(validateConfig(raw({}, { providerKeysInClear: [] })).ok).toBe(true);
    const clear = validateConfig(raw({}, { providerKeysInClear: ["tencentcloud:secretKey"] }));
    if (clear.ok) throw new Error("expected a refusal");
    expect(clear.problems[0].message).toMatch(/pulumi config set --secret tencentcloud:secretKey/);
  });

  test("collects every problem at once", () => {
    const result = validateConfig(
      raw({ nodeCount: "1", tikvVersion: "latest", operatorCidrs: undefined }, { region: undefined }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.key).sort()).toEqual([
      "tencentcloud:region",
      "tikv-cvm:nodeCount",
      "tikv-cvm:operatorCidrs",
      "tikv-cvm:tikvVersion",
    ]);
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
    // Untyped declarations (docs/config.md) let Pulumi.yaml declare `hosts`, a list of objects, too.
    expect(
      Object.keys(declared)
        .map((k) => k.replace(/^tikv-cvm:/, ""))
        .sort(),
    ).toEqual([...KNOWN_KEYS].sort());
    for (const decl of Object.values(declared)) expect(decl.description.length).toBeGreaterThan(10);
  });

  // The rules the CLI applies when it loads the project (pulumi/pulumi sdk/go/common/workspace
  // project.go, Project.Validate, and config.go, mergeConfig). No key declares a type: the program
  // checks every value itself (docs/config.md; test/configKeys.test.ts).
  test("follows the CLI's project config rules", () => {
    for (const [key, decl] of Object.entries(declared) as [string, { type?: string; default?: unknown }][]) {
      expect([key, decl.type]).toEqual([key, undefined]);
      // A declared key without a default is required by the CLI in every stack, whatever its mode.
      expect([key, decl.default !== undefined]).toEqual([key, true]);
    }
  });

  test("declares the same defaults as the program", () => {
    for (const [key, value] of Object.entries(DEFAULTS)) {
      expect([key, declared[`tikv-cvm:${key}`].default]).toEqual([key, value]);
    }
  });

  // The committed stacks carry a documentation address as the operator placeholder: a skipped
  // setup step is refused before anything is created, not found after a 15-minute readiness wait.
  test.each(["dev", "prod"])(
    "the %s stack's config passes validation once its placeholder operator address is replaced",
    (name) => {
      const stack = parse(fs.readFileSync(path.join(__dirname, "..", `Pulumi.${name}.yaml`), "utf8")).config as Record<
        string,
        unknown
      >;
      const values: Record<string, string> = {};
      for (const [k, v] of Object.entries(stack)) {
        if (k.startsWith("tikv-cvm:")) values[k.slice(9)] = typeof v === "string" ? v : JSON.stringify(v);
      }
      const validate = (extra: Record<string, string>) =>
        validateConfig({
          values: { ...values, ...extra },
          region: stack["tencentcloud:region"] as string,
          hasSecretId: true,
          hasSecretKey: true,
        });
      const committed = validate({});
      if (committed.ok) throw new Error("the placeholder operator address was accepted");
      expect(committed.problems).toEqual([
        expect.objectContaining({
          key: "tikv-cvm:operatorCidrs",
          message: expect.stringMatching(
            /^"203\.0\.113\.10\/32" overlaps 203\.0\.113\.0\/24: documentation .*pulumi config set --path 'tikv-cvm:operatorCidrs\[0\]'/,
          ),
        }),
      ]);
      expect(validate({ operatorCidrs: JSON.stringify(["5.6.7.8/32"]) }).ok).toBe(true);
    },
  );
});

describe("modes", () => {
  const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n";
  const HOSTS = JSON.stringify(
    [1, 2, 3].map((i) => ({ name: `db${i}`, dockerHost: `tcp://192.0.2.1${i}:2376`, privateIp: `10.9.0.1${i}` })),
  );
  const existing = (
    values: Record<string, string | undefined>,
    secretKeys = ["dockerCaPem", "dockerCertPem", "dockerKeyPem"],
  ) =>
    validateConfig({
      values: { mode: "existing", hosts: HOSTS, dockerCaPem: CA, dockerCertPem: CA, dockerKeyPem: KEY, ...values },
      hasSecretId: false,
      hasSecretKey: false,
      secretKeys,
    });
  /** What the CLI hands over for a stack that only sets mode: every declared default. */
  const cliDefaults = (mode: string): Record<string, string> => ({
    mode,
    nodeCount: "3",
    instanceType: "S5.MEDIUM4",
    availabilityZone: "",
    operatorCidrs: "[]",
    imageId: "",
    registryMirrors: JSON.stringify(DEFAULTS.registryMirrors),
    tencentcloudRoute: "terraform",
    systemDiskSize: "20",
  });

  test("local needs no cloud settings, region or credentials, even with the CLI's defaults present", () => {
    const result = validateConfig({
      values: { ...cliDefaults("local"), hostMemoryGiB: "8" },
      hasSecretId: false,
      hasSecretKey: false,
    });
    if (!result.ok) throw new Error(describeProblems(result.problems));
    expect(result.settings).toMatchObject({ mode: "local", nodeCount: 3, hostMemoryGiB: 8 });
  });

  test("a cvm-only key set in local mode is rejected, naming the key and the mode", () => {
    const result = validateConfig({
      values: {
        mode: "local",
        hostMemoryGiB: "8",
        instanceType: "S5.LARGE8",
        operatorCidrs: JSON.stringify(["5.6.7.8/32"]),
      },
      hasSecretId: false,
      hasSecretKey: false,
    });
    if (result.ok) throw new Error("expected failure");
    expect(result.problems.map((p) => p.key).sort()).toEqual(["tikv-cvm:instanceType", "tikv-cvm:operatorCidrs"]);
    expect(result.problems[0].message).toMatch(/only applies to mode cvm, and this stack's mode is local/);
  });

  test("local refuses a machine too small for its pairs", () => {
    const result = validateConfig({
      values: { mode: "local", nodeCount: "3" },
      hasSecretId: false,
      hasSecretKey: false,
    });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.map((p) => p.key)).toEqual(["tikv-cvm:hostMemoryGiB"]);
  });

  test("existing takes its hosts from the list and its Docker material from secrets", () => {
    const result = existing(cliDefaults("existing"));
    if (!result.ok) throw new Error(describeProblems(result.problems));
    if (result.settings.mode !== "existing") throw new Error("wrong mode");
    expect(result.settings.nodeCount).toBe(3);
    expect(result.settings.existing.hosts[2]).toEqual({
      name: "db3",
      dockerHost: "tcp://192.0.2.13:2376",
      privateIp: "10.9.0.13",
    });
  });

  test("spreads hosts over three zones, in the HOST placement group by default", () => {
    const zones = ["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6"];
    const result = validateConfig(raw({ availabilityZone: undefined, availabilityZones: JSON.stringify(zones) }));
    if (!result.ok) throw new Error(describeProblems(result.problems));
    if (result.settings.mode !== "cvm") throw new Error("wrong mode");
    expect(result.settings.cvm.availabilityZones).toEqual(zones);
    expect(result.settings.cvm.placementGroupType).toBe("HOST");
  });

  const ZONED = (zones: string[]) =>
    JSON.stringify(
      zones.map((zone, i) => ({
        name: `db${i + 1}`,
        dockerHost: `tcp://192.0.2.1${i + 1}:2376`,
        privateIp: `10.9.0.1${i + 1}`,
        zone,
      })),
    );

  test("existing hosts may carry their zones", () => {
    const result = existing({ hosts: ZONED(["dc-a", "dc-b", "dc-c"]) });
    if (!result.ok) throw new Error(describeProblems(result.problems));
    if (result.settings.mode !== "existing") throw new Error("wrong mode");
    expect(result.settings.existing.hosts.map((h) => h.zone)).toEqual(["dc-a", "dc-b", "dc-c"]);
  });

  test.each([
    ["a zone on some hosts only", HOSTS.replace('"privateIp":"10.9.0.12"', '"privateIp":"10.9.0.12","zone":"dc-b"')],
    ["two zones, one holding a PD majority", ZONED(["dc-a", "dc-a", "dc-b"])],
    ["a zone that is no PD label value", ZONED(["dc a", "dc-b", "dc-c"])],
  ])("existing refuses %s, naming hosts", (_label, hosts) => {
    const result = existing({ hosts });
    if (result.ok) throw new Error("expected failure");
    expect(result.problems.map((p) => p.key)).toEqual(["tikv-cvm:hosts"]);
  });

  test.each([
    ["material missing", { dockerKeyPem: undefined }, "tikv-cvm:dockerKeyPem"],
    ["material not PEM", { dockerCaPem: "hello" }, "tikv-cvm:dockerCaPem"],
    ["hosts missing", { hosts: undefined }, "tikv-cvm:hosts"],
    ["too few hosts", { hosts: JSON.stringify(JSON.parse(HOSTS).slice(0, 2)) }, "tikv-cvm:hosts"],
    ["a bad dockerHost", { hosts: HOSTS.replace("tcp://192.0.2.12:2376", "192.0.2.12") }, "tikv-cvm:hosts"],
    ["a duplicate address", { hosts: HOSTS.replace("10.9.0.12", "10.9.0.11") }, "tikv-cvm:hosts"],
    ["a zero-padded privateIp", { hosts: HOSTS.replace("10.9.0.12", "10.9.0.012") }, "tikv-cvm:hosts"],
    ["nodeCount disagreeing with hosts", { nodeCount: "5" }, "tikv-cvm:nodeCount"],
    ["a loopback privateIp", { hosts: HOSTS.replace("10.9.0.12", "127.0.0.1") }, "tikv-cvm:hosts"],
    ["an unspecified privateIp", { hosts: HOSTS.replace("10.9.0.12", "0.0.0.0") }, "tikv-cvm:hosts"],
    ["a port above 65535", { hosts: HOSTS.replace(":2376", ":99999") }, "tikv-cvm:hosts"],
    [
      "a misspelt field",
      { hosts: HOSTS.replace('"privateIp":"10.9.0.12"', '"privateIP":"10.9.0.12"') },
      "tikv-cvm:hosts",
    ],
    ["a list given as one string", { hosts: "db1,db2,db3" }, "tikv-cvm:hosts"],
    ["a cvm-only key", { availabilityZone: "ap-guangzhou-3" }, "tikv-cvm:availabilityZone"],
  ] as [string, Record<string, string | undefined>, string][])("existing rejects %s", (_label, values, key) => {
    const result = existing(values);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.map((p) => p.key)).toContain(key);
  });

  test("hosts that are not a list, or carry an unknown field, are told so (not 'is required')", () => {
    const notList = existing({ hosts: "db1,db2,db3" });
    if (notList.ok) throw new Error("expected failure");
    expect(notList.problems[0].message).toMatch(/^must be a list of \{name, dockerHost, privateIp\} entries/);
    const typo = existing({ hosts: HOSTS.replace('"privateIp":"10.9.0.12"', '"privateIP":"10.9.0.12"') });
    if (typo.ok) throw new Error("expected failure");
    expect(typo.problems.map((p) => p.message).join("\n")).toContain(
      'hosts[1] has "privateIP", which is not a field of a host',
    );
  });

  test("existing requires the material to be stored as secrets", () => {
    const result = existing({}, ["dockerCaPem", "dockerCertPem"]);
    if (result.ok) throw new Error("expected failure");
    expect(result.problems).toEqual([
      expect.objectContaining({ key: "tikv-cvm:dockerKeyPem", message: expect.stringMatching(/--secret/) }),
    ]);
  });

  test("the fix offered for an even pdCount is one the stack accepts", () => {
    for (const [pdCount, nodeCount] of [
      ["4", "3"],
      ["2", "3"],
      ["4", "5"],
      ["6", "20"],
    ]) {
      const base = { mode: "local", hostMemoryGiB: "64", nodeCount };
      const result = validateConfig({ values: { ...base, pdCount }, hasSecretId: false, hasSecretKey: false });
      if (result.ok) throw new Error("expected failure");
      const offered = /pulumi config set tikv-cvm:pdCount (\d+)/.exec(result.problems[0].message)?.[1];
      expect([
        pdCount,
        nodeCount,
        offered &&
          validateConfig({ values: { ...base, pdCount: offered }, hasSecretId: false, hasSecretKey: false }).ok,
      ]).toEqual([pdCount, nodeCount, true]);
    }
  });

  test("with an unknown mode, the keys of every mode are still judged, all together", () => {
    const result = validateConfig({
      values: { mode: "CVM", nodeCount: "abc", monitoring: "yes" },
      hasSecretId: false,
      hasSecretKey: false,
    });
    if (result.ok) throw new Error("expected failure");
    expect(result.problems.map((p) => p.key).sort()).toEqual([
      "tikv-cvm:mode",
      "tikv-cvm:monitoring",
      "tikv-cvm:nodeCount",
    ]);
  });

  test("an unknown mode is rejected with the three choices", () => {
    const result = validateConfig({ values: { mode: "kubernetes" }, hasSecretId: false, hasSecretKey: false });
    if (result.ok) throw new Error("expected failure");
    expect(result.problems[0]).toMatchObject({
      key: "tikv-cvm:mode",
      message: expect.stringMatching(/cvm, local, existing/),
    });
  });
});

test("a refused alertWebhookUrl is never echoed: the URL is a secret, often with a token in it", () => {
  for (const url of ["hooks.example.com/T0/B0/tok3n-s3cret", "ftp://hooks.example.com/T0/B0/tok3n-s3cret"]) {
    const result = validateConfig(raw({ alertWebhookUrl: url }, { secretKeys: ["alertWebhookUrl"] }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = describeProblems(result.problems);
    expect(text).toMatch(/tikv-cvm:alertWebhookUrl: /);
    expect(text).not.toContain("tok3n-s3cret");
  }
});
