// The readiness probe against a local mutual-TLS HTTPS server built from openssl certificates.
import * as fs from "fs";
import * as https from "https";
import { AddressInfo } from "net";
import { ProbeTarget, pingDocker, servesAnonymousClients, waitForDocker } from "../lib/dockerProbe";
import { Issued, issue, tempDir } from "./support/openssl";

const dir = tempDir("probe");
const ca = issue(dir, "ca", {
  commonName: "test CA",
  allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
  isCa: true,
  algorithm: "ECDSA",
  ecdsaCurve: "P256",
});
const otherCa = issue(dir, "other-ca", {
  commonName: "other CA",
  allowedUses: ["cert_signing", "digital_signature"],
  isCa: true,
  algorithm: "ECDSA",
  ecdsaCurve: "P256",
});
const server = issue(
  dir,
  "server",
  {
    commonName: "host",
    allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
    ipAddresses: ["127.0.0.1"],
    algorithm: "ECDSA",
    ecdsaCurve: "P256",
  },
  ca,
);
const wrongSan = issue(
  dir,
  "wrong-san",
  {
    commonName: "host",
    allowedUses: ["digital_signature", "server_auth"],
    ipAddresses: ["127.0.0.2"],
    algorithm: "ECDSA",
    ecdsaCurve: "P256",
  },
  ca,
);
// What a mode-existing user may bring: a certificate past its validity, or one made for clients.
const expired = issue(
  dir,
  "expired",
  {
    commonName: "host",
    allowedUses: ["digital_signature", "server_auth"],
    ipAddresses: ["127.0.0.1"],
    algorithm: "ECDSA",
    ecdsaCurve: "P256",
    expired: true,
  },
  ca,
);
const clientOnly = issue(
  dir,
  "client-only",
  {
    commonName: "host",
    allowedUses: ["digital_signature", "client_auth"],
    ipAddresses: ["127.0.0.1"],
    algorithm: "ECDSA",
    ecdsaCurve: "P256",
  },
  ca,
);
const client = issue(
  dir,
  "client",
  {
    commonName: "operator",
    allowedUses: ["digital_signature", "key_encipherment", "client_auth"],
    algorithm: "ECDSA",
    ecdsaCurve: "P256",
  },
  ca,
);
const foreignClient = issue(
  dir,
  "foreign",
  { commonName: "intruder", allowedUses: ["digital_signature", "client_auth"], algorithm: "ECDSA", ecdsaCurve: "P256" },
  otherCa,
);

const servers: https.Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A Docker API stand-in: /_ping, and /info with the given engine labels (Docker's JSON field);
 * `verifyClients: false` is a daemon with "tls" but no "tlsverify".
 */
function serve(cert: Issued, port = 0, verifyClients = true, labels: string[] = []): Promise<number> {
  const s = https.createServer(
    {
      cert: cert.certPem,
      key: cert.keyPem,
      ca: ca.certPem,
      requestCert: verifyClients,
      rejectUnauthorized: verifyClients,
    },
    (req, res) => {
      if (req.url === "/info") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ Labels: labels }));
        return;
      }
      res.writeHead(req.url === "/_ping" ? 200 : 404);
      res.end(req.url === "/_ping" ? "OK" : "no");
    },
  );
  servers.push(s);
  return new Promise((resolve) => s.listen(port, "127.0.0.1", () => resolve((s.address() as AddressInfo).port)));
}

function target(port: number, who: Issued = client): ProbeTarget {
  return { host: "127.0.0.1", port, caPem: ca.certPem, certPem: who.certPem, keyPem: who.keyPem };
}

const fast = {
  label: "tikv-host-1",
  origin: "cvm" as const,
  firstDelayMs: 100,
  maxDelayMs: 400,
  attemptTimeoutMs: 1000,
};

test("answers with the operator's client certificate", async () => {
  const port = await serve(server);
  await expect(pingDocker(target(port), 2000)).resolves.toBeUndefined();
  await expect(waitForDocker(target(port), { ...fast, timeoutMs: 2000 })).resolves.toBe(1);
});

test("a client certificate from another CA is refused", async () => {
  const port = await serve(server);
  await expect(pingDocker(target(port, foreignClient), 2000)).rejects.toThrow();
});

test("a server certificate without the dialled address is rejected", async () => {
  const port = await serve(wrongSan);
  await expect(pingDocker(target(port), 2000)).rejects.toThrow(/IP: 127.0.0.1 is not in the cert's list|altnames/);
});

test("retries until the daemon comes up", async () => {
  const free = await serve(server);
  servers.pop()!.close();
  const started = Date.now();
  setTimeout(() => void serve(server, free), 800);
  const attempts = await waitForDocker(target(free), { ...fast, timeoutMs: 10_000 });
  expect(attempts).toBeGreaterThan(1);
  expect(Date.now() - started).toBeGreaterThanOrEqual(700);
});

test("gives up at the deadline with an error naming the host and, for a CVM, where to look", async () => {
  const port = await serve(server);
  servers.pop()!.close();
  const started = Date.now();
  const error = await waitForDocker(target(port), { ...fast, timeoutMs: 1500 }).catch((e: Error) => e);
  expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  expect(Date.now() - started).toBeLessThan(4000);
  expect(String(error)).toMatch(/tikv-host-1/);
  expect(String(error)).toMatch(/cloud-init status/);
  expect(String(error)).toMatch(/\/var\/log\/cloud-init-output.log/);
  expect(String(error)).toMatch(/last error: .*ECONNREFUSED/);
});

test("a host of the user's gets its own hint, not the Tencent console", async () => {
  const port = await serve(server);
  servers.pop()!.close();
  const error = String(
    await waitForDocker(target(port), { ...fast, origin: "existing", timeoutMs: 500 }).catch((e: Error) => e),
  );
  expect(error).toMatch(/systemctl status docker/);
  expect(error).toMatch(/dockerCaPem/);
  expect(error).not.toMatch(/cloud-init|Tencent/);
});

test("a server certificate without the dialled address fails at once, not at the deadline", async () => {
  const port = await serve(wrongSan);
  const started = Date.now();
  const error = String(await waitForDocker(target(port), { ...fast, timeoutMs: 60_000 }).catch((e: Error) => e));
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(error).toMatch(/does not name the address dialled/);
  expect(error).toMatch(/Waiting will not change this/);
  expect(error).toMatch(/EIP/);
  const existing = String(
    await waitForDocker(target(port), { ...fast, origin: "existing", timeoutMs: 60_000 }).catch((e: Error) => e),
  );
  expect(existing).toMatch(/Reissue the daemon's server certificate with 127\.0\.0\.1/);
});

test("a server certificate from another CA fails at once", async () => {
  const port = await serve(server);
  const started = Date.now();
  const other: ProbeTarget = { ...target(port), caPem: otherCa.certPem };
  const error = String(await waitForDocker(other, { ...fast, timeoutMs: 60_000 }).catch((e: Error) => e));
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(error).toMatch(/not signed by the CA given/);
});

test.each([
  ["an expired server certificate", () => expired, /has expired/],
  ["a server certificate not made for servers (no serverAuth)", () => clientOnly, /not made for a server/],
])("%s fails at once, with the mode's hint", async (_label, cert, why) => {
  const port = await serve(cert());
  const started = Date.now();
  const error = String(
    await waitForDocker(target(port), { ...fast, origin: "existing", timeoutMs: 60_000 }).catch((e: Error) => e),
  );
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(error).toMatch(why);
  expect(error).toMatch(/Waiting will not change this/);
  expect(error).toMatch(/Reissue the daemon's server certificate/);
});

/** A daemon that verifies clients but whose refusal to an anonymous client never arrives (a dropped reply). */
function serveSilentToAnonymous(): Promise<number> {
  const s = https.createServer(
    { cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      if (!(req.socket as import("tls").TLSSocket).authorized) return; // no answer at all
      res.writeHead(200);
      res.end("OK");
    },
  );
  servers.push(s);
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as AddressInfo).port)));
}

test("no answer to the anonymous check is not taken for a refusal: it waits, then fails", async () => {
  const port = await serveSilentToAnonymous();
  await expect(pingDocker(target(port), 2000)).resolves.toBeUndefined();
  const error = String(
    await waitForDocker(target(port), { ...fast, attemptTimeoutMs: 300, timeoutMs: 1500 }).catch((e: Error) => e),
  );
  expect(error).toMatch(/did not answer|without a certificate/);
  expect(error).toMatch(/check for clients without a certificate got no answer/);
});

test("a daemon that serves clients without a certificate is refused, saying how to fix daemon.json", async () => {
  const port = await serve(server, 0, false);
  // The operator's own request succeeds: only the anonymous probe tells.
  await expect(pingDocker(target(port), 2000)).resolves.toBeUndefined();
  await expect(servesAnonymousClients(target(port), 2000)).resolves.toBe("yes");
  const error = String(
    await waitForDocker(target(port), { ...fast, origin: "existing", timeoutMs: 60_000 }).catch((e: Error) => e),
  );
  expect(error).toMatch(/without a certificate/);
  expect(error).toMatch(/"tlsverify": true/);
});

test("a daemon that verifies clients is not mistaken for an open one", async () => {
  const port = await serve(server);
  await expect(servesAnonymousClients(target(port), 2000)).resolves.toBe("no");
});

describe("a CVM's data disk", () => {
  test("Docker labelled with the expected disk is ready; another disk is not", async () => {
    const port = await serve(server, 0, true, ["tikv-cvm.data-disk=disk-abc12345"]);
    await expect(pingDocker({ ...target(port), dataDiskId: "disk-abc12345" }, 2000)).resolves.toBeUndefined();
    await expect(pingDocker({ ...target(port), dataDiskId: "disk-zzz99999" }, 2000)).rejects.toThrow(
      /not on data disk disk-zzz99999.*disk-abc12345/,
    );
    // Hosts not made here are not asked.
    await expect(pingDocker(target(await serve(server)), 2000)).resolves.toBeUndefined();
  });

  test("a host that reports its disk missing fails at once, with the host's own reason", async () => {
    const reason = "data disk disk-abc12345 did not appear at /dev/disk/by-id/virtio-disk-abc12345 within 450 s";
    const port = await serve(server, 0, true, [`tikv-cvm.data-disk-error=${reason}`]);
    const started = Date.now();
    const error = await waitForDocker(
      { ...target(port), dataDiskId: "disk-abc12345" },
      { ...fast, timeoutMs: 10_000 },
    ).catch((e: Error) => e);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(String(error)).toContain(`tikv-host-1: Docker runs without its data disk: ${reason}`);
    expect(String(error)).toMatch(/journalctl -u tikv-data-disk/);
  });

  test("the timeout message names the disk Docker waits for", async () => {
    // Nothing listens: the host has not started Docker (yet).
    const port = await serve(server);
    servers.pop()!.close();
    const error = await waitForDocker(
      { ...target(port), dataDiskId: "disk-abc12345" },
      { ...fast, timeoutMs: 1000 },
    ).catch((e: Error) => e);
    expect(String(error)).toMatch(/once its data disk disk-abc12345 is attached and mounted/);
  });
});
