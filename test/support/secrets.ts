// Pulumi's secret envelopes as the mocks see them. No jest here: the e2e renderer uses it too.

/** Pulumi's marker for a secret value as the mocks see it. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
/** @pulumi/pulumi runtime/rpc.ts specialSecretSig: the value of SECRET_SIG in a secret envelope. */
export const SECRET_VALUE_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A value in the engine's secret envelope. */
export function secretEnvelope(value: unknown): Record<string, unknown> {
  return { [SECRET_SIG]: SECRET_VALUE_SIG, value };
}

export function isSecret(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG] !== undefined;
}

/** Strips secret envelopes recursively so tests can read the values. */
export function unwrap(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrap);
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    if (record[SECRET_SIG] !== undefined) return unwrap(record.value);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}
