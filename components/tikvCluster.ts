import * as crypto from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  DATA_DIR, PD_CONFIG_PATH, RETAIN_LABEL, TIKV_CONFIG_PATH, pdArgs, pdConfigToml, tikvArgs, tikvConfigToml,
} from "../lib/clusterConfig";
import { planMemory } from "../lib/memoryBudget";
import { ClusterPlan, HostPlan, PORTS } from "../lib/topology";
import { RolloutGate } from "./rollout";

/** What the cluster needs of a host: its plan, the provider for its engine, its public address. */
export interface ClusterHost {
  readonly plan: HostPlan;
  readonly provider: docker.Provider;
  /** Address the operator's machine reaches the host's published ports on (PD's client port). */
  readonly publicIp: pulumi.Input<string>;
}

export interface TikvClusterArgs {
  hosts: readonly ClusterHost[];
  plan: ClusterPlan;
  /** One tag for both images, e.g. v8.5.7. */
  tikvVersion: string;
  hostMemoryGiB: number;
  systemDiskSize: number;
  /** Pulumi `protect` on the data volumes. */
  protect: boolean;
  /** Bound on each rolling-restart wait (leader eviction, health after restart). */
  rolloutTimeoutMinutes: number;
  /**
   * Members (pd1.., tikv1..) that existed after the last deployment, in rollout order. Only they
   * are chained one after another: a first deployment, or hosts added by scaling out, are created
   * in parallel, while a change to running members is applied one member at a time.
   */
  deployedMembers: pulumi.Input<string[]>;
}

function dataVolume(name: string, volumeName: string, parent: pulumi.Resource, provider: docker.Provider,
  protect: boolean): docker.Volume {
  return new docker.Volume(name, { name: volumeName, labels: [{ label: RETAIN_LABEL, value: "true" }] },
    { parent, provider, retainOnDelete: true, protect });
}

/** TiKV checks at start-up that it may open 82,920 files; PingCAP deploys with 1,000,000. */
const NOFILE = 1_000_000;
const REPLICAS = 3;

/** Settings every cluster container shares; a fixed name and host ports need delete-before-replace. */
function baseContainer(): Partial<docker.ContainerArgs> {
  return {
    networkMode: "host",
    restart: "unless-stopped",
    ulimits: [{ name: "nofile", soft: NOFILE, hard: NOFILE }],
    // Stated explicitly, or the provider shows a perpetual diff (pulumi-docker#1272).
    logDriver: "json-file",
    logOpts: { "max-size": "100m", "max-file": "3" },
    // Lets PD hand over leadership and TiKV flush before SIGKILL.
    stopTimeout: 60,
  };
}

/** wget is in both images (PingCAP-QE/artifacts pd-base and tikv-base install it). */
function httpHealthcheck(url: string): docker.types.input.ContainerHealthcheck {
  return {
    tests: ["CMD", "wget", "-q", "-O", "/dev/null", url],
    interval: "10s",
    timeout: "5s",
    retries: 3,
    startPeriod: "60s",
  };
}

/** A digest of what makes a container what it is: when it changes, the container is replaced. */
function specDigest(imageId: pulumi.Input<string>, spec: object): pulumi.Output<string> {
  return pulumi.output(imageId).apply((id) =>
    crypto.createHash("sha256").update(JSON.stringify({ id, spec })).digest("hex").slice(0, 16));
}

/**
 * PD members on the first pdCount hosts and a TiKV store on every host, each on its host's engine,
 * chained so the engine replaces them one at a time (see components/rollout.ts and the README).
 */
export class TikvCluster extends pulumi.ComponentResource {
  public readonly pdEndpoints: pulumi.Output<string[]>;
  public readonly tikvStores: pulumi.Output<string[]>;
  public readonly pdContainers: docker.Container[] = [];
  public readonly tikvContainers: docker.Container[] = [];
  /** Every member in rollout order: PD members, then TiKV stores. */
  public readonly rolloutOrder: string[];

  constructor(name: string, args: TikvClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:cluster:TikvCluster", name, {}, opts);
    const pdToml = pdConfigToml(REPLICAS);
    const pdHosts = args.hosts.filter((h) => h.plan.pdName !== undefined);
    const pdApi = pulumi.all(pdHosts.map((h) => h.publicIp)).apply((ips) => ips.map((ip) => `http://${ip}:${PORTS.pdClient}`));
    const gate = (gateName: string, gateArgs: Omit<ConstructorParameters<typeof RolloutGate>[1], "pdEndpoints" | "timeoutMinutes">,
      dependsOn: pulumi.Input<pulumi.Resource[]>) => new RolloutGate(gateName, {
      ...gateArgs, pdEndpoints: pdApi, timeoutMinutes: args.rolloutTimeoutMinutes,
    }, { parent: this, dependsOn });
    // Members already deployed, and the "after" gate of each member created so far.
    const deployed = pulumi.output(args.deployedMembers);
    const afterGates: { member: string; gate: RolloutGate }[] = [];
    // The chain link before `member`: the after gate of the nearest earlier member that was
    // deployed too, when `member` itself was deployed; none otherwise.
    const chainLink = (member: string): pulumi.Output<pulumi.Resource[]> => {
      const earlier = [...afterGates];
      return deployed.apply((names) => {
        if (!names.includes(member)) return [];
        const link = earlier.reverse().find((g) => names.includes(g.member));
        return link ? [link.gate] : [];
      });
    };
    this.rolloutOrder = [];

    for (const host of pdHosts) {
      const { plan: hostPlan, provider } = host;
      const member = hostPlan.pdName!;
      const prefix = `${name}-${member}`;
      const budget = planMemory(args.hostMemoryGiB, true);
      // Data volumes outlive the containers and the stack's own deletion: losing PD data orphans
      // every store (cluster ID mismatch).
      const volume = dataVolume(`${prefix}-data`, "pd-data", this, provider, args.protect);
      const image = new docker.RemoteImage(`${prefix}-image`,
        { name: `pingcap/pd:${args.tikvVersion}`, keepLocally: true }, { parent: this, provider });
      const spec = {
        command: pdArgs(hostPlan, args.plan),
        memory: budget.pdContainerMiB,
        config: pdToml,
      };
      const before = gate(`${prefix}-before`, { kind: "pd", phase: "before", member, trigger: specDigest(image.imageId, spec) }, chainLink(member));
      const container = new docker.Container(prefix, {
        ...baseContainer(),
        name: member,
        image: image.imageId,
        command: spec.command,
        memory: spec.memory,
        volumes: [{ volumeName: volume.name, containerPath: DATA_DIR }],
        uploads: [{ file: PD_CONFIG_PATH, content: spec.config }],
        healthcheck: httpHealthcheck(`http://127.0.0.1:${PORTS.pdClient}/pd/api/v1/ping`),
        // PD serves HTTP only once a quorum of its initial cluster is up (etcd serves clients after
        // ReadyNotify): members are created in parallel on a first deployment, so they wait
        // together; a replaced member rejoins the running quorum.
        wait: true,
        waitTimeout: 300,
      }, { parent: this, provider, deleteBeforeReplace: true, dependsOn: [before] });
      this.pdContainers.push(container);
      afterGates.push({ member, gate: gate(`${prefix}-after`, { kind: "pd", phase: "after", member, trigger: container.id }, [container]) });
      this.rolloutOrder.push(member);
    }

    for (const host of args.hosts) {
      const { plan: hostPlan, provider } = host;
      const member = hostPlan.tikvName;
      const prefix = `${name}-${member}`;
      const address = `${hostPlan.privateIp}:${PORTS.tikv}`;
      const budget = planMemory(args.hostMemoryGiB, hostPlan.pdName !== undefined);
      const volume = dataVolume(`${prefix}-data`, "tikv-data", this, provider, args.protect);
      const image = new docker.RemoteImage(`${prefix}-image`,
        { name: `pingcap/tikv:${args.tikvVersion}`, keepLocally: true }, { parent: this, provider });
      const spec = {
        command: tikvArgs(hostPlan, args.plan),
        memory: budget.tikvContainerMiB,
        config: tikvConfigToml(budget, args.systemDiskSize),
      };
      const before = gate(`${prefix}-before`, { kind: "tikv", phase: "before", member: address, trigger: specDigest(image.imageId, spec) }, chainLink(member));
      const container = new docker.Container(prefix, {
        ...baseContainer(),
        name: hostPlan.tikvName,
        image: image.imageId,
        command: spec.command,
        memory: spec.memory,
        volumes: [{ volumeName: volume.name, containerPath: DATA_DIR }],
        uploads: [{ file: TIKV_CONFIG_PATH, content: spec.config }],
        healthcheck: httpHealthcheck(`http://127.0.0.1:${PORTS.tikvStatus}/status`),
        // The provider waits for the health check before the chain moves on.
        wait: true,
        waitTimeout: 300,
        // A store registers with PD at start-up: PD first, or TiKV crash-loops until it is up.
      }, { parent: this, provider, deleteBeforeReplace: true, dependsOn: [before, ...this.pdContainers] });
      this.tikvContainers.push(container);
      afterGates.push({ member, gate: gate(`${prefix}-after`, { kind: "tikv", phase: "after", member: address, trigger: container.id }, [container]) });
      this.rolloutOrder.push(member);
    }

    this.pdEndpoints = pulumi.all(this.pdContainers.map((c) => c.id)).apply(() => [...args.plan.pdEndpoints]);
    this.tikvStores = pulumi.all(this.tikvContainers.map((c) => c.id)).apply(() => [...args.plan.tikvAddresses]);
    this.registerOutputs({ pdEndpoints: this.pdEndpoints, tikvStores: this.tikvStores });
  }
}
