// Which members take part in the rollout chain and where each PD member stands in it.
import { chainedMembers, hostGateTarget, pdMembers, pdPlace, rolloutInput, rolloutOrder } from "../lib/rolloutChain";
import { LastDeployment } from "../lib/lastDeployment";
import { planCluster } from "../lib/topology";

const plan = (nodes: number, pds: number) =>
  planCluster(nodes, pds, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3"] }, true);
const last = (members: string[]): LastDeployment => ({ members, storeAddresses: [] });

test("rollout order is TiUP's: PD members in host order, then every store", () => {
  expect(rolloutOrder(plan(4, 3))).toEqual(["pd1", "pd2", "pd3", "tikv1", "tikv2", "tikv3", "tikv4"]);
  expect(pdMembers(plan(4, 1))).toEqual(["pd1"]);
});

test("a first deployment chains nothing: every member is created in parallel", () => {
  expect(chainedMembers(plan(3, 3), last([]))).toEqual([]);
});

test("a running cluster chains its members; new PD members join one by one, new stores start in parallel", () => {
  const three = ["pd1", "pd2", "pd3", "tikv1", "tikv2", "tikv3"];
  expect(chainedMembers(plan(3, 3), last(three))).toEqual(three);
  expect(chainedMembers(plan(5, 5), last(three))).toEqual([
    "pd1",
    "pd2",
    "pd3",
    "pd4",
    "pd5",
    "tikv1",
    "tikv2",
    "tikv3",
  ]);
});

test("a PD member's place: earlier members are rolled, later ones pending", () => {
  expect(pdPlace(plan(3, 3), "pd1")).toEqual({ rolled: [], pending: ["pd2", "pd3"] });
  expect(pdPlace(plan(3, 3), "pd2")).toEqual({ rolled: ["pd1"], pending: ["pd3"] });
  expect(pdPlace(plan(3, 3), "pd3")).toEqual({ rolled: ["pd1", "pd2"], pending: [] });
  expect(() => pdPlace(plan(3, 1), "pd2")).toThrow(/pd2 is not a PD member/);
});

test("a host gate drains its store and, where it runs one, its PD member, placed in host order", () => {
  expect(hostGateTarget(plan(4, 3), 2)).toEqual({
    member: "10.0.1.12:20160",
    pdMember: "pd2",
    rolled: ["pd1"],
    pending: ["pd3"],
  });
  expect(hostGateTarget(plan(4, 3), 4)).toEqual({ member: "10.0.1.14:20160", pdMember: undefined });
});

test("the rollout plan's input carries roll keys only when given", () => {
  const input = rolloutInput(plan(3, 3), last(["pd1", "tikv1"]));
  expect(input.keys).toBeUndefined();
  expect(input.chained).toEqual(["pd1", "pd2", "pd3", "tikv1"]);
  expect(rolloutInput(plan(3, 3), last([]), { "tikv-host-1": "abc" }).keys).toEqual({ "tikv-host-1": { roll: "abc" } });
});
