// A real dockerd behind mutual TLS on a loopback port, with a docker CLI bound to it, and a tiny
// local image built from the static busybox (no image can be pulled here).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { DockerEndpoint } from "../../lib/dockerApi";
import { RunningDockerd, besideOthers, freePort, startDockerd } from "./dockerd";
import { Issued, issue } from "./openssl";

export interface TlsDockerd {
  readonly daemon: RunningDockerd;
  /** Runs the docker CLI against this daemon; returns stdout. */
  docker(...args: string[]): string;
  /** The engine as the program's Engine API calls reach it, with the operator's client certificate. */
  readonly endpoint: DockerEndpoint;
  /** The CA of the engine's and the client's certificates. */
  readonly ca: Issued;
}

const ECDSA = { algorithm: "ECDSA" as const, ecdsaCurve: "P256" as const };

export async function startTlsDockerd(dir: string): Promise<TlsDockerd> {
  const ca = issue(dir, "ca", {
    commonName: "test ca",
    allowedUses: ["cert_signing", "digital_signature"],
    isCa: true,
    ...ECDSA,
  });
  const server = issue(
    dir,
    "server",
    { commonName: "dockerd", allowedUses: ["digital_signature", "server_auth"], ipAddresses: ["127.0.0.1"], ...ECDSA },
    ca,
  );
  const client = issue(
    dir,
    "client",
    { commonName: "operator", allowedUses: ["digital_signature", "client_auth"], ...ECDSA },
    ca,
  );
  const port = await freePort();
  const daemon = await startDockerd(
    dir,
    {
      tls: true,
      tlsverify: true,
      tlscacert: ca.certPath,
      tlscert: server.certPath,
      tlskey: server.keyPath,
      hosts: [`tcp://127.0.0.1:${port}`, `unix://${dir}/docker.sock`],
      ...besideOthers(dir),
    },
    port,
  );
  const docker = (...args: string[]): string =>
    execFileSync("docker", [...tlsDockerArgs(ca.certPath, client, port), ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  const endpoint: DockerEndpoint = {
    kind: "tls",
    host: "127.0.0.1",
    port,
    caPem: ca.certPem,
    certPem: client.certPem,
    keyPem: client.keyPem,
  };
  return { daemon, docker, endpoint, ca };
}

/**
 * Imports a root filesystem holding only the static busybox (and its sh) as `name`, with `script`
 * as the entrypoint run by busybox sh.
 */
export function importBusyboxImage(tls: TlsDockerd, dir: string, name: string, script: string): void {
  const rootfs = path.join(dir, `${name.replace(/[^a-z0-9]/g, "-")}-rootfs`);
  fs.mkdirSync(path.join(rootfs, "bin"), { recursive: true });
  fs.copyFileSync("/bin/busybox", path.join(rootfs, "bin", "busybox"));
  fs.chmodSync(path.join(rootfs, "bin", "busybox"), 0o755);
  for (const applet of ["sh", "sleep", "date", "cat"]) fs.symlinkSync("busybox", path.join(rootfs, "bin", applet));
  fs.writeFileSync(path.join(rootfs, "entrypoint.sh"), script, { mode: 0o755 });
  const tarball = path.join(dir, `${path.basename(rootfs)}.tar`);
  execFileSync("tar", ["-C", rootfs, "-cf", tarball, "."]);
  tls.docker("import", "--change", 'ENTRYPOINT ["/bin/sh", "/entrypoint.sh"]', tarball, name);
}

/** The docker CLI's flags for the TLS engine on 127.0.0.1:port, presenting `cert` as the client. */
export function tlsDockerArgs(caPath: string, cert: { certPath: string; keyPath: string }, port: number): string[] {
  return [
    "--tlsverify",
    "--tlscacert",
    caPath,
    "--tlscert",
    cert.certPath,
    "--tlskey",
    cert.keyPath,
    "-H",
    `tcp://127.0.0.1:${port}`,
  ];
}
