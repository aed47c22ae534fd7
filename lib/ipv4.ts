// IPv4 arithmetic for the config checks and the fixed host addresses. Pure, no dependencies.

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  readonly network: number;
  readonly prefix: number;
}

// Plain decimal only: a zero-padded octet is octal to inet_aton (010 = 8) and refused by Go's
// net.ParseIP since Go 1.17 (PD, the providers), so it has no single meaning.
const OCTET = "(0|[1-9]\\d{0,2})";
const CIDR_PATTERN = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}\\/(0|[1-9]\\d?)$`);

/** Parses "a.b.c.d/n" in plain decimal; returns undefined for anything else, including host bits set. */
export function parseCidr(text: string): Cidr | undefined {
  const m = CIDR_PATTERN.exec(text.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const address = toUint(octets);
  const network = (address & maskOf(prefix)) >>> 0;
  if (network !== address) return undefined;
  return { network, prefix };
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && (inner.network & maskOf(outer.prefix)) >>> 0 === outer.network;
}

/** The address `offset` places after the network address. */
export function addressAt(c: Cidr, offset: number): string {
  if (offset < 0 || offset >= cidrSize(c)) {
    throw new RangeError(`offset ${offset} is outside ${formatCidr(c)}`);
  }
  return formatAddress(c.network + offset);
}

export function formatCidr(c: Cidr): string {
  return `${formatAddress(c.network)}/${c.prefix}`;
}

function formatAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

function toUint(octets: number[]): number {
  return ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
}
