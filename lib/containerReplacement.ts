// Which docker.Container inputs make the engine replace a container, and which it changes in place.
// Pure: the rollout gates drain a member only when its container is about to be replaced.
import * as crypto from "crypto";

/**
 * Container inputs the program sets whose schema carries ForceNew: a change deletes and recreates
 * the container. From kreuzwerker/terraform-provider-docker v3.9.0 (d7d7ff7f, the upstream of
 * @pulumi/docker 4.11.0, whose patches leave the container alone),
 * internal/provider/resource_docker_container.go, named as @pulumi/docker names them.
 */
export const PROVIDER_REPLACING_INPUTS = [
  "name",
  "image",
  "command",
  "entrypoints",
  "envs",
  "networkMode",
  "networksAdvanced",
  "ports",
  "ulimits",
  "logDriver",
  "logOpts",
  "stopTimeout",
  "volumes",
  "uploads",
  "labels",
  "capabilities",
  "securityOpts",
] as const;

/**
 * Container inputs without ForceNew. resourceDockerContainerUpdate
 * (internal/provider/resource_docker_container_funcs.go) applies only restart, max_retry_count,
 * cpu_shares, memory, memory_reservation, cpu_set and memory_swap to the running container; the
 * others are only recorded in the state.
 */
export const PROVIDER_IN_PLACE_INPUTS = [
  "memory",
  "memorySwap",
  "healthcheck",
  "restart",
  "wait",
  "waitTimeout",
  "destroyGraceSeconds",
] as const;

/**
 * In-place inputs the program declares `replaceOnChanges` for PD and TiKV, because applied in
 * place they would not take effect:
 * - memory: PD sizes its GC memory limit from the cgroup limit once, when its cluster starts
 *   (tikv/pd server/cluster/cluster.go startGCTuner, memory.MemTotal), and TiKV checks
 *   memory-usage-limit against it at start (tikv/tikv src/config/mod.rs validate); a running
 *   process would keep limits sized for the old value.
 * - healthcheck: the provider's update never sends it to Docker, so the running container would
 *   keep probing the old way while the state shows the new one.
 */
export const REPLACE_ON_CHANGES = ["memory", "healthcheck"] as const;

/** Every input whose change replaces a PD or TiKV container. */
export const REPLACING_INPUTS: readonly string[] = [...PROVIDER_REPLACING_INPUTS, ...REPLACE_ON_CHANGES];

/** Inputs changed in place with effect or none: a change to them restarts nothing. */
export const IN_PLACE_INPUTS: readonly string[] = PROVIDER_IN_PLACE_INPUTS.filter(
  (k) => !(REPLACE_ON_CHANGES as readonly string[]).includes(k),
);

/**
 * The whole of `spec` but the inputs known to change in place: the known replacing inputs first
 * (in REPLACING_INPUTS order, so digests of existing specs stay as they were), then any input
 * classified nowhere, sorted. An unclassified input counts as replacing: a gate that drains a
 * member for nothing costs a leader transfer, one that misses a replacement costs an outage.
 */
export function replacingInputs(spec: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of REPLACING_INPUTS) if (spec[key] !== undefined) picked[key] = spec[key];
  const unclassified = Object.keys(spec)
    .filter((k) => !REPLACING_INPUTS.includes(k) && !IN_PLACE_INPUTS.includes(k))
    .sort();
  for (const key of unclassified) if (spec[key] !== undefined) picked[key] = spec[key];
  return picked;
}

/** A short digest over the whole spec that changes whenever the container will be replaced. */
export function replacementDigest(spec: Readonly<Record<string, unknown>>): string {
  return crypto
    .createHash("sha256")
    .update(JSON.stringify(replacingInputs(spec)))
    .digest("hex")
    .slice(0, 16);
}
