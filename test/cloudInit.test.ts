import * as crypto from "crypto";
import { parse } from "yaml";
import {
  CloudConfig,
  DOCKER_DROP_IN_PATH,
  TUNING_SCRIPT_PATH,
  USER_DATA_LIMIT_BYTES,
  encodeUserData,
  renderCloudConfig,
} from "../lib/cloudInit";
import { DaemonJson } from "../lib/dockerDaemon";

const key = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
const keyPem = key.privateKey.export({ type: "sec1", format: "pem" }).toString();
// Certificate-sized PEM: a P-256 certificate with four SANs is about 600 DER bytes.
const certPem = `-----BEGIN CERTIFICATE-----\n${crypto
  .randomBytes(700)
  .toString("base64")
  .match(/.{1,64}/g)!
  .join("\n")}\n-----END CERTIFICATE-----\n`;

function render(mirrors = ["https://mirror.ccs.tencentyun.com"]): { text: string; config: CloudConfig } {
  const text = renderCloudConfig({
    caCertPem: certPem,
    serverCertPem: certPem,
    serverKeyPem: keyPem,
    registryMirrors: mirrors,
    dataDisk: { id: "disk-bm42ztpm", waitSeconds: 450 },
  });
  return { text, config: parse(text) as CloudConfig };
}

function file(config: CloudConfig, path: string) {
  const f = config.write_files.find((w) => w.path === path);
  if (!f) throw new Error(`no ${path} in write_files`);
  return f;
}

test("starts with the cloud-config header and installs Docker", () => {
  const { text, config } = render();
  expect(text.startsWith("#cloud-config\n")).toBe(true);
  expect(config.packages).toContain("docker.io");
});

test("writes the CA, server certificate and server key with the CIS modes, root-owned, and nothing more secret", () => {
  const { config } = render();
  expect(file(config, "/etc/docker/tls/ca.pem").content).toBe(certPem);
  expect(file(config, "/etc/docker/tls/server-cert.pem").content).toBe(certPem);
  const serverKey = file(config, "/etc/docker/tls/server-key.pem");
  expect(serverKey.content).toBe(keyPem);
  // CIS Docker Benchmark 3.19-3.22: CA and server certificate 0444, server key 0400, all root:root.
  expect(serverKey).toMatchObject({ permissions: "0400", owner: "root:root" });
  expect(file(config, "/etc/docker/tls/ca.pem")).toMatchObject({ permissions: "0444", owner: "root:root" });
  expect(file(config, "/etc/docker/tls/server-cert.pem")).toMatchObject({ permissions: "0444", owner: "root:root" });
  expect(file(config, "/etc/docker/daemon.json")).toMatchObject({ permissions: "0644", owner: "root:root" });
  const keys = config.write_files.filter((w) => w.content.includes("PRIVATE KEY"));
  expect(keys.map((w) => w.path)).toEqual(["/etc/docker/tls/server-key.pem"]);
});

test("SYN cookies stay on: these hosts face the internet", () => {
  const sysctl = file(render().config, "/etc/sysctl.d/90-tikv.conf").content;
  expect(sysctl.split("\n")).toContain("net.ipv4.tcp_syncookies = 1");
});

test("daemon.json serves TCP 2376 with tls and tlsverify, log rotation, live-restore and mirrors", () => {
  const { config } = render(["https://mirror.example.com"]);
  const daemon = JSON.parse(file(config, "/etc/docker/daemon.json").content) as DaemonJson;
  expect(daemon).toMatchObject({
    tls: true,
    tlsverify: true,
    tlscacert: "/etc/docker/tls/ca.pem",
    tlscert: "/etc/docker/tls/server-cert.pem",
    tlskey: "/etc/docker/tls/server-key.pem",
    hosts: ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"],
    "log-driver": "json-file",
    "live-restore": true,
    "registry-mirrors": ["https://mirror.example.com"],
  });
  expect(daemon["log-opts"]["max-size"]).toBeDefined();
});

test("a systemd drop-in clears ExecStart so daemon.json hosts do not clash with -H fd://", () => {
  const { config } = render();
  const lines = file(config, DOCKER_DROP_IN_PATH).content.split("\n");
  const execs = lines.filter((l) => l.startsWith("ExecStart="));
  expect(execs[0]).toBe("ExecStart=");
  expect(execs[1]).toMatch(/^ExecStart=\/usr\/bin\/dockerd --containerd=/);
  expect(execs[1]).not.toContain("-H");
  // The restart is what brings dockerd up with the drop-in after the package's own start.
  const commands = config.runcmd.map((c) => c.join(" "));
  expect(commands.indexOf("systemctl daemon-reload")).toBeLessThan(commands.indexOf("systemctl restart docker"));
  expect(commands[commands.length - 1]).toBe("systemctl restart docker");
});

test("tunes the host for TiKV: swap off, THP off, file limits, sysctls", () => {
  const { config } = render();
  const script = file(config, TUNING_SCRIPT_PATH).content;
  expect(script).toContain("swapoff -a");
  expect(script).toContain("transparent_hugepage");
  expect(file(config, "/etc/security/limits.d/90-tikv.conf").content).toContain("nofile 1000000");
  expect(file(config, "/etc/sysctl.d/90-tikv.conf").content).toContain("vm.swappiness = 0");
});

test("stays under Tencent's 16 KB limit after base64, with room to spare", () => {
  const { text } = render();
  const encoded = encodeUserData(text);
  expect(Buffer.from(encoded, "base64").toString("utf8")).toBe(text);
  // The data-disk script takes about 3.5 KB of it. Measured: 13.8 KB with chrony and the online
  // grow timer (issue 21), 12.5 KB before them; the next addition should compress the user data
  // (cloud-init accepts gzip) rather than move these bounds again.
  expect(encoded.length).toBeLessThan(USER_DATA_LIMIT_BYTES * 0.85);
  // During a CA rotation ca.pem holds two certificates: still under the limit, with room.
  const rotating = renderCloudConfig({
    caCertPem: certPem + certPem,
    serverCertPem: certPem,
    serverKeyPem: keyPem,
    registryMirrors: ["https://mirror.ccs.tencentyun.com"],
    dataDisk: { id: "disk-bm42ztpm", waitSeconds: 450 },
  });
  expect(encodeUserData(rotating).length).toBeLessThan(USER_DATA_LIMIT_BYTES * 0.95);
});

test("refuses user data over the limit instead of letting the cloud API reject it", () => {
  expect(() => encodeUserData("x".repeat(13_000))).toThrow(/16384-byte limit/);
});
