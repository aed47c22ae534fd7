import * as crypto from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  DATA_DIR, PD_CONFIG_PATH, TIKV_CONFIG_PATH, TLS_FILES, healthcheckCommand, pdArgs, pdConfigToml,
  tikvArgs, tikvConfigToml,
} from "../lib/clusterConfig";
import { RETAIN_LABEL } from "../lib/labels";
import { MemoryBudget } from "../lib/memoryBudget";
import { ClusterPlan, HostPlan, PORTS } from "../lib/topology";
import { RolloutGate } from "./rollout";

/** What the cluster needs of a host: its plan, the provider for its engine, how the operator reaches it. */
export interface ClusterHost {
  readonly plan: HostPlan;
  readonly provider: docker.Provider;
  /** Address the operator's machine reaches PD's client port on (an EIP, a listed address, 127.0.0.1). */
  readonly operatorAddress: pulumi.Input<string>;
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
  /** The client the rollout gates present to PD (the operator's certificate). */
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
  /**
   * Members (pd1.., tikv1..) that existed after the last deployment, in rollout order. Only they
   * are chained one after another: a first deployment, or hosts added by scaling out, are created
   * in parallel, while a change to running members is applied one member at a time.
   */
  deployedMembers: pulumi.Input<string[]>;
}

/** TiKV checks at start-up that it may open 82,920 files; PingCAP deploys with 1,000,000. */
const NOFILE = 1_000_000;
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
  public readonly rolloutOrder: string[] = [];

  constructor(name: string, args: TikvClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:cluster:TikvCluster", name, {}, opts);
    const tls = args.tls !== undefined;
    const pdToml = pdConfigToml(REPLICAS, tls);
    const pdHosts = args.hosts.filter((h) => h.plan.pdName !== undefined);
    const pdApi = pulumi.all(pdHosts.map((h) => h.operatorAddress))
      .apply((addresses) => addresses.map((a) => `${args.plan.scheme}://${a}:${PORTS.pdClient}`));
    const gateTls = args.tls && {
      caPem: args.tls.caPem, certPem: args.tls.clientCertPem, keyPem: pulumi.secret(args.tls.clientKeyPem),
    };

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

    /** One PD or TiKV member: data volume, image, before gate, container, after gate. */
    const member = (m: {
      host: ClusterHost; kind: "pd" | "tikv"; memberName: string; storeAddress?: string;
      image: string; command: string[]; memory: number; configPath: string; config: string;
      healthUrl: string; publish?: docker.types.input.ContainerPort[]; dependsOn: pulumi.Resource[];
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
      const uploads: docker.types.input.ContainerUpload[] = [{ file: m.configPath, content: m.config }];
      if (args.tls && hostCert) {
        uploads.push(
          { file: TLS_FILES.ca, content: args.tls.caPem },
          { file: TLS_FILES.cert, content: hostCert.certPem },
          { file: TLS_FILES.key, content: pulumi.secret(hostCert.keyPem) },
        );
      }
      const spec = { command: m.command, memory: m.memory, config: m.config, tls };
      const before = new RolloutGate(`${prefix}-before`, {
        kind: m.kind, phase: "before", member: m.storeAddress ?? m.memberName, trigger: specDigest(image.imageId, spec),
        pdEndpoints: pdApi, timeoutMinutes: args.rolloutTimeoutMinutes, tls: gateTls,
      }, { parent: this, dependsOn: chainLink(m.memberName) });
      const container = new docker.Container(prefix, {
        name: bridge ? `${bridge.namePrefix}-${m.memberName}` : m.memberName,
        image: image.imageId,
        command: m.command,
        memory: m.memory,
        ...(bridge
          ? { networkMode: "bridge", networksAdvanced: [{ name: bridge.network, aliases: [m.memberName] }], ports: m.publish ?? [] }
          : { networkMode: "host" }),
        restart: "unless-stopped",
        ulimits: [{ name: "nofile", soft: NOFILE, hard: NOFILE }],
        // Stated explicitly, or the provider shows a perpetual diff (pulumi-docker#1272).
        logDriver: "json-file",
        logOpts: { "max-size": "100m", "max-file": "3" },
        // Lets PD hand over leadership and TiKV close its engines before SIGKILL, on `docker stop`
        // and on every replacement or deletion by the engine.
        stopTimeout: STOP_GRACE_SECONDS,
        destroyGraceSeconds: STOP_GRACE_SECONDS,
        volumes: [{ volumeName: volume.name, containerPath: DATA_DIR }],
        uploads,
        healthcheck: { tests: healthcheckCommand(m.healthUrl, tls), interval: "10s", timeout: "5s", retries: 3, startPeriod: "60s" },
        // The provider waits for the health check before anything after it in the chain runs. PD
        // serves HTTP only once a quorum of its initial cluster is up (etcd serves clients after
        // ReadyNotify): a first deployment creates members in parallel so they wait together, and a
        // replaced member rejoins the running quorum.
        wait: true,
        waitTimeout: 300,
      }, { parent: this, provider, deleteBeforeReplace: true, dependsOn: [before, ...m.dependsOn] });
      afterGates.push({
        member: m.memberName,
        gate: new RolloutGate(`${prefix}-after`, {
          kind: m.kind, phase: "after", member: m.storeAddress ?? m.memberName, trigger: container.id,
          pdEndpoints: pdApi, timeoutMinutes: args.rolloutTimeoutMinutes, tls: gateTls,
        }, { parent: this, dependsOn: [container] }),
      });
      this.rolloutOrder.push(m.memberName);
      return container;
    };

    for (const host of pdHosts) {
      const budget = args.memory(host.plan);
      this.pdContainers.push(member({
        host, kind: "pd", memberName: host.plan.pdName!,
        image: `pingcap/pd:${args.tikvVersion}`, command: pdArgs(host.plan, args.plan), memory: budget.pdContainerMiB,
        configPath: PD_CONFIG_PATH, config: pdToml,
        healthUrl: `${args.plan.scheme}://127.0.0.1:${PORTS.pdClient}/pd/api/v1/ping`,
        // On a shared engine only the first PD's client port is published, and only on loopback.
        publish: host.plan.index === 1 ? [{ internal: PORTS.pdClient, external: PORTS.pdClient, ip: "127.0.0.1" }] : [],
        dependsOn: [],
      }));
    }
    for (const host of args.hosts) {
      const budget = args.memory(host.plan);
      this.tikvContainers.push(member({
        host, kind: "tikv", memberName: host.plan.tikvName, storeAddress: `${host.plan.tikvHost}:${PORTS.tikv}`,
        image: `pingcap/tikv:${args.tikvVersion}`, command: tikvArgs(host.plan, args.plan), memory: budget.tikvContainerMiB,
        configPath: TIKV_CONFIG_PATH, config: tikvConfigToml(budget, args.diskGB, tls),
        healthUrl: `${args.plan.scheme}://127.0.0.1:${PORTS.tikvStatus}/status`,
        // A store registers with PD at start-up: PD first, or TiKV crash-loops until it is up.
        dependsOn: this.pdContainers,
      }));
    }

    this.pdEndpoints = pulumi.all(this.pdContainers.map((c) => c.id)).apply(() => [...args.plan.pdEndpoints]);
    this.tikvStores = pulumi.all(this.tikvContainers.map((c) => c.id)).apply(() => [...args.plan.tikvAddresses]);
    this.registerOutputs({ pdEndpoints: this.pdEndpoints, tikvStores: this.tikvStores });
  }
}
