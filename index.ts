// tikv-cvm: reads the stack config and wires the components. Everything else lives in
// components/ (resources) and lib/ (pure logic).
import * as pulumi from "@pulumi/pulumi";
import { ClusterTls } from "./components/clusterTls";
import { DockerHost } from "./components/dockerHost";
import { ExistingHost } from "./components/existingHost";
import { LocalEngine } from "./components/localEngine";
import { Monitoring } from "./components/monitoring";
import { Network } from "./components/network";
import { Pki } from "./components/pki";
import { ClusterHost, ClusterNetworking, TikvCluster } from "./components/tikvCluster";
import { openFilesWarning } from "./lib/clusterConfig";
import { certDir, certSetupCommand, dockerEnv, dockerPsCommand, pdCtlCommand } from "./lib/commands";
import { LastDeployment, deploymentRecord, pdInitialCluster, readLastDeployment, refusedChanges } from "./lib/lastDeployment";
import { DeployedHost } from "./lib/rolloutPlan";
import { hostShare, localShare, planMemory } from "./lib/memoryBudget";
import { CvmSettings, ExistingSettings, PROJECT, RawConfig, describeProblems, validateConfig } from "./lib/settings";
import { Addressing, PORTS, planCluster } from "./lib/topology";
import * as tc from "./tencentcloud/bindings";

function readRawConfig(): RawConfig {
  const all = pulumi.runtime.allConfig();
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(all)) {
    if (key.startsWith(`${PROJECT}:`)) values[key.slice(PROJECT.length + 1)] = value;
  }
  const provider = new pulumi.Config("tencentcloud");
  const env = process.env;
  // @pulumi/pulumi's runtime knows which keys were set with --secret (runtime/config.js
  // isConfigSecret, marked internal in its typings).
  const { isConfigSecret } = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  return {
    values,
    region: provider.get("region") ?? env.TENCENTCLOUD_REGION,
    hasSecretId: Boolean(provider.get("secretId") ?? env.TENCENTCLOUD_SECRET_ID),
    hasSecretKey: Boolean(provider.get("secretKey") ?? env.TENCENTCLOUD_SECRET_KEY),
    secretKeys: Object.keys(values).filter((k) => isConfigSecret?.(`${PROJECT}:${k}`) === true),
    providerKeysInClear: ["tencentcloud:secretId", "tencentcloud:secretKey"]
      .filter((k) => all[k] !== undefined && isConfigSecret?.(k) !== true),
  };
}

const validation = validateConfig(readRawConfig());
if (!validation.ok) {
  throw new pulumi.RunError(describeProblems(validation.problems));
}
const settings = validation.settings;
const nofileWarning = openFilesWarning(settings.nofileLimit);
if (nofileWarning) pulumi.log.warn(nofileWarning);
const stack = pulumi.getStack();
const prefix = `tikv-${stack}`;
const tags = { project: PROJECT, stack };
const addressing: Addressing = settings.mode === "cvm" ? { kind: "subnet", subnetCidr: settings.cvm.subnetCidr }
  : settings.mode === "existing" ? { kind: "listed", hosts: settings.existing.hosts } : { kind: "containers" };
const plan = planCluster(settings.nodeCount, settings.pdCount, addressing, settings.clusterTls);

/**
 * What each CVM waits for before it changes: its host's "before" rollout gate, which the cluster
 * declares after the hosts; resolved once the cluster is declared.
 */
interface HostDrain {
  gates: pulumi.Output<pulumi.Resource[]>;
  resolve(gates: pulumi.Resource[]): void;
}

/** Mode cvm: network, CVMs with Docker behind mutual TLS, a provider per host. */
function cvmHosts(cvm: CvmSettings, pki: Pki, last: LastDeployment, drains: readonly HostDrain[]): DockerHost[] {
  tc.useRoute(cvm.tencentcloudRoute);
  const network = new Network(`${prefix}-net`, {
    vpcCidr: cvm.vpcCidr,
    subnetCidr: cvm.subnetCidr,
    availabilityZone: cvm.availabilityZone,
    operatorCidrs: cvm.operatorCidrs,
    sshEnabled: cvm.sshPublicKey !== undefined,
    grafana: settings.monitoring && settings.grafanaPublic,
    tags,
  });
  const keyPair = cvm.sshPublicKey === undefined ? undefined : new tc.KeyPair(`${prefix}-ssh`, {
    // Key pair names allow 1-25 letters, digits or underscores.
    keyName: `tikv_${stack}`.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 25),
    publicKey: cvm.sshPublicKey,
  // The provider's schema returns a privateKey (set when Tencent Cloud generates the pair); this
  // pair only imports a public key, but whatever lands there stays encrypted.
  }, { additionalSecretOutputs: ["privateKey"] });
  const imageId: pulumi.Input<string> = cvm.imageId ?? tc.getImages({
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
  const snapshots = cvm.dataDisk.snapshot && new tc.CbsSnapshotPolicy(`${prefix}-data-snapshots`, {
    snapshotPolicyName: `${prefix}-data-daily`,
    repeatWeekdays: [0, 1, 2, 3, 4, 5, 6],
    repeatHours: [cvm.dataDisk.snapshot.hour],
    retentionDays: cvm.dataDisk.snapshot.retentionDays,
  });
  return plan.hosts.map((hostPlan, i) => new DockerHost(`${prefix}-${hostPlan.index}`, {
    plan: hostPlan,
    availabilityZone: cvm.availabilityZone,
    instanceType: cvm.instanceType,
    imageId,
    imageFromLookup: cvm.imageId === undefined,
    protect: settings.protect,
    systemDiskType: cvm.systemDiskType,
    systemDiskSize: cvm.systemDiskSize,
    dataDisk: cvm.dataDisk,
    snapshotPolicyId: snapshots ? snapshots.id : undefined,
    bandwidthMbps: cvm.bandwidthMbps,
    registryMirrors: cvm.registryMirrors,
    readinessTimeoutMinutes: cvm.readinessTimeoutMinutes,
    vpcId: network.vpcId,
    subnetId: network.subnetId,
    securityGroupId: network.securityGroupId,
    keyPairId: keyPair?.id,
    pki,
    tags,
    lastDeployed: last.hosts?.[hostPlan.name],
    drainedBy: drains[i].gates,
  }));
}

/** Mode existing: the listed hosts, reached with the client material kept as secrets. */
function existingHosts(existing: ExistingSettings): ExistingHost[] {
  const config = new pulumi.Config(PROJECT);
  const material = {
    caPem: config.requireSecret("dockerCaPem"),
    certPem: config.requireSecret("dockerCertPem"),
    keyPem: config.requireSecret("dockerKeyPem"),
  };
  return plan.hosts.map((hostPlan, i) => new ExistingHost(`${prefix}-${hostPlan.index}`, {
    plan: hostPlan,
    dockerHost: existing.hosts[i].dockerHost,
    ...material,
    readinessTimeoutMinutes: existing.readinessTimeoutMinutes,
  }));
}

/** Where the cluster runs, and how the operator's docker CLI reaches each engine. */
interface Placement {
  hosts: ClusterHost[];
  networking: ClusterNetworking;
  dockerHosts: pulumi.Input<string>[];
  /** Environment for the docker CLI, per host ("" for this machine's own engine). */
  dockerEnvs: pulumi.Output<string>[];
  /** Mode cvm: what the next deployment compares each CVM with, by host name. */
  hostRollout?: pulumi.Output<Record<string, DeployedHost>>;
}

/** Mode local: this machine's engine for every member, on one user-defined network. */
function localPlacement(): Placement {
  const engine = new LocalEngine(`${prefix}-local`, { networkName: prefix });
  return {
    hosts: plan.hosts.map((hostPlan) => ({ plan: hostPlan, provider: engine.provider, dockerApi: { kind: "environment" as const }, operatorAddress: "127.0.0.1" })),
    networking: { kind: "bridge", network: engine.networkName, namePrefix: prefix },
    dockerHosts: plan.hosts.map(() => "this machine's engine (DOCKER_HOST or the default socket)"),
    dockerEnvs: plan.hosts.map(() => pulumi.output("")),
  };
}

function placement(pki: Pki, last: LastDeployment, drains: readonly HostDrain[]): Placement {
  switch (settings.mode) {
    case "cvm": {
      const hosts = cvmHosts(settings.cvm, pki, last, drains);
      return {
        hosts, networking: { kind: "host" },
        dockerHosts: hosts.map((h) => h.dockerHost),
        dockerEnvs: hosts.map((h) => h.publicIp.apply((ip) => dockerEnv(certDir(stack), `tcp://${ip}:${PORTS.docker}`))),
        hostRollout: pulumi.all(Object.fromEntries(hosts.map((h) => [h.plan.name, h.deployed]))),
      };
    }
    case "existing": {
      const hosts = existingHosts(settings.existing);
      return {
        hosts, networking: { kind: "host" },
        dockerHosts: hosts.map((h) => h.dockerHost),
        // The client material is the user's own: point DOCKER_CERT_PATH at it.
        dockerEnvs: settings.existing.hosts.map((h) => pulumi.output(dockerEnv("<your Docker client cert dir>", h.dockerHost))),
      };
    }
    case "local":
      return localPlacement();
    default: {
      const never: never = settings;
      throw new Error(`unknown mode ${JSON.stringify(never)}`);
    }
  }
}

/**
 * This stack's own outputs from its last deployment (a stack may read itself back:
 * pulumi/pulumi#3722): which members exist, and what the cluster was built with.
 */
async function readLast(): Promise<LastDeployment> {
  const self = new pulumi.StackReference(`${prefix}-last-deployment`, {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`,
  });
  const [rolloutOrder, tikvStores, deployment, hostRollout] = await Promise.all(
    ["rolloutOrder", "tikvStores", "deployment", "hostRollout"].map((name) => self.getOutputValue(name)));
  return readLastDeployment({ rolloutOrder, tikvStores, deployment, hostRollout });
}

/**
 * Refuses a change the running cluster cannot take before any cluster resource is declared,
 * then declares everything; the returned object is the stack's outputs.
 */
export = async () => {
  const last = await readLast();
  const refused = refusedChanges(settings, plan, last);
  if (refused.length > 0) {
    throw new pulumi.RunError(`${describeProblems(refused)}\nThe running cluster cannot take these changes in place; nothing was changed.`);
  }
  const pki = new Pki(`${prefix}-pki`, { organization: `tikv-cvm ${stack}`, ca: settings.ca });
  // The CVMs wait for their hosts' "before" rollout gates, which the cluster declares after them.
  const drains: HostDrain[] = plan.hosts.map(() => {
    let resolve: (gates: pulumi.Resource[]) => void = () => undefined;
    const gates = new Promise<pulumi.Resource[]>((r) => { resolve = r; });
    return { gates: pulumi.output(gates), resolve: (g) => resolve(g) };
  });
  const placed = placement(pki, last, drains);
  const clusterHosts = placed.hosts;

  const clusterTls = settings.clusterTls ? new ClusterTls(`${prefix}-cluster-tls`, {
    organization: `tikv-cvm ${stack}`,
    hosts: clusterHosts.map((h) => ({ plan: h.plan, operatorAddress: h.operatorAddress })),
    monitoring: settings.monitoring,
    grafanaAddress: settings.grafanaPublic ? clusterHosts[0].operatorAddress : undefined,
    ca: settings.ca,
  }) : undefined;

  const initialCluster = pdInitialCluster(last, plan);
  const cluster = new TikvCluster(`${prefix}-cluster`, {
    hosts: clusterHosts,
    plan,
    tikvVersion: settings.tikvVersion,
    memory: (host) => planMemory(settings.mode === "local"
      ? localShare(settings.hostMemoryGiB, settings.nodeCount, host.pdName !== undefined, settings.monitoring)
      : hostShare(settings.hostMemoryGiB, host.pdName !== undefined, settings.monitoring && host.index === 1)),
    diskGB: settings.diskGB,
    networking: placed.networking,
    tls: clusterTls && {
      caPem: clusterTls.caCertPem,
      hostCerts: clusterTls.hostCerts,
      // The rollout gates present the cluster admin's certificate, never the Docker credential.
      clientCertPem: clusterTls.adminCert.certPem,
      clientKeyPem: clusterTls.adminCert.keyPem,
    },
    protect: settings.protect,
    rolloutTimeoutMinutes: settings.rolloutTimeoutMinutes,
    nofileLimit: settings.nofileLimit,
    last,
    pdInitialCluster: initialCluster,
  });
  drains.forEach((drain, i) => drain.resolve(cluster.hostBeforeGates[i] ? [cluster.hostBeforeGates[i]!] : []));

  const monitoring = settings.monitoring ? new Monitoring(`${prefix}-monitoring`, {
    host: clusterHosts[0],
    plan,
    networking: placed.networking,
    tls: clusterTls?.monitoringCert && {
      caPem: clusterTls.caCertPem, certPem: clusterTls.monitoringCert.certPem, keyPem: clusterTls.monitoringCert.keyPem,
    },
    grafanaHttps: clusterTls?.grafanaCert,
    protect: settings.protect,
  }) : undefined;

  const pdCommand = (subcommand: string): pulumi.Output<string> => {
    const first = clusterHosts[0];
    const pdContainer = placed.networking.kind === "bridge" ? `${placed.networking.namePrefix}-${first.plan.pdName}` : first.plan.pdName ?? "pd1";
    return placed.dockerEnvs[0].apply((env) => pdCtlCommand({ dockerEnv: env, pdContainer, tls: settings.clusterTls }, subcommand));
  };

  return {
    mode: settings.mode,
    hosts: clusterHosts.map((h, i) => ({
      name: h.plan.name,
      /** The EIP (cvm), the listed address (existing) or 127.0.0.1 (local). */
      publicIp: h.operatorAddress,
      privateIp: h.plan.privateIp ?? h.plan.tikvHost,
      dockerHost: placed.dockerHosts[i],
    })),
    pdEndpoints: cluster.pdEndpoints.apply((eps) => eps.map((e) => `${plan.scheme}://${e}`)),
    /** Read back by the next deployment (readLast), with tikvStores and deployment. */
    rolloutOrder: cluster.rolloutOrder,
    tikvStores: cluster.tikvStores,
    deployment: deploymentRecord(settings, plan, initialCluster),
    /** Mode cvm: each CVM's roll key and deployed user data (secret), for the next deployment. */
    hostRollout: placed.hostRollout && pulumi.secret(placed.hostRollout),
    /** The Docker CA, and the operator's Docker client certificate: root on every host. */
    caCertPem: pki.caCertPem,
    clientCertPem: pki.clientCertPem,
    clientKeyPem: pulumi.secret(pki.clientKeyPem),
    /** The cluster CA, and the cluster admin's certificate for pd-ctl: PD's API, no Docker. */
    clusterCaCertPem: clusterTls?.caCertPem,
    clusterAdminCertPem: clusterTls?.adminCert.certPem,
    clusterAdminKeyPem: clusterTls && pulumi.secret(clusterTls.adminCert.keyPem),
    certSetup: settings.mode === "cvm" ? certSetupCommand(stack, settings.clusterTls) : undefined,
    dockerCommands: placed.dockerEnvs.map((env) => env.apply(dockerPsCommand)),
    pdCtlMembers: pdCommand("member"),
    pdCtlStores: pdCommand("store"),
    grafanaUrl: monitoring?.grafanaUrl,
    grafanaAdminPassword: monitoring?.grafanaAdminPassword,
  };
};
