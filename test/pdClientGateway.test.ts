// PD's client gateway (gateway/pd-client-gateway.js) between a real gRPC client and a real gRPC
// server (@grpc/grpc-js on both sides, messages encoded by protobufjs from kvproto's field numbers),
// over mutual TLS with certificates openssl issues: what it admits, what it forwards, what it rewrites.
import * as grpc from "@grpc/grpc-js";
import * as fs from "fs";
import * as http2 from "http2";
import * as path from "path";
import * as protobuf from "protobufjs";
import {
  CLIENT_METHODS,
  gatewayUrlRewrite,
  isClientMethod,
  rewriteMembersResponse,
  startGateway,
} from "../gateway/pd-client-gateway";
import { CLUSTER_CN } from "../lib/clusterConfig";
import { gatewayContainerArgs, gatewayEndpoints } from "../lib/pdGateway";
import { planCluster } from "../lib/topology";
import { freePort } from "./support/dockerd";
import { Issued, issue, tempDir } from "./support/openssl";
import { describeWithTools } from "./support/tools";

// kvproto proto/pdpb.proto's Member, GetMembersResponse and ResponseHeader, field for field (the
// fields this test does not use left out), and a message standing for those the gateway passes on.
const root = protobuf.parse(`
  syntax = "proto3";
  package pdpb;
  message ResponseHeader { uint64 cluster_id = 1; }
  message Member {
    string name = 1;
    uint64 member_id = 2;
    repeated string peer_urls = 3;
    repeated string client_urls = 4;
    int32 leader_priority = 5;
    string binary_version = 7;
    string git_hash = 8;
  }
  message GetMembersResponse {
    ResponseHeader header = 1;
    repeated Member members = 2;
    Member leader = 3;
    Member etcd_leader = 4;
    map<string, Member> tso_allocator_leaders = 5;
  }
  message Blob { bytes data = 1; }
`).root;
const Members = root.lookupType("pdpb.GetMembersResponse");
const Blob = root.lookupType("pdpb.Blob");

interface MemberFields {
  name: string;
  memberId?: number;
  peerUrls: string[];
  clientUrls: string[];
  binaryVersion?: string;
}
interface MembersFields {
  header?: { clusterId: number };
  members: MemberFields[];
  leader?: MemberFields;
  etcdLeader?: MemberFields;
  tsoAllocatorLeaders?: Record<string, MemberFields>;
}

const member = (n: number): MemberFields => ({
  name: `pd${n}`,
  memberId: 1000 + n,
  peerUrls: [`https://10.0.0.${n}:2380`],
  clientUrls: [`https://10.0.0.${n}:2379`],
  binaryVersion: "v8.5.7",
});
const answer: MembersFields = {
  header: { clusterId: 7 },
  members: [member(1), member(2), member(3)],
  leader: member(2),
  etcdLeader: member(2),
  tsoAllocatorLeaders: { global: member(2) },
};
const encode = (m: MembersFields): Buffer => Buffer.from(Members.encode(Members.fromObject(m)).finish());
const decode = (b: Buffer): MembersFields =>
  Members.toObject(Members.decode(b), { longs: Number, defaults: false }) as MembersFields;
const toGateway = (m: MemberFields): MemberFields => ({
  ...m,
  clientUrls: m.clientUrls.map((u) => u.replace(":2379", ":2389")),
});

describe("GetMembers rewrite", () => {
  test("every member's client URLs point at its gateway; everything else is as PD sent it", () => {
    const rewritten = decode(rewriteMembersResponse(encode(answer), gatewayUrlRewrite(2389)));
    expect(rewritten).toEqual({
      header: { clusterId: 7 },
      members: answer.members.map(toGateway),
      leader: toGateway(member(2)),
      etcdLeader: toGateway(member(2)),
      tsoAllocatorLeaders: { global: toGateway(member(2)) },
    });
  });

  test("fields it does not know (a newer PD's) are kept byte for byte", () => {
    // Field 15 of the response and field 15 of a member, length-delimited, which no schema here has.
    const extra = Buffer.from([0x7a, 0x03, 0x61, 0x62, 0x63]);
    const memberBytes = Buffer.concat([Buffer.from(root.lookupType("pdpb.Member").encode(member(1)).finish()), extra]);
    const response = Buffer.concat([Buffer.from([0x12, memberBytes.length]), memberBytes, extra]);
    expect(rewriteMembersResponse(response, (u) => u)).toEqual(response);
    // The same length of URL: the answer must differ in the client URL's port and nowhere else.
    const expected = Buffer.from(response);
    const at = expected.indexOf("https://10.0.0.1:2379");
    expected.write("https://10.0.0.1:2389", at);
    expect(rewriteMembersResponse(response, gatewayUrlRewrite(2389))).toEqual(expected);
  });

  test("a URL keeps its scheme and host and takes the gateway's port", () => {
    const rewrite = gatewayUrlRewrite(2389);
    expect(rewrite("https://10.0.0.1:2379")).toBe("https://10.0.0.1:2389");
    expect(rewrite("https://tikv-dev-pd1:2379")).toBe("https://tikv-dev-pd1:2389");
    expect(rewrite("https://[fd00::1]:2379")).toBe("https://[fd00::1]:2389");
  });

  test("a truncated answer is an error, not a guess", () => {
    const whole = encode(answer);
    expect(() => rewriteMembersResponse(whole.subarray(0, whole.length - 3), (u) => u)).toThrow(/past the message/);
  });
});

describe("which calls pass", () => {
  test("a TiKV client's calls pass; the stores', PD's own and the admin's do not", () => {
    for (const call of [
      "/pdpb.PD/GetMembers",
      "/pdpb.PD/Tso",
      "/pdpb.PD/GetRegion",
      "/keyspacepb.Keyspace/LoadKeyspace",
    ])
      expect(isClientMethod(call)).toBe(true);
    for (const call of [
      "/pdpb.PD/PutStore",
      "/pdpb.PD/Bootstrap",
      "/pdpb.PD/AllocID",
      "/pdpb.PD/StoreHeartbeat",
      "/pdpb.PD/RegionHeartbeat",
      "/pdpb.PD/PutClusterConfig",
      "/pdpb.PD/SyncRegions",
      "/meta_storagepb.MetaStorage/Delete",
      "/pd/api/v1/members",
      "/pdpb.PD/GetMembers/extra",
      "/constructor/GetMembers",
    ])
      expect(isClientMethod(call)).toBe(false);
    expect(Object.keys(CLIENT_METHODS)).not.toContain("tsopb.TSO");
  });
});

/** Certificates as the program shapes them: one CA, the member's (both uses), a client's, the admin's. */
function material(dir: string): { ca: Issued; member: Issued; client: Issued; admin: Issued; stranger: Issued } {
  const base = { algorithm: "ECDSA" as const, ecdsaCurve: "P256" as const };
  const ca = issue(dir, "ca", {
    ...base,
    commonName: "tikv-cvm cluster CA",
    isCa: true,
    allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
  });
  const leaf = (name: string, commonName: string, uses: string[]) =>
    issue(
      dir,
      name,
      {
        ...base,
        commonName,
        allowedUses: ["digital_signature", "key_encipherment", ...uses],
        ipAddresses: ["127.0.0.1"],
      },
      ca,
    );
  return {
    ca,
    member: leaf("member", CLUSTER_CN.member, ["server_auth", "client_auth"]),
    client: leaf("client", CLUSTER_CN.client, ["client_auth"]),
    admin: leaf("admin", CLUSTER_CN.admin, ["client_auth"]),
    stranger: issue(
      dir,
      "stranger",
      { ...base, commonName: CLUSTER_CN.client, allowedUses: ["client_auth", "digital_signature"] },
      issue(dir, "other-ca", { ...base, commonName: "another CA", isCa: true, allowedUses: ["cert_signing"] }),
    ),
  };
}

const passthrough = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: name,
  requestStream,
  responseStream,
  requestSerialize: passthrough.serialize,
  requestDeserialize: passthrough.deserialize,
  responseSerialize: passthrough.serialize,
  responseDeserialize: passthrough.deserialize,
});

/** Serves `pd` on loopback as a PD member does: the member certificate, client certificates required. */
function servePd(pd: grpc.Server, certs: { ca: Issued; member: Issued }): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    pd.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createSsl(
        Buffer.from(certs.ca.certPem),
        [{ private_key: Buffer.from(certs.member.keyPem), cert_chain: Buffer.from(certs.member.certPem) }],
        true,
      ),
      (err, port) => (err ? reject(err) : resolve(port)),
    ),
  );
}

describeWithTools(["openssl"], "the gateway between a gRPC client and PD", () => {
  const dir = tempDir("pd-gateway");
  const certs = material(dir);
  let pd: grpc.Server;
  let gateway: http2.Http2SecureServer;
  let gatewayPort: number;
  let pdPort: number;
  const pdCallers: string[] = [];
  const forwardedHosts: unknown[] = [];
  const logs: string[] = [];

  beforeAll(async () => {
    pd = new grpc.Server();
    const caller = (call: Pick<grpc.ServerUnaryCall<Buffer, Buffer>, "getAuthContext">) =>
      pdCallers.push(String(call.getAuthContext().sslPeerCertificate?.subject.CN));
    pd.addService(
      {
        GetMembers: method("/pdpb.PD/GetMembers", false, false),
        Tso: method("/pdpb.PD/Tso", true, true),
        GetStore: method("/pdpb.PD/GetStore", false, false),
        AllocID: method("/pdpb.PD/AllocID", false, false),
      },
      {
        GetMembers: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
          caller(call);
          done(null, encode(answer));
        },
        // Tso: one answer per request, numbered, until the client closes.
        Tso: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
          caller(call);
          let n = 0;
          call.on("data", (req: Buffer) => {
            n += 1;
            call.write(Buffer.from(Blob.encode({ data: Buffer.concat([req, Buffer.from(`#${n}`)]) }).finish()));
          });
          call.on("end", () => call.end());
        },
        GetStore: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
          caller(call);
          forwardedHosts.push(...call.metadata.get("pd-forwarded-host"));
          done({ code: grpc.status.NOT_FOUND, details: "store 42 not found" });
        },
        AllocID: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
          caller(call);
          done(null, Buffer.alloc(0));
        },
      },
    );
    pdPort = await servePd(pd, certs);
    gatewayPort = await freePort();
    gateway = await startGateway({
      listenHost: "127.0.0.1",
      listenPort: gatewayPort,
      pdUrl: `https://127.0.0.1:${pdPort}`,
      ca: certs.ca.certPem,
      cert: certs.member.certPem,
      key: certs.member.keyPem,
      allowedCn: CLUSTER_CN.client,
      log: (line) => logs.push(line),
    });
  });
  afterAll(async () => {
    await new Promise((resolve) => gateway.close(resolve));
    pd.forceShutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const clientOf = (who: Issued) =>
    new grpc.Client(
      `127.0.0.1:${gatewayPort}`,
      grpc.credentials.createSsl(Buffer.from(certs.ca.certPem), Buffer.from(who.keyPem), Buffer.from(who.certPem)),
    );
  /** A client with `who`'s certificate for the length of `use`. */
  const withClient = async (who: Issued, use: (client: grpc.Client) => Promise<void>) => {
    const client = clientOf(who);
    try {
      await use(client);
    } finally {
      client.close();
    }
  };
  const unary = (client: grpc.Client, name: string) =>
    new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(name, passthrough.serialize, passthrough.deserialize, Buffer.alloc(0), (err, res) =>
        err ? reject(err) : resolve(res!),
      ),
    );

  test("a client's GetMembers reaches PD as the member and comes back pointing at the gateways", async () => {
    await withClient(certs.client, async (client) => {
      pdCallers.length = 0;
      const members = decode(await unary(client, "/pdpb.PD/GetMembers"));
      // The port the gateways listen on (the same on every host), the host PD advertised.
      expect(members.leader?.clientUrls).toEqual([`https://10.0.0.2:${gatewayPort}`]);
      expect(members.members.map((m) => m.clientUrls[0])).toEqual(
        [1, 2, 3].map((n) => `https://10.0.0.${n}:${gatewayPort}`),
      );
      expect(members.members.map((m) => m.peerUrls[0])).toEqual(answer.members.map((m) => m.peerUrls[0]));
      expect(pdCallers).toEqual([CLUSTER_CN.member]);
    });
  });

  test("a bidirectional stream (Tso) carries many messages each way, untouched", async () => {
    await withClient(certs.client, async (client) => {
      const call = client.makeBidiStreamRequest("/pdpb.PD/Tso", passthrough.serialize, passthrough.deserialize);
      const got: string[] = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on("data", (b: Buffer) => got.push(Buffer.from(Blob.decode(b).toJSON().data, "base64").toString()));
        call.on("end", resolve);
        call.on("error", reject);
      });
      for (const r of ["a", "b", "c"]) call.write(Buffer.from(r));
      call.end();
      await done;
      expect(got).toEqual(["a#1", "b#2", "c#3"]);
    });
  });

  test("PD's own errors reach the client with their code and message", async () => {
    await withClient(certs.client, async (client) => {
      await expect(unary(client, "/pdpb.PD/GetStore")).rejects.toMatchObject({
        code: grpc.status.NOT_FOUND,
        details: "store 42 not found",
      });
    });
  });

  test("a call a follower is to forward names the leader's PD port, not its gateway's", async () => {
    await withClient(certs.client, async (client) => {
      forwardedHosts.length = 0;
      // The leader's URL as GetMembers through a gateway gave it (pd client clients/tso/client.go,
      // tryConnectToTSOWithProxy: BuildForwardContext(ctx, c.getLeaderURL())).
      const metadata = new grpc.Metadata();
      metadata.set("pd-forwarded-host", `https://10.0.0.2:${gatewayPort}`);
      await new Promise<void>((resolve) =>
        client.makeUnaryRequest(
          "/pdpb.PD/GetStore",
          passthrough.serialize,
          passthrough.deserialize,
          Buffer.alloc(0),
          metadata,
          () => resolve(),
        ),
      );
      // The follower dials it as the member, which PD admits and a gateway does not.
      expect(forwardedHosts).toEqual([`https://10.0.0.2:${pdPort}`]);
    });
  });

  test("a store's call is refused without reaching PD", async () => {
    await withClient(certs.client, async (client) => {
      pdCallers.length = 0;
      await expect(unary(client, "/pdpb.PD/AllocID")).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      expect(pdCallers).toEqual([]);
    });
  });

  test("the admin's certificate is not the client's: refused", async () => {
    await withClient(certs.admin, async (client) => {
      await expect(unary(client, "/pdpb.PD/GetMembers")).rejects.toMatchObject({
        code: grpc.status.UNAUTHENTICATED,
      });
    });
  });

  test("a client name from another CA gets no TLS session", async () => {
    await withClient(certs.stranger, async (client) => {
      await expect(unary(client, "/pdpb.PD/GetMembers")).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    });
  });

  test("PD's HTTP API is not offered to a client", async () => {
    const session = http2.connect(`https://127.0.0.1:${gatewayPort}`, {
      ca: certs.ca.certPem,
      cert: certs.client.certPem,
      key: certs.client.keyPem,
    });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({ ":path": "/pd/api/v1/members", ":method": "GET" });
        req.on("response", (h) => resolve(Number(h[":status"])));
        req.on("error", reject);
        req.resume();
        req.end();
      });
      expect(status).toBe(403);
    } finally {
      session.close();
    }
    expect(logs.some((l) => l.includes("/pd/api/v1/members"))).toBe(true);
  });
});

describeWithTools(["openssl"], "the gateway when its PD member goes away", () => {
  const dir = tempDir("pd-gateway-lost");
  const certs = material(dir);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A PD whose WatchGlobalConfig does `watch` and whose GetStore never answers; PD stops on `stop`. */
  async function pdAndGateway(watch: (call: grpc.ServerWritableStream<Buffer, Buffer>, stop: () => void) => void) {
    const pd = new grpc.Server();
    const stop = () => pd.forceShutdown();
    pd.addService(
      {
        WatchGlobalConfig: method("/pdpb.PD/WatchGlobalConfig", false, true),
        GetStore: method("/pdpb.PD/GetStore", false, false),
      },
      {
        WatchGlobalConfig: (call: grpc.ServerWritableStream<Buffer, Buffer>) => watch(call, stop),
        GetStore: () => setTimeout(stop, 200),
      },
    );
    const pdPort = await servePd(pd, certs);
    const port = await freePort();
    const gateway = await startGateway({
      listenHost: "127.0.0.1",
      listenPort: port,
      pdUrl: `https://127.0.0.1:${pdPort}`,
      ca: certs.ca.certPem,
      cert: certs.member.certPem,
      key: certs.member.keyPem,
      allowedCn: CLUSTER_CN.client,
      log: () => undefined,
    });
    const client = new grpc.Client(
      `127.0.0.1:${port}`,
      grpc.credentials.createSsl(
        Buffer.from(certs.ca.certPem),
        Buffer.from(certs.client.keyPem),
        Buffer.from(certs.client.certPem),
      ),
    );
    return {
      client,
      close: () => {
        client.close();
        stop();
        gateway.close();
      },
    };
  }
  // No deadline: PD client's watches (WatchGlobalConfig, meta storage Watch) set none, so only the
  // gateway's answer can end them. Two seconds stand for "forever".
  const outcome = (call: grpc.ClientReadableStream<Buffer>) =>
    new Promise<grpc.status | "end" | "no answer">((resolve) => {
      const timer = setTimeout(() => resolve("no answer"), 2000);
      call.on("data", () => undefined);
      call.on("error", (err: grpc.ServiceError) => (clearTimeout(timer), resolve(err.code)));
      call.on("end", () => (clearTimeout(timer), resolve("end")));
    });

  /** How a client's WatchGlobalConfig through the gateway ends, PD's side played by `onWatch`. */
  const watchThrough = async (onWatch: Parameters<typeof pdAndGateway>[0]) => {
    const { client, close } = await pdAndGateway(onWatch);
    try {
      return await outcome(
        client.makeServerStreamRequest(
          "/pdpb.PD/WatchGlobalConfig",
          passthrough.serialize,
          passthrough.deserialize,
          Buffer.alloc(0),
        ),
      );
    } finally {
      close();
    }
  };

  test("a watch PD has sent nothing on yet (so no headers) ends UNAVAILABLE when PD stops", async () => {
    expect(await watchThrough((_call, stop) => setTimeout(stop, 200))).toBe(grpc.status.UNAVAILABLE);
  });

  test("a watch PD has answered on ends UNAVAILABLE, not INTERNAL, when PD stops", async () => {
    expect(
      await watchThrough((call, stop) => {
        call.write(Buffer.from("event"));
        setTimeout(stop, 200);
      }),
    ).toBe(grpc.status.UNAVAILABLE);
  });

  test("a unary call in flight when PD stops is answered UNAVAILABLE", async () => {
    const { client, close } = await pdAndGateway(() => undefined);
    try {
      const code = await new Promise<grpc.status | "no answer">((resolve) => {
        const timer = setTimeout(() => resolve("no answer"), 2000);
        client.makeUnaryRequest(
          "/pdpb.PD/GetStore",
          passthrough.serialize,
          passthrough.deserialize,
          Buffer.alloc(0),
          (err) => {
            clearTimeout(timer);
            resolve(err ? err.code : grpc.status.OK);
          },
        );
      });
      expect(code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      close();
    }
  });
});

// Keeps the gateway's file where the program uploads it from (components/pdClientGateway.ts).
test("the gateway is one file that needs only Node", () => {
  const source = fs.readFileSync(path.join(__dirname, "..", "gateway", "pd-client-gateway.js"), "utf8");
  const required = [...source.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
  expect(required.every((m) => ["fs", "http2", "path"].includes(m))).toBe(true);
});

describe("the gateway's container", () => {
  const listed = (n: number) =>
    ({
      kind: "listed",
      hosts: Array.from({ length: n }, (_, i) => ({ name: `h${i + 1}`, privateIp: `10.0.1.${11 + i}` })),
    }) as const;
  const plan = planCluster(3, 3, listed(3), true);
  const wiring = { imageId: "sha256:node", script: "// gateway", caPem: "CA", certPem: "CERT", keyPem: "KEY" };

  test("on a host's network: listens on the host's private address, dials its own PD member as PD advertises it", () => {
    const args = gatewayContainerArgs(plan.hosts[1], { ...wiring, networking: { kind: "host" } });
    expect(args.networkMode).toBe("host");
    expect(args.envs).toEqual(
      expect.arrayContaining([
        "TIKV_CVM_GATEWAY_LISTEN_HOST=10.0.1.12",
        "TIKV_CVM_GATEWAY_PORT=2389",
        "TIKV_CVM_GATEWAY_PD=https://10.0.1.12:2379",
        `TIKV_CVM_GATEWAY_ALLOWED_CN=${CLUSTER_CN.client}`,
      ]),
    );
    expect(gatewayEndpoints(plan.hosts)).toEqual(["10.0.1.11:2389", "10.0.1.12:2389", "10.0.1.13:2389"]);
  });

  test("on a shared engine: in its PD member's network namespace, reached at the member's alias", () => {
    const local = planCluster(3, 3, { kind: "containers" }, true);
    const args = gatewayContainerArgs(local.hosts[0], {
      ...wiring,
      networking: { kind: "bridge", network: "tikv-dev", namePrefix: "tikv-dev" },
      pdNetworkMode: "container:abc123",
    });
    expect(args.networkMode).toBe("container:abc123");
    expect(args.name).toBe("tikv-dev-pd1-gateway");
    expect(args.envs).toEqual(
      expect.arrayContaining(["TIKV_CVM_GATEWAY_LISTEN_HOST=0.0.0.0", "TIKV_CVM_GATEWAY_PD=https://pd1:2379"]),
    );
    expect(gatewayEndpoints(local.hosts)).toEqual(["pd1:2389", "pd2:2389", "pd3:2389"]);
  });

  test("the member key is uploaded for root alone, and no host without PD gets a gateway", () => {
    const args = gatewayContainerArgs(plan.hosts[0], { ...wiring, networking: { kind: "host" } });
    const uploads = args.uploads as { file: string; permissions: string }[];
    expect(uploads.find((u) => u.file.endsWith("key.pem"))?.permissions).toBe("0400");
    const storeOnly = planCluster(4, 3, listed(4), true);
    expect(() => gatewayContainerArgs(storeOnly.hosts[3], { ...wiring, networking: { kind: "host" } })).toThrow(
      /no PD member/,
    );
    expect(gatewayEndpoints(storeOnly.hosts)).toHaveLength(3);
  });
});
