// The rolling-restart steps against a local fake of PD's HTTP API.
import * as http from "http";
import * as https from "https";
import { AddressInfo } from "net";
import { retirementProvider, rolloutGateProvider } from "../components/rollout";
import { FakePd } from "./support/fakePd";
import { issue, tempDir } from "./support/openssl";
import {
  PdTarget,
  awaitPdHealthy,
  retireStore,
  chooseNextLeader,
  getStores,
  pdRequest,
  preparePdRestart,
  prepareTikvRestart,
  removePdMember,
  restoreTikv,
} from "../lib/pdApi";

const policy = { timeoutMs: 3_000, intervalMs: 50 };
let pd: FakePd;
let target: PdTarget;

beforeEach(async () => {
  pd = new FakePd();
  target = { endpoints: [await pd.listen()], requestTimeoutMs: 1_000 };
});
afterEach(() => pd.close());

describe("PD leadership during a rolling restart (item: the leader hands over to a member already on the new spec)", () => {
  const CHAIN = ["pd1", "pd2", "pd3"];
  const place = (m: string) => ({
    rolled: CHAIN.slice(0, CHAIN.indexOf(m)),
    pending: CHAIN.slice(CHAIN.indexOf(m) + 1),
  });

  /** Runs the before gate of each member in chain order, as the engine does, and returns the leaders seen. */
  async function rollAll(): Promise<string[]> {
    for (const m of CHAIN) await preparePdRestart(target, m, place(m), policy);
    return pd.leaderHistory;
  }

  test("a follower does nothing", async () => {
    await expect(preparePdRestart(target, "pd2", place("pd2"), policy)).resolves.toBe("not the leader");
    expect(pd.calls.filter((c) => c.startsWith("POST"))).toEqual([]);
  });

  test("leader pd2: it hands over to pd1, restarted just before, never to pd3, restarted after it", async () => {
    pd.leader = "pd2";
    pd.leaderHistory = ["pd2"];
    expect(await rollAll()).toEqual(["pd2", "pd1"]);
    expect(pd.calls.filter((c) => c.startsWith("POST"))).toEqual(["POST /pd/api/v1/leader/transfer/pd1"]);
  });

  test("leader pd3 (rolled last): one move, to a member already rolled", async () => {
    pd.leader = "pd3";
    pd.leaderHistory = ["pd3"];
    expect(await rollAll()).toEqual(["pd3", "pd1"]);
  });

  test("leader pd1 (rolled first): it goes to pd3, the member rolled last, then once more to pd1: never to pd2", async () => {
    expect(await rollAll()).toEqual(["pd1", "pd3", "pd1"]);
    expect(pd.calls.some((c) => c.includes("resign"))).toBe(false);
  });

  test("an unhealthy member is never chosen", () => {
    expect(chooseNextLeader({ rolled: ["pd1", "pd2"], pending: [] }, new Set(["pd2", "pd3"]))).toBe("pd2");
    expect(chooseNextLeader({ rolled: [], pending: ["pd2", "pd3"] }, new Set(["pd2"]))).toBe("pd2");
    expect(chooseNextLeader({ rolled: [], pending: ["pd2"] }, new Set())).toBeUndefined();
  });

  test("a leader with no healthy peer is not stopped, naming the members and pd-ctl", async () => {
    pd.members[1].health = false;
    pd.members[2].health = false;
    await expect(preparePdRestart(target, "pd1", place("pd1"), policy)).rejects.toThrow(
      /refusing to stop PD member pd1: PD member pd2, pd3 are not healthy \(pd-ctl member/,
    );
  });
});

test("after a PD restart, waits until every member is healthy again", async () => {
  pd.members[1].health = false;
  let polls = 0;
  pd.onHealth = () => {
    if (++polls === 3) pd.members[1].health = true;
  };
  await awaitPdHealthy(target, "pd2", policy);
  expect(polls).toBeGreaterThanOrEqual(3);
});

test("a PD member removed from the cluster whose container outlived it: the wait says to replace the container", async () => {
  pd.members = pd.members.filter((m) => m.name !== "pd3");
  await expect(awaitPdHealthy(target, "pd3", { timeoutMs: 300, intervalMs: 50 })).rejects.toThrow(
    /PD member pd3 is not in the cluster .* pulumi up --replace <urn of the container pd3>/,
  );
});

test("a PD member that never recovers fails the wait, naming it", async () => {
  pd.members[2].health = false;
  await expect(awaitPdHealthy(target, "pd3", { timeoutMs: 300, intervalMs: 50 })).rejects.toThrow(/pd3.*not healthy/);
});

test("a store's leaders are evicted before its restart and the scheduler removed once it is Up", async () => {
  await expect(prepareTikvRestart(target, "10.0.1.11:20160", policy)).resolves.toBe("evicted leaders of store 1");
  expect(pd.calls).toContain('POST /pd/api/v1/schedulers {"name":"evict-leader-scheduler","store_id":1}');
  expect(pd.stores[0].leaders).toBe(0);
  expect(pd.stores[1].leaders).toBe(3);

  pd.stores[0].state = "Disconnected";
  let polls = 0;
  pd.onStores = () => {
    if (++polls === 2) pd.stores[0].state = "Up";
  };
  await expect(restoreTikv(target, "10.0.1.11:20160", policy)).resolves.toBe(
    "store 1 up, evict-leader scheduler removed",
  );
  expect(pd.evicting.size).toBe(0);
  const order = pd.calls.map((c) => c.split(" ").slice(0, 2).join(" "));
  expect(order.indexOf("POST /pd/api/v1/schedulers")).toBeLessThan(
    order.indexOf("DELETE /pd/api/v1/schedulers/evict-leader-scheduler-1"),
  );
});

describe("the evict-leader scheduler is removed on every path", () => {
  const address = "10.0.1.11:20160";

  test("a store that never comes back Up: the scheduler is removed first, then the wait fails", async () => {
    await prepareTikvRestart(target, address, policy);
    expect(pd.evicting.has(1)).toBe(true);
    pd.stores[0].state = "Disconnected";
    await expect(restoreTikv(target, address, { timeoutMs: 300, intervalMs: 50 })).rejects.toThrow(/not Up after/);
    expect(pd.evicting.has(1)).toBe(false);
  });

  test("a stale scheduler left by an earlier failed run is removed by the after step", async () => {
    pd.evicting.add(1);
    await restoreTikv(target, address, policy);
    expect(pd.evicting.size).toBe(0);
  });

  test("an error after the scheduler was added removes it before the error is reported", async () => {
    // PD registers the scheduler but its answer is lost in an etcd timeout.
    const answer = pd.handle.bind(pd);
    pd.handle = (req, res) => {
      if (req.method !== "POST" || req.url !== "/pd/api/v1/schedulers") return answer(req, res);
      pd.evicting.add(1);
      res.writeHead(500);
      res.end('"etcd timeout"');
    };
    await expect(prepareTikvRestart(target, address, policy)).rejects.toThrow(/HTTP 500/);
    expect(pd.evicting.has(1)).toBe(false);
  });

  test("PD unreachable for the whole wait: the failure says which scheduler to remove by hand", async () => {
    pd.failWith = 503;
    await expect(restoreTikv(target, address, { timeoutMs: 200, intervalMs: 50 })).rejects.toThrow(
      /evict-leader-scheduler/,
    );
  });
});

describe("before the cluster is bootstrapped (PD answers /stores with HTTP 500)", () => {
  test("there are no stores, so a before step has nothing to evict and does not fail", async () => {
    pd.bootstrapped = false;
    await expect(getStores(target)).resolves.toEqual([]);
    await expect(prepareTikvRestart(target, "10.0.1.11:20160", policy)).resolves.toBe("store not registered");
    await expect(restoreTikv(target, "10.0.1.11:20160", policy)).resolves.toBe("store not registered");
  });

  test("any other HTTP 500 is still an error", async () => {
    pd.failWith = 500;
    await expect(getStores(target)).rejects.toThrow(/HTTP 500/);
  });
});

test("eviction is bounded: leaders that do not move in time do not block the restart", async () => {
  pd.onStores = () => {
    pd.stores[0].leaders = 9;
  };
  const started = Date.now();
  await expect(prepareTikvRestart(target, "10.0.1.11:20160", { timeoutMs: 400, intervalMs: 50 })).resolves.toBe(
    "store 1 still had leaders at the deadline",
  );
  expect(Date.now() - started).toBeLessThan(2_000);
});

test("a store PD does not know yet has nothing to evict", async () => {
  await expect(prepareTikvRestart(target, "10.0.1.99:20160", policy)).resolves.toBe("store not registered");
  expect(pd.calls.some((c) => c.startsWith("POST"))).toBe(false);
});

test("requests fail over to the next PD endpoint", async () => {
  const dead = http.createServer();
  const deadUrl = await new Promise<string>((resolve) =>
    dead.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(dead.address() as AddressInfo).port}`)),
  );
  dead.close();
  const res = await pdRequest(
    { endpoints: [deadUrl, target.endpoints[0]], requestTimeoutMs: 500 },
    "GET",
    "/pd/api/v1/leader",
  );
  expect(JSON.parse(res.body)).toEqual({ name: "pd1" });
});

describe("the rollout gate provider", () => {
  const base = { kind: "tikv" as const, member: "10.0.1.11:20160", timeoutMinutes: 0.05 };

  test("creating a gate touches nothing", async () => {
    await rolloutGateProvider.create({ ...base, phase: "before", trigger: "a", pdEndpoints: [...target.endpoints] });
    expect(pd.calls).toEqual([]);
  });

  test("only a changed trigger counts as a change", async () => {
    const olds = { kind: "tikv", phase: "before", member: base.member, trigger: "a", outcome: "created" };
    const news = { ...base, phase: "before" as const, trigger: "a", pdEndpoints: ["http://elsewhere:2379"] };
    expect(await rolloutGateProvider.diff!("id", olds, news)).toEqual({ changes: false, replaces: [] });
    expect(await rolloutGateProvider.diff!("id", olds, { ...news, trigger: "b" })).toEqual({
      changes: true,
      replaces: [],
    });
  });

  test("a rolling restart of one store: evict, then wait for Up and give leaders back", async () => {
    const before = await rolloutGateProvider.update!("id", {} as never, {
      ...base,
      phase: "before",
      trigger: "b",
      pdEndpoints: [...target.endpoints],
    });
    expect(before.outs!.outcome).toBe("evicted leaders of store 1");
    const after = await rolloutGateProvider.update!("id", {} as never, {
      ...base,
      phase: "after",
      trigger: "new-container",
      pdEndpoints: [...target.endpoints],
    });
    expect(after.outs!.outcome).toBe("store 1 up, evict-leader scheduler removed");
    expect(pd.evicting.size).toBe(0);
  });

  test("a rolling restart of the PD leader hands leadership to a member already rolled", async () => {
    pd.leader = "pd2";
    const out = await rolloutGateProvider.update!("id", {} as never, {
      kind: "pd",
      phase: "before",
      member: "pd2",
      trigger: "b",
      pdEndpoints: [...target.endpoints],
      timeoutMinutes: 0.05,
      rolled: ["pd1"],
      pending: ["pd3"],
    });
    expect(out.outs!.outcome).toBe("transferred leadership to pd1");
  });
});

describe("scaling in", () => {
  test("a PD member leaves through PD's API; a leader hands over to a remaining member first", async () => {
    await expect(removePdMember(target, "pd1", ["pd2", "pd3"], policy)).resolves.toBe("removed pd1");
    expect(pd.calls.filter((c) => !c.startsWith("GET"))).toEqual([
      "POST /pd/api/v1/leader/transfer/pd2",
      "DELETE /pd/api/v1/members/name/pd1",
    ]);
    expect(pd.members.map((m) => m.name)).toEqual(["pd2", "pd3"]);
    await expect(removePdMember(target, "pd1", ["pd2", "pd3"], policy)).resolves.toBe("pd1 is not a member");
  });

  test("the retirement resource removes the member when it is created", async () => {
    const out = await retirementProvider.create({
      kind: "pd",
      member: "pd3",
      remaining: ["pd1", "pd2"],
      pdEndpoints: [...target.endpoints],
      timeoutMinutes: 0.05,
    });
    expect(out.outs).toEqual({ kind: "pd", member: "pd3", outcome: "removed pd3" });
    expect(pd.members.map((m) => m.name)).toEqual(["pd1", "pd2"]);
  });

  test("a TiKV store is retired through PD before its host goes: Offline, then Tombstone", async () => {
    pd.stores.push({ id: 7, address: "10.0.1.13:20160", state: "Up", leaders: 0 });
    pd.stores.push({ id: 9, address: "10.0.1.14:20160", state: "Up", leaders: 0 });
    const policy = { timeoutMs: 2_000, intervalMs: 25 };
    await expect(retireStore(target, "10.0.1.14:20160", policy)).resolves.toBe("store 9 retired (Tombstone)");
    expect(pd.calls).toContain("DELETE /pd/api/v1/store/9");
    await expect(retireStore(target, "10.0.1.14:20160", policy)).resolves.toBe("no live store");
  });

  test("a store still moving its regions at the deadline stops the deployment, naming it and what to do", async () => {
    pd.stores.push({ id: 7, address: "10.0.1.13:20160", state: "Up", leaders: 0 });
    pd.stores.push({ id: 9, address: "10.0.1.14:20160", state: "Up", leaders: 0 });
    pd.tombstoneAfter = Infinity;
    await expect(retireStore(target, "10.0.1.14:20160", { timeoutMs: 200, intervalMs: 25 })).rejects.toThrow(
      /store 9 \(10.0.1.14:20160\) is Offline: PD is still moving .*pd-ctl store 9, then run pulumi up again/,
    );
  });

  test("PD refuses to retire a store that would leave fewer Up stores than replicas: nothing is deleted", async () => {
    pd.stores.push({ id: 7, address: "10.0.1.13:20160", state: "Up", leaders: 0 });
    await expect(retireStore(target, "10.0.1.13:20160", { timeoutMs: 200, intervalMs: 25 })).rejects.toThrow(
      /PD refused to retire TiKV store 7 .*ErrStoresNotEnough.*nothing was deleted/,
    );
    expect(pd.stores.find((x) => x.id === 7)!.state).toBe("Up");
  });
});

test("with clusterTls the steps speak mutual TLS: the operator's certificate gets in, none does not", async () => {
  const dir = tempDir("pd-tls");
  const ecdsa = { algorithm: "ECDSA" as const, ecdsaCurve: "P256" as const };
  const ca = issue(dir, "ca", {
    commonName: "ca",
    allowedUses: ["cert_signing", "digital_signature"],
    isCa: true,
    ...ecdsa,
  });
  const server = issue(
    dir,
    "pd",
    {
      commonName: "pd1",
      allowedUses: ["digital_signature", "server_auth", "client_auth"],
      ipAddresses: ["127.0.0.1"],
      ...ecdsa,
    },
    ca,
  );
  const client = issue(
    dir,
    "operator",
    { commonName: "operator", allowedUses: ["digital_signature", "client_auth"], ...ecdsa },
    ca,
  );
  const fake = new FakePd();
  const tlsServer = https.createServer(
    { cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
    (req, res) => fake.handle(req, res),
  );
  const url = await new Promise<string>((resolve) =>
    tlsServer.listen(0, "127.0.0.1", () => resolve(`https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`)),
  );
  try {
    const withCert: PdTarget = {
      endpoints: [url],
      requestTimeoutMs: 2_000,
      tls: { caPem: ca.certPem, certPem: client.certPem, keyPem: client.keyPem },
    };
    await expect(preparePdRestart(withCert, "pd1", { rolled: ["pd2"], pending: [] }, policy)).resolves.toBe(
      "transferred leadership to pd2",
    );
    const noCert: PdTarget = {
      endpoints: [url],
      requestTimeoutMs: 2_000,
      tls: { caPem: ca.certPem, certPem: "", keyPem: "" },
    };
    await expect(pdRequest(noCert, "GET", "/pd/api/v1/leader")).rejects.toThrow(/failed on every endpoint/);
  } finally {
    tlsServer.close();
  }
});
