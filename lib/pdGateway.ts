// PD's client gateway beside each PD member (gateway/pd-client-gateway.js): what its container is
// made of. Pure: components/pdClientGateway.ts declares it.
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { CLUSTER_CN } from "./clusterConfig";
import { CONTAINER_HARDENING, FILE_MODES } from "./containerSecurity";
import { MUST_RUN } from "./containerReplacement";
import { INSTANCE_LABEL } from "./labels";
import { ClusterNetworking, containerName } from "./networking";
import { HostPlan, PORTS } from "./topology";

/** Where the gateway's script and its TLS files are uploaded in its container. */
export const GATEWAY_DIR = "/etc/tikv-cvm-gateway";
export const GATEWAY_SCRIPT = `${GATEWAY_DIR}/pd-client-gateway.js`;

/**
 * Its memory cap, MiB: Node's own footprint (about 45 MiB resident for an idle HTTP/2 server) and a
 * V8 heap held to 32 MiB (--max-old-space-size), which a proxy that copies buffers through never
 * needs more of. Counted in each PD host's plan beside PD and TiKV (index.ts engineCapsMiB).
 */
export const GATEWAY_MIB = 96;
const GATEWAY_HEAP_MIB = 32;
/** Under contention a quarter of PD's weight (lib/memoryBudget.ts CPU_SHARES): it only relays. */
export const GATEWAY_CPU_SHARES = 256;
/** Processes and threads: Node's main thread, its libuv pool (4) and V8's helpers. */
export const GATEWAY_PIDS_LIMIT = 256;

/** The gateway's container name beside its PD member (`pd1-gateway`). */
export function gatewayName(networking: ClusterNetworking, pdName: string): string {
  return containerName(networking, `${pdName}-gateway`);
}

/** What clients are handed instead of PD's client port: each PD member's gateway, host:port. */
export function gatewayEndpoints(hosts: readonly HostPlan[]): string[] {
  return hosts.filter((h) => h.pdName !== undefined).map((h) => `${h.pdHost}:${PORTS.pdClientGateway}`);
}

export interface GatewayWiring {
  readonly networking: ClusterNetworking;
  readonly imageId: pulumi.Input<string>;
  /** The script (gateway/pd-client-gateway.js) as uploaded. */
  readonly script: string;
  /** The host's member certificate, which PD admits, and the cluster CA bundle. */
  readonly caPem: pulumi.Input<string>;
  readonly certPem: pulumi.Input<string>;
  readonly keyPem: pulumi.Input<string>;
  /**
   * On a shared engine: `container:<id>` of its PD member, whose network namespace the gateway
   * joins (an Output: the component builds it with pulumi.interpolate).
   */
  readonly pdNetworkMode?: pulumi.Input<string>;
  /** A CVM made here: its instance id, so the gateway is recreated with the CVM (lib/labels.ts). */
  readonly instanceId?: pulumi.Input<string>;
}

/**
 * The gateway's container. On the host network it listens on the host's private address (inside
 * the VPC, never an EIP); on a shared engine it joins its PD member's network namespace, so a client
 * reaches it at the member's own alias and its URL rewrite (same host, the gateway's port) holds in
 * both. It dials its member at the URL PD advertises, which the member certificate names.
 */
export function gatewayContainerArgs(host: HostPlan, wiring: GatewayWiring): docker.ContainerArgs {
  if (host.pdName === undefined) throw new Error(`${host.name} runs no PD member and so no gateway`);
  const bridge = wiring.networking.kind === "bridge";
  if (bridge && wiring.pdNetworkMode === undefined) throw new Error("a gateway on a shared engine needs its PD member");
  const listenHost = bridge ? "0.0.0.0" : host.pdHost;
  return {
    name: gatewayName(wiring.networking, host.pdName),
    image: wiring.imageId,
    // The whole command line as the entrypoint; no `command`, which the provider would read back as
    // the image's CMD (node's images: ["node"]) and show as a change on every preview.
    entrypoints: ["node", `--max-old-space-size=${GATEWAY_HEAP_MIB}`, GATEWAY_SCRIPT],
    envs: [
      `TIKV_CVM_GATEWAY_LISTEN_HOST=${listenHost}`,
      `TIKV_CVM_GATEWAY_PORT=${PORTS.pdClientGateway}`,
      `TIKV_CVM_GATEWAY_PD=https://${host.pdHost}:${PORTS.pdClient}`,
      `TIKV_CVM_GATEWAY_ALLOWED_CN=${CLUSTER_CN.client}`,
      `TIKV_CVM_GATEWAY_TLS_DIR=${GATEWAY_DIR}`,
    ],
    networkMode: bridge ? wiring.pdNetworkMode : "host",
    memory: GATEWAY_MIB,
    memorySwap: GATEWAY_MIB,
    cpuShares: GATEWAY_CPU_SHARES,
    restart: "unless-stopped",
    mustRun: MUST_RUN,
    capabilities: { drops: [...CONTAINER_HARDENING.capabilities.drops] },
    securityOpts: [...CONTAINER_HARDENING.securityOpts],
    logDriver: "json-file",
    logOpts: { "max-size": "10m", "max-file": "3" },
    // It holds no state: clients retry another member's gateway while it restarts.
    stopTimeout: 10,
    destroyGraceSeconds: 10,
    uploads: [
      { file: GATEWAY_SCRIPT, content: wiring.script, permissions: FILE_MODES.certificate },
      { file: `${GATEWAY_DIR}/ca.pem`, content: wiring.caPem, permissions: FILE_MODES.certificate },
      { file: `${GATEWAY_DIR}/cert.pem`, content: wiring.certPem, permissions: FILE_MODES.certificate },
      // Node runs as root in the image (node's official images set no USER), and owns the file.
      { file: `${GATEWAY_DIR}/key.pem`, content: wiring.keyPem, permissions: FILE_MODES.rootKey },
    ],
    // Listening is all it does before it serves; Docker's "healthy" means the port accepts. Bash's
    // /dev/tcp, not a second node process, which would take about 40 MiB of the gateway's cap every
    // ten seconds (Debian images, node's bookworm ones included, carry bash: it is Essential).
    healthcheck: {
      tests: ["CMD", "bash", "-c", `exec 3<>/dev/tcp/${bridge ? "127.0.0.1" : host.pdHost}/${PORTS.pdClientGateway}`],
      interval: "10s",
      timeout: "5s",
      retries: 3,
      startPeriod: "10s",
    },
    wait: true,
    waitTimeout: 120,
    ...(wiring.instanceId === undefined ? {} : { labels: [{ label: INSTANCE_LABEL, value: wiring.instanceId }] }),
  };
}
