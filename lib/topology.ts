// Where everything runs: host names, addresses, PD members and the URLs that wire PD and TiKV
// together. Pure, so the exact flags are tested without Pulumi.
import { addressAt, parseCidr } from "./ipv4";
import { LOCAL_ZONE, UNKNOWN_ZONE, zoneOfHost, zoneSubnetCidr } from "./placement";
import { FIRST_HOST_OFFSET } from "./settings";

export const PORTS = {
  docker: 2376,
  ssh: 22,
  pdClient: 2379,
  pdPeer: 2380,
  /**
   * PD's client gateway beside each PD member (lib/pdGateway.ts): where application clients reach
   * PD, since PD itself admits no client certificate. Inside the VPC only.
   */
  pdClientGateway: 2389,
  tikv: 20160,
  tikvStatus: 20180,
  prometheus: 9090,
  grafana: 3000,
  /** Alertmanager's API, on loopback (or the cluster network) only: Prometheus posts alerts to it. */
  alertmanager: 9093,
} as const;

/**
 * How hosts are addressed: fixed IPs in one subnet per zone (cvm: `subnetCidr` is the first zone's,
 * see lib/placement.ts zoneSubnetCidr), listed IPs (existing), container names (local).
 */
export type Addressing =
  | { readonly kind: "subnet"; readonly subnetCidr: string; readonly zones: readonly string[] }
  | {
      readonly kind: "listed";
      readonly hosts: readonly { readonly name: string; readonly privateIp: string; readonly zone?: string }[];
    }
  | { readonly kind: "containers" };

export interface HostPlan {
  /** 1-based, stable: host i keeps its name and address when the cluster grows. */
  readonly index: number;
  /** Resource name and OS hostname. */
  readonly name: string;
  /** PD member name when this host runs PD. */
  readonly pdName?: string;
  readonly tikvName: string;
  /** Address PD advertises to its peers and clients. */
  readonly pdHost: string;
  /** Address TiKV advertises. */
  readonly tikvHost: string;
  /** The host's private IP; undefined when components are addressed by container name. */
  readonly privateIp?: string;
  /** Its zone: the CVM's availability zone, a listed host's `zone`, or LOCAL_ZONE / UNKNOWN_ZONE. */
  readonly zone: string;
}

export interface ClusterPlan {
  readonly hosts: readonly HostPlan[];
  /** "https" when the components talk mutual TLS. */
  readonly scheme: "http" | "https";
  /** `--initial-cluster` value: every PD member by peer URL. */
  readonly initialCluster: string;
  /** `--pd` value for TiKV: every PD client endpoint. */
  readonly pdEndpoints: readonly string[];
  readonly tikvAddresses: readonly string[];
}

function hostAddresses(addressing: Addressing, index: number): { name: string; privateIp?: string; zone: string } {
  switch (addressing.kind) {
    case "subnet": {
      // Each host keeps its offset whatever its zone, so addresses stay unique across the subnets.
      const zone = zoneOfHost(addressing.zones, index);
      const cidr = zoneSubnetCidr(addressing.subnetCidr, addressing.zones.indexOf(zone));
      const subnet = cidr === undefined ? undefined : parseCidr(cidr);
      if (!subnet) throw new Error(`invalid subnet ${addressing.subnetCidr} for zone ${zone}`);
      return { name: `tikv-host-${index}`, privateIp: addressAt(subnet, FIRST_HOST_OFFSET + index - 1), zone };
    }
    case "listed": {
      const listed = addressing.hosts[index - 1];
      return { name: listed.name, privateIp: listed.privateIp, zone: listed.zone ?? UNKNOWN_ZONE };
    }
    case "containers":
      return { name: `local-${index}`, zone: LOCAL_ZONE };
    default: {
      const never: never = addressing;
      throw new Error(`unknown addressing ${JSON.stringify(never)}`);
    }
  }
}

export function planCluster(nodeCount: number, pdCount: number, addressing: Addressing, tls: boolean): ClusterPlan {
  const hosts: HostPlan[] = [];
  for (let index = 1; index <= nodeCount; index++) {
    const { name, privateIp, zone } = hostAddresses(addressing, index);
    const pdName = index <= pdCount ? `pd${index}` : undefined;
    const tikvName = `tikv${index}`;
    hosts.push({
      index,
      name,
      pdName,
      tikvName,
      privateIp,
      zone,
      // On a shared user-defined network each container is reached by its own name.
      pdHost: privateIp ?? pdName ?? "",
      tikvHost: privateIp ?? tikvName,
    });
  }
  const scheme = tls ? "https" : "http";
  const pdHosts = hosts.filter((h) => h.pdName !== undefined);
  return {
    hosts,
    scheme,
    initialCluster: pdHosts.map((h) => `${h.pdName}=${scheme}://${h.pdHost}:${PORTS.pdPeer}`).join(","),
    pdEndpoints: pdHosts.map((h) => `${h.pdHost}:${PORTS.pdClient}`),
    tikvAddresses: hosts.map((h) => `${h.tikvHost}:${PORTS.tikv}`),
  };
}
