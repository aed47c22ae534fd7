// Where hosts sit (zones) and what PD is told about it: each store's location labels and the
// replication's location-labels / isolation-level. Pure; only Node built-ins, so the PD side
// (applyPlacement) can be serialized into a dynamic provider.
import { cidrSize, formatCidr, parseCidr } from "./ipv4";
import { pdRequest, PdTarget, pollUntil, WaitPolicy } from "./pdApi";

/**
 * The label keys, widest first, as PD reads them: replicas go to different zones first, then to
 * different hosts (tikv/pd v8.5.7 pkg/schedule/config/config.go ReplicationConfig.LocationLabels).
 */
export const LOCATION_LABELS = ["zone", "host"] as const;

/** One store's location labels, as PD keeps them (pd-ctl store label). */
export interface StoreLabels {
  readonly zone: string;
  readonly host: string;
}

/** The zone label of hosts whose zone the program does not know (mode existing without `zone`). */
export const UNKNOWN_ZONE = "default";
/** The zone label of mode local: every store runs on this machine. */
export const LOCAL_ZONE = "local";

/**
 * The zone of host `index` (1-based) when hosts are spread round robin over `zones`: host 1 in the
 * first zone, host 2 in the second, ..., so the first pdCount hosts (the PD members) and any three
 * consecutive stores land in different zones whenever there are enough zones.
 */
export function zoneOfHost(zones: readonly string[], index: number): string {
  return zones[(index - 1) % zones.length];
}

/**
 * The subnet of the zone at `zoneIndex` (0-based): `subnetCidr` itself for the first zone, then the
 * blocks of the same size that follow it (10.0.1.0/24, 10.0.2.0/24, ...). Undefined past the
 * end of the address space.
 */
export function zoneSubnetCidr(subnetCidr: string, zoneIndex: number): string | undefined {
  const first = parseCidr(subnetCidr);
  if (!first) return undefined;
  const network = first.network + zoneIndex * cidrSize(first);
  return network >= 2 ** 32 ? undefined : formatCidr({ network, prefix: first.prefix });
}

/**
 * PD's isolation-level: "zone" when each of a region's replicas can sit in its own zone, else
 * "host". PD treats it as a hard constraint: a replica that cannot be isolated at that level is
 * not placed (tikv/pd v8.5.7 pkg/schedule/checker/replica_strategy.go SelectStoreToAdd, with the
 * isolation filter of pkg/schedule/filter/filters.go NewIsolationFilter), so "zone" with fewer
 * zones than replicas would leave every region short of a replica.
 */
export function isolationLevel(hostZones: readonly string[], replicas: number): "zone" | "host" {
  return new Set(hostZones).size >= replicas ? "zone" : "host";
}

/**
 * Why these zones cannot keep PD's quorum when one zone is lost, or undefined when they can (or
 * when there is one zone: the stack has chosen not to survive a zone). `pdZones` are the zones of
 * the PD members' hosts. With two or more zones no zone may hold a majority of PD members: losing
 * that zone would leave PD without quorum, so spreading would buy nothing.
 */
export function pdQuorumProblem(pdZones: readonly string[], zoneCount: number): string | undefined {
  if (zoneCount < 2) return undefined;
  const perZone = new Map<string, number>();
  for (const z of pdZones) perZone.set(z, (perZone.get(z) ?? 0) + 1);
  const majority = Math.floor(pdZones.length / 2) + 1;
  const [zone, count] = [...perZone.entries()].sort((a, b) => b[1] - a[1])[0] ?? ["", 0];
  if (count < majority) return undefined;
  return (
    `${zone} would hold ${count} of the ${pdZones.length} PD member(s), a majority: losing that one zone ` +
    `would leave PD without quorum, so ${zoneCount} zones protect nothing`
  );
}

/** Each store's labels by its advertised address, and what PD's replication config should say. */
export interface Placement {
  readonly stores: Readonly<Record<string, StoreLabels>>;
  readonly locationLabels: readonly string[];
  readonly isolationLevel: "zone" | "host";
}

/**
 * The placement of these hosts: each store (by the address it advertises, with TiKV's port) is
 * labelled with its host's zone and name.
 */
export function placementOf(
  hosts: readonly { readonly name: string; readonly zone: string; readonly tikvHost: string }[],
  tikvPort: number,
  replicas: number,
): Placement {
  return {
    stores: Object.fromEntries(hosts.map((h) => [`${h.tikvHost}:${tikvPort}`, { zone: h.zone, host: h.name }])),
    locationLabels: [...LOCATION_LABELS],
    isolationLevel: isolationLevel(
      hosts.map((h) => h.zone),
      replicas,
    ),
  };
}

/** What PD reports once the placement is applied: the stack's `placement` output. */
export interface ReportedPlacement {
  /** PD's replication config: location-labels as PD lists them, and isolation-level. */
  readonly locationLabels: string;
  readonly isolationLevel: string;
  /** Per store address: the labels PD holds for it (all of them, not only zone and host). */
  readonly storeLabels: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** What this run changed, e.g. "labelled store 4 (zone=..., host=...)". */
  readonly changed: readonly string[];
}

interface RawStore {
  readonly store: {
    readonly id: number;
    readonly address: string;
    readonly labels?: readonly { readonly key: string; readonly value: string }[];
  };
}

async function pdJson<T>(target: PdTarget, path: string): Promise<T> {
  const res = await pdRequest(target, "GET", path);
  if (res.status !== 200) throw new Error(`GET ${path}: PD answered ${res.status}: ${res.body.trim()}`);
  return JSON.parse(res.body) as T;
}

async function pdPost(target: PdTarget, path: string, body: unknown): Promise<void> {
  const res = await pdRequest(target, "POST", path, body);
  if (res.status !== 200) {
    throw new Error(`POST ${path} ${JSON.stringify(body)}: PD refused it (${res.status}): ${res.body.trim()}`);
  }
}

function labelsOf(s: RawStore): Record<string, string> {
  return Object.fromEntries((s.store.labels ?? []).map((l) => [l.key, l.value]));
}

/**
 * Gives PD the placement through its API, never through pd.toml: PD keeps [replication] in its
 * own storage after bootstrap and reads that back in preference to the file (tikv/pd v8.5.7
 * server/config/persist_options.go), and a new pd.toml would restart every member for nothing.
 * Store labels: POST /pd/api/v1/store/{id}/label (server/api/store.go SetStoreLabel), without
 * `force`, so labels a user set on the store are kept; PD merges what a store reports at its next
 * start into these (server/cluster/cluster.go putStoreImpl, force=false), so they outlive
 * restarts; the store's own server.labels (lib/clusterConfig.ts) say the same, so a store that
 * registers before this runs is placed by zone already. Then location-labels and isolation-level with
 * POST /pd/api/v1/config/replicate (server/api/config.go SetReplicationConfig, as pd-ctl
 * `config set location-labels zone,host` does), which with placement rules on also rewrites the
 * default rule (server/server.go SetReplicationConfig). Only what differs from what PD reports is
 * sent; the result is read back.
 */
export async function applyPlacement(
  target: PdTarget,
  want: Placement,
  policy: WaitPolicy,
): Promise<ReportedPlacement> {
  const addresses = Object.keys(want.stores);
  let stores: RawStore[] = [];
  const listed = await pollUntil(async () => {
    try {
      stores = (await pdJson<{ stores?: RawStore[] }>(target, "/pd/api/v1/stores")).stores ?? [];
    } catch {
      return false;
    }
    return addresses.every((a) => stores.some((s) => s.store.address === a));
  }, policy);
  if (!listed) {
    const missing = addresses.filter((a) => !stores.some((s) => s.store.address === a));
    throw new Error(`PD does not list the store(s) ${missing.join(", ")}: their labels cannot be set`);
  }
  const changed: string[] = [];
  for (const address of addresses) {
    const s = stores.find((x) => x.store.address === address)!;
    const have = labelsOf(s);
    const labels = want.stores[address];
    if (have.zone === labels.zone && have.host === labels.host) continue;
    await pdPost(target, `/pd/api/v1/store/${s.store.id}/label`, { zone: labels.zone, host: labels.host });
    changed.push(`labelled store ${s.store.id} (${address}) zone=${labels.zone}, host=${labels.host}`);
  }
  const replicate = await pdJson<{ "location-labels"?: string; "isolation-level"?: string }>(
    target,
    "/pd/api/v1/config/replicate",
  );
  const locationLabels = want.locationLabels.join(",");
  if (replicate["location-labels"] !== locationLabels || replicate["isolation-level"] !== want.isolationLevel) {
    // typeutil.StringSlice: location-labels travel as one comma-separated string.
    await pdPost(target, "/pd/api/v1/config/replicate", {
      "location-labels": locationLabels,
      "isolation-level": want.isolationLevel,
    });
    changed.push(`location-labels ${locationLabels}, isolation-level ${want.isolationLevel}`);
  }
  const after = await pdJson<{ "location-labels"?: string; "isolation-level"?: string }>(
    target,
    "/pd/api/v1/config/replicate",
  );
  const reported = (await pdJson<{ stores?: RawStore[] }>(target, "/pd/api/v1/stores")).stores ?? [];
  return {
    locationLabels: after["location-labels"] ?? "",
    isolationLevel: after["isolation-level"] ?? "",
    storeLabels: Object.fromEntries(
      reported.filter((s) => addresses.includes(s.store.address)).map((s) => [s.store.address, labelsOf(s)]),
    ),
    changed,
  };
}
