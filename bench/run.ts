// `npm run bench`: what users wait on. Prints the deploy model's figures for 3, 5, 9 and 15 nodes
// and the program's own evaluation cost for 3, 9 and 20 nodes, then RESULT lines.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { GraphNode, restrictToHost, schedule } from "./graph";
import { LATENCY_S, ROLL_S, rollLatencyOf } from "./latencies";
import type { Evaluation, LastOutputs, Mode } from "./evaluate";

const MODEL_SIZES = [3, 5, 9, 15];
const ROLL_SIZES = [3, 9];
const COST_SIZES = [3, 9, 20];
const RUNS = 5;

/** One evaluation in a fresh process; later deployments read `last`'s outputs back, as the stack does. */
function evaluate(nodeCount: number, mode: Mode = "first", last?: Evaluation): Evaluation {
  const args = [path.join(__dirname, "evaluate.js"), String(nodeCount), mode];
  if (last) {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-")), "outputs.json");
    const next: LastOutputs = { outputs: last.outputs, secretOutputs: last.secretOutputs };
    fs.writeFileSync(file, JSON.stringify(next));
    args.push(file);
  }
  const out = execFileSync(process.execPath, args, {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split("\n").pop() ?? "") as Evaluation;
}

/** The roll's graph, each resource weighted by its step: changed inputs take ROLL_S, the rest nothing. */
function rollGraph(before: Evaluation, roll: Evaluation): GraphNode[] {
  return roll.graph.map((n) => ({
    ...n,
    seconds: before.inputs[n.urn] === roll.inputs[n.urn] ? 0 : rollLatencyOf(n.type, n.urn.split("::").pop() ?? ""),
  }));
}

/** Host index of a resource, from the names the program gives them; undefined when shared. */
function hostOf(urn: string): number | undefined {
  const name = urn.split("::").pop() ?? "";
  const m = /^tikv-bench-(\d+)(?:-|$)/.exec(name) ?? /-cluster-(?:pd|tikv)(\d+)(?:-|$)/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const results: string[] = [];

console.log("Latency model (seconds per create step)");
for (const [type, s] of Object.entries(LATENCY_S)) console.log(`  ${type.padEnd(36)}${pad(s, 6)}`);

console.log("\nDeploy model (unlimited parallelism)");
console.log(
  `  ${"nodes".padEnd(6)}${pad("resources", 10)}${pad("makespan_s", 12)}${pad("critical_s", 12)}${pad("serial_s", 10)}${pad("ratio", 8)}`,
);
const makespans = new Map<number, number>();
let criticalExample: readonly string[] = [];
for (const n of MODEL_SIZES) {
  const { graph } = evaluate(n);
  const all = schedule(graph);
  const one = schedule(restrictToHost(graph, hostOf, 1));
  const ratio = all.makespan / one.makespan;
  makespans.set(n, all.makespan);
  if (n === 3) criticalExample = one.criticalPath;
  console.log(
    `  ${String(n).padEnd(6)}${pad(graph.length, 10)}${pad(all.makespan.toFixed(1), 12)}${pad(one.makespan.toFixed(1), 12)}${pad(all.serial.toFixed(1), 10)}${pad(ratio.toFixed(3), 8)}`,
  );
  results.push(
    `RESULT makespan_s n=${n} ${all.makespan.toFixed(1)}`,
    `RESULT critical_s n=${n} ${one.makespan.toFixed(1)}`,
    `RESULT serial_s n=${n} ${all.serial.toFixed(1)}`,
    `RESULT makespan_ratio n=${n} ${ratio.toFixed(3)}`,
  );
}
console.log(`  makespan(15) / makespan(3) = ${(makespans.get(15)! / makespans.get(3)!).toFixed(3)}`);
console.log("  critical chain of one host:");
for (const urn of criticalExample) console.log(`    ${urn}`);
// The same graph with the rolling chain in it, as later deployments have it: this is the edge
// that would serialize hosts if it were applied to a first deployment.
const chainedRows = [3, 15].map(
  (n) => `${n} nodes ${schedule(evaluate(n, "chained", evaluate(n)).graph).makespan.toFixed(1)} s`,
);
console.log(`  with the member-by-member chain of later deployments: ${chainedRows.join(", ")}`);

console.log("\nRolling host replacement (every Docker server certificate renewed: each CVM replaced, host by host)");
for (const [type, s] of Object.entries(ROLL_S)) console.log(`  ${type.padEnd(36)}${pad(s, 6)}`);
console.log(
  `  ${"nodes".padEnd(6)}${pad("changed", 10)}${pad("makespan_s", 12)}${pad("per_host_s", 12)}${pad("first_s", 10)}`,
);
for (const n of ROLL_SIZES) {
  const first = evaluate(n);
  const graph = rollGraph(first, evaluate(n, "roll", first));
  const roll = schedule(graph);
  const changed = graph.filter((g) => g.seconds > 0).length;
  console.log(
    `  ${String(n).padEnd(6)}${pad(changed, 10)}${pad(roll.makespan.toFixed(1), 12)}${pad((roll.makespan / n).toFixed(1), 12)}${pad(makespans.get(n)!.toFixed(1), 10)}`,
  );
  results.push(`RESULT roll_makespan_s n=${n} ${roll.makespan.toFixed(1)}`);
  if (n === ROLL_SIZES[0]) {
    console.log("  critical chain:");
    for (const urn of roll.criticalPath.filter((u) => graph.find((g) => g.urn === u)!.seconds > 0))
      console.log(`    ${urn}`);
  }
}

console.log(`\nProgram cost (evaluation under mocks, median of ${RUNS} runs, each in a fresh process)`);
console.log(`  ${"nodes".padEnd(6)}${pad("resources", 10)}${pad("eval_ms", 10)}${pad("peak_mb", 10)}`);
for (const n of COST_SIZES) {
  const runs = Array.from({ length: RUNS }, () => evaluate(n));
  const ms = median(runs.map((r) => r.evalMs));
  const mb = median(runs.map((r) => r.maxRssMb));
  console.log(
    `  ${String(n).padEnd(6)}${pad(runs[0].resources, 10)}${pad(ms.toFixed(0), 10)}${pad(mb.toFixed(1), 10)}`,
  );
  results.push(`RESULT eval_ms n=${n} ${ms.toFixed(0)}`, `RESULT eval_mb n=${n} ${mb.toFixed(1)}`);
}

console.log("");
for (const line of results) console.log(line);
