// Certificate lifetimes, renewal and CA rotation: the policy every certificate the stack makes
// follows, whichever CA issues it. Pure.
//
// @pulumi/tls 5.3.0 (hashicorp/terraform-provider-tls underneath) decides that a certificate is due
// for renewal when it reads it, i.e. on refresh: a plain `pulumi up` never renews one
// (pulumi/pulumi-tls#39; terraform-provider-tls#278 moved the check into Read). So renewal is
// `pulumi up --refresh`, and the window below is how long that command may be forgotten.

const HOURS_PER_DAY = 24;

/** Every leaf certificate (Docker server and client, PD/TiKV, Prometheus): one year at most. */
export const LEAF_VALIDITY_HOURS = 365 * HOURS_PER_DAY;
/** A leaf is replaced by the first `pulumi up --refresh` in its last 90 days. */
export const LEAF_EARLY_RENEWAL_HOURS = 90 * HOURS_PER_DAY;
/**
 * A CA lives five years and is never renewed on its own: a new CA must be trusted everywhere before
 * it issues anything, which is the rotation below.
 */
export const CA_VALIDITY_HOURS = 5 * 365 * HOURS_PER_DAY;

/**
 * Where a CA rotation stands (config `caGeneration`, `caRotation`). From generation n to n+1, three
 * deployments, each a rolling one, so that every party always trusts the CA of every certificate it
 * can be shown:
 *   1. n, "trust-next":      CA n+1 exists and is trusted everywhere; CA n still issues.
 *   2. n+1, "trust-previous": CA n+1 issues every certificate anew; CA n is still trusted.
 *   3. n+1, "":              CA n is no longer trusted, and is deleted.
 */
export interface CaRotation {
  /** The CA that issues every leaf. */
  readonly generation: number;
  readonly rotation: "" | "trust-next" | "trust-previous";
}

export const CA_ROTATIONS: readonly CaRotation["rotation"][] = ["", "trust-next", "trust-previous"];

/** The CA generations that exist and are trusted, the issuing one first. */
export function trustedGenerations(ca: CaRotation): number[] {
  switch (ca.rotation) {
    case "":
      return [ca.generation];
    case "trust-next":
      return [ca.generation, ca.generation + 1];
    case "trust-previous":
      return [ca.generation, ca.generation - 1];
    default: {
      const never: never = ca.rotation;
      throw new Error(`unknown CA rotation ${JSON.stringify(never)}`);
    }
  }
}

/** A CA's resource name by generation: generation 1 keeps the name stacks were created with. */
export function caResourceName(base: string, generation: number): string {
  return generation === 1 ? base : `${base}${generation}`;
}

/**
 * Whether `next` may follow `last` (the previous deployment's); a message naming the step to take
 * otherwise. Staying put is always allowed; so is a first deployment at any generation.
 */
export function checkCaTransition(last: CaRotation | undefined, next: CaRotation): string | undefined {
  if (last === undefined) return undefined;
  const is = (c: CaRotation) => c.generation === next.generation && c.rotation === next.rotation;
  const onward: CaRotation =
    last.rotation === ""
      ? { generation: last.generation, rotation: "trust-next" }
      : last.rotation === "trust-next"
        ? { generation: last.generation + 1, rotation: "trust-previous" }
        : { generation: last.generation, rotation: "" };
  // Back one step is as safe: every certificate out there stays trusted.
  const back: CaRotation | undefined =
    last.rotation === "trust-next"
      ? { generation: last.generation, rotation: "" }
      : last.rotation === "trust-previous"
        ? { generation: last.generation - 1, rotation: "trust-next" }
        : undefined;
  if (is(last) || is(onward) || (back !== undefined && is(back))) return undefined;
  const show = (c: CaRotation) => `caGeneration ${c.generation}${c.rotation ? `, caRotation ${c.rotation}` : ""}`;
  return (
    `the CA cannot go from ${show(last)} to ${show(next)} in one deployment: hosts and members still ` +
    `rolling would stop trusting each other. The next step is ${show(onward)} (README: "Rotating the CA").`
  );
}

/** A preview warns about every leaf this close to its end (issue 21: a month's notice). */
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = HOURS_PER_DAY * 3_600_000;

/** How long until `validTo` as "in 12 days" or "3 days ago"; undefined past the warning window. */
function dueIn(validTo: string, now: number): string | undefined {
  const left = Date.parse(validTo) - now;
  if (Number.isNaN(left)) throw new Error(`not a time: ${JSON.stringify(validTo)}`);
  if (left > EXPIRY_WARNING_DAYS * DAY_MS) return undefined;
  const days = Math.floor(Math.abs(left) / DAY_MS);
  return left >= 0 ? `expires ${validTo}, in ${days} day(s)` : `EXPIRED ${validTo}, ${days} day(s) ago`;
}

/**
 * The warning for a leaf within EXPIRY_WARNING_DAYS of its end (or past it), naming it and the
 * command that renews it; undefined otherwise. `validTo` is RFC 3339 (@pulumi/tls validityEndTime).
 */
export function expiryWarning(certificate: string, validTo: string, now: number): string | undefined {
  const due = dueIn(validTo, now);
  if (due === undefined) return undefined;
  return (
    `certificate ${certificate} ${due}: renew it with \`pulumi up --refresh\` (a refresh renews every leaf in ` +
    `its last ${LEAF_EARLY_RENEWAL_HOURS / HOURS_PER_DAY} days; a plain \`pulumi up\` never does, pulumi/pulumi-tls#39)`
  );
}

/**
 * The warning for a protected CVM whose Docker server certificate, the one it booted with, nears its
 * end while protect holds the CVM (and so the renewal) back; undefined outside the window.
 */
export function heldExpiryWarning(host: string, validTo: string, now: number): string | undefined {
  const due = dueIn(validTo, now);
  if (due === undefined) return undefined;
  return (
    `${host}: the Docker server certificate it booted with ${due}, and protect: true holds its renewal back ` +
    "(a new certificate means a new CVM, which protection refuses). Once it expires, no `pulumi up` reaches this " +
    'host\'s Docker API: roll it now with the steps in the README ("Rolling protected hosts").'
  );
}
