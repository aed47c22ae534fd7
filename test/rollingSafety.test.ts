// A rolling restart never has two stores down at once, and PD's HTTP client moves on from a member
// answering 5xx: the rollout gate provider (what the engine runs) against local fakes of PD.
import { rolloutGateProvider } from "../components/rollout";
import {
  PdTarget,
  awaitHostBack,
  getLeaderName,
  pdRequest,
  prepareHostRestart,
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
