// The few Docker Engine API calls the Docker provider cannot make for us: setting a container's
// pids limit (POST /containers/{id}/update, "PidsLimit"; Docker Engine API v1.40+) and reading it
// back; and running a one-shot container to completion (the PD bootstrap permit, lib/pdStart.ts).
// Only Node built-ins are imported: this module is serialized into a dynamic provider.
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import type { TlsMaterial } from "./tlsMaterial";

/** Where a host's Docker API is, and the client material that opens it. */
export type DockerEndpoint =
  /** A host's TCP endpoint behind mutual TLS (modes cvm and existing). */
  | ({ readonly kind: "tls"; readonly host: string; readonly port: number } & TlsMaterial)
  /** This machine's engine, found the way the docker CLI finds it: DOCKER_HOST, DOCKER_CERT_PATH, the default socket. */
  | { readonly kind: "environment" };

interface Target {
  readonly transport: typeof http | typeof https;
  readonly options: https.RequestOptions;
  readonly describe: string;
}

/** Resolves an endpoint to request options; `env` is the engine's environment at deploy time. */
export function resolveEndpoint(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv = process.env): Target {
  if (endpoint.kind === "tls") {
    return {
      transport: https,
      options: {
        host: endpoint.host,
        port: endpoint.port,
        ca: endpoint.caPem,
        cert: endpoint.certPem,
        key: endpoint.keyPem,
        rejectUnauthorized: true,
      },
      describe: `https://${endpoint.host}:${endpoint.port}`,
    };
  }
  const dockerHost = env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
  if (dockerHost.startsWith("unix://")) {
    const socketPath = dockerHost.slice("unix://".length);
    return { transport: http, options: { socketPath }, describe: dockerHost };
  }
  const url = new URL(dockerHost.replace(/^tcp:/, "http:"));
  const certPath = env.DOCKER_CERT_PATH;
  if (env.DOCKER_TLS_VERIFY || certPath) {
    const dir = certPath ?? path.join(os.homedir(), ".docker");
    const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
    return {
      transport: https,
      options: {
        host: url.hostname,
        port: Number(url.port || 2376),
        ca: read("ca.pem"),
        cert: read("cert.pem"),
        key: read("key.pem"),
        rejectUnauthorized: true,
      },
      describe: `https://${url.hostname}:${url.port || 2376}`,
    };
  }
  return { transport: http, options: { host: url.hostname, port: Number(url.port || 2375) }, describe: dockerHost };
}

function request(
  target: Target,
  method: string,
  apiPath: string,
  timeoutMs: number,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = target.transport.request(
      {
        ...target.options,
        method,
        path: apiPath,
        timeout: timeoutMs,
        agent: false,
        headers:
          payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`${method} ${target.describe}${apiPath}: no answer in ${timeoutMs} ms`)),
    );
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Sets the container's pids limit and reads it back; throws naming the container when Docker refuses. */
export async function setPidsLimit(
  endpoint: DockerEndpoint,
  containerId: string,
  limit: number,
  timeoutMs: number,
): Promise<void> {
  const target = resolveEndpoint(endpoint);
  const id = encodeURIComponent(containerId);
  const updated = await request(target, "POST", `/containers/${id}/update`, timeoutMs, { PidsLimit: limit });
  if (updated.status !== 200) {
    throw new Error(
      `Docker at ${target.describe} refused to set pids limit ${limit} on container ${containerId}: ` +
        `HTTP ${updated.status} ${updated.body.slice(0, 300)}`,
    );
  }
  const inspected = await request(target, "GET", `/containers/${id}/json`, timeoutMs);
  const actual =
    inspected.status === 200
      ? (JSON.parse(inspected.body) as { HostConfig?: { PidsLimit?: number } }).HostConfig?.PidsLimit
      : undefined;
  if (actual !== limit) {
    throw new Error(
      `Docker at ${target.describe} reports pids limit ${String(actual)} on container ${containerId} after setting ${limit}`,
    );
  }
}

/** A one-shot container: what it runs, on which image, with which volume mounted where. */
export interface OneShot {
  /** Container name, so a leftover is easy to recognize (`docker ps -a`). */
  readonly name: string;
  readonly image: string;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  /** `volume:/path` binds. */
  readonly binds: readonly string[];
}

/**
 * Runs `spec` to completion and removes it (Engine API: POST /containers/create, /start, /wait,
 * DELETE /containers/{id}); no network, no capability, no privilege gain. Throws naming the
 * engine and the exit code when it does not exit 0; the container is removed either way.
 */
export async function runOneShot(endpoint: DockerEndpoint, spec: OneShot, timeoutMs: number): Promise<void> {
  const target = resolveEndpoint(endpoint);
  const fail = (what: string, res: { status: number; body: string }) =>
    new Error(`Docker at ${target.describe}: ${what} ${spec.name}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
  // A leftover of an interrupted run goes first (404: there was none).
  const stale = await request(target, "DELETE", `/containers/${encodeURIComponent(spec.name)}?force=true`, timeoutMs);
  if (stale.status !== 204 && stale.status !== 404) throw fail("could not remove a leftover", stale);
  const created = await request(target, "POST", `/containers/create?name=${encodeURIComponent(spec.name)}`, timeoutMs, {
    Image: spec.image,
    Entrypoint: [...spec.entrypoint],
    Cmd: [...spec.cmd],
    NetworkDisabled: true,
    HostConfig: {
      Binds: [...spec.binds],
      NetworkMode: "none",
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
    },
  });
  if (created.status !== 201) throw fail("could not create", created);
  const id = encodeURIComponent((JSON.parse(created.body) as { Id: string }).Id);
  try {
    const started = await request(target, "POST", `/containers/${id}/start`, timeoutMs);
    if (started.status !== 204) throw fail("could not start", started);
    const waited = await request(target, "POST", `/containers/${id}/wait`, timeoutMs);
    if (waited.status !== 200) throw fail("could not wait for", waited);
    const code = (JSON.parse(waited.body) as { StatusCode?: number }).StatusCode;
    if (code !== 0) throw new Error(`Docker at ${target.describe}: ${spec.name} exited with ${String(code)}`);
  } finally {
    await request(target, "DELETE", `/containers/${id}?force=true`, timeoutMs).catch(() => undefined);
  }
}
