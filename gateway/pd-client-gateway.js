// @ts-check
// PD's client gateway: runs beside each PD member (components/pdClientGateway.ts), in a Node image,
// with Node's own modules only, so it needs no build and no registry. It admits application clients
// (common name tikv-cvm-client) on a port of its own and forwards to its PD member only the gRPC
// calls a TiKV client makes, presenting the member's certificate, which PD admits. PD itself no
// longer admits the client name, so a client key opens neither PD's HTTP API (pd-ctl's routes) nor
// the gRPC calls stores make (PutStore, RegionHeartbeat, Bootstrap…). docs/security.md says why.
"use strict";

const fs = require("fs");
const http2 = require("http2");
const path = require("path");

/**
 * The gRPC methods PD's client calls, by service: what tikv/pd's client module
 * (github.com/tikv/pd/client, the version client-go v2.0.8-0.20260803075849 requires) invokes in
 * client.go, gc_client.go, keyspace_client.go, meta_storage_client.go, resource_manager_client.go,
 * clients/tso/stream.go and clients/router/client.go, plus gRPC's health check, which its service
 * discovery sends to members (servicediscovery/). Service names are the proto packages' (kvproto
 * proto/pdpb.proto, keyspacepb.proto, meta_storagepb.proto, resource_manager.proto).
 * @type {Readonly<Record<string, readonly string[]>>}
 */
const CLIENT_METHODS = Object.freeze({
  "pdpb.PD": [
    "GetMembers",
    "GetClusterInfo",
    "Tso",
    "QueryRegion",
    "GetRegion",
    "GetPrevRegion",
    "GetRegionByID",
    "ScanRegions",
    "BatchScanRegions",
    "GetStore",
    "GetAllStores",
    "UpdateGCSafePoint",
    "UpdateServiceGCSafePoint",
    "UpdateGCSafePointV2",
    "UpdateServiceSafePointV2",
    "WatchGCSafePointV2",
    "ScatterRegion",
    "SplitRegions",
    "SplitAndScatterRegions",
    "GetOperator",
    "LoadGlobalConfig",
    "StoreGlobalConfig",
    "WatchGlobalConfig",
    "GetExternalTimestamp",
    "SetExternalTimestamp",
    "GetMinTS",
  ],
  "keyspacepb.Keyspace": ["LoadKeyspace", "GetAllKeyspaces", "UpdateKeyspaceState"],
  "meta_storagepb.MetaStorage": ["Watch", "Get", "Put"],
  "resource_manager.ResourceManager": [
    "ListResourceGroups",
    "GetResourceGroup",
    "AddResourceGroup",
    "ModifyResourceGroup",
    "DeleteResourceGroup",
    "AcquireTokenBuckets",
  ],
  "grpc.health.v1.Health": ["Check"],
});

const MEMBERS_PATH = "/pdpb.PD/GetMembers";
/** The leader a follower is asked to forward to (tikv/pd client pkg/utils/grpcutil ForwardMetadataKey). */
const FORWARDED_HOST = "pd-forwarded-host";

/**
 * Whether a request path is one of the client's gRPC methods.
 * @param {string} requestPath
 */
function isClientMethod(requestPath) {
  const m = /^\/([A-Za-z0-9_.]+)\/([A-Za-z0-9_]+)$/.exec(requestPath);
  if (!m) return false;
  const methods = Object.prototype.hasOwnProperty.call(CLIENT_METHODS, m[1]) ? CLIENT_METHODS[m[1]] : undefined;
  return methods !== undefined && methods.includes(m[2]);
}

// Protocol Buffers wire format (protobuf.dev/programming-guides/encoding): enough to walk a
// message's fields and copy every one it does not change byte for byte, unknown fields included.

/**
 * @param {Buffer} buf
 * @param {number} pos
 * @returns {[number, number]} the value (up to 2^53) and the position after it
 */
function readVarint(buf, pos) {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error("truncated varint");
    const byte = buf[pos++];
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new Error("varint longer than 10 bytes");
}

/** @param {number} value */
function varint(value) {
  const bytes = [];
  while (value >= 0x80) {
    bytes.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

/**
 * A message's fields in order, each with its raw bytes (tag included) and, for length-delimited
 * fields, its payload.
 * @param {Buffer} buf
 * @returns {{ field: number; wireType: number; raw: Buffer; payload?: Buffer }[]}
 */
function fields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [key, afterKey] = readVarint(buf, pos);
    pos = afterKey;
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    /** @type {Buffer | undefined} */
    let payload;
    switch (wireType) {
      case 0:
        pos = readVarint(buf, pos)[1];
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const [length, at] = readVarint(buf, pos);
        payload = buf.subarray(at, at + length);
        pos = at + length;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wireType} in field ${field}`);
    }
    if (pos > buf.length) throw new Error(`field ${field} runs past the message`);
    out.push({ field, wireType, raw: buf.subarray(start, pos), payload });
  }
  return out;
}

/**
 * @param {number} field
 * @param {Buffer} payload
 */
function lengthDelimited(field, payload) {
  return Buffer.concat([varint(field * 8 + 2), varint(payload.length), payload]);
}

/**
 * Rewrites the client_urls (field 4) of a pdpb.Member.
 * @param {Buffer} member
 * @param {(url: string) => string} rewrite
 */
function rewriteMember(member, rewrite) {
  return Buffer.concat(
    fields(member).map((f) =>
      f.field === 4 && f.wireType === 2 && f.payload
        ? lengthDelimited(4, Buffer.from(rewrite(f.payload.toString("utf8")), "utf8"))
        : f.raw,
    ),
  );
}

/**
 * Rewrites every member's client URLs in a pdpb.GetMembersResponse (kvproto proto/pdpb.proto:
 * members = 2, leader = 3, etcd_leader = 4, tso_allocator_leaders = 5, a map whose entries hold
 * the Member in field 2), so a client that follows the leader dials its gateway, not PD.
 * @param {Buffer} response
 * @param {(url: string) => string} rewrite
 */
function rewriteMembersResponse(response, rewrite) {
  return Buffer.concat(
    fields(response).map((f) => {
      if (f.wireType !== 2 || !f.payload) return f.raw;
      if (f.field >= 2 && f.field <= 4) return lengthDelimited(f.field, rewriteMember(f.payload, rewrite));
      if (f.field === 5) {
        const entry = Buffer.concat(
          fields(f.payload).map((e) =>
            e.field === 2 && e.wireType === 2 && e.payload
              ? lengthDelimited(2, rewriteMember(e.payload, rewrite))
              : e.raw,
          ),
        );
        return lengthDelimited(5, entry);
      }
      return f.raw;
    }),
  );
}

/**
 * A PD client URL as its gateway's: same scheme and host, the gateway's port. Every PD member has
 * its gateway on its own address (host network) or in its own network namespace (bridge).
 * @param {number} gatewayPort
 */
function gatewayUrlRewrite(gatewayPort) {
  return (/** @type {string} */ url) => {
    const parsed = new URL(url);
    parsed.port = String(gatewayPort);
    return parsed.toString().replace(/\/$/, "");
  };
}

/**
 * Splits a gRPC message stream (grpc/grpc doc/PROTOCOL-HTTP2.md, Length-Prefixed-Message) into
 * messages, rewrites each, and frames them again. Compressed messages are refused: the gateway
 * asks PD for identity encoding on the one call it rewrites.
 * @param {Buffer} body
 * @param {(message: Buffer) => Buffer} rewrite
 */
function rewriteGrpcMessages(body, rewrite) {
  const out = [];
  let pos = 0;
  while (pos < body.length) {
    if (pos + 5 > body.length) throw new Error("truncated gRPC message prefix");
    const compressed = body[pos];
    const length = body.readUInt32BE(pos + 1);
    if (pos + 5 + length > body.length) throw new Error("truncated gRPC message");
    if (compressed !== 0) throw new Error("a compressed GetMembers answer cannot be rewritten");
    const message = rewrite(body.subarray(pos + 5, pos + 5 + length));
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(message.length, 1);
    out.push(prefix, message);
    pos += 5 + length;
  }
  return Buffer.concat(out);
}

// gRPC status codes (grpc/grpc doc/statuscodes.md).
const GRPC = Object.freeze({ PERMISSION_DENIED: 7, UNAVAILABLE: 14, INTERNAL: 13, UNAUTHENTICATED: 16 });

/** Headers a proxy must not pass on (RFC 9113 8.2.2) or sets itself. */
const HOP_HEADERS = new Set([
  ":authority",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/**
 * @typedef {object} GatewayOptions
 * @property {string} listenHost
 * @property {number} listenPort
 * @property {string} pdUrl the member's own client URL (https://host:2379), in its certificate
 * @property {string} ca
 * @property {string} cert
 * @property {string} key
 * @property {string} allowedCn the one certificate name admitted
 * @property {(line: string) => void} [log]
 */

/**
 * Starts the gateway; resolves once it listens.
 * @param {GatewayOptions} options
 * @returns {Promise<http2.Http2SecureServer>}
 */
function startGateway(options) {
  const log = options.log ?? ((line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`));
  const rewrite = gatewayUrlRewrite(options.listenPort);
  const pd = new URL(options.pdUrl);
  /** A gateway's URL back to its member's (the same client port on every member). */
  const pdUrlOf = (/** @type {string} */ url) => {
    try {
      const parsed = new URL(url);
      if (parsed.port !== String(options.listenPort)) return url;
      parsed.port = pd.port;
      return parsed.toString().replace(/\/$/, "");
    } catch {
      return url;
    }
  };
  /** @type {http2.ClientHttp2Session | undefined} */
  let upstream;
  const session = () => {
    if (upstream && !upstream.closed && !upstream.destroyed) return upstream;
    const s = http2.connect(pd.origin, { ca: options.ca, cert: options.cert, key: options.key });
    s.on("error", (err) => log(`PD ${pd.host}: ${err.message}`));
    s.on("close", () => {
      if (upstream === s) upstream = undefined;
    });
    s.on("goaway", () => {
      if (upstream === s) upstream = undefined;
    });
    upstream = s;
    return s;
  };

  const server = http2.createSecureServer({
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
    // gRPC over HTTP/2 only: an HTTP/1 client (curl --http1.1, a browser) gets no protocol.
    allowHTTP1: false,
  });
  server.on("stream", (stream, headers) => {
    const requestPath = String(headers[":path"] ?? "");
    const grpc = String(headers["content-type"] ?? "").startsWith("application/grpc");
    const socket = /** @type {import("tls").TLSSocket} */ (stream.session?.socket);
    const peer = socket?.getPeerCertificate?.();
    const name = peer?.subject?.CN;
    /** @param {number} code @param {number} status @param {string} message */
    const refuse = (code, status, message) => {
      log(`refused ${name ?? "?"} ${requestPath}: ${message}`);
      if (stream.destroyed || stream.headersSent) return;
      if (grpc)
        stream.respond(
          {
            ":status": 200,
            "content-type": "application/grpc",
            "grpc-status": String(code),
            "grpc-message": encodeURIComponent(message),
          },
          { endStream: true },
        );
      else {
        stream.respond({ ":status": status, "content-type": "text/plain" });
        stream.end(`${message}\n`);
      }
    };
    if (name !== options.allowedCn) {
      refuse(GRPC.UNAUTHENTICATED, 403, `certificate name ${JSON.stringify(name ?? "")} is not admitted here`);
      return;
    }
    if (!grpc || !isClientMethod(requestPath)) {
      refuse(
        GRPC.PERMISSION_DENIED,
        403,
        `${requestPath} is not a TiKV client call; PD's API is for the cluster admin`,
      );
      return;
    }
    const members = requestPath === MEMBERS_PATH;
    /** @type {http2.OutgoingHttpHeaders} */
    const forwarded = {};
    for (const [k, v] of Object.entries(headers)) {
      if (!HOP_HEADERS.has(k) && v !== undefined) forwarded[k] = v;
    }
    if (members) delete forwarded["grpc-accept-encoding"];
    // With forwarding on (client-go's EnableForwarding), a client that cannot reach the leader asks
    // a follower to forward, naming the leader by the URL GetMembers gave it: the leader's gateway.
    // The follower dials it as the member, which no gateway admits; PD's own port does.
    const forwardedHost = forwarded[FORWARDED_HOST];
    if (typeof forwardedHost === "string") forwarded[FORWARDED_HOST] = pdUrlOf(forwardedHost);
    /** @type {http2.ClientHttp2Stream} */
    let call;
    try {
      call = session().request(forwarded);
    } catch (err) {
      refuse(GRPC.UNAVAILABLE, 502, `PD ${pd.host}: ${/** @type {Error} */ (err).message}`);
      return;
    }
    /** @type {http2.IncomingHttpHeaders | undefined} */
    let trailers;
    /** @type {Buffer[]} */
    const body = [];
    /**
     * The call ends without PD's answer: UNAVAILABLE, which a TiKV client takes for a network
     * error and retries, on another member if need be (pd client errs.IsNetworkError).
     * @param {string} message
     */
    const lost = (message) => {
      if (stream.destroyed || stream.writableEnded) return;
      if (!stream.headersSent) refuse(GRPC.UNAVAILABLE, 502, message);
      else {
        trailers = { "grpc-status": String(GRPC.UNAVAILABLE), "grpc-message": encodeURIComponent(message) };
        stream.end();
      }
    };
    call.on("response", (responseHeaders, flags) => {
      const out = Object.fromEntries(
        Object.entries(responseHeaders).filter(([k]) => !k.startsWith(":") || k === ":status"),
      );
      const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      if (stream.destroyed) return;
      stream.respond(out, endStream ? { endStream: true } : { waitForTrailers: true });
    });
    call.on("trailers", (t) => {
      trailers = t;
    });
    call.on("data", (chunk) => {
      if (members) body.push(chunk);
      else if (!stream.destroyed && !stream.write(chunk)) {
        call.pause();
        stream.once("drain", () => call.resume());
      }
    });
    call.on("end", () => {
      if (stream.destroyed || !stream.headersSent || stream.writableEnded) return;
      // A gRPC answer ends with its status in trailers; a stream PD reset or dropped ends without.
      if (trailers === undefined) {
        lost(`PD ${pd.host} ended the call without a status (HTTP/2 code ${call.rstCode ?? "none"})`);
        return;
      }
      if (members && body.length > 0) {
        try {
          stream.write(rewriteGrpcMessages(Buffer.concat(body), (m) => rewriteMembersResponse(m, rewrite)));
        } catch (err) {
          trailers = { "grpc-status": String(GRPC.INTERNAL), "grpc-message": encodeURIComponent(String(err)) };
        }
      }
      stream.end();
    });
    stream.on("wantTrailers", () => {
      const out = Object.fromEntries(Object.entries(trailers ?? {}).filter(([k]) => !k.startsWith(":")));
      stream.sendTrailers(Object.keys(out).length > 0 ? out : { "grpc-status": String(GRPC.INTERNAL) });
    });
    call.on("error", (err) => lost(`PD ${pd.host}: ${err.message}`));
    // A PD that goes away (restart, crash, its connection dropped) closes its open streams with
    // neither an error nor an end (Node destroys them without one), and PD sends a streaming
    // call's headers only with its first message: without this a client's watch or a call in
    // flight would wait for PD forever. After a whole answer the stream has ended by now.
    call.on("close", () => lost(`PD ${pd.host} closed the call (HTTP/2 code ${call.rstCode ?? "none"})`));
    stream.on("close", () => {
      if (!call.closed) call.close(stream.rstCode || http2.constants.NGHTTP2_CANCEL);
    });
    stream.on("error", () => undefined);
    stream.pipe(call);
  });
  server.on("sessionError", (err) => log(`client session: ${err.message}`));
  server.on("tlsClientError", (err) => log(`client TLS: ${err.message}`));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.listenPort, options.listenHost, () => {
      server.off("error", reject);
      log(`admitting ${options.allowedCn} on ${options.listenHost}:${options.listenPort} for PD ${pd.host}`);
      resolve(server);
    });
  });
}

/**
 * The gateway's options from its container's environment (components/pdClientGateway.ts).
 * @param {NodeJS.ProcessEnv} env
 * @returns {GatewayOptions}
 */
function optionsFromEnv(env) {
  /** @param {string} key */
  const need = (key) => {
    const value = env[key];
    if (value === undefined || value === "") throw new Error(`${key} is not set`);
    return value;
  };
  const tlsDir = need("TIKV_CVM_GATEWAY_TLS_DIR");
  const read = (/** @type {string} */ file) => fs.readFileSync(path.join(tlsDir, file), "utf8");
  return {
    listenHost: need("TIKV_CVM_GATEWAY_LISTEN_HOST"),
    listenPort: Number(need("TIKV_CVM_GATEWAY_PORT")),
    pdUrl: need("TIKV_CVM_GATEWAY_PD"),
    allowedCn: need("TIKV_CVM_GATEWAY_ALLOWED_CN"),
    ca: read("ca.pem"),
    cert: read("cert.pem"),
    key: read("key.pem"),
  };
}

module.exports = {
  CLIENT_METHODS,
  isClientMethod,
  rewriteMembersResponse,
  rewriteGrpcMessages,
  gatewayUrlRewrite,
  startGateway,
  optionsFromEnv,
};

if (require.main === module) {
  startGateway(optionsFromEnv(process.env)).catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
  // The engine stops the container with SIGTERM: close at once (clients retry another member).
  process.on("SIGTERM", () => process.exit(0));
}
