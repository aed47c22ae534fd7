// Where everything runs: host names, fixed private addresses, PD members and the URLs that wire
// PD and TiKV together. Pure, so the exact flags are tested without Pulumi.
import { addressAt, parseCidr } from "./ipv4";
import { FIRST_HOST_OFFSET } from "./settings";

export const PORTS = {
  docker: 2376,
  ssh: 22,
  pdClient: 2379,
  pdPeer: 2380,
  tikv: 20160,
  tikvStatus: 20180,
} as const;

export interface HostPlan {
  /** 1-based, stable: host i keeps its name and address when the cluster grows. */
  readonly index: number;
  /** Resource name and OS hostname. */
  readonly name: string;
  readonly privateIp: string;
  /** PD member name when this host runs PD. */
  readonly pdName?: string;
  readonly tikvName: string;
}

export interface ClusterPlan {
  readonly hosts: readonly HostPlan[];
  /** `--initial-cluster` value: every PD member by peer URL. */
  readonly initialCluster: string;
  /** `--pd` value for TiKV: every PD client endpoint. */
  readonly pdEndpoints: readonly string[];
  readonly tikvAddresses: readonly string[];
}

export function planCluster(nodeCount: number, pdCount: number, subnetCidr: string): ClusterPlan {
  const subnet = parseCidr(subnetCidr);
  if (!subnet) throw new Error(`invalid subnet ${subnetCidr}`);
  const hosts: HostPlan[] = [];
  for (let index = 1; index <= nodeCount; index++) {
    hosts.push({
      index,
      name: `tikv-host-${index}`,
      privateIp: addressAt(subnet, FIRST_HOST_OFFSET + index - 1),
      pdName: index <= pdCount ? `pd${index}` : undefined,
      tikvName: `tikv${index}`,
    });
  }
  const pdHosts = hosts.filter((h) => h.pdName !== undefined);
  return {
    hosts,
    initialCluster: pdHosts.map((h) => `${h.pdName}=${pdPeerUrl(h)}`).join(","),
    pdEndpoints: pdHosts.map((h) => `${h.privateIp}:${PORTS.pdClient}`),
    tikvAddresses: hosts.map((h) => `${h.privateIp}:${PORTS.tikv}`),
  };
}

export function pdPeerUrl(host: HostPlan): string {
  return `http://${host.privateIp}:${PORTS.pdPeer}`;
}

export function pdClientUrl(host: HostPlan): string {
  return `http://${host.privateIp}:${PORTS.pdClient}`;
}
