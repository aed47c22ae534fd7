// PD's HTTP API, as much of it as a rolling restart needs (tikv/pd server/api/router.go):
// member health, leader resignation, stores and the evict-leader scheduler. Only Node built-ins
// are imported: this module is serialized into the rollout gate's dynamic provider.
import * as http from "http";
import * as https from "https";
import type { TlsMaterial } from "./tlsMaterial";

export interface PdTarget {
  /** Base URLs tried in order, e.g. http://203.0.113.5:2379. */
  readonly endpoints: readonly string[];
  /** Client certificate material when PD serves TLS. */
  readonly tls?: TlsMaterial;
  readonly requestTimeoutMs: number;
}

export interface PdMemberHealth {
  readonly name: string;
  readonly health: boolean;
}

export interface PdStore {
  readonly id: number;
  readonly address: string;
  readonly stateName: string;
  readonly leaderCount: number;
}

export interface WaitPolicy {
  readonly timeoutMs: number;
  readonly intervalMs: number;
}

interface RawResponse {
  readonly status: number;
  readonly body: string;
}

function requestOnce(
  target: PdTarget,
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<RawResponse> {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const options: https.RequestOptions = {
    method,
    timeout: target.requestTimeoutMs,
    headers:
      payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
    ...(target.tls ? { ca: target.tls.caPem, cert: target.tls.certPem, key: target.tls.keyPem } : {}),
  };
  const transport = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, options, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("timeout", () =>
      req.destroy(new Error(`${method} ${url.href}: no answer in ${target.requestTimeoutMs} ms`)),
    );
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/**
 * Tries each endpoint until one answers below 500; PD forwards leader-only calls to the leader
 * itself. When every endpoint answered 5xx the last answer is returned (PD reports some states,
 * e.g. "not bootstrapped", as HTTP 500); when none answered at all, throws.
 */
export async function pdRequest(target: PdTarget, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const errors: string[] = [];
  let lastAnswer: RawResponse | undefined;
  for (const base of target.endpoints) {
    try {
      const res = await requestOnce(target, base, method, path, body);
      if (res.status < 500) return res;
      lastAnswer = res;
      errors.push(`${base}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    } catch (err) {
      errors.push(`${base}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (lastAnswer) return lastAnswer;
  throw new Error(`PD ${method} ${path} failed on every endpoint: ${errors.join("; ")}`);
}

async function pdJson<T>(target: PdTarget, path: string): Promise<T> {
  const res = await pdRequest(target, "GET", path);
  if (res.status !== 200) throw new Error(`PD GET ${path}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  return JSON.parse(res.body) as T;
}

/** /pd/api/v1/health answers 200 even when a member is down: the `health` fields tell. */
export function getMemberHealth(target: PdTarget): Promise<PdMemberHealth[]> {
  return pdJson<PdMemberHealth[]>(target, "/pd/api/v1/health");
}

export async function getLeaderName(target: PdTarget): Promise<string> {
  return (await pdJson<{ name: string }>(target, "/pd/api/v1/leader")).name;
}

/** Hands leadership to `next` (POST /pd/api/v1/leader/transfer/{next_leader}, server/api/member.go). */
export async function transferLeader(target: PdTarget, next: string): Promise<void> {
  const res = await pdRequest(target, "POST", `/pd/api/v1/leader/transfer/${encodeURIComponent(next)}`);
  if (res.status !== 200)
    throw new Error(`PD leader transfer to ${next}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
}

export interface PdMember {
  /** Empty for a member of the initial cluster that has not started yet (PD omits its name). */
  readonly name: string;
  readonly peerUrls: readonly string[];
}

export async function getMembers(target: PdTarget): Promise<PdMember[]> {
  const raw = await pdJson<{ members?: { name?: string; peer_urls?: string[] }[] }>(target, "/pd/api/v1/members");
  return (raw.members ?? []).map((m) => ({ name: m.name ?? "", peerUrls: m.peer_urls ?? [] }));
}

interface RawStores {
  readonly stores?: readonly {
    readonly store: { readonly id: number; readonly address: string; readonly state_name: string };
    readonly status?: { readonly leader_count?: number };
  }[];
}

/** PD's error code for cluster routes before the first TiKV bootstraps the cluster (pkg/errs/errno.go). */
const NOT_BOOTSTRAPPED = "PD:cluster:ErrNotBootstrapped";

/**
 * Up, Offline, Disconnected and Down stores (Tombstone ones are not listed by default:
 * server/api/store.go newStoreStateFilter). Before bootstrap PD answers HTTP 500 "not
 * bootstrapped" (server/api/middleware.go): no stores yet.
 */
export async function getStores(target: PdTarget): Promise<PdStore[]> {
  return storesFrom(target, "/pd/api/v1/stores");
}

async function storesFrom(target: PdTarget, path: string): Promise<PdStore[]> {
  const res = await pdRequest(target, "GET", path);
  if (res.status === 500 && res.body.includes(NOT_BOOTSTRAPPED)) return [];
  if (res.status !== 200) throw new Error(`PD GET ${path}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  const raw = JSON.parse(res.body) as RawStores;
  return (raw.stores ?? []).map((s) => ({
    id: s.store.id,
    address: s.store.address,
    stateName: s.store.state_name,
    leaderCount: s.status?.leader_count ?? 0,
  }));
}

/** The build a PD member or a store reports: its release version and the git commit it was built from. */
export interface ReportedBuild {
  readonly version: string;
  readonly gitHash: string;
}

/**
 * What each member and store says it runs: GET /pd/api/v1/members (pdpb.Member binary_version,
 * git_hash, which each PD member puts in its own pdpb.Member from its build's versioninfo
 * PDReleaseVersion and PDGitHash, set at link time: pkg/member/member.go) and GET
 * /pd/api/v1/stores (metapb.Store version and git_hash, which each TiKV sends in PutStore:
 * components/server/src/node.rs create_store, CARGO_PKG_VERSION and the compile-time
 * TIKV_BUILD_GIT_HASH). PD members by name, stores by address; tombstones are not listed.
 */
export async function getReportedBuilds(
  target: PdTarget,
): Promise<{ pd: Record<string, ReportedBuild>; tikv: Record<string, ReportedBuild> }> {
  const members = await pdJson<{ members?: { name?: string; binary_version?: string; git_hash?: string }[] }>(
    target,
    "/pd/api/v1/members",
  );
  const pd: Record<string, ReportedBuild> = {};
  for (const m of members.members ?? [])
    if (m.name) pd[m.name] = { version: m.binary_version ?? "", gitHash: m.git_hash ?? "" };
  const res = await pdRequest(target, "GET", "/pd/api/v1/stores");
  const tikv: Record<string, ReportedBuild> = {};
  if (res.status === 200) {
    const raw = JSON.parse(res.body) as {
      stores?: { store: { address: string; version?: string; git_hash?: string } }[];
    };
    for (const s of raw.stores ?? [])
      tikv[s.store.address] = { version: s.store.version ?? "", gitHash: s.store.git_hash ?? "" };
  }
  return { pd, tikv };
}

export async function addEvictLeaderScheduler(target: PdTarget, storeId: number): Promise<void> {
  const res = await pdRequest(target, "POST", "/pd/api/v1/schedulers", {
    name: "evict-leader-scheduler",
    store_id: storeId,
  });
  if (res.status !== 200)
    throw new Error(`PD add evict-leader-scheduler for store ${storeId}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
}

/**
 * Removes this store from the evict-leader scheduler. PD answers 404 when the scheduler or the
 * store's entry is gone (server/api/scheduler.go redirectSchedulerDelete, evict_leader.go): fine.
 */
export async function removeEvictLeaderScheduler(target: PdTarget, storeId: number): Promise<void> {
  const res = await pdRequest(target, "DELETE", `/pd/api/v1/schedulers/evict-leader-scheduler-${storeId}`);
  if (res.status !== 200 && res.status !== 404) {
    throw new Error(`PD remove evict-leader-scheduler-${storeId}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  }
}

/** Polls `check` until it returns true; resolves false at the deadline instead of throwing. */
export async function pollUntil(check: () => Promise<boolean>, policy: WaitPolicy): Promise<boolean> {
  const deadline = Date.now() + policy.timeoutMs;
  for (;;) {
    try {
      if (await check()) return true;
    } catch {
      // A member restarting or an election in progress: try again.
    }
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, Math.min(policy.intervalMs, Math.max(0, deadline - Date.now()))));
  }
}

/**
 * Polls `blocker` until it names nothing in the way (undefined), as TiUP and the Operator retry
 * their checks: an error or a 5xx while PD elects a leader is one more reason to wait, not a
 * failure (pingcap/tiup#2494). At the deadline, throws `refusal(last reason)`.
 */
export async function awaitNoBlocker(
  blocker: () => Promise<string | undefined>,
  policy: WaitPolicy,
  refusal: (reason: string) => string,
): Promise<void> {
  let reason = "PD did not answer";
  const clear = await pollUntil(async () => {
    try {
      const found = await blocker();
      if (found === undefined) return true;
      reason = found;
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
    return false;
  }, policy);
  if (!clear) throw new Error(refusal(reason));
}

/** PD's readiness path: 200 once the member has loaded its regions, 500 before (v8.5.7 server/apiv2/handlers/ready.go Ready). */
export const PD_READY_PATH = "/pd/api/v2/ready";

/**
 * Whether the member behind `base` reports itself ready. The answer is that member's own: PD
 * registers the handler before its redirector, so it is never forwarded to the leader (v8.5.7
 * server/apiv2/router.go). Releases before v8.5.2 have no such route (pingcap/tiup
 * pkg/tidbver/tidbver.go PDSupportReadyAPI): a 404 counts as ready, as TiUP skips the check there.
 */
export async function pdMemberReady(target: PdTarget, base: string): Promise<boolean> {
  const res = await requestOnce(target, base, "GET", PD_READY_PATH);
  return res.status === 200 || res.status === 404;
}

/**
 * Why PD member `member` must not stop now, or undefined: as the Operator's IsPDStable and TiUP,
 * every other member must be healthy (/pd/api/v1/health), and every other member the gate can
 * reach by itself must report itself ready. `members` lists the PD members in the order of
 * `target.endpoints` (one endpoint per member); where the endpoints cannot tell members apart
 * (mode local publishes pd1 alone), each distinct endpoint other than the member's own is asked.
 */
export async function pdRestartBlocker(
  target: PdTarget,
  member: string,
  members: readonly string[],
): Promise<string | undefined> {
  const health = await getMemberHealth(target);
  const sick = health.filter((m) => m.name !== member && !m.health).map((m) => m.name);
  if (sick.length > 0)
    return `PD member ${sick.join(", ")} ${sick.length === 1 ? "is" : "are"} not healthy (pd-ctl member; docker logs ${sick[0]} on its host)`;
  const oneEach = members.length === target.endpoints.length && new Set(target.endpoints).size === members.length;
  const own = oneEach ? target.endpoints[members.indexOf(member)] : undefined;
  for (const [i, base] of [...new Set(target.endpoints)].entries()) {
    if (base === own) continue;
    let ready: boolean;
    try {
      ready = await pdMemberReady(target, base);
    } catch {
      // Unreachable from here (an operator network problem): /health above speaks for it.
      continue;
    }
    const who = oneEach ? members[i] : `at ${base}`;
    if (!ready) return `PD member ${who} is not ready: it has not loaded its regions (${PD_READY_PATH})`;
  }
  return undefined;
}

/** Regions PD lists as missing a replica (GET /pd/api/v1/regions/check/miss-peer, server/api/region.go); none before bootstrap. */
export async function getMissPeerRegionCount(target: PdTarget): Promise<number> {
  const res = await pdRequest(target, "GET", "/pd/api/v1/regions/check/miss-peer");
  if (res.status === 500 && res.body.includes(NOT_BOOTSTRAPPED)) return 0;
  if (res.status !== 200)
    throw new Error(`PD GET /pd/api/v1/regions/check/miss-peer: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  return (JSON.parse(res.body) as { count?: number }).count ?? 0;
}

/**
 * Why the store at `address` must not stop now, or undefined: as the Operator's IsTiKVStable
 * (pkg/pdapi/pdutil.go, v1.6) every other store must be Up, and, as TiUP waits before restarting
 * a store, no region may be missing a replica: with one down already, stopping another can leave
 * a region without a majority.
 */
export async function tikvRestartBlocker(target: PdTarget, address: string): Promise<string | undefined> {
  const others = (await getStores(target)).filter((s) => s.address !== address && s.stateName !== "Up");
  if (others.length > 0)
    return others.map((s) => `TiKV store ${s.id} (${s.address}) is ${s.stateName}`).join(", ") + " (pd-ctl store)";
  const missing = await getMissPeerRegionCount(target);
  if (missing > 0)
    return `${missing} region(s) are missing a replica and PD is still re-creating them (pd-ctl region check miss-peer)`;
  return undefined;
}

const waitThenRetry = (policy: WaitPolicy) =>
  `for ${policy.timeoutMs / 1000} s. Bring it back (or wait until PD has repaired it), then run pulumi up again; ` +
  "the roll resumes at this member";

// ---- The steps of a rolling restart, as TiUP takes them ---------------------------------------

/** Where a PD member stands in this rollout, for choosing who takes over its leadership. */
export interface PdRolloutPlace {
  /** Members rolled before this one in this deployment: already on the new spec. */
  readonly rolled: readonly string[];
  /** Members rolled after this one. */
  readonly pending: readonly string[];
}

/**
 * The member that takes over leadership from a member about to restart: the first healthy member
 * already on the new spec, so leadership never lands on one that restarts later in this rollout;
 * when none is (the leader is the first member rolled), the healthy member rolled last, so one
 * more move at most follows. TiUP gets the same effect by restarting the leader last
 * (pingcap/tiup pkg/cluster/operation/upgrade.go).
 */
export function chooseNextLeader(place: PdRolloutPlace, healthy: ReadonlySet<string>): string | undefined {
  return place.rolled.find((m) => healthy.has(m)) ?? [...place.pending].reverse().find((m) => healthy.has(m));
}

/**
 * Before a PD member restarts: refuse while another member is unhealthy or not ready, or while a
 * store other than `ownStore` (the store on the same host, in a host roll) is not Up or a region
 * misses a replica (retried until the deadline): a rollout starts on a healthy cluster only, so
 * an upgrade stops before its first member when a store is down. Then, when it leads, move
 * leadership to the member chooseNextLeader picks.
 */
export async function preparePdRestart(
  target: PdTarget,
  member: string,
  place: PdRolloutPlace,
  policy: WaitPolicy,
  ownStore = "",
): Promise<string> {
  const members = [...place.rolled, member, ...place.pending];
  await awaitNoBlocker(
    async () => (await pdRestartBlocker(target, member, members)) ?? (await tikvRestartBlocker(target, ownStore)),
    policy,
    (reason) => `refusing to stop PD member ${member}: ${reason}, ${waitThenRetry(policy)}`,
  );
  const health = await getMemberHealth(target);
  if (health.length < 2 || (await getLeaderName(target)) !== member) return "not the leader";
  const next = chooseNextLeader(place, new Set(health.filter((m) => m.health).map((m) => m.name)));
  if (next === undefined)
    throw new Error(`PD member ${member} leads and no other member is healthy to take over; check with: pd-ctl member`);
  // A 5xx during an election is retried like any other answer until the deadline.
  const moved = await pollUntil(async () => {
    if ((await getLeaderName(target)) === next) return true;
    await transferLeader(target, next);
    return (await getLeaderName(target)) === next;
  }, policy);
  if (!moved)
    throw new Error(`PD leadership did not move from ${member} to ${next} within ${policy.timeoutMs / 1000} s`);
  return `transferred leadership to ${next}`;
}

/**
 * After a PD member restarted: every member, this one included, reports healthy, and the member
 * reports itself ready when the gate can reach it by itself (`members` in endpoint order, as for
 * pdRestartBlocker), as TiUP's PDInstance.PostRestart waits for CheckReady (pkg/cluster/spec/pd.go).
 */
export async function awaitPdHealthy(
  target: PdTarget,
  member: string,
  policy: WaitPolicy,
  members: readonly string[] = [],
): Promise<void> {
  const oneEach = members.length === target.endpoints.length && new Set(target.endpoints).size === members.length;
  const own = oneEach ? target.endpoints[members.indexOf(member)] : undefined;
  let listed = true;
  const ok = await pollUntil(async () => {
    const health = await getMemberHealth(target);
    listed = health.some((m) => m.name === member);
    if (!listed || !health.every((m) => m.health)) return false;
    return own === undefined || (await pdMemberReady(target, own));
  }, policy);
  if (ok) return;
  // A member removed through PD whose container outlived it (a scale-in whose container delete
  // failed, then reverted) waits without rejoining (lib/pdStart.ts); only a new container joins.
  if (!listed)
    throw new Error(
      `PD member ${member} is not in the cluster after ${policy.timeoutMs / 1000} s (PD's member list lacks it). ` +
        `If docker logs ${member} says it was removed from the cluster, its container outlived its removal ` +
        `(e.g. a scale-in whose container delete failed): replace it with pulumi up --replace <urn of the ` +
        `container ${member}> (pulumi stack --show-urns lists it); it then joins afresh`,
    );
  throw new Error(
    `PD member ${member} or a peer is not healthy (or ${member} not ready, ${PD_READY_PATH}) after ${policy.timeoutMs / 1000} s; ` +
      "check with: pd-ctl member, and docker logs " +
      member,
  );
}

/**
 * Before a TiKV store restarts: refuse while another store is not Up or a region misses a
 * replica (retried until the deadline); then evict its Raft leaders. Bounded: when the leaders do not all
 * move in time the restart goes ahead, which costs latency, not data. Should anything fail once
 * the scheduler is added, it is removed again before the error is reported.
 */
export async function prepareTikvRestart(target: PdTarget, address: string, policy: WaitPolicy): Promise<string> {
  await awaitNoBlocker(
    () => tikvRestartBlocker(target, address),
    policy,
    (reason) => `refusing to stop TiKV store ${address}: ${reason}, ${waitThenRetry(policy)}`,
  );
  const store = (await getStores(target)).find((s) => s.address === address);
  if (!store) return "store not registered";
  try {
    await addEvictLeaderScheduler(target, store.id);
    const drained = await pollUntil(async () => {
      const now = (await getStores(target)).find((s) => s.id === store.id);
      return now !== undefined && now.leaderCount === 0;
    }, policy);
    return drained ? `evicted leaders of store ${store.id}` : `store ${store.id} still had leaders at the deadline`;
  } catch (err) {
    await removeEvictLeaderScheduler(target, store.id).catch(() => undefined);
    throw err;
  }
}

/**
 * After a TiKV store restarted (or whenever its "before" step ran): first remove its
 * evict-leader scheduler, unconditionally, as TiUP does (pkg/cluster/spec/tikv.go PostRestart),
 * so a failed wait can never leave a store without leaders for good; then wait until it is Up.
 */
export async function restoreTikv(target: PdTarget, address: string, policy: WaitPolicy): Promise<string> {
  let storeId: number | undefined;
  let registered = true;
  const removed = await pollUntil(async () => {
    const store = (await getStores(target)).find((s) => s.address === address);
    if (!store) {
      registered = false;
      return true;
    }
    storeId = store.id;
    await removeEvictLeaderScheduler(target, store.id);
    return true;
  }, policy);
  if (!removed) {
    throw new Error(
      `could not reach PD to remove the evict-leader scheduler of TiKV store ${address} within ` +
        `${policy.timeoutMs / 1000} s; once PD answers, run: pd-ctl scheduler remove evict-leader-scheduler-<store id>`,
    );
  }
  if (!registered) return "store not registered";
  const up = await pollUntil(
    async () => (await getStores(target)).find((s) => s.address === address)?.stateName === "Up",
    policy,
  );
  if (!up)
    throw new Error(
      `TiKV store ${address} (id ${storeId}) is not Up after ${policy.timeoutMs / 1000} s; check with: pd-ctl store`,
    );
  return `store ${storeId} up, evict-leader scheduler removed`;
}

// ---- Scaling in ---------------------------------------------------------------------------------

/**
 * Removes a PD member from the cluster before its container goes, as TiUP's scale-in does
 * (DELETE /pd/api/v1/members/name/{name}); a leader hands over to a remaining member first.
 */
export async function removePdMember(
  target: PdTarget,
  name: string,
  remaining: readonly string[],
  policy: WaitPolicy,
): Promise<string> {
  const members = await getMembers(target);
  if (!members.some((m) => m.name === name)) return `${name} is not a member`;
  if ((await getLeaderName(target)) === name) {
    const health = await getMemberHealth(target);
    const next = chooseNextLeader(
      { rolled: remaining, pending: [] },
      new Set(health.filter((m) => m.health).map((m) => m.name)),
    );
    if (next === undefined)
      throw new Error(`PD member ${name} leads and none of ${remaining.join(", ")} is healthy to take over`);
    await transferLeader(target, next);
    if (!(await pollUntil(async () => (await getLeaderName(target)) === next, policy))) {
      throw new Error(`PD leadership did not move from ${name} to ${next} within ${policy.timeoutMs / 1000} s`);
    }
  }
  const res = await pdRequest(target, "DELETE", `/pd/api/v1/members/name/${encodeURIComponent(name)}`);
  if (res.status !== 200 && res.status !== 404)
    throw new Error(`PD remove member ${name}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  const gone = await pollUntil(async () => !(await getMembers(target)).some((m) => m.name === name), policy);
  if (!gone) throw new Error(`PD member ${name} is still listed ${policy.timeoutMs / 1000} s after its removal`);
  return `removed ${name}`;
}

/**
 * Every store PD knows, Tombstone ones included (?state=0&state=1&state=2: metapb Up, Offline,
 * Tombstone; server/api/store.go newStoreStateFilter). Before bootstrap: none.
 */
export async function getAllStores(target: PdTarget): Promise<PdStore[]> {
  return storesFrom(target, "/pd/api/v1/stores?state=0&state=1&state=2");
}

/**
 * Retires the store at `address` before its host or container goes, as TiUP's scale-in does:
 * `DELETE /pd/api/v1/store/{id}` makes it Offline (server/cluster/cluster.go RemoveStore; PD
 * refuses, ErrStoresNotEnough, when fewer Up stores than max-replicas would remain), PD moves
 * its regions away, and the store becomes Tombstone. Waits for that within the policy; throws
 * naming the store and what to do when it is still Offline at the deadline.
 */
export async function retireStore(target: PdTarget, address: string, policy: WaitPolicy): Promise<string> {
  const live = (await getAllStores(target)).find((s) => s.address === address && s.stateName !== "Tombstone");
  if (!live) return "no live store";
  if (live.stateName !== "Offline") {
    const res = await pdRequest(target, "DELETE", `/pd/api/v1/store/${live.id}`);
    // 410: already removed (server/api/store.go DeleteStore).
    if (res.status !== 200 && res.status !== 410) {
      throw new Error(
        `tikv-cvm:nodeCount: PD refused to retire TiKV store ${live.id} (${address}): HTTP ${res.status} ` +
          `${res.body.slice(0, 300)}; nothing was deleted`,
      );
    }
  }
  const gone = await pollUntil(
    async () => !(await getAllStores(target)).some((s) => s.id === live.id && s.stateName !== "Tombstone"),
    policy,
  );
  if (!gone) {
    throw new Error(
      `tikv-cvm:nodeCount: TiKV store ${live.id} (${address}) is Offline: PD is still moving its regions away ` +
        `(${policy.timeoutMs / 1000} s so far). Its container and data stay until it is Tombstone; check with pd-ctl store ` +
        `${live.id}, then run pulumi up again`,
    );
  }
  return `store ${live.id} retired (Tombstone)`;
}

/**
 * The Tombstone store whose data a volume at `address` may still hold, when no live store has
 * that address: PD refuses a Tombstone store that comes back ("store is tombstone", v8.5.7
 * server/grpc_service.go) and lets a new store register at the address of a removed one
 * (server/cluster/cluster.go PutStore skips removed stores in its duplicated-address check).
 */
export function retiredStoreAt(stores: readonly PdStore[], address: string): PdStore | undefined {
  const at = stores.filter((s) => s.address === address);
  if (at.some((s) => s.stateName !== "Tombstone")) return undefined;
  return at.sort((a, b) => b.id - a.id)[0];
}

// ---- A whole host, before and after its CVM changes ------------------------------------------

/** One CVM host's members, and where its PD member stands in this rollout. */
export interface HostMembers {
  readonly pdMember?: string;
  readonly storeAddress: string;
  readonly place: PdRolloutPlace;
}

/** Before a host's CVM is replaced or re-imaged: its PD leadership and its store's leaders move away. */
export async function prepareHostRestart(target: PdTarget, host: HostMembers, policy: WaitPolicy): Promise<string> {
  const steps: string[] = [];
  if (host.pdMember !== undefined)
    steps.push(
      `${host.pdMember}: ${await preparePdRestart(target, host.pdMember, host.place, policy, host.storeAddress)}`,
    );
  steps.push(await prepareTikvRestart(target, host.storeAddress, policy));
  return steps.join("; ");
}

/**
 * After a host's CVM changed and its containers are back: its PD member is healthy with every
 * other, and its store's evict-leader scheduler is gone and the store is Up.
 */
export async function awaitHostBack(target: PdTarget, host: HostMembers, policy: WaitPolicy): Promise<string> {
  if (host.pdMember !== undefined)
    await awaitPdHealthy(target, host.pdMember, policy, [...host.place.rolled, host.pdMember, ...host.place.pending]);
  return restoreTikv(target, host.storeAddress, policy);
}
