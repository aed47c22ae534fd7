// The one shape of mutual-TLS material in this program. Pure, and types only: modules serialized
// into dynamic providers (lib/pdApi.ts, lib/dockerApi.ts, lib/dockerProbe.ts) import it with
// `import type`, which leaves nothing behind at run time.

/**
 * What one party of a mutual-TLS connection holds, PEM-encoded: the CA bundle it trusts (during a
 * CA rotation several certificates, the issuing one first), its own certificate and its key.
 * `T` is `string` at run time and `pulumi.Input<string>` where the program wires resources.
 */
export interface TlsMaterial<T = string> {
  readonly caPem: T;
  readonly certPem: T;
  readonly keyPem: T;
}

/** A certificate and its key, as a CA issues them (PEM). */
export type KeyPair<T = string> = Omit<TlsMaterial<T>, "caPem">;
