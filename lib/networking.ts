// How containers sit on their engines: the one rule for container names, volume names, networks
// and the addresses containers listen on and reach each other at. Pure (types only from Pulumi):
// the cluster and the monitoring components both build their containers from it.
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";

/**
 * - host: one engine per host (modes cvm and existing); containers use the host's network and the
 *   recipe's plain names (pd1, tikv1, pd-data), one of each per engine.
 * - bridge: every member on one engine (mode local), on one user-defined network where each
 *   container is reached by its alias; names carry the stack's prefix, so stacks can share an engine.
 */
export type ClusterNetworking =
  | { readonly kind: "host" }
  | { readonly kind: "bridge"; readonly network: pulumi.Input<string>; readonly namePrefix: string };

/** The container's name on its engine: `pd1`, or on a shared engine `tikv-dev-pd1`. */
export function containerName(networking: ClusterNetworking, member: string): string {
  return networking.kind === "bridge" ? `${networking.namePrefix}-${member}` : member;
}

/**
 * The data volume's name. On a host of its own the recipe's name (`pd-data`, `prometheus-data`:
 * one member of a kind per engine); on a shared engine one per member (`tikv-dev-pd1-data`).
 */
export function volumeName(networking: ClusterNetworking, member: string, ownEngineName: string): string {
  return networking.kind === "bridge" ? `${networking.namePrefix}-${member}-data` : ownEngineName;
}

/**
 * Network settings of a container reached as `alias`. Ports are published (on the machine's
 * loopback) only on a shared engine: on the host network a container's ports are the host's own.
 */
export function attachment(
  networking: ClusterNetworking,
  alias: string,
  publish: docker.types.input.ContainerPort[] = [],
): Pick<docker.ContainerArgs, "networkMode" | "networksAdvanced" | "ports"> {
  return networking.kind === "bridge"
    ? { networkMode: "bridge", networksAdvanced: [{ name: networking.network, aliases: [alias] }], ports: publish }
    : { networkMode: "host" };
}

/**
 * Where a container listens for what only its neighbours on the same engine use: the host's
 * loopback on the host network; every interface of its own namespace on a bridge network
 * (where only containers of that network, and published ports, reach it).
 */
export function neighbourListenAddress(networking: ClusterNetworking): string {
  return networking.kind === "bridge" ? "0.0.0.0" : "127.0.0.1";
}

/** The address a container reaches its neighbour `alias` at on the same engine. */
export function neighbourAddress(networking: ClusterNetworking, alias: string): string {
  return networking.kind === "bridge" ? alias : "127.0.0.1";
}

/**
 * Whether a service can be offered on the host's own addresses: only with host networking. On a
 * shared engine everything is published on the machine's loopback, whatever the config says.
 */
export function servesHostAddresses(networking: ClusterNetworking): boolean {
  return networking.kind === "host";
}
