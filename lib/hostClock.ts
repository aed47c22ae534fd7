// A host's clock, read through its Docker API, against this machine's, and what a certificate made
// on this machine needs of it. Only Node built-ins and lib/dockerApi.ts are imported: this module is
// serialized into the dynamic provider that waits for the clocks (components/hostCheck.ts).
//
// Why a wait rather than a backdated certificate: @pulumi/tls 5.3.0 wraps
// hashicorp/terraform-provider-tls, whose createCertificate (internal/provider/common_cert.go)
// sets NotBefore to the provider's own time.Now() (common.go overridableTimeFunc) with no input to
// move it; tls_locally_signed_cert and tls_self_signed_cert share it. A certificate made on an
// operator's machine whose clock runs ahead is therefore "not yet valid" on a host with the right
// time (Go's crypto/x509 Certificate.Verify, which PD and dockerd use, refuses it, and so does
// TiKV's TLS stack). The honest equivalent is to hold the certificate back until the
// host's own clock has passed its NotBefore, and to say so when that would take too long.
import { DockerEndpoint, request, resolveEndpoint } from "./dockerApi";

/**
 * TiUP's check fails a host whose NTP or chrony offset is 500 ms or more (pingcap/tiup
 * pkg/cluster/operation/check.go, checkNTP and checkChrony: math.Abs(offset) >= 500).
 */
export const CLOCK_OFFSET_LIMIT_MS = 500;

/** How far a host's clock is from this machine's: positive when the host is ahead. */
export interface ClockReading {
  readonly offsetMs: number;
  /** Half the round trip of the reading: the true offset lies within offsetMs ± this. */
  readonly uncertaintyMs: number;
}

/**
 * The offset of a clock read once between `sentAt` and `receivedAt` (this machine's milliseconds):
 * the host's time is taken as read at the midpoint, as NTP's client does (RFC 5905 §8, with the
 * server's two timestamps equal).
 */
export function offsetFrom(sentAt: number, receivedAt: number, hostTime: number): ClockReading {
  const rtt = Math.max(0, receivedAt - sentAt);
  return { offsetMs: hostTime - (sentAt + rtt / 2), uncertaintyMs: rtt / 2 };
}

/** What one GET /info tells about the host: its clock against ours, and the memory its kernel sees. */
export interface HostReading extends ClockReading {
  /** MemTotal of the host's kernel (moby daemon/info.go SystemInfo, from /proc/meminfo), bytes. */
  readonly memTotalBytes: number;
}

/**
 * Reads the engine's GET /info: its SystemTime is the daemon host's time.Now() in RFC 3339 with
 * nanoseconds (moby daemon/info.go SystemInfo); the best of `samples` readings (the shortest
 * round trip) is returned, with the host's MemTotal.
 */
export async function readHostClock(endpoint: DockerEndpoint, timeoutMs: number, samples = 3): Promise<HostReading> {
  const target = resolveEndpoint(endpoint);
  let best: HostReading | undefined;
  for (let i = 0; i < samples; i++) {
    const sentAt = Date.now();
    const res = await request(target, "GET", "/info", timeoutMs);
    const receivedAt = Date.now();
    if (res.status !== 200)
      throw new Error(`GET ${target.describe}/info: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    const info = JSON.parse(res.body) as { SystemTime?: string; MemTotal?: number };
    const hostTime = info.SystemTime === undefined ? NaN : Date.parse(info.SystemTime);
    if (Number.isNaN(hostTime))
      throw new Error(`GET ${target.describe}/info: no readable SystemTime (${String(info.SystemTime)})`);
    const reading = { ...offsetFrom(sentAt, receivedAt, hostTime), memTotalBytes: info.MemTotal ?? 0 };
    if (best === undefined || reading.uncertaintyMs < best.uncertaintyMs) best = reading;
  }
  return best!;
}

/**
 * The latest of the given times (RFC 3339, as @pulumi/tls reports validityStartTime), as an ISO
 * date; "" when there are none.
 */
export function latestTime(times: readonly string[]): string {
  let latest = -Infinity;
  for (const t of times) {
    const ms = Date.parse(t);
    if (Number.isNaN(ms)) throw new Error(`not a time: ${JSON.stringify(t)}`);
    latest = Math.max(latest, ms);
  }
  return latest === -Infinity ? "" : new Date(latest).toISOString();
}

/**
 * How long until the host's clock, `offsetMs` from ours, passes `notBefore` (with the reading's
 * uncertainty on the safe side); 0 when it already has.
 */
export function waitBeforeValidMs(notBefore: string, reading: ClockReading, now: number): number {
  if (notBefore === "") return 0;
  const hostNow = now + reading.offsetMs - reading.uncertaintyMs;
  return Math.max(0, Date.parse(notBefore) - hostNow);
}

/** A readable signed duration: "4 min 58 s ahead", "320 ms behind". */
export function describeOffset(offsetMs: number): string {
  const abs = Math.abs(offsetMs);
  const size =
    abs < 1000
      ? `${Math.round(abs)} ms`
      : abs < 60_000
        ? `${(abs / 1000).toFixed(1)} s`
        : `${Math.floor(abs / 60_000)} min ${Math.round((abs % 60_000) / 1000)} s`;
  return `${size} ${offsetMs >= 0 ? "ahead of" : "behind"}`;
}

/**
 * A warning when a host's clock is off from this machine's by TiUP's limit or more, beyond what
 * the reading's round trip leaves uncertain; undefined otherwise.
 */
export function clockWarning(label: string, reading: ClockReading): string | undefined {
  if (Math.abs(reading.offsetMs) - reading.uncertaintyMs < CLOCK_OFFSET_LIMIT_MS) return undefined;
  return (
    `${label}: its clock is ${describeOffset(reading.offsetMs)} this machine's (±${Math.round(reading.uncertaintyMs)} ms). ` +
    `PD's timestamps follow its hosts' clocks and TiUP's check wants every host within ${CLOCK_OFFSET_LIMIT_MS} ms ` +
    "of true time: check both clocks (`chronyc tracking` or `timedatectl` on the host, the same here)."
  );
}

/** The error when the host's clock is too far behind for a certificate made here to be worth waiting for. */
export function tooFarBehind(label: string, notBefore: string, reading: ClockReading, waitMs: number): string {
  return (
    `${label}: certificates made on this machine are valid from ${notBefore} (this machine's clock), and the host's ` +
    `clock is ${describeOffset(reading.offsetMs)} this machine's, so the host would refuse them for ` +
    `${Math.ceil(waitMs / 60_000)} more minute(s), longer than rolloutTimeoutMinutes. @pulumi/tls cannot backdate a ` +
    "certificate. Set this machine's clock right (e.g. `sudo chronyc makestep`, or enable NTP with " +
    "`timedatectl set-ntp true`) or the host's (`chronyc tracking`), then run pulumi up again: nothing was deployed to this host."
  );
}

export interface ClockWait {
  readonly label: string;
  /** Latest NotBefore of the certificates the host's members present or are shown (ISO); "" for none. */
  readonly notBefore: string;
  /** Longest wait for the host's clock to pass notBefore before giving up. */
  readonly maxWaitMs: number;
  readonly attemptTimeoutMs: number;
}

/**
 * Reads the host's clock and, when it has not yet reached `notBefore`, waits until it has
 * (reading it again, so a clock that chrony steps meanwhile counts); fails at once, naming both
 * clocks, when that would take longer than `maxWaitMs`. Returns the last reading.
 */
export async function waitForHostClock(
  endpoint: DockerEndpoint,
  wait: ClockWait,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<HostReading> {
  const deadline = Date.now() + wait.maxWaitMs;
  for (;;) {
    const reading = await readHostClock(endpoint, wait.attemptTimeoutMs);
    const waitMs = waitBeforeValidMs(wait.notBefore, reading, Date.now());
    if (waitMs === 0) return reading;
    if (Date.now() + waitMs > deadline) throw new Error(tooFarBehind(wait.label, wait.notBefore, reading, waitMs));
    // A little past the estimate, and at most 30 s before reading the clock again.
    await sleep(Math.min(waitMs + 250, 30_000));
  }
}
