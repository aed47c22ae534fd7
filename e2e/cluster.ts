// What the test reads of a running cluster, the way an operator would: the stack's documented
// outputs run in a shell, the docker CLI over TLS, and PD's HTTP API with the operator's
// certificate (through the program's own PD client, lib/pdApi.ts).
import { PdStore, PdTarget, getMemberHealth, getStores, pdRequest } from "../lib/pdApi";
import { E2EStack } from "./stack";
import { assert, run } from "./util";

/** The docker CLI's environment for one host's engine: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH. */
export type DockerEnv = NodeJS.ProcessEnv;

/** PD's API as the rollout gates reach it: with the cluster admin's certificate, from the cluster CA. */
export function pdTarget(outputs: Record<string, unknown>, endpoints: string[]): PdTarget {
  for (const key of ["clusterCaCertPem", "clusterAdminCertPem", "clusterAdminKeyPem"])
    assert(typeof outputs[key] === "string", `output ${key}`);
  return {
    endpoints,
    requestTimeoutMs: 5_000,
    tls: {
      caPem: String(outputs.clusterCaCertPem),
      certPem: String(outputs.clusterAdminCertPem),
      keyPem: String(outputs.clusterAdminKeyPem),
    },
  };
}

interface PdCtlStore {
  store: { id: number; address: string; state_name: string; version: string };
  status: { leader_count: number; region_count: number };
}

/** `pd-ctl store` through the stack's own pdCtlStores output, as printed (after its certSetup). */
export function pdCtlStores(stack: E2EStack, outputs: Record<string, unknown>, keepDockerEnv = false): PdCtlStore[] {
  const text = stack.printed(String(outputs.pdCtlStores), keepDockerEnv);
  const parsed = JSON.parse(text) as { count: number; stores: PdCtlStore[] };
  assert(parsed.count === parsed.stores.length, `pd-ctl store count ${parsed.count} matches its list`);
  return parsed.stores;
}

/** Docker's health status of each named container on a host, over the host's TLS API. */
export function healthOf(env: DockerEnv, names: string[]): Record<string, string> {
  const out = run(
    "docker",
    ["inspect", "--format", "{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", ...names],
    { env, allowFailure: true },
  );
  // A missing container is an answer; any other failure (the engine not answering) is not.
  const problems = out.stderr.split("\n").filter((l) => l.trim() !== "" && !/No such (object|container)/i.test(l));
  if (out.status !== 0 && problems.length > 0)
    throw new Error(
      `docker inspect ${names.join(" ")} at ${env.DOCKER_HOST ?? "the local engine"}: ${problems.join("; ")}`,
    );
  const result: Record<string, string> = Object.fromEntries(names.map((n) => [n, "missing"]));
  for (const line of out.stdout.trim().split("\n").filter(Boolean)) {
    const [name, status] = line.split(" ");
    result[name.replace(/^\//, "")] = status;
  }
  return result;
}

export async function storesUp(target: PdTarget): Promise<PdStore[]> {
  return (await getStores(target)).filter((s) => s.stateName === "Up");
}

/** PD's cluster ID, as the decimal text PD sends: it is a uint64, beyond a JS number's precision. */
export async function clusterId(target: PdTarget): Promise<string> {
  const res = await pdRequest(target, "GET", "/pd/api/v1/cluster");
  assert(res.status === 200, `GET /pd/api/v1/cluster answers 200 (got ${res.status} ${res.body})`);
  const match = /"id":\s*(\d+)/.exec(res.body);
  assert(match, `a cluster id in ${res.body}`);
  return match[1];
}

export async function allMembersHealthy(target: PdTarget): Promise<boolean> {
  const members = await getMemberHealth(target);
  return members.length > 0 && members.every((m) => m.health);
}

export async function schedulers(target: PdTarget): Promise<string[]> {
  const res = await pdRequest(target, "GET", "/pd/api/v1/schedulers");
  return res.status === 200 ? (JSON.parse(res.body) as string[]) : [];
}

/** Stores of the evict-leader scheduler, [] when it does not exist (PD answers 404 then). */
export async function evictedStores(target: PdTarget): Promise<number[]> {
  const res = await pdRequest(target, "GET", "/pd/api/v1/scheduler-config/evict-leader-scheduler/list");
  if (res.status !== 200) return [];
  const body = JSON.parse(res.body) as { "store-id-ranges"?: Record<string, unknown> };
  return Object.keys(body["store-id-ranges"] ?? {})
    .map(Number)
    .sort();
}

/** A marker in a container's data volume, written and read with the container's own shell. */
export function writeMarker(env: DockerEnv, container: string, token: string): void {
  run("docker", ["exec", container, "sh", "-c", `echo ${token} > /data/e2e-marker`], { env });
}

export function readMarker(env: DockerEnv, container: string): string {
  return run("docker", ["exec", container, "cat", "/data/e2e-marker"], { env }).stdout.trim();
}

/** Reads a marker from a volume with no container running (after destroy), with a throwaway one. */
export function readMarkerInVolume(env: DockerEnv, volume: string, image: string): string {
  return run(
    "docker",
    ["run", "--rm", "--network", "none", "--entrypoint", "cat", "-v", `${volume}:/data`, image, "/data/e2e-marker"],
    { env },
  ).stdout.trim();
}

/** Container lifecycle events of one engine since `sinceSec`, oldest first. */
export interface ContainerEvent {
  readonly name: string;
  readonly action: string;
  readonly at: number;
}

export function containerEvents(env: DockerEnv, sinceSec: number): ContainerEvent[] {
  const out = run(
    "docker",
    [
      "events",
      "--since",
      String(sinceSec),
      "--until",
      String(Math.ceil(Date.now() / 1000) + 1),
      "--filter",
      "type=container",
      "--filter",
      "event=create",
      "--filter",
      "event=start",
      "--filter",
      "event=die",
      "--filter",
      "event=destroy",
      "--format",
      "{{.Actor.Attributes.name}} {{.Action}} {{.TimeNano}}",
    ],
    { env },
  );
  return out.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [name, action, nano] = line.split(" ");
      return { name, action, at: Number(BigInt(nano) / 1_000_000n) };
    });
}
