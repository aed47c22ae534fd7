// Just enough of PD's HTTP API (tikv/pd v8.5.7, server/api/router.go), answering as PD does:
// members and their health, the leader (resign, transfer), stores (HTTP 500 before bootstrap),
// the evict-leader scheduler and member removal, each member's readiness (/pd/api/v2/ready, per
// listener: listen("pd2") answers as pd2) and regions missing a peer. Records every call.
import * as http from "http";
import { AddressInfo } from "net";

export interface FakeMember {
  name: string;
  /** Absent while a member of the initial cluster has not started yet (PD omits the empty name). */
  started: boolean;
  health: boolean;
  peerUrl: string;
  clientUrl: string;
  /** pdpb.Member binary_version and git_hash (pkg/member/member.go), as every started member reports them. */
  binaryVersion?: string;
  gitHash?: string;
}

export interface FakeStore {
  id: number;
  address: string;
  state: "Up" | "Offline" | "Tombstone" | "Disconnected" | "Down";
  leaders: number;
  /** metapb.Store version and git_hash, as the TiKV sent them in PutStore. */
  version?: string;
  gitHash?: string;
  /** metapb.Store labels, in PD's order. */
  labels?: { key: string; value: string }[];
}

/** PD's body for cluster routes before the first store bootstraps (server/api/middleware.go, pkg/errs/errno.go). */
export const NOT_BOOTSTRAPPED = "[PD:cluster:ErrNotBootstrapped]TiKV cluster not bootstrapped, please start TiKV first";

export class FakePd {
  members: FakeMember[] = ["pd1", "pd2", "pd3"].map((name, i) => ({
    name,
    started: true,
    health: true,
    peerUrl: `http://10.0.1.1${i + 1}:2380`,
    clientUrl: `http://10.0.1.1${i + 1}:2379`,
  }));
  leader = "pd1";
  /** Leaders in the order they took over, the first one included. */
  leaderHistory: string[] = ["pd1"];
  bootstrapped = true;
  stores: FakeStore[] = [
    { id: 1, address: "10.0.1.11:20160", state: "Up", leaders: 4 },
    { id: 4, address: "10.0.1.12:20160", state: "Up", leaders: 3 },
  ];
  evicting = new Set<number>();
  calls: string[] = [];
  /** Hooks run on each GET of /health, /members or /stores, to script changes over time. */
  onHealth: () => void = () => undefined;
  onMembers: () => void = () => undefined;
  onStores: () => void = () => undefined;
  /** Answer every request with this status (e.g. 503 while PD is down); undefined: answer normally. */
  failWith?: number;
  /** Answer this many requests with HTTP 503 first, as PD does while it elects a leader (pingcap/tiup#2494). */
  transient503 = 0;
  /** Members that have not loaded their regions: their /pd/api/v2/ready answers 500. */
  notReady = new Set<string>();
  /** false: a release before v8.5.2, which has no /pd/api/v2/ready (404). */
  readyApi = true;
  /** Regions PD lists under /pd/api/v1/regions/check/miss-peer. */
  missPeerRegions = 0;
  /** PD's max-replicas: RemoveStore refuses to leave fewer Up stores. */
  maxReplicas = 3;
  /** [replication] as PD keeps it (pkg/schedule/config/config.go ReplicationConfig). */
  replication = { locationLabels: [] as string[], isolationLevel: "" };
  /** Store listings after which an Offline store has moved its regions and is Tombstone. */
  tombstoneAfter = 1;
  private offlineFor = new Map<number, number>();
  private readonly servers: http.Server[] = [];

  /** Serves the cluster; `as` names the member this endpoint is (the one /pd/api/v2/ready speaks for). */
  listen(as = "pd1"): Promise<string> {
    const server = http.createServer((req, res) => this.handle(req, res, as));
    this.servers.push(server);
    return new Promise((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
    );
  }

  close(): void {
    for (const server of this.servers.splice(0)) server.close();
  }

  private setLeader(name: string): void {
    this.leader = name;
    this.leaderHistory.push(name);
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse, self = "pd1"): void {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const call = `${req.method} ${req.url}`;
      this.calls.push(body ? `${call} ${body}` : call);
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value, null, 2));
      };
      if (this.failWith !== undefined) return send(this.failWith, "PD is unavailable");
      if (this.transient503 > 0) {
        this.transient503--;
        return send(503, "no leader");
      }
      if (call === "GET /pd/api/v2/ready") {
        // v8.5.7 server/apiv2/handlers/ready.go Ready: the status alone without ?verbose, never forwarded.
        if (!this.readyApi) return send(404, "404 page not found");
        res.writeHead(this.notReady.has(self) ? 500 : 200);
        return res.end();
      }
      if (call === "GET /pd/api/v1/regions/check/miss-peer") {
        // server/api/region.go getRegionsByType: response.RegionsInfo; cluster routes need bootstrap.
        if (!this.bootstrapped) return send(500, NOT_BOOTSTRAPPED);
        return send(200, {
          count: this.missPeerRegions,
          regions: Array.from({ length: this.missPeerRegions }, (_, i) => ({ id: 100 + i })),
        });
      }
      const started = this.members.filter((m) => m.started);
      if (call === "GET /pd/api/v1/health") {
        this.onHealth();
        return send(
          200,
          started.map((m, i) => ({ name: m.name, member_id: i + 1, client_urls: [m.clientUrl], health: m.health })),
        );
      }
      if (call === "GET /pd/api/v1/members") {
        this.onMembers();
        const member = (m: FakeMember, i: number) =>
          m.started
            ? {
                name: m.name,
                member_id: i + 1,
                peer_urls: [m.peerUrl],
                client_urls: [m.clientUrl],
                binary_version: m.binaryVersion ?? "v8.5.7",
                git_hash: m.gitHash ?? "pd-release-hash",
              }
            : { member_id: i + 1, peer_urls: [m.peerUrl] };
        const leader = this.members.findIndex((m) => m.name === this.leader);
        return send(200, {
          header: { cluster_id: 7 },
          members: this.members.map(member),
          leader: member(this.members[leader], leader),
        });
      }
      if (call === "GET /pd/api/v1/leader") return send(200, { name: this.leader });
      if (call === "POST /pd/api/v1/leader/resign") {
        this.setLeader(started.find((m) => m.name !== this.leader && m.health)!.name);
        return send(200, "The resign command is submitted.");
      }
      const transfer = /^POST \/pd\/api\/v1\/leader\/transfer\/([^/]+)$/.exec(call);
      if (transfer) {
        if (!started.some((m) => m.name === transfer[1])) return send(500, `etcd member ${transfer[1]} not found`);
        this.setLeader(transfer[1]);
        return send(200, "The transfer command is submitted.");
      }
      const removeMember = /^DELETE \/pd\/api\/v1\/members\/name\/([^/]+)$/.exec(call);
      if (removeMember) {
        const name = removeMember[1];
        if (!this.members.some((m) => m.name === name)) return send(404, `not found, pd: ${name}`);
        this.members = this.members.filter((m) => m.name !== name);
        if (this.leader === name) this.setLeader(this.members[0].name);
        return send(200, `removed, pd: ${name}`);
      }
      const deleteStore = /^DELETE \/pd\/api\/v1\/store\/(\d+)$/.exec(call);
      if (deleteStore) {
        // server/api/store.go DeleteStore, server/cluster/cluster.go RemoveStore, pkg/errs/errno.go.
        const id = Number(deleteStore[1]);
        const store = this.stores.find((x) => x.id === id);
        if (!store) return send(404, `[PD:core:ErrStoreNotFound]store id ${id} not found`);
        if (store.state === "Tombstone") return send(410, `[PD:core:ErrStoreRemoved]store ${id} has been removed`);
        if (store.state === "Offline") return send(200, "The store is set as Offline.");
        const up = this.stores.filter((x) => !["Offline", "Tombstone"].includes(x.state)).length - 1;
        if (up < this.maxReplicas)
          return send(
            400,
            `[PD:core:ErrStoresNotEnough]can not remove store ${id} since the number of up stores would be ${up} while need ${this.maxReplicas}`,
          );
        store.state = "Offline";
        this.offlineFor.set(id, 0);
        return send(200, "The store is set as Offline.");
      }
      if (req.method === "GET" && req.url?.startsWith("/pd/api/v1/stores")) {
        if (!this.bootstrapped) return send(500, NOT_BOOTSTRAPPED);
        this.onStores();
        for (const [id, polls] of this.offlineFor) {
          const store = this.stores.find((x) => x.id === id);
          if (store?.state !== "Offline") this.offlineFor.delete(id);
          else if (polls + 1 >= this.tombstoneAfter) {
            store.state = "Tombstone";
            this.offlineFor.delete(id);
          } else this.offlineFor.set(id, polls + 1);
        }
        for (const id of this.evicting) {
          const s = this.stores.find((x) => x.id === id);
          if (s) s.leaders = Math.max(0, s.leaders - 2);
        }
        // Up and Offline by default, else the metapb states asked for (?state=0&state=2: Up,
        // Tombstone; server/api/store.go newStoreStateFilter); Disconnected and Down are Up stores
        // whose state name PD derives from their heartbeats.
        const asked = new URL(req.url, "http://pd").searchParams.getAll("state").map(Number);
        const metaState = (x: FakeStore) => (x.state === "Offline" ? 1 : x.state === "Tombstone" ? 2 : 0);
        const accepts = asked.length > 0 ? asked : [0, 1];
        const listed = this.stores.filter((x) => accepts.includes(metaState(x)));
        return send(200, {
          count: listed.length,
          stores: listed.map((s) => ({
            store: {
              id: s.id,
              address: s.address,
              state_name: s.state,
              version: s.version ?? "8.5.7",
              git_hash: s.gitHash ?? "tikv-release-hash",
              ...(s.labels && s.labels.length > 0 ? { labels: s.labels } : {}),
            },
            status: { leader_count: s.leaders },
          })),
        });
      }
      // server/api/config.go GetReplicationConfig / SetReplicationConfig: location-labels is a
      // typeutil.StringSlice (one comma-separated string); the body is decoded onto the current
      // config, then ReplicationConfig.Validate (isolation-level must be one of location-labels).
      if (call === "GET /pd/api/v1/config/replicate") {
        return send(200, {
          "max-replicas": this.maxReplicas,
          "location-labels": this.replication.locationLabels.join(","),
          "strictly-match-label": "false",
          "enable-placement-rules": "true",
          "enable-placement-rules-cache": "false",
          "isolation-level": this.replication.isolationLevel,
        });
      }
      if (call === "POST /pd/api/v1/config/replicate") {
        const input = JSON.parse(body) as { "location-labels"?: string; "isolation-level"?: string };
        const locationLabels =
          input["location-labels"] === undefined
            ? this.replication.locationLabels
            : input["location-labels"] === ""
              ? []
              : input["location-labels"].split(",");
        const isolationLevel = input["isolation-level"] ?? this.replication.isolationLevel;
        if (isolationLevel !== "" && !locationLabels.includes(isolationLevel))
          return send(500, "isolation-level must be one of location-labels or empty");
        this.replication = { locationLabels, isolationLevel };
        return send(200, "The config is updated.");
      }
      // server/api/store.go SetStoreLabel: labels are validated (pkg/schedule/config/util.go), then
      // merged into the store's (cluster.go putStoreImpl, force=false) unless ?force.
      const label = /^POST \/pd\/api\/v1\/store\/(\d+)\/label(\?force)?$/.exec(call);
      if (label) {
        const store = this.stores.find((x) => x.id === Number(label[1]));
        const input = JSON.parse(body) as Record<string, string>;
        for (const [key, value] of Object.entries(input)) {
          if (!/^[$]?[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/.test(key))
            return send(400, `${key} does not match format "^[$]?[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$"`);
          if (!/^[-A-Za-z0-9_./]*$/.test(value))
            return send(400, `${value} does not match format "^[-A-Za-z0-9_./]*$"`);
        }
        if (!store) return send(500, `[PD:core:ErrInvalidStoreID]invalid store id ${label[1]}`);
        const merged = label[2] ? [] : [...(store.labels ?? [])];
        for (const [key, value] of Object.entries(input)) {
          const at = merged.findIndex((l) => l.key.toLowerCase() === key.toLowerCase()); // pkg/core/store.go MergeLabels: EqualFold
          if (at >= 0) merged[at] = { key, value };
          else merged.push({ key, value });
        }
        store.labels = merged.filter((l) => l.value !== "");
        return send(200, "The store's label is updated.");
      }
      if (call === "POST /pd/api/v1/schedulers") {
        const input = JSON.parse(body) as { name: string; store_id: number };
        if (input.name !== "evict-leader-scheduler") return send(400, "bad scheduler");
        this.evicting.add(input.store_id);
        return send(200, "The scheduler is created.");
      }
      if (call === "GET /pd/api/v1/scheduler-config/evict-leader-scheduler/list") {
        if (this.evicting.size === 0) return send(404, "404 page not found");
        return send(200, {
          "store-id-ranges": Object.fromEntries(
            [...this.evicting].map((id) => [String(id), [{ "start-key": "", "end-key": "" }]]),
          ),
          batch: 3,
        });
      }
      const del = /^DELETE \/pd\/api\/v1\/schedulers\/evict-leader-scheduler-(\d+)$/.exec(call);
      if (del) {
        const removed = this.evicting.delete(Number(del[1]));
        return send(removed ? 200 : 404, removed ? null : "scheduler not found");
      }
      return send(404, "404 page not found");
    });
  }
}
