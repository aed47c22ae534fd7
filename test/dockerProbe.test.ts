// The readiness probe against a local mutual-TLS HTTPS server built from openssl certificates.
import * as fs from "fs";
import * as https from "https";
import { AddressInfo } from "net";
import { ProbeTarget, pingDocker, waitForDocker } from "../lib/dockerProbe";
import { Issued, issue, tempDir } from "./support/openssl";

const dir = tempDir("probe");
const ca = issue(dir, "ca", { commonName: "test CA", allowedUses: ["cert_signing", "crl_signing", "digital_signature"], isCa: true, algorithm: "ECDSA", ecdsaCurve: "P256" });
const otherCa = issue(dir, "other-ca", { commonName: "other CA", allowedUses: ["cert_signing", "digital_signature"], isCa: true, algorithm: "ECDSA", ecdsaCurve: "P256" });
const server = issue(dir, "server", { commonName: "host", allowedUses: ["digital_signature", "key_encipherment", "server_auth"], ipAddresses: ["127.0.0.1"], algorithm: "ECDSA", ecdsaCurve: "P256" }, ca);
const wrongSan = issue(dir, "wrong-san", { commonName: "host", allowedUses: ["digital_signature", "server_auth"], ipAddresses: ["127.0.0.2"], algorithm: "ECDSA", ecdsaCurve: "P256" }, ca);
const client = issue(dir, "client", { commonName: "operator", allowedUses: ["digital_signature", "key_encipherment", "client_auth"], algorithm: "ECDSA", ecdsaCurve: "P256" }, ca);
const foreignClient = issue(dir, "foreign", { commonName: "intruder", allowedUses: ["digital_signature", "client_auth"], algorithm: "ECDSA", ecdsaCurve: "P256" }, otherCa);

const servers: https.Server[] = [];
afterAll(() => { for (const s of servers) s.close(); fs.rmSync(dir, { recursive: true, force: true }); });

function serve(cert: Issued, port = 0): Promise<number> {
  const s = https.createServer({ cert: cert.certPem, key: cert.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
    (req, res) => { res.writeHead(req.url === "/_ping" ? 200 : 404); res.end(req.url === "/_ping" ? "OK" : "no"); });
  servers.push(s);
  return new Promise((resolve) => s.listen(port, "127.0.0.1", () => resolve((s.address() as AddressInfo).port)));
}

function target(port: number, who: Issued = client): ProbeTarget {
  return { host: "127.0.0.1", port, caPem: ca.certPem, certPem: who.certPem, keyPem: who.keyPem };
}

const fast = { label: "tikv-host-1", firstDelayMs: 100, maxDelayMs: 400, attemptTimeoutMs: 1000 };

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

test("gives up at the deadline with an error naming the host and where to look", async () => {
  const port = await serve(wrongSan);
  const started = Date.now();
  const error = await waitForDocker(target(port), { ...fast, timeoutMs: 1500 }).catch((e: Error) => e);
  expect(Date.now() - started).toBeLessThan(4000);
  expect(String(error)).toMatch(/tikv-host-1/);
  expect(String(error)).toMatch(/cloud-init status/);
  expect(String(error)).toMatch(/\/var\/log\/cloud-init-output.log/);
  expect(String(error)).toMatch(/last error: .*(127.0.0.1|altnames)/);
});
