// /etc/docker/daemon.json for a host whose API is served on TCP behind mutual TLS. Pure.
import { PORTS } from "./topology";

export const DOCKER_TLS_DIR = "/etc/docker/tls";

export interface DaemonJson {
  readonly tls: boolean;
  readonly tlsverify: boolean;
  readonly tlscacert: string;
  readonly tlscert: string;
  readonly tlskey: string;
  readonly hosts: readonly string[];
  readonly "log-driver": string;
  readonly "log-opts": Readonly<Record<string, string>>;
  readonly "live-restore": boolean;
  readonly "registry-mirrors": readonly string[];
}

export function renderDaemonJson(registryMirrors: readonly string[]): DaemonJson {
  return {
    // Docker up to 19.03 accepted any client with "tls" alone; "tlsverify" states the intent on
    // every version: only clients with a certificate from our CA get in.
    // https://docs.docker.com/engine/security/protect-access/
    tls: true,
    tlsverify: true,
    tlscacert: `${DOCKER_TLS_DIR}/ca.pem`,
    tlscert: `${DOCKER_TLS_DIR}/server-cert.pem`,
    tlskey: `${DOCKER_TLS_DIR}/server-key.pem`,
    // Clashes with the packaged unit's `-H fd://`; the systemd drop-in in cloud-init removes it.
    hosts: ["unix:///var/run/docker.sock", `tcp://0.0.0.0:${PORTS.docker}`],
    "log-driver": "json-file",
    "log-opts": { "max-size": "100m", "max-file": "3" },
    // Containers keep running while dockerd restarts (package upgrades, daemon.json changes).
    "live-restore": true,
    "registry-mirrors": [...registryMirrors],
  };
}
