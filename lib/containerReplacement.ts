// Which docker.Container inputs make the engine replace a container, and which it changes in place.
// Pure: the rollout gates drain a member only when its container is about to be replaced.
import * as crypto from "crypto";

/**
 * Container inputs the program sets whose schema carries ForceNew: a change deletes and recreates
 * the container. From kreuzwerker/terraform-provider-docker v3.9.0 (d7d7ff7f, the upstream of
 * @pulumi/docker 4.11.0 to 4.11.2, whose patches leave the container alone),
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
 * others are only recorded in the state (must_run too in v3.9.0; the e2e plugin's newer commit
 * starts a stopped container when must_run goes from false to true, never the other way).
 */
export const PROVIDER_IN_PLACE_INPUTS = [
  "memory",
  "cpuShares",
  "memorySwap",
  "healthcheck",
  "restart",
  "mustRun",
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

/**
 * `mustRun` of every PD and TiKV container. What the provider's refresh (resourceDockerContainerRead,
 * internal/provider/resource_docker_container_funcs.go) does to a container that exists but is not
 * running (stopped, exited, created; a restarting one counts as running in Docker's state):
 * - kreuzwerker v3.9.0 (d7d7ff7f), what @pulumi/docker 4.11.0 to 4.11.2 run: with must_run true
 *   (the default) resourceDockerContainerReadRefreshFunc answers errContainerFailedToBeCreated (no
 *   creation in this process) and Read calls resourceDockerContainerDelete: the container is
 *   force-removed from the engine and dropped from the state, and the next `up` creates it again,
 *   past its rollout gates (kreuzwerker/terraform-provider-docker#590). With false the refresh
 *   keeps it and records its exit code, but also reads its published ports back empty
 *   (issue #77 there): pd1 of mode local, the only member with published ports, is then
 *   replaced by the next `up` (README, Troubleshooting).
 * - the e2e plugin's commit 96d331c98ff4: with true, Read sets must_run false in the state and the
 *   next `up` starts the container (resourceDockerContainerUpdate); with false it is left alone.
 * Either way false: a stopped member is the operator's, not the refresh's. A container that is
 * gone is dropped from the state by every version (fetchDockerContainer finds nothing).
 */
export const MUST_RUN = false;

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
