// The Docker readiness probe: GET https://<host>:2376/_ping with the operator's client certificate,
// verifying the daemon against our CA. Only Node built-ins are imported: this module is serialized
// into the dynamic provider that runs it inside the Pulumi engine.
import * as https from "https";

export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface WaitOptions {
  /** Names the host in the error, e.g. "tikv-host-2 (203.0.113.5)". */
  readonly label: string;
  readonly timeoutMs: number;
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  /** Per-attempt connect + response timeout. */
  readonly attemptTimeoutMs: number;
}

/** One attempt: resolves when the daemon answers 200 "OK", rejects with the reason otherwise. */
export function pingDocker(target: ProbeTarget, attemptTimeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: target.host,
        port: target.port,
        path: "/_ping",
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
        res.on("end", () => {
          if (res.statusCode === 200 && body.trim() === "OK") resolve();
          else reject(new Error(`HTTP ${res.statusCode}: ${body.trim().slice(0, 200)}`));
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${attemptTimeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * Retries with exponential backoff until the daemon answers or the deadline passes. Every failure is
 * retried, TLS ones included: a new host's clock may lag ours until NTP syncs, so a fresh
 * certificate can look "not yet valid" for a while.
 */
export async function waitForDocker(target: ProbeTarget, options: WaitOptions): Promise<number> {
  const deadline = Date.now() + options.timeoutMs;
  let delay = options.firstDelayMs;
  let attempts = 0;
  let lastError = "no attempt was made";
  for (;;) {
    attempts++;
    try {
      await pingDocker(target, options.attemptTimeoutMs);
      return attempts;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await new Promise((r) => setTimeout(r, Math.min(delay, remaining)));
    delay = Math.min(delay * 2, options.maxDelayMs);
  }
  throw new Error(
    `Docker on ${options.label} did not answer https://${target.host}:${target.port}/_ping within ` +
      `${Math.round(options.timeoutMs / 1000)} s after ${attempts} attempt(s); last error: ${lastError}. ` +
      "The host installs and starts Docker from cloud-init: log in (SSH or the Tencent Cloud console) " +
      "and check `cloud-init status --long`, /var/log/cloud-init-output.log and `journalctl -u docker`.",
  );
}
