import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  DATA_DIR, PD_CONFIG_PATH, TIKV_CONFIG_PATH, pdArgs, pdConfigToml, tikvArgs, tikvConfigToml,
} from "../lib/clusterConfig";
import { planMemory } from "../lib/memoryBudget";
import { ClusterPlan, HostPlan, PORTS } from "../lib/topology";

/** What the cluster needs of a host: where it is and the provider that reaches its Docker engine. */
export interface ClusterHost {
  readonly plan: HostPlan;
  readonly provider: docker.Provider;
}

export interface TikvClusterArgs {
  hosts: readonly ClusterHost[];
  plan: ClusterPlan;
  /** One tag for both images, e.g. v8.5.7. */
  tikvVersion: string;
  hostMemoryGiB: number;
  systemDiskSize: number;
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
    wait: true,
    waitTimeout: 300,
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

/** PD members on the first pdCount hosts and a TiKV store on every host, each on its host's engine. */
export class TikvCluster extends pulumi.ComponentResource {
  public readonly pdEndpoints: pulumi.Output<string[]>;
  public readonly tikvStores: pulumi.Output<string[]>;
  public readonly pdContainers: docker.Container[] = [];
  public readonly tikvContainers: docker.Container[] = [];

  constructor(name: string, args: TikvClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:cluster:TikvCluster", name, {}, opts);
    const pdToml = pdConfigToml(REPLICAS);

    for (const host of args.hosts) {
      const { plan: hostPlan, provider } = host;
      if (!hostPlan.pdName) continue;
      const prefix = `${name}-${hostPlan.pdName}`;
      const budget = planMemory(args.hostMemoryGiB, true);
      // Data volumes outlive the containers and the stack's own deletion: losing PD data orphans
      // every store (cluster ID mismatch).
      const volume = new docker.Volume(`${prefix}-data`, { name: "pd-data" },
        { parent: this, provider, retainOnDelete: true });
      const image = new docker.RemoteImage(`${prefix}-image`,
        { name: `pingcap/pd:${args.tikvVersion}`, keepLocally: true }, { parent: this, provider });
      this.pdContainers.push(new docker.Container(`${prefix}`, {
        ...baseContainer(),
        name: hostPlan.pdName,
        image: image.imageId,
        command: pdArgs(hostPlan, args.plan),
        memory: budget.pdContainerMiB,
        volumes: [{ volumeName: volume.name, containerPath: DATA_DIR }],
        uploads: [{ file: PD_CONFIG_PATH, content: pdToml }],
        healthcheck: httpHealthcheck(`http://127.0.0.1:${PORTS.pdClient}/pd/api/v1/ping`),
      }, { parent: this, provider, deleteBeforeReplace: true }));
    }

    for (const host of args.hosts) {
      const { plan: hostPlan, provider } = host;
      const prefix = `${name}-${hostPlan.tikvName}`;
      const budget = planMemory(args.hostMemoryGiB, hostPlan.pdName !== undefined);
      const volume = new docker.Volume(`${prefix}-data`, { name: "tikv-data" },
        { parent: this, provider, retainOnDelete: true });
      const image = new docker.RemoteImage(`${prefix}-image`,
        { name: `pingcap/tikv:${args.tikvVersion}`, keepLocally: true }, { parent: this, provider });
      this.tikvContainers.push(new docker.Container(`${prefix}`, {
        ...baseContainer(),
        name: hostPlan.tikvName,
        image: image.imageId,
        command: tikvArgs(hostPlan, args.plan),
        memory: budget.tikvContainerMiB,
        volumes: [{ volumeName: volume.name, containerPath: DATA_DIR }],
        uploads: [{ file: TIKV_CONFIG_PATH, content: tikvConfigToml(budget, args.systemDiskSize) }],
        healthcheck: httpHealthcheck(`http://127.0.0.1:${PORTS.tikvStatus}/status`),
        // A store registers with PD at start-up; a healthy PD quorum first avoids a crash loop.
      }, { parent: this, provider, deleteBeforeReplace: true, dependsOn: this.pdContainers }));
    }

    this.pdEndpoints = pulumi.all(this.pdContainers.map((c) => c.id)).apply(() => [...args.plan.pdEndpoints]);
    this.tikvStores = pulumi.all(this.tikvContainers.map((c) => c.id)).apply(() => [...args.plan.tikvAddresses]);
    this.registerOutputs({ pdEndpoints: this.pdEndpoints, tikvStores: this.tikvStores });
  }
}
