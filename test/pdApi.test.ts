// The rolling-restart steps against a local fake of PD's HTTP API.
import * as http from "http";
import * as https from "https";
import { AddressInfo } from "net";
import { rolloutGateProvider } from "../components/rollout";
import { issue, tempDir } from "./support/openssl";
import {
  PdTarget, awaitPdHealthy, awaitTikvUp, pdRequest, preparePdRestart, prepareTikvRestart,
} from "../lib/pdApi";

interface FakeStore { id: number; address: string; state: string; leaders: number }

/** Just enough of PD: members, leader, stores, evict-leader scheduler. Records every call. */
class FakePd {
  members = [{ name: "pd1", health: true }, { name: "pd2", health: true }, { name: "pd3", health: true }];
  leader = "pd1";
  stores: FakeStore[] = [
    { id: 1, address: "10.0.1.11:20160", state: "Up", leaders: 4 },
    { id: 4, address: "10.0.1.12:20160", state: "Up", leaders: 3 },
  ];
  evicting = new Set<number>();
  calls: string[] = [];
  /** Hooks run on each GET of /health or /stores, to script changes over time. */
  onHealth: () => void = () => undefined;
  onStores: () => void = () => undefined;
  private server = http.createServer((req, res) => this.handle(req, res));

  listen(): Promise<string> {
    return new Promise((resolve) => this.server.listen(0, "127.0.0.1",
      () => resolve(`http://127.0.0.1:${(this.server.address() as AddressInfo).port}`)));
  }

  close(): void {
    this.server.close();
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const call = `${req.method} ${req.url}`;
      this.calls.push(body ? `${call} ${body}` : call);
      const send = (status: number, value: unknown) => { res.writeHead(status, { "content-type": "application/json" }); res.end(JSON.stringify(value)); };
      if (call === "GET /pd/api/v1/health") { this.onHealth(); return send(200, this.members); }
      if (call === "GET /pd/api/v1/leader") return send(200, { name: this.leader });
      if (call === "POST /pd/api/v1/leader/resign") {
        this.leader = this.members.find((m) => m.name !== this.leader)!.name;
        return send(200, "The resign command is submitted.");
      }
      if (call === "GET /pd/api/v1/stores") {
        this.onStores();
        for (const id of this.evicting) {
          const s = this.stores.find((x) => x.id === id)!;
          s.leaders = Math.max(0, s.leaders - 2);
        }
        return send(200, { count: this.stores.length, stores: this.stores.map((s) => ({
          store: { id: s.id, address: s.address, state_name: s.state }, status: { leader_count: s.leaders } })) });
      }
      if (call === "POST /pd/api/v1/schedulers") {
        const input = JSON.parse(body) as { name: string; store_id: number };
        if (input.name !== "evict-leader-scheduler") return send(400, "bad scheduler");
        this.evicting.add(input.store_id);
        return send(200, "The scheduler is created.");
      }
      const del = /^DELETE \/pd\/api\/v1\/schedulers\/evict-leader-scheduler-(\d+)$/.exec(call);
      if (del) {
        const removed = this.evicting.delete(Number(del[1]));
        return send(removed ? 200 : 404, removed ? null : "scheduler not found");
      }
      return send(404, "no route");
    });
  }
}

const policy = { timeoutMs: 3_000, intervalMs: 50 };
let pd: FakePd;
let target: PdTarget;

beforeEach(async () => {
  pd = new FakePd();
  target = { endpoints: [await pd.listen()], requestTimeoutMs: 1_000 };
});
afterEach(() => pd.close());

test("the PD leader resigns before its restart; a follower does not", async () => {
  await expect(preparePdRestart(target, "pd2", policy)).resolves.toBe("not the leader");
  expect(pd.calls.some((c) => c.includes("resign"))).toBe(false);
  await expect(preparePdRestart(target, "pd1", policy)).resolves.toBe("resigned leadership");
  expect(pd.leader).not.toBe("pd1");
  expect(pd.calls.filter((c) => c.includes("resign"))).toEqual(["POST /pd/api/v1/leader/resign"]);
});

test("after a PD restart, waits until every member is healthy again", async () => {
  pd.members[1].health = false;
  let polls = 0;
  pd.onHealth = () => { if (++polls === 3) pd.members[1].health = true; };
  await awaitPdHealthy(target, "pd2", policy);
  expect(polls).toBeGreaterThanOrEqual(3);
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
  pd.onStores = () => { if (++polls === 2) pd.stores[0].state = "Up"; };
  await awaitTikvUp(target, "10.0.1.11:20160", policy);
  expect(pd.evicting.size).toBe(0);
  const order = pd.calls.map((c) => c.split(" ").slice(0, 2).join(" "));
  expect(order.indexOf("POST /pd/api/v1/schedulers")).toBeLessThan(order.indexOf("DELETE /pd/api/v1/schedulers/evict-leader-scheduler-1"));
});

test("eviction is bounded: leaders that do not move in time do not block the restart", async () => {
  pd.onStores = () => { pd.stores[0].leaders = 9; };
  const started = Date.now();
  await expect(prepareTikvRestart(target, "10.0.1.11:20160", { timeoutMs: 400, intervalMs: 50 }))
    .resolves.toBe("store 1 still had leaders at the deadline");
  expect(Date.now() - started).toBeLessThan(2_000);
});

test("a store PD does not know yet has nothing to evict", async () => {
  await expect(prepareTikvRestart(target, "10.0.1.99:20160", policy)).resolves.toBe("store not registered");
  expect(pd.calls.some((c) => c.startsWith("POST"))).toBe(false);
});

test("requests fail over to the next PD endpoint", async () => {
  const dead = http.createServer();
  const deadUrl = await new Promise<string>((resolve) => dead.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(dead.address() as AddressInfo).port}`)));
  dead.close();
  const res = await pdRequest({ endpoints: [deadUrl, target.endpoints[0]], requestTimeoutMs: 500 }, "GET", "/pd/api/v1/leader");
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
    expect(await rolloutGateProvider.diff!("id", olds, { ...news, trigger: "b" })).toEqual({ changes: true, replaces: [] });
  });

  test("a rolling restart of one store: evict, then wait for Up and give leaders back", async () => {
    const before = await rolloutGateProvider.update!("id", {} as never, { ...base, phase: "before", trigger: "b", pdEndpoints: [...target.endpoints] });
    expect(before.outs!.outcome).toBe("evicted leaders of store 1");
    const after = await rolloutGateProvider.update!("id", {} as never, { ...base, phase: "after", trigger: "new-container", pdEndpoints: [...target.endpoints] });
    expect(after.outs!.outcome).toBe("up");
    expect(pd.evicting.size).toBe(0);
  });

  test("a rolling restart of the PD leader resigns it first", async () => {
    const out = await rolloutGateProvider.update!("id", {} as never, {
      kind: "pd", phase: "before", member: "pd1", trigger: "b", pdEndpoints: [...target.endpoints], timeoutMinutes: 0.05 });
    expect(out.outs!.outcome).toBe("resigned leadership");
  });
});

test("with clusterTls the steps speak mutual TLS: the operator's certificate gets in, none does not", async () => {
  const dir = tempDir("pd-tls");
  const ecdsa = { algorithm: "ECDSA" as const, ecdsaCurve: "P256" as const };
  const ca = issue(dir, "ca", { commonName: "ca", allowedUses: ["cert_signing", "digital_signature"], isCa: true, ...ecdsa });
  const server = issue(dir, "pd", { commonName: "pd1", allowedUses: ["digital_signature", "server_auth", "client_auth"], ipAddresses: ["127.0.0.1"], ...ecdsa }, ca);
  const client = issue(dir, "operator", { commonName: "operator", allowedUses: ["digital_signature", "client_auth"], ...ecdsa }, ca);
  const fake = new FakePd();
  const tlsServer = https.createServer({ cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
    (req, res) => fake.handle(req, res));
  const url = await new Promise<string>((resolve) => tlsServer.listen(0, "127.0.0.1", () => resolve(`https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`)));
  try {
    const withCert: PdTarget = { endpoints: [url], requestTimeoutMs: 2_000, tls: { caPem: ca.certPem, certPem: client.certPem, keyPem: client.keyPem } };
    await expect(preparePdRestart(withCert, "pd1", policy)).resolves.toBe("resigned leadership");
    const noCert: PdTarget = { endpoints: [url], requestTimeoutMs: 2_000, tls: { caPem: ca.certPem, certPem: "", keyPem: "" } };
    await expect(pdRequest(noCert, "GET", "/pd/api/v1/leader")).rejects.toThrow(/failed on every endpoint/);
  } finally {
    tlsServer.close();
  }
});
