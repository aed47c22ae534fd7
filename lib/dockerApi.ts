// The few Docker Engine API calls the Docker provider cannot make for us: setting a container's
// pids limit (POST /containers/{id}/update, "PidsLimit"; Docker Engine API v1.40+) and reading it
// back; running a one-shot container to completion (the PD bootstrap permit, lib/pdStart.ts; the
// data filesystem's size, lib/dataFs.ts); and building a member's image with the user's binary in it (tikvPatch/pdPatch, lib/builds.ts).
// Only Node built-ins are imported: this module is serialized into a dynamic provider.
import * as crypto from "crypto";
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

export interface Target {
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

/** One Engine API call; resolves with the status and body (as text and as bytes) whatever the status. */
export function request(
  target: Target,
  method: string,
  apiPath: string,
  timeoutMs: number,
  body?: unknown,
): Promise<{ status: number; body: string; bytes: Buffer }> {
  const raw = body instanceof Buffer;
  const payload = body === undefined ? undefined : raw ? body : JSON.stringify(body);
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
            : {
                "content-type": raw ? "application/x-tar" : "application/json",
                "content-length": Buffer.byteLength(payload),
              },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, body: bytes.toString("utf8"), bytes });
        });
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
  /** Read what it wrote to stdout before removing it (runOneShot's result); otherwise "". */
  readonly output?: boolean;
}

/**
 * The stdout frames of a non-TTY container's log stream (Engine API GET /containers/{id}/logs):
 * each frame is an 8-byte header (stream: 1 stdout, 2 stderr; 3 bytes zero; a big-endian uint32
 * length) and that many bytes (moby api/types/stdcopy, StdWriter).
 */
export function stdoutOfLogs(stream: Buffer): string {
  const out: Buffer[] = [];
  for (let at = 0; at + 8 <= stream.length;) {
    const length = stream.readUInt32BE(at + 4);
    if (stream[at] === 1) out.push(stream.subarray(at + 8, at + 8 + length));
    at += 8 + length;
  }
  return Buffer.concat(out).toString("utf8");
}

/**
 * Runs `spec` to completion and removes it (Engine API: POST /containers/create, /start, /wait,
 * DELETE /containers/{id}); no network, no capability, no privilege gain. Throws naming the
 * engine and the exit code when it does not exit 0; the container is removed either way.
 * Resolves with its stdout when `spec.output` asks for it (GET /containers/{id}/logs), else "".
 */
export async function runOneShot(endpoint: DockerEndpoint, spec: OneShot, timeoutMs: number): Promise<string> {
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
    if (!spec.output) return "";
    const logs = await request(target, "GET", `/containers/${id}/logs?stdout=1`, timeoutMs);
    if (logs.status !== 200) throw fail("could not read the output of", logs);
    return stdoutOfLogs(logs.bytes);
  } finally {
    await request(target, "DELETE", `/containers/${id}?force=true`, timeoutMs).catch(() => undefined);
  }
}

/** One file of a tar archive (POSIX ustar header, 512-byte blocks), owned by root. */
export function tarEntry(name: string, content: Buffer, mode: number): Buffer {
  const header = Buffer.alloc(512);
  const put = (text: string, offset: number, length: number) => header.write(text, offset, length, "latin1");
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, "0") + "\0";
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(content.length, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put("        ", 148, 8);
  put("0", 156, 1);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(octal(sum, 7) + " ", 148, 8);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding]);
}

/** A tar archive of the given files, with its two zero end-of-archive blocks. */
export function tarArchive(files: readonly { name: string; content: Buffer; mode: number }[]): Buffer {
  return Buffer.concat([...files.map((f) => tarEntry(f.name, f.content, f.mode)), Buffer.alloc(1024)]);
}

/** What to build: the base image (already on the engine), the binary and where it goes, the name. */
export interface PatchBuild {
  /** The base image's id (sha256:…): the build never pulls. */
  readonly baseImageId: string;
  readonly binaryFile: string;
  /** Expected SHA-256 of the binary: a file changed since the preview is refused, not built. */
  readonly sha256: string;
  /** e.g. /tikv-server */
  readonly target: string;
  readonly tag: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The Dockerfile of a patched image: the base with the binary in place (COPY keeps the tar's
 * 0755), nothing else changed, so the entrypoint and everything the base carries stay.
 */
export function patchDockerfile(build: Pick<PatchBuild, "baseImageId" | "target">): string {
  return [`FROM ${build.baseImageId}`, `COPY binary ${build.target}`].join("\n") + "\n";
}

/**
 * Builds the patched image on the engine and returns its id (Engine API: POST /build with the
 * context as a tar stream, then GET /images/{name}/json). When the engine already has the name
 * (an interrupted earlier run), that image is kept: the name carries the binary's hash.
 */
export async function buildPatchedImage(
  endpoint: DockerEndpoint,
  build: PatchBuild,
  timeoutMs: number,
): Promise<string> {
  const target = resolveEndpoint(endpoint);
  const name = encodeURIComponent(build.tag);
  const existing = await request(target, "GET", `/images/${name}/json`, 30_000);
  if (existing.status === 200) return (JSON.parse(existing.body) as { Id: string }).Id;
  const binary = fs.readFileSync(build.binaryFile);
  const sha256 = crypto.createHash("sha256").update(binary).digest("hex");
  if (sha256 !== build.sha256) {
    throw new Error(
      `${build.binaryFile} changed since the deployment was planned (SHA-256 ${sha256}, planned ${build.sha256}); run pulumi up again`,
    );
  }
  const context = tarArchive([
    { name: "Dockerfile", content: Buffer.from(patchDockerfile(build)), mode: 0o644 },
    { name: "binary", content: binary, mode: 0o755 },
  ]);
  const query = new URLSearchParams({
    t: build.tag,
    rm: "1",
    forcerm: "1",
    labels: JSON.stringify(build.labels),
  });
  const built = await request(target, "POST", `/build?${query.toString()}`, timeoutMs, context);
  // The build answers 200 and streams JSON messages; a failed step is an {"error": …} message.
  const messages = built.body
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as { error?: string; stream?: string };
      } catch {
        return { stream: line };
      }
    });
  const error = messages.find((m) => m.error !== undefined)?.error;
  if (built.status !== 200 || error !== undefined) {
    throw new Error(
      `Docker at ${target.describe} could not build ${build.tag}: ${error ?? `HTTP ${built.status} ${built.body.slice(0, 300)}`}`,
    );
  }
  const inspected = await request(target, "GET", `/images/${name}/json`, 30_000);
  if (inspected.status !== 200)
    throw new Error(`Docker at ${target.describe} built ${build.tag} but does not list it: HTTP ${inspected.status}`);
  return (JSON.parse(inspected.body) as { Id: string }).Id;
}
