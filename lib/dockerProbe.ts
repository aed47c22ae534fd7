// The Docker readiness probe: GET https://<host>:2376/_ping with the operator's client certificate,
// verifying the daemon against our CA, then (for a CVM) GET /info to see that Docker runs on the
// host's data disk. Only Node built-ins and constants are imported: this module is serialized into
// the dynamic provider that runs it inside the Pulumi engine.
import * as https from "https";
import { DATA_DISK_ERROR_LABEL, DATA_DISK_LABEL } from "./labels";
import type { TlsMaterial } from "./tlsMaterial";

export interface ProbeTarget extends TlsMaterial {
  readonly host: string;
  readonly port: number;
  /**
   * The CBS disk id Docker's data root must be on (lib/dataDisk.ts labels the engine with it);
   * undefined skips the check (hosts not made here).
   */
  readonly dataDiskId?: string;
}

/** Who made the host: decides what an error tells the user to check. */
export type HostOrigin = "cvm" | "existing";
/** A definitive answer from the host: waiting longer will not change it. */
export class DataDiskError extends Error {}

export interface WaitOptions {
  /** Names the host in the error, e.g. "tikv-host-2 (203.0.113.5)". */
  readonly label: string;
  readonly origin: HostOrigin;
  readonly timeoutMs: number;
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  /** Per-attempt connect + response timeout. */
  readonly attemptTimeoutMs: number;
}

/**
 * TLS failures that waiting cannot cure: the server certificate does not name the address dialled,
 * comes from a CA we do not trust, has expired (by our clock, which decides) or is not made for a
 * server (Node's error codes, node/src/crypto/crypto_common.cc). "Not yet valid" is not among
 * them: a certificate made a moment ago may still be ahead of a lagging clock.
 */
const PERMANENT_TLS_ERRORS: Readonly<Record<string, string>> = {
  ERR_TLS_CERT_ALTNAME_INVALID: "the daemon's server certificate does not name the address dialled",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the daemon's server certificate is not signed by the CA given",
  SELF_SIGNED_CERT_IN_CHAIN: "the daemon's server certificate is not signed by the CA given",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the daemon's server certificate is self-signed, not signed by the CA given",
  CERT_HAS_EXPIRED: "the daemon's server certificate has expired",
  INVALID_PURPOSE: "the daemon's server certificate is not made for a server (no serverAuth extended key usage)",
};

/** An error retrying cannot fix; `waitForDocker` stops at the first one. */
export interface ProbeError extends Error {
  permanent?: boolean;
}

function permanent(message: string): ProbeError {
  const err: ProbeError = new Error(message);
  err.permanent = true;
  return err;
}

/** One attempt: resolves when the daemon answers 200 "OK", rejects with the reason otherwise. */
export async function pingDocker(target: ProbeTarget, attemptTimeoutMs: number): Promise<void> {
  const ping = await dockerGet(target, "/_ping", attemptTimeoutMs);
  if (ping.status !== 200 || ping.body.trim() !== "OK")
    throw new Error(`HTTP ${ping.status}: ${ping.body.trim().slice(0, 200)}`);
  if (target.dataDiskId === undefined) return;
  const info = await dockerGet(target, "/info", attemptTimeoutMs);
  if (info.status !== 200) throw new Error(`GET /info: HTTP ${info.status}: ${info.body.trim().slice(0, 200)}`);
  const labels = (JSON.parse(info.body) as { Labels?: string[] | null }).Labels ?? [];
  const error = labels.find((l) => l.startsWith(`${DATA_DISK_ERROR_LABEL}=`));
  if (error !== undefined) {
    throw new DataDiskError(`Docker runs without its data disk: ${error.slice(DATA_DISK_ERROR_LABEL.length + 1)}`);
  }
  const disk = labels.find((l) => l.startsWith(`${DATA_DISK_LABEL}=`))?.slice(DATA_DISK_LABEL.length + 1);
  if (disk !== target.dataDiskId) {
    throw new Error(
      `Docker answers but its data root is not on data disk ${target.dataDiskId} ` +
        `(engine labels: ${labels.join(", ") || "none"})`,
    );
  }
}

function dockerGet(
  target: ProbeTarget,
  path: string,
  attemptTimeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: target.host,
        port: target.port,
        path,
        method: "GET",
        ca: target.caPem,
        cert: target.certPem,
        key: target.keyPem,
        rejectUnauthorized: true,
        timeout: attemptTimeoutMs,
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${attemptTimeoutMs} ms`)));
    req.on("error", (err: NodeJS.ErrnoException) => {
      const reason = err.code ? PERMANENT_TLS_ERRORS[err.code] : undefined;
      reject(reason ? permanent(`${reason} (${err.message})`) : err);
    });
    req.end();
  });
}

/**
 * Whether the daemon serves `/_ping` to a client that presents no certificate, i.e. it has "tls"
 * on without verifying clients, and anyone who reaches the port owns the host: "yes"; a refused
 * handshake, a reset or any answer but 200: "no". No answer at all proves nothing: "unknown".
 */
export function servesAnonymousClients(
  target: ProbeTarget,
  attemptTimeoutMs: number,
): Promise<"yes" | "no" | "unknown"> {
  return new Promise((resolve) => {
    let timedOut = false;
    const req = https.request(
      {
        host: target.host,
        port: target.port,
        path: "/_ping",
        method: "GET",
        ca: target.caPem,
        rejectUnauthorized: true,
        timeout: attemptTimeoutMs,
        agent: false,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200 ? "yes" : "no"));
      },
    );
    req.on("timeout", () => {
      timedOut = true;
      req.destroy(new Error("timeout"));
    });
    req.on("error", () => resolve(timedOut ? "unknown" : "no"));
    req.end();
  });
}

/** What to check when the daemon never answered, by who set the host up. */
function unreachableHint(origin: HostOrigin, port: number, dataDiskId?: string): string {
  return origin === "cvm"
    ? "The host installs and starts Docker from cloud-init" +
        (dataDiskId ? `, once its data disk ${dataDiskId} is attached and mounted` : "") +
        ": log in (SSH or the Tencent Cloud console) and check `cloud-init status --long`, " +
        "/var/log/cloud-init-output.log" +
        (dataDiskId ? ", `journalctl -u tikv-data-disk`" : "") +
        " and `journalctl -u docker`."
    : `Check on that host that dockerd runs and listens on ${port} with TLS (\`systemctl status docker\`, ` +
        `\`ss -ltnp | grep ${port}\`, \`journalctl -u docker\`), that this machine may reach the port, and that ` +
        "tikv-cvm:dockerCaPem, dockerCertPem and dockerKeyPem are the material its daemon.json trusts.";
}

/** How to fix a certificate the daemon serves, by who set the host up. */
function certificateHint(origin: HostOrigin, host: string): string {
  return origin === "cvm"
    ? `This program issued the certificate (valid 5 years) for the host's EIP and private IP; if ${host} is not ` +
        "one of them, the EIP changed after the host was made. Either way, replace the host's Docker server certificate and the host."
    : `Reissue the daemon's server certificate with ${host} among its subject alternative names, serverAuth among ` +
        "its extended key usages and a validity that covers today, signed by the CA in tikv-cvm:dockerCaPem, or set " +
        "this host's dockerHost to an address the certificate names.";
}

/**
 * Retries with exponential backoff until the daemon answers or the deadline passes. Failures that
 * waiting may cure are retried (nothing listening yet, a clock still behind ours); a certificate
 * that does not fit, or a daemon that serves clients without a certificate, fails at once.
 */
export async function waitForDocker(target: ProbeTarget, options: WaitOptions): Promise<number> {
  const deadline = Date.now() + options.timeoutMs;
  const where = `https://${target.host}:${target.port}`;
  let delay = options.firstDelayMs;
  let attempts = 0;
  let lastError = "no attempt was made";
  for (;;) {
    attempts++;
    let answered = false;
    try {
      await pingDocker(target, options.attemptTimeoutMs);
      answered = true;
    } catch (err) {
      if (err instanceof DataDiskError) {
        throw new Error(
          `${options.label}: ${err.message}. The host keeps Docker off its system disk and ` +
            "starts it on an empty in-memory data root instead; `journalctl -u tikv-data-disk` on the host has the details.",
          { cause: err },
        );
      }
      const e = err as ProbeError;
      if (e.permanent) {
        throw new Error(
          `Docker on ${options.label} at ${where} cannot be trusted: ${e.message}. Waiting will not ` +
            `change this. ${certificateHint(options.origin, target.host)}`,
          { cause: err },
        );
      }
      lastError = e.message;
    }
    if (answered) {
      const anonymous = await servesAnonymousClients(target, options.attemptTimeoutMs);
      if (anonymous === "yes") {
        throw new Error(
          `Docker on ${options.label} serves ${where} to clients without a certificate: its daemon.json has ` +
            '"tls": true but does not verify clients, so anyone who reaches the port is root on the host. Set ' +
            '"tlsverify": true and "tlscacert" to the CA that signed your client certificate in /etc/docker/daemon.json, ' +
            "then `systemctl restart docker` (https://docs.docker.com/engine/security/protect-access/).",
        );
      }
      // Only a refusal proves the daemon verifies clients; no answer is asked again, never assumed.
      if (anonymous === "no") return attempts;
      lastError = "the daemon answered, but the check for clients without a certificate got no answer";
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await new Promise((r) => setTimeout(r, Math.min(delay, remaining)));
    delay = Math.min(delay * 2, options.maxDelayMs);
  }
  throw new Error(
    `Docker on ${options.label} did not answer ${where}/_ping within ` +
      `${Math.round(options.timeoutMs / 1000)} s after ${attempts} attempt(s); last error: ${lastError}. ` +
      unreachableHint(options.origin, target.port, target.dataDiskId),
  );
}
