// Test hosts shaped like the program's CVMs: one Docker engine per network namespace, each with its
// own private address on one bridge, serving its API on <address>:2376 behind mutual TLS with the
// daemon.json the program renders for a CVM (paths moved into a directory of the test's own, and
// the settings this sandbox needs) and certificates made to the program's specs by openssl.
// Containers use the host's network, as on a CVM, so PD and TiKV bind the host's address.
//
//   netns tkve2e-net:  bridge br0 ── op0 ═ veth ═ tkve2e-op (this machine, 10.213.0.1)
//                                 ├─ h1  ═ veth ═ eth0 in netns tkve2e-h1 (10.213.0.11): dockerd :2376
//                                 └─ ...
//
// The bridge lives in a namespace of its own so the machine's firewall never sees the traffic.
// dockerd enters only the network namespace (nsenter --net): `ip netns exec` would also remount
// /sys and lose the cgroup mounts Docker needs.
import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { Issued, issue } from "../test/support/openssl";
import type { RenderedSpecs } from "./render";
import { log, run, waitFor } from "./util";

const PREFIX = "tkve2e";
const NET_NS = `${PREFIX}-net`;
/** The namespace holding the test network's bridge (br0), which the CVM stand-in's hosts join too. */
export const BRIDGE_NETNS = NET_NS;
/** This machine's link into the test network: the operator's side. */
export const OPERATOR_LINK = `${PREFIX}-op`;
export const SUBNET = "10.213.0";
export const OPERATOR_ADDRESS = `${SUBNET}.1`;
const DOCKER_PORT = 2376;

export interface TestHost {
  readonly name: string;
  readonly index: number;
  /** Private address, also what the operator dials. */
  readonly address: string;
  readonly netns: string;
  readonly dir: string;
  /** tcp://<address>:2376 */
  readonly dockerHost: string;
  /** unix:// socket of the engine, for the test's own checks. */
  readonly socket: string;
}

/** The Docker PKI of the test, made to the program's specs: a CA, the operator's client, another CA. */
export interface DockerPki {
  readonly ca: Issued;
  readonly client: Issued;
  /** A CA the operator's certificate does not come from (for a host that must refuse it). */
  readonly otherCa: Issued;
  /** DOCKER_CERT_PATH layout: ca.pem, cert.pem, key.pem. */
  readonly certDir: string;
}

function ip(args: string[]): void {
  run("ip", args);
}

function inNs(ns: string, args: string[]): void {
  run("ip", ["-n", ns, ...args]);
}

export class TestHosts {
  readonly hosts: TestHost[] = [];
  private readonly pkiDir: string;
  pki?: DockerPki;

  constructor(
    readonly workDir: string,
    private readonly specs: RenderedSpecs,
  ) {
    this.pkiDir = path.join(workDir, "pki");
  }

  /** Removes what an earlier, interrupted run left: engines, namespaces, links, mounts. */
  static cleanUp(workDir: string): void {
    const namespaces = run("ip", ["netns", "list"])
      .stdout.split("\n")
      .map((l) => l.split(" ")[0])
      .filter((n) => n.startsWith(`${PREFIX}-`));
    for (const ns of namespaces) removeNamespace(ns);
    run("ip", ["link", "del", OPERATOR_LINK], { allowFailure: true });
    unmountUnder(workDir);
    fs.rmSync(workDir, { recursive: true, force: true });
  }

  createNetwork(): void {
    fs.mkdirSync(this.workDir, { recursive: true });
    ip(["netns", "add", NET_NS]);
    inNs(NET_NS, ["link", "set", "lo", "up"]);
    inNs(NET_NS, ["link", "add", "br0", "type", "bridge"]);
    inNs(NET_NS, ["link", "set", "br0", "up"]);
    ip(["link", "add", OPERATOR_LINK, "type", "veth", "peer", "name", "op0", "netns", NET_NS]);
    inNs(NET_NS, ["link", "set", "op0", "master", "br0", "up"]);
    ip(["addr", "add", `${OPERATOR_ADDRESS}/24`, "dev", OPERATOR_LINK]);
    ip(["link", "set", OPERATOR_LINK, "up"]);
  }

  /** The CA, the operator's certificate and an unrelated CA, each to the program's spec. */
  createPki(): DockerPki {
    fs.mkdirSync(this.pkiDir, { recursive: true });
    const ca = issue(this.pkiDir, "docker-ca", this.specs.ca);
    const client = issue(this.pkiDir, "operator", this.specs.client, ca);
    const otherCa = issue(this.pkiDir, "other-ca", { ...this.specs.ca, commonName: "someone else's CA" });
    const certDir = path.join(this.pkiDir, "client");
    fs.mkdirSync(certDir, { recursive: true });
    fs.copyFileSync(ca.certPath, path.join(certDir, "ca.pem"));
    fs.copyFileSync(client.certPath, path.join(certDir, "cert.pem"));
    fs.copyFileSync(client.keyPath, path.join(certDir, "key.pem"));
    this.pki = { ca, client, otherCa, certDir };
    return this.pki;
  }

  /**
   * Starts host `index` (address .10+index): namespace, link, certificates, daemon.json, dockerd.
   * `trustOperator: false` gives the daemon another CA as tlscacert: it serves with a certificate
   * the operator trusts, but refuses the operator's client certificate.
   */
  async startHost(index: number, options: { trustOperator: boolean } = { trustOperator: true }): Promise<TestHost> {
    const pki = this.pki ?? this.createPki();
    const name = `e2e-host-${index}`;
    const address = `${SUBNET}.${10 + index}`;
    const netns = `${PREFIX}-h${index}`;
    const dir = path.join(this.workDir, `h${index}`);
    fs.mkdirSync(dir, { recursive: true });

    joinNetwork(netns, address);

    // The server certificate as DockerHost issues it: the address dialled (EIP there) and the
    // private IP, which are one address here, and the host name.
    const server = issue(
      dir,
      "server",
      { ...this.specs.server, commonName: name, ipAddresses: [address], dnsNames: [name] },
      pki.ca,
    );
    const tlsDir = path.join(dir, "tls");
    fs.mkdirSync(tlsDir, { recursive: true });
    fs.copyFileSync(options.trustOperator ? pki.ca.certPath : pki.otherCa.certPath, path.join(tlsDir, "ca.pem"));
    fs.copyFileSync(server.certPath, path.join(tlsDir, "server-cert.pem"));
    fs.copyFileSync(server.keyPath, path.join(tlsDir, "server-key.pem"));
    fs.chmodSync(path.join(tlsDir, "server-key.pem"), 0o600);

    const socket = path.join(dir, "docker.sock");
    const daemonJson = moveDaemonJson(this.specs.daemonJson, dir, tlsDir, socket);
    const configPath = path.join(dir, "daemon.json");
    fs.writeFileSync(configPath, `${JSON.stringify(daemonJson, null, 2)}\n`);
    startInNamespace(netns, ["dockerd", "--config-file", configPath], path.join(dir, "dockerd.log"));

    const host: TestHost = {
      name,
      index,
      address,
      netns,
      dir,
      dockerHost: `tcp://${address}:${DOCKER_PORT}`,
      socket: `unix://${socket}`,
    };
    await waitFor(
      `dockerd of ${name} on ${socket}`,
      60_000,
      () =>
        run("docker", ["-H", host.socket, "version", "--format", "{{.Server.Version}}"], { allowFailure: true })
          .status === 0
          ? true
          : undefined,
      250,
    );
    this.hosts.push(host);
    log(
      `host ${name}: ${address}, Docker API ${host.dockerHost}${options.trustOperator ? "" : " (does not trust the operator's certificate)"}`,
    );
    return host;
  }

  /** Environment for the docker CLI against a host's TLS endpoint, as the operator would use it. */
  dockerEnv(host: TestHost): NodeJS.ProcessEnv {
    return {
      ...process.env,
      DOCKER_HOST: host.dockerHost,
      DOCKER_TLS_VERIFY: "1",
      DOCKER_CERT_PATH: this.pki!.certDir,
    };
  }

  stopAll(): void {
    for (const host of this.hosts) killNamespace(host.netns);
    this.hosts.length = 0;
  }
}

/**
 * A new network namespace `netns` (named tkve2e-…, so cleanUp removes it) linked to the test
 * bridge as eth0 with `address`: a host, or a service the hosts reach (the registry).
 */
export function joinNetwork(netns: string, address: string): void {
  if (!netns.startsWith(`${PREFIX}-`)) throw new Error(`namespace ${netns} must start with ${PREFIX}-`);
  ip(["netns", "add", netns]);
  ip(["link", "add", netns, "netns", NET_NS, "type", "veth", "peer", "name", "eth0", "netns", netns]);
  inNs(NET_NS, ["link", "set", netns, "master", "br0", "up"]);
  inNs(netns, ["link", "set", "lo", "up"]);
  inNs(netns, ["addr", "add", `${address}/24`, "dev", "eth0"]);
  inNs(netns, ["link", "set", "eth0", "up"]);
}

/**
 * Starts a daemon in a network namespace only (nsenter --net: see the top of this file), in its
 * own session, its output appended to `logPath`; it lives until its namespace is killed.
 */
export function startInNamespace(netns: string, argv: readonly string[], logPath: string): void {
  const logFd = fs.openSync(logPath, "a");
  const child = spawn("nsenter", [`--net=/run/netns/${netns}`, ...argv], {
    detached: true,
    stdio: ["ignore", logFd, logFd],
  });
  child.unref();
  fs.closeSync(logFd);
}

/**
 * Makes `port` on the loopback of a test host's namespace reachable on this process's loopback, as
 * an engine's published ports are on a workstation (mode local publishes PD's client port on
 * 127.0.0.1): each connection is piped through a node process in that namespace. Resolves once it
 * listens; the returned function closes it and every connection.
 */
export async function forwardLoopback(netns: string, port: number): Promise<() => Promise<void>> {
  const pipe =
    `const s = require("net").connect(${port}, "127.0.0.1"); process.stdin.pipe(s); s.pipe(process.stdout); ` +
    `s.on("error", () => process.exit(1)); s.on("close", () => process.exit(0));`;
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    open.add(socket);
    const child = spawn("nsenter", [`--net=/run/netns/${netns}`, process.execPath, "-e", pipe], {
      stdio: ["pipe", "pipe", "ignore"],
    });
    socket.pipe(child.stdin);
    child.stdout.pipe(socket);
    child.stdin.on("error", () => undefined);
    socket.on("error", () => child.kill());
    socket.on("close", () => {
      open.delete(socket);
      child.kill();
    });
    child.on("exit", () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return () =>
    new Promise<void>((resolve) => {
      for (const socket of open) socket.destroy();
      server.close(() => resolve());
    });
}

/** Kills every process in one of the test's namespaces and removes it. */
export function removeNamespace(netns: string): void {
  killNamespace(netns);
  run("ip", ["netns", "del", netns], { allowFailure: true });
}

/**
 * The program's daemon.json with its paths moved into `dir`, plus what a second engine on this
 * machine needs: its own data, exec root and pid file, vfs storage, no iptables and no default
 * bridge (containers use the host's network, as on the CVMs).
 */
export function moveDaemonJson(
  rendered: Record<string, unknown>,
  dir: string,
  tlsDir: string,
  socket: string,
): Record<string, unknown> {
  const hosts = rendered.hosts as string[];
  const tcp = hosts.filter((h) => h.startsWith("tcp://"));
  if (tcp.length !== 1 || !hosts.includes("unix:///var/run/docker.sock")) {
    throw new Error(`unexpected hosts in the rendered daemon.json: ${JSON.stringify(hosts)}`);
  }
  const move = (p: unknown, file: string) => {
    if (typeof p !== "string" || !p.startsWith("/etc/docker/")) throw new Error(`unexpected TLS path ${String(p)}`);
    return path.join(tlsDir, file);
  };
  return {
    ...rendered,
    tlscacert: move(rendered.tlscacert, "ca.pem"),
    tlscert: move(rendered.tlscert, "server-cert.pem"),
    tlskey: move(rendered.tlskey, "server-key.pem"),
    hosts: [`unix://${socket}`, ...tcp],
    "data-root": path.join(dir, "root"),
    "exec-root": path.join(dir, "exec"),
    pidfile: path.join(dir, "docker.pid"),
    "storage-driver": "vfs",
    iptables: false,
    bridge: "none",
  };
}

/** Kills every process in a network namespace: dockerd, containerd, shims, containers. */
function killNamespace(ns: string): void {
  const pids = run("ip", ["netns", "pids", ns], { allowFailure: true })
    .stdout.split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      /* gone already */
    }
  }
}

function unmountUnder(dir: string): void {
  if (!fs.existsSync("/proc/mounts")) return;
  const mounts = fs
    .readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m) => m && m.startsWith(dir));
  for (const m of mounts.reverse()) run("umount", ["-l", m], { allowFailure: true });
}
