// PD's HTTP API, as much of it as a rolling restart needs (tikv/pd server/api/router.go):
// member health, leader resignation, stores and the evict-leader scheduler. Only Node built-ins
// are imported: this module is serialized into the rollout gate's dynamic provider.
import * as http from "http";
import * as https from "https";

export interface PdTarget {
  /** Base URLs tried in order, e.g. http://203.0.113.5:2379. */
  readonly endpoints: readonly string[];
  /** Client certificate material when PD serves TLS. */
  readonly tls?: { readonly caPem: string; readonly certPem: string; readonly keyPem: string };
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

function requestOnce(target: PdTarget, base: string, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const options: https.RequestOptions = {
    method,
    timeout: target.requestTimeoutMs,
    headers: payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
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
    req.on("timeout", () => req.destroy(new Error(`${method} ${url.href}: no answer in ${target.requestTimeoutMs} ms`)));
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Tries each endpoint until one answers; PD forwards leader-only calls to the leader itself. */
export async function pdRequest(target: PdTarget, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const errors: string[] = [];
  for (const base of target.endpoints) {
    try {
      const res = await requestOnce(target, base, method, path, body);
      if (res.status < 500) return res;
      errors.push(`${base}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    } catch (err) {
      errors.push(`${base}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
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

export async function resignLeader(target: PdTarget): Promise<void> {
  const res = await pdRequest(target, "POST", "/pd/api/v1/leader/resign");
  if (res.status !== 200) throw new Error(`PD leader resign: HTTP ${res.status} ${res.body.slice(0, 200)}`);
}

interface RawStores {
  readonly stores?: readonly {
    readonly store: { readonly id: number; readonly address: string; readonly state_name: string };
    readonly status?: { readonly leader_count?: number };
  }[];
}

export async function getStores(target: PdTarget): Promise<PdStore[]> {
  const res = await pdRequest(target, "GET", "/pd/api/v1/stores");
  // Before the first TiKV bootstraps the cluster PD answers an error: no stores yet.
  if (res.status !== 200) return [];
  const raw = JSON.parse(res.body) as RawStores;
  return (raw.stores ?? []).map((s) => ({
    id: s.store.id,
    address: s.store.address,
    stateName: s.store.state_name,
    leaderCount: s.status?.leader_count ?? 0,
  }));
}

export async function addEvictLeaderScheduler(target: PdTarget, storeId: number): Promise<void> {
  const res = await pdRequest(target, "POST", "/pd/api/v1/schedulers", { name: "evict-leader-scheduler", store_id: storeId });
  if (res.status !== 200) throw new Error(`PD add evict-leader-scheduler for store ${storeId}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
}

/** Removes this store from the evict-leader scheduler; a scheduler already gone is fine. */
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

// ---- The steps of a rolling restart, as TiUP takes them ---------------------------------------

/** Before a PD member restarts: hand its leadership to another member. */
export async function preparePdRestart(target: PdTarget, member: string, policy: WaitPolicy): Promise<string> {
  const members = await getMemberHealth(target);
  if (members.length < 2 || (await getLeaderName(target)) !== member) return "not the leader";
  await resignLeader(target);
  const moved = await pollUntil(async () => (await getLeaderName(target)) !== member, policy);
  if (!moved) throw new Error(`PD member ${member} is still the leader ${policy.timeoutMs / 1000} s after resigning`);
  return "resigned leadership";
}

/** After a PD member restarted: every member, this one included, reports healthy. */
export async function awaitPdHealthy(target: PdTarget, member: string, policy: WaitPolicy): Promise<void> {
  const ok = await pollUntil(async () => {
    const members = await getMemberHealth(target);
    return members.some((m) => m.name === member) && members.every((m) => m.health);
  }, policy);
  if (!ok) throw new Error(`PD member ${member} or a peer is not healthy after ${policy.timeoutMs / 1000} s; ` +
    "check with: pd-ctl member, and docker logs " + member);
}

/**
 * Before a TiKV store restarts: evict its Raft leaders. Bounded: when the leaders do not all
 * move in time the restart goes ahead, which costs latency, not data.
 */
export async function prepareTikvRestart(target: PdTarget, address: string, policy: WaitPolicy): Promise<string> {
  const store = (await getStores(target)).find((s) => s.address === address);
  if (!store) return "store not registered";
  await addEvictLeaderScheduler(target, store.id);
  const drained = await pollUntil(async () => {
    const now = (await getStores(target)).find((s) => s.id === store.id);
    return now !== undefined && now.leaderCount === 0;
  }, policy);
  return drained ? `evicted leaders of store ${store.id}` : `store ${store.id} still had leaders at the deadline`;
}

/** After a TiKV store restarted: it is Up again, and may take leaders back. */
export async function awaitTikvUp(target: PdTarget, address: string, policy: WaitPolicy): Promise<void> {
  let storeId: number | undefined;
  const ok = await pollUntil(async () => {
    const store = (await getStores(target)).find((s) => s.address === address);
    storeId = store?.id;
    return store?.stateName === "Up";
  }, policy);
  if (!ok) throw new Error(`TiKV store ${address} is not Up after ${policy.timeoutMs / 1000} s; check with: pd-ctl store`);
  if (storeId !== undefined) await removeEvictLeaderScheduler(target, storeId);
}
