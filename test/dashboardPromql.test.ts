// Every query of the Grafana dashboard the program uploads, parsed by the Prometheus project's own
// PromQL grammar (@prometheus-io/lezer-promql, the parser of Prometheus's web UI) in strict mode:
// a query Prometheus would refuse fails here, whatever the hand-written checks in
// dashboard.test.ts look for.
import { parser } from "@prometheus-io/lezer-promql";
import type { SyntaxNode } from "@lezer/common";
import { byName, runProgram, unwrap } from "./support/harness";

const strict = parser.configure({ strict: true });

/**
 * Functions whose argument is a range vector (`x[1m]` or a subquery), as Prometheus declares them
 * (prometheus/prometheus promql/parser/functions.go, ArgTypes ValueTypeMatrix); given an instant
 * vector Prometheus refuses the query ("expected type range vector").
 */
const RANGE_FUNCTIONS = new Set([
  "rate",
  "irate",
  "increase",
  "delta",
  "idelta",
  "deriv",
  "changes",
  "resets",
  "predict_linear",
  "holt_winters",
  "avg_over_time",
  "min_over_time",
  "max_over_time",
  "sum_over_time",
  "count_over_time",
  "quantile_over_time",
  "stddev_over_time",
  "stdvar_over_time",
  "last_over_time",
  "present_over_time",
  "absent_over_time",
]);

/** Problems Prometheus would report for `expr`: a syntax error, or an instant vector where a range is needed. */
function problems(expr: string): string[] {
  let tree;
  try {
    tree = strict.parse(expr);
  } catch (err) {
    return [`syntax: ${(err as Error).message}`];
  }
  const found: string[] = [];
  tree.iterate({
    enter: (ref) => {
      if (ref.name !== "FunctionCall") return;
      const node: SyntaxNode = ref.node;
      const name = expr.slice(node.getChild("FunctionIdentifier")!.from, node.getChild("FunctionIdentifier")!.to);
      if (!RANGE_FUNCTIONS.has(name)) return;
      const body = node.getChild("FunctionCallBody")!;
      const args: SyntaxNode[] = [];
      for (let c = body.firstChild; c; c = c.nextSibling) args.push(c);
      // quantile_over_time(φ, range); every other one takes the range first.
      const arg = args[name === "quantile_over_time" ? 1 : 0];
      if (!arg || !["MatrixSelector", "SubqueryExpr"].includes(arg.name)) {
        found.push(
          `${name}() needs a range vector, got ${arg ? `${arg.name} ${expr.slice(arg.from, arg.to)}` : "nothing"}`,
        );
      }
    },
  });
  return found;
}

test("the oracle refuses broken queries (it can fail)", () => {
  expect(problems('sum(pd_cluster_status{type="store_up_count"}')).toEqual([expect.stringMatching(/^syntax/)]);
  expect(problems("sum by (le type) (x)")).toEqual([expect.stringMatching(/^syntax/)]);
  expect(problems('x{job=~"pd|tikv}')).toEqual([expect.stringMatching(/^syntax/)]);
  expect(problems("rate(x)")).toEqual(["rate() needs a range vector, got VectorSelector x"]);
  expect(problems("quantile_over_time(0.9, x)")).toEqual([
    "quantile_over_time() needs a range vector, got VectorSelector x",
  ]);
  expect(problems("histogram_quantile(0.99, sum by (le) (rate(x_bucket[1m])))")).toEqual([]);
  expect(problems("quantile_over_time(0.9, x[5m]) + max_over_time(rate(x[1m])[5m:1m])")).toEqual([]);
});

test("every query on the uploaded dashboard is valid PromQL", async () => {
  const run = await runProgram();
  const grafana = byName(run, "tikv-dev-monitoring-grafana");
  const uploads = unwrap(grafana.inputs.uploads) as { file: string; content?: string }[];
  const dashboards = uploads.filter((u) => u.file.endsWith(".json"));
  expect(dashboards).toHaveLength(1);
  const dashboard = JSON.parse(dashboards[0].content!) as { panels: { title: string; targets: { expr: string }[] }[] };
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
  expect(dashboard.panels.every((p) => p.targets.length > 0)).toBe(true);
  expect(exprs.length).toBeGreaterThanOrEqual(dashboard.panels.length);
  for (const { panel, expr } of exprs) expect([panel, expr, problems(expr)]).toEqual([panel, expr, []]);
});
