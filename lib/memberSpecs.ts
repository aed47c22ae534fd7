// The PD and TiKV members of a cluster as data: which member runs where, with which image, flags,
// files, memory and health check, and the Docker container spec each becomes. Pure (types only
// from the Pulumi SDKs): components/tikvCluster.ts declares the resources, one set per spec.
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import {
  DATA_DIR,
  PD_CONFIG_PATH,
  TIKV_CONFIG_PATH,
  healthcheckCommand,
  pdArgs,
  pdConfigToml,
  tikvArgs,
  tikvConfigToml,
} from "./clusterConfig";
import { ComponentBuild, Patch, releaseImage } from "./builds";
import { MUST_RUN } from "./containerReplacement";
import { CONTAINER_HARDENING, PIDS_LIMIT } from "./containerSecurity";
import { INSTANCE_LABEL } from "./labels";
import { CPU_SHARES, MemoryBudget } from "./memoryBudget";
import { ClusterNetworking, attachment, containerName, volumeName } from "./networking";
import { PD_START_PATH, PD_START_SCRIPT, pdStartEnv } from "./pdStart";
import { ClusterPlan, HostPlan, PORTS } from "./topology";

/** PD's max-replicas: three copies of every region, one per store of the smallest cluster. */
export const REPLICAS = 3;

/**
 * Seconds PD and TiKV get to exit after SIGTERM, both on `docker stop` (stopTimeout) and when the
 * engine deletes or replaces the container: the Docker provider deletes by stopping with
 * `destroy_grace_seconds` (default 0, i.e. SIGKILL at once) and then force-removing
 * (kreuzwerker/terraform-provider-docker v3.9.0, internal/provider/resource_docker_container_funcs.go,
 * resourceDockerContainerDelete). 90 s is what TiUP relies on: systemd's default TimeoutStopSec
 * (pingcap/tiup pkg/cluster/module/systemd.go).
 */
export const STOP_GRACE_SECONDS = 90;

/** Seconds the provider waits for a new container's health check (`wait: true`). */
export const HEALTH_WAIT_SECONDS = 300;

/** One PD member or TiKV store: everything its container is made of that is known before deploying. */
export interface MemberSpec {
  readonly kind: "pd" | "tikv";
  /** pd1.., tikv1..: resource names and the member's alias. */
  readonly member: string;
  /** The host it runs on. */
  readonly host: HostPlan;
  /** What PD knows it as: the member name, or the store's advertised address. */
  readonly pdMember: string;
  /** `pingcap/pd:<tag>` or `pingcap/tikv:<tag>`, or the user's image (pdImage, tikvImage). */
  readonly image: string;
  /** The user's binary put into `image` on the host (pdPatch, tikvPatch), and the result's name. */
  readonly patch?: Patch & { readonly tag: string };
  readonly entrypoints?: readonly string[];
  readonly command: readonly string[];
  readonly envs?: readonly string[];
  /** Container memory limit, MiB (lib/memoryBudget.ts). */
  readonly memoryMiB: number;
  /** Relative CPU weight under contention (lib/memoryBudget.ts CPU_SHARES). */
  readonly cpuShares: number;
  /** Configuration files uploaded into the container. */
  readonly files: readonly { readonly file: string; readonly content: string }[];
  /** URL the health check probes from inside the container. */
  readonly healthUrl: string;
  /** The member speaks mutual TLS (the health check then presents its certificate). */
  readonly tls: boolean;
  /** Ports published on a shared engine's loopback. */
  readonly publish: readonly { readonly internal: number; readonly external: number; readonly ip: string }[];
  /** Processes and threads the container may have. */
  readonly pidsLimit: number;
}

export interface MemberSpecsInput {
  readonly plan: ClusterPlan;
  /** One tag for both images, e.g. v8.5.7. */
  readonly tikvVersion: string;
  readonly memory: (host: HostPlan) => MemoryBudget;
  readonly diskGB: number;
  /** The store's capacity where it shares its data disk (lib/memoryBudget.ts tikvCapacityGB). */
  readonly tikvCapacityGB?: (host: HostPlan) => number | undefined;
  /** --initial-cluster of the cluster's first deployment (lib/lastDeployment.ts pdInitialCluster). */
  readonly pdInitialCluster: string;
  /** The user's own builds per component (lib/builds.ts); absent: the release images. */
  readonly builds?: { readonly pd: ComponentBuild; readonly tikv: ComponentBuild };
}

function imageOf(
  input: MemberSpecsInput,
  component: "pd" | "tikv",
): Pick<MemberSpec, "image"> & { patch?: MemberSpec["patch"] } {
  const build = input.builds?.[component];
  if (!build) return { image: releaseImage(component, input.tikvVersion) };
  return {
    image: build.image,
    ...(build.patch && build.patchedTag ? { patch: { ...build.patch, tag: build.patchedTag } } : {}),
  };
}

/** Every member in rollout order: PD members on the first pdCount hosts, then a store on every host. */
export function memberSpecs(input: MemberSpecsInput): MemberSpec[] {
  const { plan } = input;
  const tls = plan.scheme === "https";
  const pd = plan.hosts
    .filter((h) => h.pdName !== undefined)
    .map((host): MemberSpec => {
      const budget = input.memory(host);
      return {
        kind: "pd",
        member: host.pdName!,
        host,
        pdMember: host.pdName!,
        ...imageOf(input, "pd"),
        entrypoints: ["/bin/sh", PD_START_PATH],
        command: pdArgs(host, plan),
        // Every member's Go heap is bounded, not only the leader's (MemoryBudget.pdGoMemLimitMiB).
        envs: [...pdStartEnv(host, plan, input.pdInitialCluster, DATA_DIR), `GOMEMLIMIT=${budget.pdGoMemLimitMiB}MiB`],
        memoryMiB: budget.pdContainerMiB,
        cpuShares: CPU_SHARES.pd,
        files: [
          { file: PD_CONFIG_PATH, content: pdConfigToml(REPLICAS, tls, budget) },
          { file: PD_START_PATH, content: PD_START_SCRIPT },
        ],
        healthUrl: `${plan.scheme}://127.0.0.1:${PORTS.pdClient}/pd/api/v1/ping`,
        tls,
        // On a shared engine only the first PD's client port is published, and only on loopback.
        publish: host.index === 1 ? [{ internal: PORTS.pdClient, external: PORTS.pdClient, ip: "127.0.0.1" }] : [],
        pidsLimit: PIDS_LIMIT.pd,
      };
    });
  const tikv = plan.hosts.map((host): MemberSpec => {
    const budget = input.memory(host);
    return {
      kind: "tikv",
      member: host.tikvName,
      host,
      pdMember: `${host.tikvHost}:${PORTS.tikv}`,
      ...imageOf(input, "tikv"),
      command: tikvArgs(host, plan, input.pdInitialCluster),
      memoryMiB: budget.tikvContainerMiB,
      cpuShares: CPU_SHARES.tikv,
      files: [
        {
          file: TIKV_CONFIG_PATH,
          content: tikvConfigToml(budget, input.diskGB, tls, input.tikvCapacityGB?.(host), {
            zone: host.zone,
            host: host.name,
          }),
        },
      ],
      healthUrl: `${plan.scheme}://127.0.0.1:${PORTS.tikvStatus}/status`,
      tls,
      publish: [],
      pidsLimit: PIDS_LIMIT.tikv,
    };
  });
  return [...pd, ...tikv];
}

/** Data volume name of a member: `pd-data` on a host of its own, `tikv-dev-pd1-data` on a shared engine. */
export function memberVolumeName(networking: ClusterNetworking, spec: MemberSpec): string {
  return volumeName(networking, spec.member, `${spec.kind}-data`);
}

/** What the container spec needs that only exists once resources do. */
export interface ContainerWiring {
  readonly networking: ClusterNetworking;
  readonly imageId: pulumi.Input<string>;
  readonly volumeName: pulumi.Input<string>;
  /** Uploads beyond the spec's files (the TLS material, with the key secret). */
  readonly extraUploads: readonly docker.types.input.ContainerUpload[];
  /** The CVM the container runs on, when made here: a new CVM is a new engine (a label forces that). */
  readonly instanceId?: pulumi.Input<string>;
  /** nofile ulimit, soft = hard (tikv-cvm:nofileLimit). */
  readonly nofileLimit: number;
}

/** The Docker container spec of one member. */
export function memberContainerArgs(spec: MemberSpec, wiring: ContainerWiring): docker.ContainerArgs {
  return {
    name: containerName(wiring.networking, spec.member),
    image: wiring.imageId,
    ...(spec.entrypoints ? { entrypoints: [...spec.entrypoints] } : {}),
    command: [...spec.command],
    ...(spec.envs ? { envs: [...spec.envs] } : {}),
    memory: spec.memoryMiB,
    // Stated, or Docker's default (twice the memory) reads back as a perpetual diff; equal to
    // memory means no swap, which TiKV wants anyway.
    memorySwap: spec.memoryMiB,
    // Applied in place by the provider's update (docker update --cpu-shares): no restart.
    cpuShares: spec.cpuShares,
    ...attachment(
      wiring.networking,
      spec.member,
      spec.publish.map((p) => ({ ...p })),
    ),
    restart: "unless-stopped",
    // A member someone stopped stays as it is on `pulumi refresh` / `pulumi up --refresh`
    // (lib/containerReplacement.ts MUST_RUN explains what each provider does otherwise).
    mustRun: MUST_RUN,
    // No capabilities, no privilege gain: see lib/containerSecurity.ts for why none is needed.
    capabilities: { drops: [...CONTAINER_HARDENING.capabilities.drops] },
    securityOpts: [...CONTAINER_HARDENING.securityOpts],
    ulimits: [{ name: "nofile", soft: wiring.nofileLimit, hard: wiring.nofileLimit }],
    // Stated explicitly, or the provider shows a perpetual diff (pulumi-docker#1272).
    logDriver: "json-file",
    logOpts: { "max-size": "100m", "max-file": "3" },
    // Lets PD hand over leadership and TiKV close its engines before SIGKILL, on `docker stop`
    // and on every replacement or deletion by the engine.
    stopTimeout: STOP_GRACE_SECONDS,
    destroyGraceSeconds: STOP_GRACE_SECONDS,
    volumes: [{ volumeName: wiring.volumeName, containerPath: DATA_DIR }],
    uploads: [...spec.files.map((f) => ({ ...f })), ...wiring.extraUploads],
    ...(wiring.instanceId === undefined ? {} : { labels: [{ label: INSTANCE_LABEL, value: wiring.instanceId }] }),
    // Durations as the provider reads them back (Go's time.Duration String: "1m0s", not "60s";
    // kreuzwerker/terraform-provider-docker resource_docker_container_funcs.go), or every
    // preview shows a diff.
    healthcheck: {
      tests: healthcheckCommand(spec.healthUrl, spec.tls),
      interval: "10s",
      timeout: "5s",
      retries: 3,
      startPeriod: "1m0s",
    },
    // The provider waits for the health check before anything after it in the chain runs. PD
    // serves HTTP only once a quorum of its initial cluster is up (etcd serves clients after
    // ReadyNotify): a first deployment creates members in parallel so they wait together, and a
    // replaced member rejoins the running quorum.
    wait: true,
    waitTimeout: HEALTH_WAIT_SECONDS,
  };
}
