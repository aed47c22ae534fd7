// A rolling restart never has two stores down at once, and PD's HTTP client moves on from a member
// answering 5xx: the rollout gate provider (what the engine runs) against local fakes of PD.
import { rolloutGateProvider } from "../components/rollout";
import {
  PdTarget,
  awaitHostBack,
  getLeaderName,
  pdRequest,
  prepareHostRestart,
  preparePdRestart,
  awaitPdHealthy,
  prepareTikvRestart,
  restoreTikv,
} from "../lib/pdApi";
import { FakePd, FakeStore } from "./support/fakePd";

const STORES = ["10.0.1.11:20160", "10.0.1.12:20160", "10.0.1.13:20160"];

describe("a rolling restart of the stores, gate by gate as the engine chains them", () => {
  let pd: FakePd;
  let endpoint: string;
  beforeEach(async () => {
    pd = new FakePd();
    // No leaders to evict: each before step is done at its first poll.
    pd.stores = STORES.map((address, i) => ({ id: i + 1, address, state: "Up", leaders: 0 }));
    endpoint = await pd.listen();
  });
  afterEach(() => pd.close());

  /**
   * Restarts a store as its container replacement does: PD reports it `state` (no heartbeat, or
   * leaving) until it is back, `downMs` later, as a real store's heartbeat resumes on its own clock.
   */
  function restart(store: FakeStore, state: FakeStore["state"], downMs: number): void {
    store.state = state;
    setTimeout(() => {
      store.state = "Up";
    }, downMs);
  }

  /** Rolls `stores` one after another with `after`; returns how many stores were down at each restart. */
  async function roll(
    stores: readonly string[],
    state: FakeStore["state"],
    steps: {
      before: (address: string) => Promise<unknown>;
      after: (address: string) => Promise<unknown>;
    },
  ): Promise<number[]> {
    const downAtOnce: number[] = [];
    for (const address of stores) {
      await steps.before(address);
      const store = pd.stores.find((s) => s.address === address)!;
      restart(store, state, 300);
      downAtOnce.push(pd.stores.filter((s) => s.state !== "Up").length);
      await steps.after(address);
      expect([address, store.state]).toEqual([address, "Up"]);
    }
    expect(pd.evicting.size).toBe(0);
    return downAtOnce;
  }

  // The gate provider as the engine runs it (it polls every 2 s): two stores, tikv and host gates.
  test.each(["tikv", "host"] as const)(
    "%s gates: the second store restarts only once the first is Up again",
    async (kind) => {
      const gate = (phase: "before" | "after", address: string) =>
        rolloutGateProvider.update!("id", {} as never, {
          kind,
          phase,
          member: address,
          trigger: `${phase}-trigger`,
          pdEndpoints: [endpoint],
          timeoutMinutes: 0.1,
        });
      expect(
        await roll(STORES.slice(0, 2), "Disconnected", {
          before: (a) => gate("before", a),
          after: (a) => gate("after", a),
        }),
      ).toEqual([1, 1]);
    },
  );

  // The same steps with a fast poll, for every state PD reports a store in that is not Up.
  test.each(["Disconnected", "Down", "Offline"] as const)(
    "a store reported %s is waited for, by a store's and a host's after step",
    async (state) => {
      const target: PdTarget = { endpoints: [endpoint], requestTimeoutMs: 1_000 };
      const policy = { timeoutMs: 3_000, intervalMs: 25 };
      const place = { rolled: [], pending: [] };
      expect(
        await roll(STORES, state, {
          before: (a) => prepareTikvRestart(target, a, policy),
          after: (a) => restoreTikv(target, a, policy),
        }),
      ).toEqual([1, 1, 1]);
      expect(
        await roll(STORES, state, {
          before: (a) => prepareHostRestart(target, { storeAddress: a, place }, policy),
          after: (a) => awaitHostBack(target, { storeAddress: a, place }, policy),
        }),
      ).toEqual([1, 1, 1]);
    },
  );
});

describe("PD answering 5xx on one endpoint", () => {
  const servers: FakePd[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });
  async function started(fake: FakePd): Promise<string> {
    servers.push(fake);
    return fake.listen();
  }

  test.each([500, 502, 503])("HTTP %i from the first member: the request goes to the next one", async (status) => {
    const sick = new FakePd();
    sick.failWith = status;
    const healthy = new FakePd();
    healthy.leader = "pd2";
    const target: PdTarget = { endpoints: [await started(sick), await started(healthy)], requestTimeoutMs: 1_000 };
    await expect(getLeaderName(target)).resolves.toBe("pd2");
    expect(sick.calls).toEqual(["GET /pd/api/v1/leader"]);
  });

  test("a gate step completes through the healthy member while the first one answers 503", async () => {
    const sick = new FakePd();
    sick.failWith = 503;
    const healthy = new FakePd();
    const target: PdTarget = { endpoints: [await started(sick), await started(healthy)], requestTimeoutMs: 1_000 };
    await expect(prepareTikvRestart(target, "10.0.1.11:20160", { timeoutMs: 2_000, intervalMs: 50 })).resolves.toBe(
      "evicted leaders of store 1",
    );
    expect(healthy.evicting.has(1)).toBe(true);
  });

  test("an answer below 500 is PD's answer: no other member is asked", async () => {
    const first = new FakePd();
    const second = new FakePd();
    const target: PdTarget = { endpoints: [await started(first), await started(second)], requestTimeoutMs: 1_000 };
    const res = await pdRequest(target, "DELETE", "/pd/api/v1/schedulers/evict-leader-scheduler-9");
    expect(res.status).toBe(404);
    expect(second.calls).toEqual([]);
  });

  test("every member answering 5xx: the last answer is returned for the caller to judge", async () => {
    const a = new FakePd();
    a.failWith = 503;
    const b = new FakePd();
    b.failWith = 500;
    const target: PdTarget = { endpoints: [await started(a), await started(b)], requestTimeoutMs: 1_000 };
    const res = await pdRequest(target, "GET", "/pd/api/v1/leader");
    expect(res.status).toBe(500);
    expect([a.calls.length, b.calls.length]).toEqual([1, 1]);
  });
});

// Issue 18 item 2: a gate never stops a member while another is already down, as the Operator's
// IsPDStable/IsTiKVStable and TiUP refuse; transient answers are waited out, not fatal.
describe("a member is never stopped while another is down", () => {
  let pd: FakePd;
  let endpoints: string[];
  let target: PdTarget;
  const policy = { timeoutMs: 600, intervalMs: 25 };
  const place = (m: string) => {
    const names = ["pd1", "pd2", "pd3"];
    const at = names.indexOf(m);
    return { rolled: names.slice(0, at), pending: names.slice(at + 1) };
  };
  beforeEach(async () => {
    pd = new FakePd();
    pd.stores = STORES.map((address, i) => ({ id: i + 1, address, state: "Up", leaders: 0 }));
    // One endpoint per member, in host order, as the gates are given them.
    endpoints = [await pd.listen("pd1"), await pd.listen("pd2"), await pd.listen("pd3")];
    target = { endpoints, requestTimeoutMs: 1_000 };
  });
  afterEach(() => pd.close());

  test("PD: another member unhealthy: refused, naming it and what to do; leadership untouched", async () => {
    pd.members[1].health = false;
    await expect(preparePdRestart(target, "pd1", place("pd1"), policy)).rejects.toThrow(
      /refusing to stop PD member pd1: PD member pd2 is not healthy .*docker logs pd2.*run pulumi up again/,
    );
    expect(pd.calls.filter((c) => c.includes("/leader/transfer"))).toEqual([]);
  });

  test("PD: another member not ready (regions not loaded) is waited for, then refused, naming it", async () => {
    pd.notReady.add("pd3");
    await expect(preparePdRestart(target, "pd1", place("pd1"), policy)).rejects.toThrow(
      /refusing to stop PD member pd1: PD member pd3 is not ready.*\/pd\/api\/v2\/ready/,
    );
    // The member being stopped may be unready itself; a member ready in time lets the step go on.
    pd.notReady = new Set(["pd1"]);
    setTimeout(() => pd.notReady.clear(), 100);
    await expect(preparePdRestart(target, "pd2", place("pd2"), policy)).resolves.toBe("not the leader");
  });

  test("PD: a store down stops the rollout before its first member, naming the store", async () => {
    pd.stores[2].state = "Disconnected";
    await expect(preparePdRestart(target, "pd1", place("pd1"), policy)).rejects.toThrow(
      new RegExp(`refusing to stop PD member pd1: TiKV store 3 \\(${STORES[2]}\\) is Disconnected \\(pd-ctl store\\)`),
    );
    expect(pd.calls.filter((c) => c.includes("/leader/transfer"))).toEqual([]);
  });

  test("host: the store on the host being rolled may be down itself (a retried host roll)", async () => {
    pd.stores[0].state = "Disconnected";
    await expect(
      prepareHostRestart(target, { pdMember: "pd1", storeAddress: STORES[0], place: place("pd1") }, policy),
    ).resolves.toMatch(/^pd1: transferred leadership.*; evicted leaders of store 1$/);
    pd.stores[1].state = "Down";
    await expect(
      prepareHostRestart(target, { pdMember: "pd1", storeAddress: STORES[0], place: place("pd1") }, policy),
    ).rejects.toThrow(/refusing to stop PD member pd1: TiKV store 2 .* is Down/);
  });

  test("PD: a release without /pd/api/v2/ready (404) is not held back", async () => {
    pd.readyApi = false;
    await expect(preparePdRestart(target, "pd1", place("pd1"), policy)).resolves.toMatch(/transferred leadership/);
  });

  test("PD: a 503 during a leader change is retried within the timeout, not fatal", async () => {
    pd.transient503 = 12;
    await expect(preparePdRestart(target, "pd1", place("pd1"), { timeoutMs: 3_000, intervalMs: 25 })).resolves.toMatch(
      /transferred leadership to pd3/,
    );
    expect(pd.leader).toBe("pd3");
  });

  test("PD: the after step waits for the restarted member to report itself ready", async () => {
    pd.notReady.add("pd2");
    await expect(awaitPdHealthy(target, "pd2", policy, ["pd1", "pd2", "pd3"])).rejects.toThrow(/pd2 not ready/);
    setTimeout(() => pd.notReady.clear(), 100);
    await expect(awaitPdHealthy(target, "pd2", policy, ["pd1", "pd2", "pd3"])).resolves.toBeUndefined();
  });

  test.each(["Disconnected", "Down", "Offline"] as const)(
    "TiKV: another store %s: refused, naming it; no scheduler added",
    async (state) => {
      pd.stores[1].state = state;
      await expect(prepareTikvRestart(target, STORES[0], policy)).rejects.toThrow(
        new RegExp(`refusing to stop TiKV store ${STORES[0]}: TiKV store 2 \\(${STORES[1]}\\) is ${state}`),
      );
      expect(pd.evicting.size).toBe(0);
    },
  );

  test("TiKV: a region missing a replica holds the step until PD has repaired it", async () => {
    pd.missPeerRegions = 2;
    await expect(prepareTikvRestart(target, STORES[0], policy)).rejects.toThrow(
      /2 region\(s\) are missing a replica.*pd-ctl region check miss-peer/,
    );
    setTimeout(() => (pd.missPeerRegions = 0), 100);
    await expect(prepareTikvRestart(target, STORES[0], policy)).resolves.toBe("evicted leaders of store 1");
  });

  test("TiKV: the store being restarted may itself be down; a 503 is waited out", async () => {
    pd.stores[0].state = "Disconnected";
    pd.transient503 = 5;
    await expect(prepareTikvRestart(target, STORES[0], policy)).resolves.toBe("evicted leaders of store 1");
  });

  test("the gates as the engine runs them: tikv and host gates refuse while another store is Down", async () => {
    pd.stores[2].state = "Down";
    for (const kind of ["tikv", "host"] as const) {
      await expect(
        rolloutGateProvider.update!("id", {} as never, {
          kind,
          phase: "before",
          member: STORES[0],
          trigger: "t",
          pdEndpoints: endpoints,
          timeoutMinutes: 0.01,
        }),
      ).rejects.toThrow(/TiKV store 3 .* is Down/);
    }
  });
});

// Issue 18 item 7: the one path that leaves an evict-leader scheduler behind (a TiKV container
// whose own health wait fails, so its "after" gate never runs) is cleaned by the next `up`.
describe("a store whose container failed its health wait", () => {
  test("keeps its scheduler until the next up's after gate, which removes it first, even while the store is down", async () => {
    const pd = new FakePd();
    pd.stores = STORES.map((address, i) => ({ id: i + 1, address, state: "Up" as const, leaders: 0 }));
    const endpoint = await pd.listen();
    try {
      const gate = (phase: "before" | "after", trigger: string) =>
        rolloutGateProvider.update!("id", {} as never, {
          kind: "tikv",
          phase,
          member: STORES[1],
          trigger,
          pdEndpoints: [endpoint],
          timeoutMinutes: 0.005,
        });
      await gate("before", "new-spec");
      // The replacement fails its health wait: the deployment ends here, the after gate unrun.
      pd.stores[1].state = "Down";
      expect([...pd.evicting]).toEqual([2]);
      // Next up: the retried container gets a new id, so the after gate's trigger changes and it runs.
      await expect(gate("after", "new-spec/new-container-id")).rejects.toThrow(
        /store 10.0.1.12:20160 \(id 2\) is not Up/,
      );
      expect(pd.evicting.size).toBe(0);
    } finally {
      pd.close();
    }
  });
});
