// tikv-cvm: reads the stack config and wires the components. Everything else lives in
// components/ (resources) and lib/ (pure logic).
import * as pulumi from "@pulumi/pulumi";
import { DockerHost } from "./components/dockerHost";
import { Network } from "./components/network";
import { Pki } from "./components/pki";
import { TikvCluster } from "./components/tikvCluster";
import { certSetupCommand, dockerPsCommand, pdCtlCommand } from "./lib/commands";
import { PROJECT, RawConfig, describeProblems, validateConfig } from "./lib/settings";
import { planCluster } from "./lib/topology";
import * as tc from "./tencentcloud/bindings";

function readRawConfig(): RawConfig {
  const all = pulumi.runtime.allConfig();
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(all)) {
    if (key.startsWith(`${PROJECT}:`)) values[key.slice(PROJECT.length + 1)] = value;
  }
  const provider = new pulumi.Config("tencentcloud");
  const env = process.env;
  return {
    values,
    region: provider.get("region") ?? env.TENCENTCLOUD_REGION,
    hasSecretId: Boolean(provider.get("secretId") ?? env.TENCENTCLOUD_SECRET_ID),
    hasSecretKey: Boolean(provider.get("secretKey") ?? env.TENCENTCLOUD_SECRET_KEY),
  };
}

const validation = validateConfig(readRawConfig());
if (!validation.ok) {
  throw new pulumi.RunError(describeProblems(validation.problems));
}
const settings = validation.settings;
tc.useRoute(settings.tencentcloudRoute);
const stack = pulumi.getStack();
const prefix = `tikv-${stack}`;
const tags = { project: PROJECT, stack };
const plan = planCluster(settings.nodeCount, settings.pdCount, settings.subnetCidr);

const network = new Network(`${prefix}-net`, {
  vpcCidr: settings.vpcCidr,
  subnetCidr: settings.subnetCidr,
  availabilityZone: settings.availabilityZone,
  operatorCidrs: settings.operatorCidrs,
  sshEnabled: settings.sshPublicKey !== undefined,
  tags,
});
const pki = new Pki(`${prefix}-pki`, { organization: `tikv-cvm ${stack}` });

const keyPair = settings.sshPublicKey === undefined ? undefined : new tc.KeyPair(`${prefix}-ssh`, {
  // Key pair names allow 1-25 letters, digits or underscores.
  keyName: `tikv_${stack}`.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 25),
  publicKey: settings.sshPublicKey,
});

const imageId: pulumi.Input<string> = settings.imageId ?? tc.getImages({
  imageTypes: ["PUBLIC_IMAGE"],
  // Anchored: a UEFI variant of the same name also exists.
  imageNameRegex: "^Ubuntu Server 22\\.04 LTS 64bit$",
}).apply((result) => {
  if (result.images.length === 0) {
    throw new Error("no public image matches Ubuntu Server 22.04 LTS 64bit in this region; " +
      `set one with: pulumi config set ${PROJECT}:imageId img-xxxxxxxx`);
  }
  return result.images[0].imageId;
});

const dockerHosts = plan.hosts.map((hostPlan) => new DockerHost(`${prefix}-${hostPlan.index}`, {
  plan: hostPlan,
  availabilityZone: settings.availabilityZone,
  instanceType: settings.instanceType,
  imageId,
  imageFromLookup: settings.imageId === undefined,
  protect: settings.protect,
  systemDiskType: settings.systemDiskType,
  systemDiskSize: settings.systemDiskSize,
  bandwidthMbps: settings.bandwidthMbps,
  registryMirrors: settings.registryMirrors,
  readinessTimeoutMinutes: settings.readinessTimeoutMinutes,
  vpcId: network.vpcId,
  subnetId: network.subnetId,
  securityGroupId: network.securityGroupId,
  keyPairId: keyPair?.id,
  pki,
  tags,
}));

// This stack's own outputs from its last deployment (a stack may read itself back:
// pulumi/pulumi#3722): which members exist already, so only they are rolled one at a time.
const lastDeployment = new pulumi.StackReference(`${prefix}-last-deployment`, {
  name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`,
});
const deployedMembers = lastDeployment.getOutput("rolloutOrder")
  .apply((value): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []));

const cluster = new TikvCluster(`${prefix}-cluster`, {
  hosts: dockerHosts,
  plan,
  tikvVersion: settings.tikvVersion,
  hostMemoryGiB: settings.hostMemoryGiB,
  systemDiskSize: settings.systemDiskSize,
  protect: settings.protect,
  rolloutTimeoutMinutes: settings.rolloutTimeoutMinutes,
  deployedMembers,
});

// Host 1 always runs PD (pdCount >= 1), so pd-ctl runs there.
const firstPd = dockerHosts[0];
const firstPdName = firstPd.plan.pdName ?? "pd1";
export const hosts = dockerHosts.map((h) => ({
  name: h.plan.name,
  publicIp: h.publicIp,
  privateIp: h.privateIp,
  dockerHost: h.dockerHost,
}));
export const pdEndpoints = cluster.pdEndpoints;
/** Read back by the next deployment; see TikvClusterArgs.deployedMembers. */
export const rolloutOrder = cluster.rolloutOrder;
export const tikvStores = cluster.tikvStores;
export const caCertPem = pki.caCertPem;
export const clientCertPem = pki.clientCertPem;
export const clientKeyPem = pulumi.secret(pki.clientKeyPem);
export const certSetup = certSetupCommand(stack);
export const dockerCommands = dockerHosts.map((h) => h.publicIp.apply((ip) => dockerPsCommand(stack, ip)));
export const pdCtlMembers = firstPd.publicIp.apply((ip) =>
  pdCtlCommand({ stack, pdHostPublicIp: ip, pdName: firstPdName }, "member"));
export const pdCtlStores = firstPd.publicIp.apply((ip) =>
  pdCtlCommand({ stack, pdHostPublicIp: ip, pdName: firstPdName }, "store"));
