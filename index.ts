// tikv-cvm: reads the stack config, asks the mode (modes/) where the cluster runs, and wires the
// components. Everything else lives in components/ (resources) and lib/ (pure logic).
import * as pulumi from "@pulumi/pulumi";
import { ClusterTls } from "./components/clusterTls";
import { Monitoring } from "./components/monitoring";
import { Pki } from "./components/pki";
import { TikvCluster } from "./components/tikvCluster";
import { Patch, componentBuild, readPatch } from "./lib/builds";
import { openFilesWarning } from "./lib/clusterConfig";
import { clientRunCommand, dockerPsCommand, pdCtlCommand } from "./lib/commands";
import {
  LastDeployment,
  deploymentRecord,
  pdInitialCluster,
  readLastDeployment,
  refusedChanges,
} from "./lib/lastDeployment";
import { alertRules } from "./lib/alertRules";
import { engineCapsMiB, planMemory, storeReserveBytes, tikvCapacityGB } from "./lib/memoryBudget";
import { containerName } from "./lib/networking";
import { GATEWAY_MIB, gatewayEndpoints } from "./lib/pdGateway";
import { PROJECT, RawConfig, describeProblems, validateConfig } from "./lib/settings";
import { planCluster } from "./lib/topology";
import { modeOf } from "./modes";

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
    providerKeysInClear: ["tencentcloud:secretId", "tencentcloud:secretKey"].filter(
      (k) => all[k] !== undefined && isConfigSecret?.(k) !== true,
    ),
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
const mode = modeOf(settings, { stack, prefix, tags: { project: PROJECT, stack } });
// The user's binaries (tikvPatch, pdPatch): read and checked against the hosts' architecture before
// anything is declared, so a wrong file stops the deployment at once, naming the key.
const patches: { pd?: Patch; tikv?: Patch } = {};
for (const component of ["pd", "tikv"] as const) {
  const configured = settings.builds.patches[component];
  if (configured === undefined) continue;
  try {
    patches[component] = readPatch(component, configured, mode.hostArchitecture, process.cwd());
  } catch (e) {
    throw new pulumi.RunError((e as Error).message);
  }
}
const builds = {
  pd: componentBuild("pd", settings.builds, settings.tikvVersion, patches.pd),
  tikv: componentBuild("tikv", settings.builds, settings.tikvVersion, patches.tikv),
};
const plan = planCluster(settings.nodeCount, settings.pdCount, mode.addressing, settings.clusterTls);

/**
 * This stack's own outputs from its last deployment (a stack may read itself back:
 * pulumi/pulumi#3722): which members exist, and what the cluster was built with.
 * getOutputDetails, not getOutputValue: the engine hands back an output the program exported as a
 * secret (hostRollout) as a secret, and getOutputValue throws on those
 * (@pulumi/pulumi stackReference.ts). The secret value only steers decisions here; whatever of it
 * is exported again is wrapped as a secret where it is exported.
 */
async function readLast(): Promise<LastDeployment> {
  const self = new pulumi.StackReference(`${prefix}-last-deployment`, {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`,
  });
  const [rolloutOrder, tikvStores, deployment, hostRollout] = await Promise.all(
    ["rolloutOrder", "tikvStores", "deployment", "hostRollout"].map(async (name) => {
      const details = await self.getOutputDetails(name);
      return details.value ?? details.secretValue;
    }),
  );
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
    throw new pulumi.RunError(
      `${describeProblems(refused)}\nThe running cluster cannot take these changes in place; nothing was changed.`,
    );
  }
  const organization = `tikv-cvm ${stack}`;
  const pki = new Pki(`${prefix}-pki`, { organization, ca: settings.ca });
  const placed = mode.place({ plan, pki, last });
  const hosts = placed.hosts;

  const clusterTls = settings.clusterTls
    ? new ClusterTls(`${prefix}-cluster-tls`, {
        organization,
        hosts: hosts.map((h) => ({ plan: h.plan, operatorAddress: h.operatorAddress })),
        monitoring: settings.monitoring,
        grafanaAddress: settings.grafanaPublic ? hosts[0].operatorAddress : undefined,
        ca: settings.ca,
        clients: settings.clients,
      })
    : undefined;

  // Clients reach PD only through a gateway beside each member (lib/pdGateway.ts); without
  // clients there is nobody to let in.
  const clientGateway = clusterTls && settings.clients.length > 0 ? { image: settings.clientGatewayImage } : undefined;
  const initialCluster = pdInitialCluster(last, plan);
  const cluster = new TikvCluster(`${prefix}-cluster`, {
    hosts,
    plan,
    tikvVersion: settings.tikvVersion,
    builds,
    memory: (host) => planMemory(mode.memoryShare(host)),
    hostMemoryMiB: mode.enginePerHost
      ? (host) =>
          engineCapsMiB(mode.memoryShare(host), planMemory(mode.memoryShare(host))) +
          (clientGateway && host.pdName !== undefined ? GATEWAY_MIB : 0)
      : undefined,
    diskGB: settings.diskGB,
    tikvCapacityGB: (host) => tikvCapacityGB(settings.diskGB, mode.memoryShare(host).monitoringMiB > 0),
    networking: placed.networking,
    // The rollout gates present the cluster admin's certificate, never the Docker credential.
    tls: clusterTls && {
      caPem: clusterTls.caCertPem,
      hostCerts: clusterTls.hostCerts,
      admin: clusterTls.adminCert,
      notBefore: clusterTls.notBefore,
    },
    protect: settings.protect,
    rolloutTimeoutMinutes: settings.rolloutTimeoutMinutes,
    nofileLimit: settings.nofileLimit,
    last,
    pdInitialCluster: initialCluster,
    // Nothing of PD deployed yet (a failed first deployment recorded nothing either): the one
    // deployment whose members may bootstrap the cluster (lib/pdStart.ts).
    bootstrap: !last.members.some((m) => m.startsWith("pd")),
    clientGateway,
  });
  placed.drainBy(cluster.hostBeforeGates);

  // What the alert rules know: every member's cap, every store's reserve, every certificate's end.
  const certificateEnds = pulumi
    .all(
      [
        ...(clusterTls
          ? [
              ...clusterTls.hostCerts.map((c, i) => ({ name: `${hosts[i].plan.tikvName} (cluster)`, end: c.validTo })),
              { name: "cluster admin", end: clusterTls.adminCert.validTo },
              ...(clusterTls.monitoringCert
                ? [{ name: "Prometheus client", end: clusterTls.monitoringCert.validTo }]
                : []),
              ...(clusterTls.grafanaCert ? [{ name: "Grafana server", end: clusterTls.grafanaCert.validTo }] : []),
            ]
          : []),
        { name: "operator's Docker client", end: pki.clientValidTo },
        ...hosts.flatMap((h) =>
          h.dockerServerValidTo === undefined
            ? []
            : [{ name: `${h.plan.name} Docker server`, end: h.dockerServerValidTo }],
        ),
      ].map(({ name, end }) => pulumi.output(end).apply((notAfter) => ({ name, notAfter }))),
    )
    .apply((certs) => certs.filter((c) => c.notAfter !== undefined && c.notAfter !== ""));
  const budgets = new Map(plan.hosts.map((h) => [h.index, planMemory(mode.memoryShare(h))]));
  const byMember = new Map(
    plan.hosts.flatMap((h) => [...(h.pdName ? [[h.pdName, h] as const] : []), [h.tikvName, h] as const]),
  );
  const rules = certificateEnds.apply((certificates) =>
    alertRules({
      plan,
      memoryCapMiB: (member) => {
        const host = byMember.get(member)!;
        const b = budgets.get(host.index)!;
        return member.startsWith("pd") ? b.pdContainerMiB : b.tikvContainerMiB;
      },
      reserveBytes: (store) =>
        storeReserveBytes(settings.diskGB, mode.memoryShare(byMember.get(store)!).monitoringMiB > 0),
      certificates,
    }),
  );

  const monitoring = settings.monitoring
    ? new Monitoring(`${prefix}-monitoring`, {
        host: hosts[0],
        plan,
        networking: placed.networking,
        tls: clusterTls?.monitoringCert && { caPem: clusterTls.caCertPem, ...clusterTls.monitoringCert },
        grafanaHttps: clusterTls?.grafanaCert,
        protect: settings.protect,
        alertRules: rules,
        alertWebhookUrl: settings.alertWebhook
          ? new pulumi.Config(PROJECT).requireSecret("alertWebhookUrl")
          : undefined,
      })
    : undefined;

  // pd-ctl runs inside the first PD member's container, on its host's engine.
  const pdContainer = containerName(placed.networking, hosts[0].plan.pdName ?? "pd1");
  const pdCommand = (subcommand: string): pulumi.Output<string> =>
    placed.dockerEnvs[0].apply((env) =>
      pdCtlCommand({ dockerEnv: env, pdContainer, tls: settings.clusterTls }, subcommand),
    );

  // Application clients run on the first host's engine, on the members' own network (cvm and
  // existing: the host's, inside the VPC; local: the cluster's user-defined network).
  const clientNetwork = pulumi.output(placed.networking.kind === "bridge" ? placed.networking.network : "host");
  const clientCommands = Object.fromEntries(
    settings.clients.map((client) => [
      client,
      pulumi
        .all([placed.dockerEnvs[0], clientNetwork])
        .apply(([env, network]) =>
          clientRunCommand({ stack, client, dockerEnv: env, network, pdEndpoints: gatewayEndpoints(plan.hosts) }),
        ),
    ]),
  );
  const clientCerts = clusterTls?.clientCerts ?? {};

  return {
    mode: settings.mode,
    hosts: hosts.map((h, i) => ({
      name: h.plan.name,
      /** Where the operator's machine reaches the host: the EIP (cvm), the listed address (existing), 127.0.0.1 (local). */
      operatorAddress: h.operatorAddress,
      /** Mode cvm only, where it is the EIP: the name earlier versions gave operatorAddress. */
      ...(mode.operatorAddressIsEip ? { publicIp: h.operatorAddress } : {}),
      privateIp: h.plan.privateIp ?? h.plan.tikvHost,
      dockerHost: placed.dockerHosts[i],
    })),
    pdEndpoints: cluster.pdEndpoints.apply((eps) => eps.map((e) => `${plan.scheme}://${e}`)),
    /** Read back by the next deployment (readLast), with tikvStores and deployment. */
    rolloutOrder: cluster.rolloutOrder,
    tikvStores: cluster.tikvStores,
    /** Per member: its image and the version and git hash PD reports for it, read at the end of the up. */
    builds: cluster.builds,
    /** Each store's labels and PD's location-labels and isolation-level, as PD reports them (see Placement). */
    placement: cluster.placement,
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
    /** By client name: its certificate (cluster CA) and key (secret), for TiKV clients; certSetup writes them. */
    clientCerts: Object.fromEntries(Object.entries(clientCerts).map(([c, cert]) => [c, cert.certPem])),
    clientKeys: pulumi.secret(
      pulumi.all(Object.fromEntries(Object.entries(clientCerts).map(([c, cert]) => [c, cert.keyPem]))),
    ),
    /** By client name: runs a client image inside the cluster's network (append the image and its arguments). */
    clientCommands,
    certSetup: mode.certSetup,
    dockerCommands: placed.dockerEnvs.map((env) => env.apply(dockerPsCommand)),
    pdCtlMembers: pdCommand("member"),
    pdCtlStores: pdCommand("store"),
    grafanaUrl: monitoring?.grafanaUrl,
    grafanaAdminPassword: monitoring?.grafanaAdminPassword,
  };
};
