// Which rollout gate waits for which, and what each gate is told: the rule components/tikvCluster.ts
// turns into dependsOn. Pure. lib/rolloutPlan.ts decides the order of deployed members and hosts;
// this module says which members take part and where each PD member stands in the order.
import { LastDeployment } from "./lastDeployment";
import { HostKeys, RolloutInput } from "./rolloutPlan";
import { ClusterPlan, PORTS } from "./topology";

/** Where a PD member stands in a roll: members already on the new spec, and those after it. */
export interface PdPlace {
  readonly rolled: readonly string[];
  readonly pending: readonly string[];
}

/** PD members in host order: the order they roll in. */
export function pdMembers(plan: ClusterPlan): string[] {
  return plan.hosts.flatMap((h) => (h.pdName ? [h.pdName] : []));
}

/** Every member in rollout order (TiUP's): PD members, then TiKV stores. */
export function rolloutOrder(plan: ClusterPlan): string[] {
  return [...pdMembers(plan), ...plan.hosts.map((h) => h.tikvName)];
}

/** A PD member's place among the PD members: the ones before it have rolled, the rest are pending. */
export function pdPlace(plan: ClusterPlan, pdName: string): PdPlace {
  const names = pdMembers(plan);
  const at = names.indexOf(pdName);
  if (at < 0) throw new Error(`${pdName} is not a PD member of this cluster`);
  return { rolled: names.slice(0, at), pending: names.slice(at + 1) };
}

/**
 * Members that change one at a time: those the last deployment had, and PD members joining a
 * running cluster (PD admits one new member at a time). A first deployment, and stores added by
 * scaling out, are created in parallel.
 */
export function chainedMembers(plan: ClusterPlan, last: LastDeployment): string[] {
  const deployed = new Set(last.members);
  const clusterExists = last.members.some((m) => m.startsWith("pd"));
  return rolloutOrder(plan).filter((m) => deployed.has(m) || (clusterExists && m.startsWith("pd")));
}

/**
 * The rollout plan's input. `rollKeys` are this deployment's CVM roll keys by host name, given
 * only when every host is a CVM made here and something is deployed: a first deployment then
 * waits for nothing it does not need.
 */
export function rolloutInput(
  plan: ClusterPlan,
  last: LastDeployment,
  rollKeys?: Readonly<Record<string, string>>,
): RolloutInput {
  const keys: Record<string, HostKeys> | undefined =
    rollKeys && Object.fromEntries(Object.entries(rollKeys).map(([host, roll]) => [host, { roll }]));
  return {
    hosts: plan.hosts.map((h) => ({ index: h.index, name: h.name, pdName: h.pdName, tikvName: h.tikvName })),
    deployedMembers: last.members,
    chained: chainedMembers(plan, last),
    lastKeys: last.hosts,
    ...(keys ? { keys } : {}),
  };
}

/** What a host gate is told: its store, its PD member and where that member stands. */
export function hostGateTarget(
  plan: ClusterPlan,
  hostIndex: number,
): { member: string; pdMember?: string } & Partial<PdPlace> {
  const host = plan.hosts[hostIndex - 1];
  return {
    member: `${host.tikvHost}:${PORTS.tikv}`,
    pdMember: host.pdName,
    // Hosts roll in host order: PD members of earlier hosts are on the new spec already.
    ...(host.pdName ? pdPlace(plan, host.pdName) : {}),
  };
}
