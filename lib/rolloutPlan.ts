// The order a deployment changes running members and hosts in, decided from the stack's own last
// outputs and the new host keys. Pure: components/tikvCluster.ts turns the links into dependsOn.
//
// Two shapes, because one order cannot serve both kinds of change (README, "Changing, re-imaging and
// replacing hosts"):
// - members: a deployment that only changes containers rolls them in TiUP's order, every PD member
//   first, then every TiKV store, one at a time.
// - hosts: a deployment that changes any CVM (its user data, image, type, disk) goes host by host,
//   each host drained, changed, and healthy again (both its members) before the next is touched. A
//   replaced CVM takes both its containers with it, so a PD-first order would leave two stores down.
// Members and hosts that were not deployed yet (a first deployment, a scale-out) stay out of both
// chains and are created in parallel, except PD members joining a running cluster, one by one.
import { createHash } from "crypto";

/** What a deployment records of each CVM (stack output `hostRollout`) for the next one to compare. */
export interface HostKeys {
  /** Digest of every CVM input that restarts, reinstalls or replaces it. */
  readonly roll: string;
}

/** A CVM host as the last deployment left it (stack output `hostRollout`, secret). */
export interface DeployedHost extends HostKeys {
  /** Termination protection as deployed: the cloud refuses to delete the CVM while it is on. */
  readonly terminationProtection: boolean;
  /** The user data as deployed: re-sent unchanged while a replacement is held back. */
  readonly userData: string;
}

export interface RolloutHost {
  readonly index: number;
  readonly name: string;
  readonly pdName?: string;
  readonly tikvName: string;
}

export interface RolloutInput {
  readonly hosts: readonly RolloutHost[];
  /** Members (pd1.., tikv1..) after the last deployment, from its `rolloutOrder` output. */
  readonly deployedMembers: readonly string[];
  /**
   * Members that run one at a time: the deployed ones and PD members joining a running cluster
   * (they must join one by one). Defaults to the deployed members.
   */
  readonly chained?: readonly string[];
  /** Host keys of the last deployment (its `hostRollout` output); undefined when it had none. */
  readonly lastKeys?: Readonly<Record<string, HostKeys>>;
  /** This deployment's host keys; undefined where hosts are not CVMs made here (modes local, existing). */
  readonly keys?: Readonly<Record<string, HostKeys>>;
}

/** A gate of the chain: a member's before/after gate or a host's. */
export type RolloutNode = `${"before" | "after"}:${string}` | `host-${"before" | "after"}:${number}`;

/** Plain data (it travels through Outputs, which would flatten a Map or a Set). */
export interface RolloutPlan {
  readonly shape: "members" | "hosts";
  /** Deployed hosts whose CVM changes in this deployment. */
  readonly rolling: readonly string[];
  /** For each node, the nodes it waits for. Nodes not listed wait for nothing. */
  readonly links: Readonly<Partial<Record<RolloutNode, readonly RolloutNode[]>>>;
  /** TiKV members whose container waits for every PD container. */
  readonly tikvAwaitingPd: readonly string[];
}

/** A digest that stands for a value in the state: short, stable, and no way back to the value. */
export function digest(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

/**
 * Hosts whose CVM changes: any deployed host whose roll key differs from the last deployment's,
 * or every deployed host when the last deployment recorded none (it cannot be told otherwise).
 */
function rollingHosts(input: RolloutInput, deployedHosts: readonly RolloutHost[]): string[] {
  if (input.keys === undefined) return [];
  return deployedHosts
    .filter((h) => {
      const now = input.keys?.[h.name];
      return now !== undefined && input.lastKeys?.[h.name]?.roll !== now.roll;
    })
    .map((h) => h.name);
}

export function planRollout(input: RolloutInput): RolloutPlan {
  const deployed = new Set(input.deployedMembers);
  const chained = new Set(input.chained ?? input.deployedMembers);
  const deployedHosts = input.hosts.filter((h) => deployed.has(h.tikvName));
  const rolling = rollingHosts(input, deployedHosts);
  const links: Partial<Record<RolloutNode, RolloutNode[]>> = {};
  const link = (node: RolloutNode, ...after: RolloutNode[]) => {
    links[node] = [...(links[node] ?? []), ...after];
  };
  // TiUP's order: PD members, then stores.
  const order = [...input.hosts.flatMap((h) => (h.pdName ? [h.pdName] : [])), ...input.hosts.map((h) => h.tikvName)];

  if (rolling.length > 0) {
    let previous: RolloutNode | undefined;
    const inHostSteps = new Set<string>();
    for (const h of deployedHosts) {
      if (previous) link(`host-before:${h.index}`, previous);
      let last: RolloutNode = `host-before:${h.index}`;
      if (h.pdName !== undefined && chained.has(h.pdName)) {
        link(`before:${h.pdName}`, last);
        last = `after:${h.pdName}`;
        inHostSteps.add(h.pdName);
      }
      link(`before:${h.tikvName}`, last);
      inHostSteps.add(h.tikvName);
      previous = `host-after:${h.index}`;
    }
    // PD members joining on new hosts, after every host, one by one.
    let after: RolloutNode | undefined = previous;
    for (const member of order.filter((m) => chained.has(m) && !inHostSteps.has(m))) {
      if (after) link(`before:${member}`, after);
      after = `after:${member}`;
    }
    // A running store waits for no PD container: during a host-by-host roll that would be a later host's.
    return {
      shape: "hosts",
      rolling,
      links,
      tikvAwaitingPd: input.hosts.map((h) => h.tikvName).filter((m) => !deployed.has(m)),
    };
  }

  let previous: string | undefined;
  for (const member of order.filter((m) => chained.has(m))) {
    if (previous) link(`before:${member}`, `after:${previous}`);
    previous = member;
  }
  return { shape: "members", rolling, links, tikvAwaitingPd: input.hosts.map((h) => h.tikvName) };
}
