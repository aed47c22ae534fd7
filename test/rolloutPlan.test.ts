// The rollout planner alone: which gates wait for which, from the last deployment's outputs.
import { HostKeys, RolloutInput, RolloutPlan, digest, planRollout } from "../lib/rolloutPlan";

const host = (index: number, pd = index <= 3) => ({
  index,
  name: `tikv-host-${index}`,
  pdName: pd ? `pd${index}` : undefined,
  tikvName: `tikv${index}`,
});
const HOSTS = [1, 2, 3].map((i) => host(i));
const MEMBERS = ["pd1", "pd2", "pd3", "tikv1", "tikv2", "tikv3"];
const keys = (roll: (name: string) => string, hosts = HOSTS): Record<string, HostKeys> =>
  Object.fromEntries(hosts.map((h) => [h.name, { roll: roll(h.name) }]));
const SAME = keys((n) => `k-${n}`);

function plan(input: Partial<RolloutInput>): RolloutPlan {
  return planRollout({ hosts: HOSTS, deployedMembers: MEMBERS, lastKeys: SAME, keys: SAME, ...input });
}

test("a first deployment links nothing: every member and host is created in parallel, stores after PD", () => {
  const p = plan({ deployedMembers: [], lastKeys: undefined });
  expect(p.links).toEqual({});
  expect(p.tikvAwaitingPd).toEqual(["tikv1", "tikv2", "tikv3"]);
});

test("container changes only: TiUP's order, PD members then stores, one after another", () => {
  const p = plan({});
  // Stores wait for PD containers, as on a first deployment (PD first; no cycle in this shape).
  expect(p).toMatchObject({ shape: "members", rolling: [], tikvAwaitingPd: ["tikv1", "tikv2", "tikv3"] });
  expect(p.links).toEqual({
    "before:pd2": ["after:pd1"],
    "before:pd3": ["after:pd2"],
    "before:tikv1": ["after:pd3"],
    "before:tikv2": ["after:tikv1"],
    "before:tikv3": ["after:tikv2"],
  });
});

test("any CVM change: host by host, each host's PD then its store inside the host's own gates", () => {
  const p = plan({ keys: keys((n) => `new-${n}`) });
  expect(p).toMatchObject({ shape: "hosts", rolling: ["tikv-host-1", "tikv-host-2", "tikv-host-3"] });
  expect(p.links).toEqual({
    "before:pd1": ["host-before:1"],
    "before:tikv1": ["after:pd1"],
    "host-before:2": ["host-after:1"],
    "before:pd2": ["host-before:2"],
    "before:tikv2": ["after:pd2"],
    "host-before:3": ["host-after:2"],
    "before:pd3": ["host-before:3"],
    "before:tikv3": ["after:pd3"],
  });
  // No running store waits for PD containers: that edge would point at a later host.
  expect(p.tikvAwaitingPd).toEqual([]);
});

test("one changed CVM still rolls the deployment host by host, and names only that host as changing", () => {
  const p = plan({ keys: keys((n) => (n === "tikv-host-2" ? "new" : `k-${n}`)) });
  expect(p.shape).toBe("hosts");
  expect(p.rolling).toEqual(["tikv-host-2"]);
});

test("hosts without PD join the host chain with their store alone", () => {
  const five = [1, 2, 3, 4, 5].map((i) => host(i));
  const members = [...MEMBERS, "tikv4", "tikv5"];
  const p = plan({
    hosts: five,
    deployedMembers: members,
    lastKeys: keys((n) => n, five),
    keys: keys((n) => `x${n}`, five),
  });
  expect(p.links["host-before:4"]).toEqual(["host-after:3"]);
  expect(p.links["before:tikv4"]).toEqual(["host-before:4"]);
  expect(p.links["before:tikv5"]).toEqual(["host-before:5"]);
});

test("scaling out: new hosts and stores stay out of the chains and wait for PD", () => {
  const five = [1, 2, 3, 4, 5].map((i) => host(i));
  const current = keys((n) => `k-${n}`, five);
  const same = plan({ hosts: five, keys: current });
  expect(same.shape).toBe("members");
  expect(same.tikvAwaitingPd).toEqual(expect.arrayContaining(["tikv4", "tikv5"]));
  expect(Object.keys(same.links).filter((n) => /4|5/.test(n))).toEqual([]);
  const rolling = plan({ hosts: five, keys: keys((n) => `new-${n}`, five) });
  expect(rolling.rolling).toEqual(["tikv-host-1", "tikv-host-2", "tikv-host-3"]);
  expect(Object.keys(rolling.links).filter((n) => /4|5/.test(n))).toEqual([]);
  expect(rolling.tikvAwaitingPd).toEqual(["tikv4", "tikv5"]);
});

test("hosts not made here (modes local, existing) only ever roll members", () => {
  const p = plan({ keys: undefined, lastKeys: undefined });
  expect(p.shape).toBe("members");
});

test("with no roll keys recorded, every deployed CVM counts as changing: host by host, the safe shape", () => {
  const p = plan({ lastKeys: undefined });
  expect(p.shape).toBe("hosts");
  expect(p.rolling).toEqual(["tikv-host-1", "tikv-host-2", "tikv-host-3"]);
  expect(plan({ deployedMembers: [], lastKeys: undefined }).links).toEqual({});
});

test("PD members joining a running cluster are chained one by one, in either shape", () => {
  const five = [1, 2, 3, 4, 5].map((i) => host(i, true));
  const deployedMembers = [...MEMBERS, "tikv4", "tikv5"];
  const chained = [...deployedMembers, "pd4", "pd5"];
  const steady = plan({
    hosts: five,
    deployedMembers,
    chained,
    lastKeys: keys((n) => n, five),
    keys: keys((n) => n, five),
  });
  expect(steady.links["before:pd4"]).toEqual(["after:pd3"]);
  expect(steady.links["before:pd5"]).toEqual(["after:pd4"]);
  const rolling = plan({
    hosts: five,
    deployedMembers,
    chained,
    lastKeys: keys((n) => n, five),
    keys: keys((n) => `x${n}`, five),
  });
  // On hosts 4 and 5, deployed: inside their host steps.
  expect(rolling.links["before:pd4"]).toEqual(["host-before:4"]);
  expect(rolling.links["before:tikv5"]).toEqual(["after:pd5"]);
});

test("digest: stable, short, and different for different values", () => {
  expect(digest({ a: 1 })).toBe(digest({ a: 1 }));
  expect(digest({ a: 1 })).toMatch(/^[0-9a-f]{16}$/);
  expect(digest({ a: 1 })).not.toBe(digest({ a: 2 }));
});
