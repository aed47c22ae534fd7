import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  DATA_DIR, PD_CONFIG_PATH, TIKV_CONFIG_PATH, TLS_FILES, healthcheckCommand, pdArgs, pdConfigToml,
  tikvArgs, tikvConfigToml, tikvRequiredOpenFiles,
} from "../lib/clusterConfig";
import { CONTAINER_HARDENING, FILE_MODES, PIDS_LIMIT } from "../lib/containerSecurity";
import { DockerEndpoint } from "../lib/dockerApi";
import { REPLACE_ON_CHANGES, replacementDigest } from "../lib/containerReplacement";
import { INSTANCE_LABEL, RETAIN_LABEL } from "../lib/labels";
import { LastDeployment, retiringMembers } from "../lib/lastDeployment";
import { MemoryBudget } from "../lib/memoryBudget";
import { DEFAULTS } from "../lib/settings";
import { PD_START_PATH, PD_START_SCRIPT, pdStartEnv } from "../lib/pdStart";
import { RolloutNode, RolloutPlan, planRollout } from "../lib/rolloutPlan";
import { ClusterPlan, HostPlan, PORTS } from "../lib/topology";
import { PidsLimit } from "./pidsLimit";
import { MemberRetirement, RolloutGate } from "./rollout";

/** What the cluster needs of a host: its plan, the provider for its engine, how the operator reaches it. */
export interface ClusterHost {
  readonly plan: HostPlan;
  readonly provider: docker.Provider;
  /** The same engine for the Engine API calls the provider cannot make (pids limits). */
  readonly dockerApi: pulumi.Input<DockerEndpoint>;
  /** Address the operator's machine reaches PD's client port on (an EIP, a listed address, 127.0.0.1). */
  readonly operatorAddress: pulumi.Input<string>;
  /** A CVM made here: its instance id (containers are keyed to it) and its roll key (see DockerHost). */
  readonly instanceId?: pulumi.Input<string>;
  readonly rollKey?: pulumi.Input<string>;
}

/** The label that ties a container to the CVM it runs on, when there is one. */
export function instanceLabels(host: ClusterHost): docker.types.input.ContainerLabel[] | undefined {
  return host.instanceId === undefined ? undefined : [{ label: INSTANCE_LABEL, value: host.instanceId }];
}

/** Host networking on real hosts; one user-defined network with names as addresses on one engine. */
export type ClusterNetworking =
  | { readonly kind: "host" }
  | { readonly kind: "bridge"; readonly network: pulumi.Input<string>; readonly namePrefix: string };

/** Certificates for mutual TLS between components (clusterTls). */
export interface ClusterTlsMaterial {
  readonly caPem: pulumi.Input<string>;
  /** One server+client certificate per host, in host order, used by both of its components. */
  readonly hostCerts: readonly { readonly certPem: pulumi.Input<string>; readonly keyPem: pulumi.Input<string> }[];
  /** The client the rollout gates present to PD: the cluster admin's certificate. */
  readonly clientCertPem: pulumi.Input<string>;
  readonly clientKeyPem: pulumi.Input<string>;
}

export interface TikvClusterArgs {
  hosts: readonly ClusterHost[];
  plan: ClusterPlan;
  /** One tag for both images, e.g. v8.5.7. */
  tikvVersion: string;
  memory: (host: HostPlan) => MemoryBudget;
  diskGB: number;
  networking: ClusterNetworking;
  tls?: ClusterTlsMaterial;
  /** Pulumi `protect` on the data volumes. */
  protect: boolean;
  /** Bound on each rolling-restart wait (leader eviction, health after restart). */
  rolloutTimeoutMinutes: number;
  /** nofile ulimit (soft = hard) of every PD and TiKV container (tikv-cvm:nofileLimit). */
  nofileLimit: number;
  /**
   * The last deployment of this stack. Members it had are chained one after another, so a change
   * to running members is applied one member at a time; a first deployment, or stores added by
   * scaling out, are created in parallel. PD members added to a running cluster join one by one.
   */
  last: LastDeployment;
  /** --initial-cluster of the cluster's first deployment (lib/lastDeployment.ts pdInitialCluster). */
  pdInitialCluster: string;
}

// PingCAP deploys with 1,000,000 open files, well above what TiKV checks for at start.
if (DEFAULTS.nofileLimit < tikvRequiredOpenFiles(true)) throw new Error("the default nofileLimit is below TiKV's start-up check");
const REPLICAS = 3;
/**
 * Seconds PD and TiKV get to exit after SIGTERM, both on `docker stop` (stopTimeout) and when the
 * engine deletes or replaces the container: the Docker provider deletes by stopping with
 * `destroy_grace_seconds` (default 0, i.e. SIGKILL at once) and then force-removing
 * (kreuzwerker/terraform-provider-docker v3.9.0, internal/provider/resource_docker_container_funcs.go,
 * resourceDockerContainerDelete). 90 s is what TiUP relies on: systemd's default TimeoutStopSec
 * (pingcap/tiup pkg/cluster/module/systemd.go).
 */
export const STOP_GRACE_SECONDS = 90;

/**
 * PD members on the first pdCount hosts and a TiKV store on every host, each on its host's engine,
 * chained so the engine replaces them one at a time, and the CVMs made here host by host (see
 * components/rollout.ts, lib/rolloutPlan.ts and the README).
 */
export class TikvCluster extends pulumi.ComponentResource {
  public readonly pdEndpoints: pulumi.Output<string[]>;
  public readonly tikvStores: pulumi.Output<string[]>;
  // Kept off the instance's own properties (getters below): Pulumi walks the values of Outputs for
  // unknowns, and every Output holding a gate or container would otherwise walk these lists through
  // its parent, this component (output.js containsUnknowns): quadratic in the cluster's size.
  readonly #pdContainers: docker.Container[] = [];
  readonly #tikvContainers: docker.Container[] = [];
  readonly #hostBeforeGates: (RolloutGate | undefined)[] = [];
  public get pdContainers(): readonly docker.Container[] { return this.#pdContainers; }
  public get tikvContainers(): readonly docker.Container[] { return this.#tikvContainers; }
  /** Per host (in host order), the gate its CVM waits for; undefined for hosts not made here. */
  public get hostBeforeGates(): readonly (RolloutGate | undefined)[] { return this.#hostBeforeGates; }
  /** Every member in rollout order: PD members, then TiKV stores. */
  public readonly rolloutOrder: string[] = [];

  constructor(name: string, args: TikvClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:cluster:TikvCluster", name, {}, opts);
    const tls = args.tls !== undefined;
    const pdHosts = args.hosts.filter((h) => h.plan.pdName !== undefined);
    const pdApi = pulumi.all(pdHosts.map((h) => h.operatorAddress))
      .apply((addresses) => addresses.map((a) => `${args.plan.scheme}://${a}:${PORTS.pdClient}`));
    const gateTls = args.tls && {
      caPem: args.tls.caPem, certPem: args.tls.clientCertPem, keyPem: pulumi.secret(args.tls.clientKeyPem),
    };
    const deployed = new Set(args.last.members);
    const clusterExists = args.last.members.some((m) => m.startsWith("pd"));
    const pdNames = pdHosts.map((h) => h.plan.pdName!);

    // Members that run one at a time: those deployed before, and PD members joining a running cluster.
    const chained = (member: string) => deployed.has(member) || (clusterExists && member.startsWith("pd"));
    const allMembers = [...pdNames, ...args.hosts.map((h) => h.plan.tikvName)];
    // Which gates wait for which (lib/rolloutPlan.ts): member by member, or host by host when a CVM
    // changes, which the CVMs' roll keys tell; they are only read once something is deployed, so
    // a first deployment waits for nothing it does not need.
    const rolloutHosts = args.hosts.map((h) => ({ index: h.plan.index, name: h.plan.name, pdName: h.plan.pdName, tikvName: h.plan.tikvName }));
    const cvms = args.hosts.every((h) => h.rollKey !== undefined);
    const planInput = { hosts: rolloutHosts, deployedMembers: args.last.members, chained: allMembers.filter(chained), lastKeys: args.last.hosts };
    const rollout: pulumi.Output<RolloutPlan> = !cvms || args.last.members.length === 0 ? pulumi.output(planRollout(planInput))
      : pulumi.all(args.hosts.map((h) => h.rollKey!)).apply((rolls) => {
        const plan = planRollout({ ...planInput, keys: Object.fromEntries(args.hosts.map((h, i) => [h.plan.name, { roll: rolls[i] }])) });
        if (plan.rolling.length > 0) pulumi.log.info(`CVMs change, one host at a time: ${plan.rolling.join(", ")}`, this);
        return plan;
      });
    // Every gate by its node name; links resolve once the constructor has declared them all.
    const gates = new Map<RolloutNode, RolloutGate>();
    let constructed: () => void = () => undefined;
    const allGates = new Promise<void>((resolve) => { constructed = resolve; });
    const linksOf = (node: RolloutNode): pulumi.Output<pulumi.Resource[]> => pulumi.all([rollout, allGates])
      .apply(([p]) => (p.links[node] ?? []).flatMap((n) => gates.get(n) ?? []));

    /** One PD or TiKV member: data volume, image, before gate, container, after gate. */
    const member = (m: {
      host: ClusterHost; kind: "pd" | "tikv"; memberName: string; storeAddress?: string;
      image: string; command: string[]; entrypoints?: string[]; envs?: string[]; memory: number;
      files: docker.types.input.ContainerUpload[]; healthUrl: string; publish?: docker.types.input.ContainerPort[];
      dependsOn: pulumi.Input<pulumi.Resource[]>;
    }): docker.Container => {
      const prefix = `${name}-${m.memberName}`;
      const provider = m.host.provider;
      const bridge = args.networking.kind === "bridge" ? args.networking : undefined;
      // On a host of its own the recipe's names; on a shared engine one volume per member.
      const volumeName = bridge ? `${bridge.namePrefix}-${m.memberName}-data` : `${m.kind}-data`;
      const volume = new docker.Volume(`${prefix}-data`, { name: volumeName, labels: [{ label: RETAIN_LABEL, value: "true" }] },
        // Data outlives containers and the stack's own deletion: losing PD data orphans every store.
        { parent: this, provider, retainOnDelete: true, protect: args.protect });
      const image = new docker.RemoteImage(`${prefix}-image`, { name: m.image, keepLocally: true }, { parent: this, provider });
      const hostCert = args.tls?.hostCerts[m.host.plan.index - 1];
      const uploads: docker.types.input.ContainerUpload[] = [...m.files];
      if (args.tls && hostCert) {
        uploads.push(
          { file: TLS_FILES.ca, content: args.tls.caPem, permissions: FILE_MODES.certificate },
          { file: TLS_FILES.cert, content: hostCert.certPem, permissions: FILE_MODES.certificate },
          // PD and TiKV run as root, which owns uploaded files: 0400 and no other user reads it.
          { file: TLS_FILES.key, content: pulumi.secret(hostCert.keyPem), permissions: FILE_MODES.rootKey },
        );
      }
      const spec: docker.ContainerArgs = {
        name: bridge ? `${bridge.namePrefix}-${m.memberName}` : m.memberName,
        image: image.imageId,
        ...(m.entrypoints ? { entrypoints: m.entrypoints } : {}),
        command: m.command,
        ...(m.envs ? { envs: m.envs } : {}),
        memory: m.memory,
        // Stated, or Docker's default (twice the memory) reads back as a perpetual diff; equal to
        // memory means no swap, which TiKV wants anyway.
        memorySwap: m.memory,
        ...(bridge
          ? { networkMode: "bridge", networksAdvanced: [{ name: bridge.network, aliases: [m.memberName] }], ports: m.publish ?? [] }
          : { networkMode: "host" }),
        restart: "unless-stopped",
        // No capabilities, no privilege gain: see lib/containerSecurity.ts for why none is needed.
        capabilities: { drops: [...CONTAINER_HARDENING.capabilities.drops] },
        securityOpts: [...CONTAINER_HARDENING.securityOpts],
        ulimits: [{ name: "nofile", soft: args.nofileLimit, hard: args.nofileLimit }],
        // Stated explicitly, or the provider shows a perpetual diff (pulumi-docker#1272).
        logDriver: "json-file",
        logOpts: { "max-size": "100m", "max-file": "3" },
        // Lets PD hand over leadership and TiKV close its engines before SIGKILL, on `docker stop`
        // and on every replacement or deletion by the engine.
        stopTimeout: STOP_GRACE_SECONDS,
        destroyGraceSeconds: STOP_GRACE_SECONDS,
        volumes: [{ volumeName: volume.name, containerPath: DATA_DIR }],
        uploads,
        // A replaced CVM means a new engine: the container is made again on it (a label forces that).
        ...(m.host.instanceId === undefined ? {} : { labels: instanceLabels(m.host) }),
        // Durations as the provider reads them back (Go's time.Duration String: "1m0s", not "60s";
        // kreuzwerker/terraform-provider-docker resource_docker_container_funcs.go), or every
        // preview shows a diff.
        healthcheck: { tests: healthcheckCommand(m.healthUrl, tls), interval: "10s", timeout: "5s", retries: 3, startPeriod: "1m0s" },
        // The provider waits for the health check before anything after it in the chain runs. PD
        // serves HTTP only once a quorum of its initial cluster is up (etcd serves clients after
        // ReadyNotify): a first deployment creates members in parallel so they wait together, and a
        // replaced member rejoins the running quorum.
        wait: true,
        waitTimeout: 300,
      };
      // Changes exactly when the engine will replace the container (lib/containerReplacement.ts).
      const trigger = pulumi.output(spec).apply((resolved) => replacementDigest(resolved as Record<string, unknown>));
      const pdPlace = m.kind === "pd" ? {
        rolled: pdNames.slice(0, pdNames.indexOf(m.memberName)),
        pending: pdNames.slice(pdNames.indexOf(m.memberName) + 1),
      } : {};
      const gate = { kind: m.kind, member: m.storeAddress ?? m.memberName, pdEndpoints: pdApi, timeoutMinutes: args.rolloutTimeoutMinutes, tls: gateTls };
      const before = new RolloutGate(`${prefix}-before`, { ...gate, ...pdPlace, phase: "before", trigger },
        { parent: this, dependsOn: linksOf(`before:${m.memberName}`) });
      gates.set(`before:${m.memberName}`, before);
      const container = new docker.Container(prefix, spec, {
        parent: this, provider, deleteBeforeReplace: true, replaceOnChanges: [...REPLACE_ON_CHANGES],
        dependsOn: pulumi.output(m.dependsOn).apply((d) => [before, ...d]),
      });
      new PidsLimit(`${prefix}-pids`, { endpoint: m.host.dockerApi, containerId: container.id, limit: PIDS_LIMIT[m.kind] }, { parent: this });
      // Also runs whenever "before" ran, so an evicted store always gets its leaders back.
      gates.set(`after:${m.memberName}`, new RolloutGate(`${prefix}-after`, { ...gate, phase: "after", trigger: pulumi.interpolate`${trigger}/${container.id}` },
        { parent: this, dependsOn: [container] }));
      this.rolloutOrder.push(m.memberName);
      return container;
    };

    for (const host of pdHosts) {
      const budget = args.memory(host.plan);
      this.#pdContainers.push(member({
        host, kind: "pd", memberName: host.plan.pdName!,
        image: `pingcap/pd:${args.tikvVersion}`, memory: budget.pdContainerMiB,
        entrypoints: ["/bin/sh", PD_START_PATH], command: pdArgs(host.plan, args.plan),
        envs: pdStartEnv(host.plan, args.plan, args.pdInitialCluster, DATA_DIR),
        files: [{ file: PD_CONFIG_PATH, content: pdConfigToml(REPLICAS, tls, budget) }, { file: PD_START_PATH, content: PD_START_SCRIPT }],
        healthUrl: `${args.plan.scheme}://127.0.0.1:${PORTS.pdClient}/pd/api/v1/ping`,
        // On a shared engine only the first PD's client port is published, and only on loopback.
        publish: host.plan.index === 1 ? [{ internal: PORTS.pdClient, external: PORTS.pdClient, ip: "127.0.0.1" }] : [],
        dependsOn: [],
      }));
    }
    const pdChainEnd = pdNames.length > 0 ? gates.get(`after:${pdNames[pdNames.length - 1]}`) : undefined;
    for (const host of args.hosts) {
      const budget = args.memory(host.plan);
      this.#tikvContainers.push(member({
        host, kind: "tikv", memberName: host.plan.tikvName, storeAddress: `${host.plan.tikvHost}:${PORTS.tikv}`,
        image: `pingcap/tikv:${args.tikvVersion}`, command: tikvArgs(host.plan, args.plan), memory: budget.tikvContainerMiB,
        files: [{ file: TIKV_CONFIG_PATH, content: tikvConfigToml(budget, args.diskGB, tls) }],
        healthUrl: `${args.plan.scheme}://127.0.0.1:${PORTS.tikvStatus}/status`,
        // PD first: TiKV retries PD forever (tikv/tikv components/pd_client/src/config.rs,
        // retry_max_count isize::MAX), but its health wait would run out meanwhile. Not during a
        // host-by-host roll: PD is up, and a running store would wait for a later host's PD member.
        dependsOn: rollout.apply((p) => (p.tikvAwaitingPd.includes(host.plan.tikvName) ? [...this.#pdContainers] : [])),
      }));
    }

    // Host gates around each CVM made here: drain before it changes, healthy again after.
    for (const host of args.hosts) {
      if (host.rollKey === undefined || host.instanceId === undefined) {
        this.#hostBeforeGates.push(undefined);
        continue;
      }
      const pdIndex = host.plan.pdName ? pdNames.indexOf(host.plan.pdName) : -1;
      const hostGate = {
        kind: "host" as const, member: `${host.plan.tikvHost}:${PORTS.tikv}`, pdMember: host.plan.pdName,
        // Hosts roll in host order: PD members of earlier hosts are on the new spec already.
        ...(pdIndex >= 0 ? { rolled: pdNames.slice(0, pdIndex), pending: pdNames.slice(pdIndex + 1) } : {}),
        pdEndpoints: pdApi, timeoutMinutes: args.rolloutTimeoutMinutes, tls: gateTls,
      };
      const index = host.plan.index;
      const before = new RolloutGate(`${name}-${host.plan.name}-before`, { ...hostGate, phase: "before", trigger: host.rollKey },
        { parent: this, dependsOn: linksOf(`host-before:${index}`) });
      gates.set(`host-before:${index}`, before);
      const members = [host.plan.pdName, host.plan.tikvName].flatMap((m) => (m ? [gates.get(`after:${m}`)!] : []));
      gates.set(`host-after:${index}`, new RolloutGate(`${name}-${host.plan.name}-after`, {
        ...hostGate, phase: "after", trigger: pulumi.interpolate`${host.rollKey}/${host.instanceId}`,
      }, { parent: this, dependsOn: members }));
      this.#hostBeforeGates.push(before);
    }
    constructed();

    // Scaling in: PD members leave through PD's API, highest first, once the remaining members
    // are rolled; stores must already be Tombstone. Both run before the engine deletes anything.
    const retiring = retiringMembers(args.last, args.plan);
    let previous: pulumi.Resource | undefined = pdChainEnd;
    for (const pd of retiring.pd) {
      previous = new MemberRetirement(`${name}-${pd}-retire`, {
        kind: "pd", member: pd, remaining: pdNames, pdEndpoints: pdApi, timeoutMinutes: args.rolloutTimeoutMinutes, tls: gateTls,
      }, { parent: this, dependsOn: previous ? [previous] : [] });
    }
    for (const tikv of retiring.tikv) {
      const address = args.last.storeAddresses[Number(tikv.replace(/\D/g, "")) - 1];
      if (address === undefined) {
        throw new pulumi.ResourceError(`the last deployment removed ${tikv} but recorded no address for its store; ` +
          "check with pd-ctl store that it is Tombstone, then remove it from the stack with pulumi state delete", this);
      }
      new MemberRetirement(`${name}-${tikv}-retire`, {
        kind: "tikv", member: address, remaining: [], pdEndpoints: pdApi, timeoutMinutes: args.rolloutTimeoutMinutes, tls: gateTls,
      }, { parent: this });
    }

    this.pdEndpoints = pulumi.all(this.#pdContainers.map((c) => c.id)).apply(() => [...args.plan.pdEndpoints]);
    this.tikvStores = pulumi.all(this.#tikvContainers.map((c) => c.id)).apply(() => [...args.plan.tikvAddresses]);
    this.registerOutputs({ pdEndpoints: this.pdEndpoints, tikvStores: this.tikvStores });
  }
}
