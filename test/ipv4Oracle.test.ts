// lib/ipv4.ts against oracles that share none of its code: ipaddr.js for parsing and network and
// broadcast addresses, Node's net.BlockList for containment, over a few thousand seeded random
// inputs and the edge cases that matter (prefixes 0 and 32, host bits, octets and prefixes out of
// range, zero-padded octets).
import * as ipaddr from "ipaddr.js";
import { BlockList } from "net";
import { Cidr, addressAt, cidrContains, cidrSize, formatCidr, parseCidr } from "../lib/ipv4";

/** mulberry32: a small seeded generator, so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = random(14);
const int = (n: number) => Math.floor(rnd() * n);
const randomAddress = () => [int(256), int(256), int(256), int(256)].join(".");
/** Prefixes weighted towards the ends, where off-by-one errors live. */
const randomPrefix = () => (rnd() < 0.5 ? [0, 1, 8, 16, 24, 28, 31, 32][int(8)] : int(33));

/** The network's value as a number, from ipaddr.js's bytes. */
const valueOf = (address: string) =>
  ipaddr.IPv4.parse(address)
    .toByteArray()
    .reduce((v, b) => v * 256 + b, 0);

/**
 * The rule parseCidr implements, stated with ipaddr.js: four plain decimal octets (no zero
 * padding: octal to inet_aton, refused by Go's net.ParseIP), a plain decimal prefix 0..32, and
 * no host bits set.
 */
function oracleParse(text: string): { address: string; prefix: number } | undefined {
  const t = text.trim();
  const slash = t.lastIndexOf("/");
  if (slash < 0) return undefined;
  const address = t.slice(0, slash);
  const prefix = t.slice(slash + 1);
  if (!ipaddr.IPv4.isValidFourPartDecimal(address)) return undefined;
  if (!/^(0|[1-9]\d*)$/.test(prefix) || Number(prefix) > 32) return undefined;
  if (ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`).toString() !== address) return undefined;
  return { address, prefix: Number(prefix) };
}

/** A valid network: a random address with its host bits cleared by ipaddr.js. */
function randomNetwork(prefix = randomPrefix()): string {
  return `${ipaddr.IPv4.networkAddressFromCIDR(`${randomAddress()}/${prefix}`).toString()}/${prefix}`;
}

const EDGES = [
  "0.0.0.0/0",
  "255.255.255.255/32",
  "255.255.255.254/31",
  "128.0.0.0/1",
  "10.0.0.0/8",
  "10.0.0.0/7",
  "11.0.0.0/7",
  "10.0.0.0/33",
  "0.0.0.0/33",
  "128.0.0.0/33",
  "0.0.0.0/99",
  "10.0.0.0/-1",
  "10.0.0.256/24",
  "10.0.0.0/08",
  "010.0.0.0/8",
  "10.0.00.0/24",
  "10.0.0/24",
  "1.2.3.4.5/32",
  "10.0.0.0",
  "10.0.0.1/32",
  "10.0.0.1/31",
  "a.b.c.d/8",
  "",
  "/",
  " 10.0.0.0/8 ",
  "10.0.0.0 /8",
  "1e1.0.0.0/8",
  "0x10.0.0.0/8",
  "4294967295/32",
  "192.168.1.0/24/24",
  "192.168.1.128/25",
  "192.168.1.64/25",
];

test("parseCidr accepts exactly what the oracle accepts, and formats it back unchanged", () => {
  const inputs = [...EDGES];
  for (let i = 0; i < 3000; i++) {
    // Half valid networks, half arbitrary addresses (usually with host bits set).
    inputs.push(rnd() < 0.5 ? randomNetwork() : `${randomAddress()}/${int(40)}`);
  }
  let accepted = 0;
  const wrong: string[] = [];
  for (const text of inputs) {
    const expected = oracleParse(text);
    const parsed = parseCidr(text);
    if ((parsed === undefined) !== (expected === undefined))
      wrong.push(`${JSON.stringify(text)}: parsed ${JSON.stringify(parsed)}, oracle ${JSON.stringify(expected)}`);
    if (expected && parsed) {
      accepted++;
      const got = [formatCidr(parsed), parsed.prefix, parsed.network];
      const want = [`${expected.address}/${expected.prefix}`, expected.prefix, valueOf(expected.address)];
      if (JSON.stringify(got) !== JSON.stringify(want))
        wrong.push(`${text}: ${JSON.stringify(got)}, oracle ${JSON.stringify(want)}`);
    }
  }
  expect(wrong.slice(0, 10)).toEqual([]);
  // Both answers are exercised.
  expect(accepted).toBeGreaterThan(1000);
  expect(inputs.length - accepted).toBeGreaterThan(1000);
});

test("cidrContains agrees with net.BlockList: the inner network's first and last address are in the outer one", () => {
  const pairs: [string, string][] = [
    ["0.0.0.0/0", "255.255.255.255/32"],
    ["10.0.0.0/8", "10.0.0.0/8"],
    ["10.0.0.0/8", "11.0.0.0/8"],
    ["10.0.0.0/9", "10.0.0.0/8"],
    ["10.128.0.0/9", "10.255.255.255/32"],
    ["10.0.0.0/32", "10.0.0.0/31"],
  ];
  for (let i = 0; i < 3000; i++) {
    const outer = randomNetwork();
    // Often a subnet of outer (a random address inside it, with a longer prefix), else anything.
    const [network, prefix] = outer.split("/");
    const insideValue = valueOf(network) + int(2 ** (32 - Number(prefix)));
    const inside = ipaddr.fromByteArray([24, 16, 8, 0].map((s) => Math.floor(insideValue / 2 ** s) % 256)).toString();
    const innerPrefix = rnd() < 0.7 ? Number(prefix) + int(33 - Number(prefix)) : randomPrefix();
    pairs.push([
      outer,
      rnd() < 0.8
        ? `${ipaddr.IPv4.networkAddressFromCIDR(`${inside}/${innerPrefix}`).toString()}/${innerPrefix}`
        : randomNetwork(),
    ]);
  }
  let contained = 0;
  const wrong: string[] = [];
  for (const [outerText, innerText] of pairs) {
    const [outerAddress, outerPrefix] = outerText.split("/");
    const list = new BlockList();
    list.addSubnet(outerAddress, Number(outerPrefix), "ipv4");
    const first = ipaddr.IPv4.networkAddressFromCIDR(innerText).toString();
    const last = ipaddr.IPv4.broadcastAddressFromCIDR(innerText).toString();
    const expected = list.check(first, "ipv4") && list.check(last, "ipv4");
    if (expected) contained++;
    const outer = parseCidr(outerText) as Cidr;
    const inner = parseCidr(innerText) as Cidr;
    if (cidrContains(outer, inner) !== expected)
      wrong.push(`${outerText} contains ${innerText}: oracle says ${expected}`);
  }
  expect(wrong.slice(0, 10)).toEqual([]);
  expect(contained).toBeGreaterThan(500);
  expect(pairs.length - contained).toBeGreaterThan(500);
});

test("addressAt walks the network from its first address to its broadcast address and refuses to leave it", () => {
  const networks = ["0.0.0.0/0", "255.255.255.255/32", "10.0.0.0/31", "128.0.0.0/1"];
  for (let i = 0; i < 1000; i++) networks.push(randomNetwork());
  const wrong: string[] = [];
  for (const text of networks) {
    const c = parseCidr(text) as Cidr;
    const first = ipaddr.IPv4.networkAddressFromCIDR(text).toString();
    const last = ipaddr.IPv4.broadcastAddressFromCIDR(text).toString();
    const size = valueOf(last) - valueOf(first) + 1;
    const ends = [cidrSize(c), addressAt(c, 0), addressAt(c, size - 1)];
    if (JSON.stringify(ends) !== JSON.stringify([size, first, last]))
      wrong.push(`${text}: size, first, last ${JSON.stringify(ends)}, oracle ${JSON.stringify([size, first, last])}`);
    const list = new BlockList();
    list.addSubnet(first, c.prefix, "ipv4");
    const offset = int(size);
    const at = addressAt(c, offset);
    if (!ipaddr.IPv4.isValidFourPartDecimal(at) || !list.check(at, "ipv4") || valueOf(at) - valueOf(first) !== offset) {
      wrong.push(`${text} at ${offset}: ${at}`);
    }
    for (const outside of [size, -1]) {
      try {
        wrong.push(`${text} at ${outside}: ${addressAt(c, outside)}, not a RangeError`);
      } catch (err) {
        if (!(err instanceof RangeError)) wrong.push(`${text} at ${outside}: ${String(err)}`);
      }
    }
  }
  expect(wrong.slice(0, 10)).toEqual([]);
});
