// The deploy model's arithmetic, on graphs small enough to check by hand.
import { restrictToHost, schedule } from "../bench/graph";
import { latencyKey, latencyOf, rollLatencyOf } from "../bench/latencies";
import { TOKENS } from "../tencentcloud/bindings";

const node = (urn: string, seconds: number, deps: string[] = []) => ({ urn, type: "t", deps, seconds });

test("makespan is the longest path; serial is the sum", () => {
  const s = schedule([node("a", 5), node("b", 10, ["a"]), node("c", 1, ["a"]), node("d", 2, ["b", "c"])]);
  expect(s.makespan).toBe(17);
  expect(s.criticalPath).toEqual(["a", "b", "d"]);
  expect(s.serial).toBe(18);
});

test("dependencies on components (no node) cost nothing; cycles are reported", () => {
  expect(schedule([node("a", 3, ["component"])]).makespan).toBe(3);
  expect(() => schedule([node("a", 1, ["b"]), node("b", 1, ["a"])])).toThrow(/cycle/);
});

test("restricting to one host drops other hosts and edges to them", () => {
  const hostOf = (u: string) => (u.startsWith("h") ? Number(u[1]) : undefined);
  const g = [node("shared", 5), node("h1", 10, ["shared"]), node("h2", 30, ["shared"]), node("h1b", 1, ["h1", "h2"])];
  const one = restrictToHost(g, hostOf, 1);
  expect(one.map((n) => n.urn)).toEqual(["shared", "h1", "h1b"]);
  expect(schedule(one).makespan).toBe(16);
  expect(schedule(g).makespan).toBe(36);
});

test("every resource type the program declares has a latency, on both routes", () => {
  for (const route of ["terraform", "bridged"] as const) {
    // getImages is an invoke, not a resource: it has no create step.
    for (const [kind, token] of Object.entries(TOKENS[route])) {
      if (kind === "getImages") continue;
      expect(() => latencyOf(token)).not.toThrow();
    }
  }
  expect(latencyKey("pulumi:providers:docker")).toBe("docker:Provider");
  expect(latencyKey("pulumi-nodejs:dynamic/tikv-cvm:RolloutGate")).toBe("tikv-cvm:RolloutGate");
  expect(latencyKey("docker:index/container:Container")).toBe("docker:Container");
});

test("a rolling replacement tells a host's gates from a member's, and refuses an unmodelled type", () => {
  const gate = "pulumi-nodejs:dynamic/tikv-cvm:RolloutGate";
  expect(rollLatencyOf(gate, "tikv-bench-cluster-tikv-host-2-before")).toBe(30);
  expect(rollLatencyOf(gate, "tikv-bench-cluster-tikv-host-2-after")).toBe(30);
  expect(rollLatencyOf(gate, "tikv-bench-cluster-tikv2-after")).toBe(5);
  expect(rollLatencyOf(TOKENS.bridged.instance, "x")).toBe(235);
  expect(() => rollLatencyOf("docker:index/volume:Volume", "x")).toThrow(/no rolling-replacement latency/);
});
