// What `operatorCidrs` may contain: the networks the admin ports (Docker 2376, PD 2379, SSH 22,
// Grafana 3000) are opened to. Pure and shared: config validation (lib/settings.ts) and the policy
// pack (policy/rules.ts) apply these exact rules, to config values and to security-group rules.
// Addresses are parsed by ipaddr.js; the arithmetic is on 32-bit integers.
import * as ipaddr from "ipaddr.js";

/** No entry may be wider than a /8, and all of them together may not cover more than one /8. */
export const MIN_PREFIX = 8;
export const MAX_UNION_ADDRESSES = 2 ** (32 - MIN_PREFIX);

/** How to put the operator's own address in, for a placeholder left in the stack file. */
const SET_OWN_ADDRESS =
  "put your own address there: pulumi config set --path 'tikv-cvm:operatorCidrs[0]' " +
  '"$(curl -4 -s https://ifconfig.me)/32"';

/**
 * Ranges no operator connects from (IANA IPv4 Special-Purpose Address Registry, RFC 6890). Opening
 * an admin port to them either does nothing or opens it to something on the hosts' own side
 * (loopback; link-local holds Tencent's metadata service, 169.254.0.23). The documentation ranges
 * are never routed on the internet: an entry there is a placeholder (the committed stack files use
 * 203.0.113.10/32) that nobody replaced, which would otherwise surface only as a readiness timeout.
 */
export const SPECIAL_RANGES: readonly { readonly cidr: string; readonly what: string; readonly fix?: string }[] = [
  { cidr: "0.0.0.0/8", what: '"this network" (RFC 1122)' },
  { cidr: "127.0.0.0/8", what: "loopback (RFC 1122)" },
  { cidr: "169.254.0.0/16", what: "link-local (RFC 3927), home of the metadata service" },
  {
    cidr: "192.0.2.0/24",
    what: "documentation (TEST-NET-1, RFC 5737), never routed on the internet",
    fix: SET_OWN_ADDRESS,
  },
  {
    cidr: "198.51.100.0/24",
    what: "documentation (TEST-NET-2, RFC 5737), never routed on the internet",
    fix: SET_OWN_ADDRESS,
  },
  {
    cidr: "203.0.113.0/24",
    what:
      "documentation (TEST-NET-3, RFC 5737), never routed on the internet: the placeholder of " +
      "Pulumi.dev.yaml and Pulumi.prod.yaml",
    fix: SET_OWN_ADDRESS,
  },
  { cidr: "224.0.0.0/4", what: "multicast (RFC 5771)" },
  { cidr: "240.0.0.0/4", what: "reserved (RFC 1112), including the broadcast address" },
];

export interface CidrProblem {
  /** The entry (or, for the union rule, the entries) the problem is about. */
  readonly entry: string;
  readonly reason: string;
}

interface Interval {
  readonly first: number;
  readonly last: number;
}

function interval(cidr: string): Interval {
  const [address, prefix] = ipaddr.IPv4.parseCIDR(cidr);
  const first = address.octets.reduce((n, o) => n * 256 + o, 0);
  return { first, last: first + 2 ** (32 - prefix) - 1 };
}

function overlaps(a: Interval, b: Interval): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/** The one spelling accepted for a network: four plain decimal octets, no host bits, e.g. 5.6.7.0/24. */
export function canonicalCidr(entry: string): string | undefined {
  if (!ipaddr.IPv4.isValidCIDRFourPartDecimal(entry)) return undefined;
  const [, prefix] = ipaddr.IPv4.parseCIDR(entry);
  return `${ipaddr.IPv4.networkAddressFromCIDR(entry).toString()}/${prefix}`;
}

/** Addresses covered by the union of valid CIDRs (overlaps counted once). */
export function unionSize(cidrs: readonly string[]): number {
  const sorted = cidrs.map(interval).sort((a, b) => a.first - b.first);
  let total = 0;
  let end = -1;
  for (const { first, last } of sorted) {
    if (last <= end) continue;
    total += last - Math.max(first, end + 1) + 1;
    end = last;
  }
  return total;
}

/**
 * Every reason the list cannot be operatorCidrs, each naming its entry; empty when it can.
 * `vpcCidr` is the VPC the hosts live in (undefined when unknown, e.g. an invalid vpcCidr).
 */
export function operatorCidrProblems(entries: readonly string[], vpcCidr?: string): CidrProblem[] {
  const problems: CidrProblem[] = [];
  const valid: string[] = [];
  const vpcCanonical = vpcCidr === undefined ? undefined : canonicalCidr(vpcCidr);
  // A VPC that cannot be read must not switch the overlap rule off: say so instead.
  if (vpcCidr !== undefined && vpcCanonical !== vpcCidr) {
    problems.push({
      entry: vpcCidr,
      reason:
        "is the VPC's CIDR, not written canonically " +
        `(${vpcCanonical === undefined ? "four plain decimal octets and a prefix" : `write it as ${vpcCanonical}`}), ` +
        "so no operator network can be checked against it",
    });
  }
  const vpc = vpcCanonical !== undefined && vpcCanonical === vpcCidr ? interval(vpcCanonical) : undefined;
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry)) {
      problems.push({ entry, reason: "is listed twice; list each network once" });
      continue;
    }
    seen.add(entry);
    const canonical = canonicalCidr(entry);
    if (canonical === undefined) {
      problems.push({
        entry,
        reason: "is not an IPv4 network in CIDR form (four decimal octets and a prefix, e.g. 5.6.7.8/32)",
      });
      continue;
    }
    if (canonical !== entry) {
      problems.push({
        entry,
        reason: `is not written canonically; write it as ${canonical} (no host bits, no leading zeros, no spaces)`,
      });
      continue;
    }
    const prefix = Number(entry.split("/")[1]);
    const range = interval(entry);
    valid.push(entry);
    // Too wide says it all: the overlaps below would only repeat it.
    if (prefix === 0) {
      problems.push({ entry, reason: "would open the admin ports to the whole internet" });
      continue;
    }
    if (prefix < MIN_PREFIX) {
      problems.push({
        entry,
        reason: `is a /${prefix}, wider than a /${MIN_PREFIX} (${2 ** (32 - prefix)} addresses); list only your own networks`,
      });
      continue;
    }
    for (const special of SPECIAL_RANGES) {
      if (overlaps(range, interval(special.cidr))) {
        problems.push({
          entry,
          reason:
            `overlaps ${special.cidr}: ${special.what}; no operator connects from there` +
            (special.fix ? `; ${special.fix}` : ""),
        });
      }
    }
    if (vpc && overlaps(range, vpc)) {
      problems.push({
        entry,
        reason: `overlaps the VPC ${vpcCidr}: every host and container in it would reach the admin ports`,
      });
    }
  }
  if (valid.length > 1 && unionSize(valid) > MAX_UNION_ADDRESSES) {
    problems.push({
      entry: valid.join(", "),
      reason:
        `together cover ${unionSize(valid)} addresses, more than one /${MIN_PREFIX} (${MAX_UNION_ADDRESSES}); ` +
        "split halves such as 0.0.0.0/1 + 128.0.0.0/1 are the whole internet too",
    });
  }
  return problems;
}
