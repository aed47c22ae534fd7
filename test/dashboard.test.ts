// Every dashboard query against the metric shapes PD and TiKV v8.5.7 export, and the store
// panels evaluated over the series a healthy and an unhealthy 3-store cluster produce.
import { DASHBOARD_PANELS } from "../lib/monitoringConfig";

/**
 * Metric names and labels as the sources register them. Prometheus adds `job` and `instance` to
 * every series; histograms add `le` to _bucket.
 */
const SHAPES: Record<string, { labels: string[]; source: string }> = {
  pd_cluster_status: {
    labels: ["type", "engine", "store"],
    source: "tikv/pd pkg/statistics/metrics.go clusterStatusGauge",
  },
  pd_scheduler_store_status: {
    labels: ["address", "store", "type"],
    source: "tikv/pd pkg/statistics/metrics.go storeStatusGauge",
  },
  tikv_grpc_msg_duration_seconds_count: { labels: ["type", "priority"], source: "tikv/tikv src/server/metrics.rs" },
  tikv_grpc_msg_duration_seconds_bucket: {
    labels: ["type", "priority", "le"],
    source: "tikv/tikv src/server/metrics.rs",
  },
  process_resident_memory_bytes: { labels: [], source: "the Prometheus clients' process collectors (Go, Rust)" },
};
const TARGET_LABELS = ["job", "instance"];

/** `type` values PD sets on pd_cluster_status and pd_scheduler_store_status (pkg/statistics/store_collection.go). */
const TYPES: Record<string, string[]> = {
  pd_cluster_status: [
    "store_up_count",
    "store_disconnected_count",
    "store_down_count",
    "store_offline_count",
    "store_tombstone_count",
    "region_count",
    "leader_count",
    "storage_size",
    "storage_capacity",
  ],
  pd_scheduler_store_status: [
    "region_count",
    "leader_count",
    "store_used",
    "store_capacity",
    "store_available",
    "region_score",
    "leader_score",
  ],
};

interface Selector {
  metric: string;
  matchers: { label: string; op: string; value: string }[];
}

function selectors(expr: string): Selector[] {
  return [...expr.matchAll(/([a-z_]+)\{([^}]*)\}/g)].map((m) => ({
    metric: m[1],
    matchers: m[2]
      .split(",")
      .filter(Boolean)
      .map((x) => {
        const parts = /^\s*(\w+)\s*(=~|!=|=)\s*"([^"]*)"\s*$/.exec(x)!;
        return { label: parts[1], op: parts[2], value: parts[3] };
      }),
  }));
}

type Series = { labels: Record<string, string>; value: number };

/** Evaluates `agg(metric{...})` and `agg by (l) (metric{...})`, the instant forms the stat panels use. */
function evaluate(expr: string, series: Series[]): Series[] {
  const m = /^(sum|max|min)(?:\s+by\s*\(([^)]*)\))?\s*\((.*)\)$/.exec(expr.trim());
  if (!m) throw new Error(`not an instant aggregation: ${expr}`);
  const [sel] = selectors(m[3]);
  const matching = series.filter(
    (s) =>
      s.labels.__name__ === sel.metric &&
      sel.matchers.every((x) =>
        x.op === "="
          ? s.labels[x.label] === x.value
          : x.op === "!="
            ? s.labels[x.label] !== x.value
            : new RegExp(`^(${x.value})$`).test(s.labels[x.label] ?? ""),
      ),
  );
  const by = (m[2] ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  const groups = new Map<string, number[]>();
  for (const s of matching) {
    const key = JSON.stringify(by.map((l) => s.labels[l]));
    groups.set(key, [...(groups.get(key) ?? []), s.value]);
  }
  const fold = {
    sum: (v: number[]) => v.reduce((a, b) => a + b, 0),
    max: (v: number[]) => Math.max(...v),
    min: (v: number[]) => Math.min(...v),
  }[m[1] as "sum" | "max" | "min"];
  return [...groups].map(([key, values]) => ({
    labels: Object.fromEntries(by.map((l, i) => [l, JSON.parse(key)[i]])),
    value: fold(values),
  }));
}

/**
 * What Prometheus holds for PD scraped on three members: the leader exports one 0/1 series per
 * store and status type; followers export none (statistics.Reset when they stop leading).
 */
function pdSeries(storeStates: ("up" | "disconnected" | "down" | "offline")[]): Series[] {
  const out: Series[] = [];
  storeStates.forEach((state, i) => {
    const store = String(i + 1);
    for (const status of ["up", "disconnected", "down", "offline"]) {
      out.push({
        labels: {
          __name__: "pd_cluster_status",
          job: "pd",
          instance: "10.0.1.11:2379",
          type: `store_${status}_count`,
          engine: "tikv",
          store,
        },
        value: state === status ? 1 : 0,
      });
    }
    out.push({
      labels: {
        __name__: "pd_cluster_status",
        job: "pd",
        instance: "10.0.1.11:2379",
        type: "region_count",
        engine: "tikv",
        store,
      },
      value: 20,
    });
  });
  return out;
}

test("every query names metrics, labels and types the sources export", () => {
  for (const panel of DASHBOARD_PANELS) {
    for (const { expr } of panel.exprs) {
      for (const sel of selectors(expr)) {
        const shape = SHAPES[sel.metric];
        expect([panel.title, sel.metric, shape !== undefined]).toEqual([panel.title, sel.metric, true]);
        for (const x of sel.matchers) {
          expect([panel.title, x.label, [...shape.labels, ...TARGET_LABELS].includes(x.label)]).toEqual([
            panel.title,
            x.label,
            true,
          ]);
          if (x.label === "type" && x.op === "=" && TYPES[sel.metric]) {
            expect([panel.title, x.value, TYPES[sel.metric].includes(x.value)]).toEqual([panel.title, x.value, true]);
          }
        }
        for (const l of [...expr.matchAll(/by\s*\(([^)]*)\)/g)].flatMap((b) => b[1].split(",").map((x) => x.trim()))) {
          expect([panel.title, l, [...shape.labels, ...TARGET_LABELS, "le"].includes(l)]).toEqual([
            panel.title,
            l,
            true,
          ]);
        }
      }
    }
  }
});

const panel = (title: string) => DASHBOARD_PANELS.find((p) => p.title === title)!;
const value = (expr: string, series: Series[]) => evaluate(expr, series).map((s) => s.value);

test("a healthy 3-store cluster shows 3 stores up and none down", () => {
  const series = pdSeries(["up", "up", "up"]);
  expect(value(panel("Stores up").exprs[0].expr, series)).toEqual([3]);
  expect(panel("Stores not up").exprs.map((e) => value(e.expr, series))).toEqual([[0], [0], [0]]);
});

test("one disconnected and one down store are counted as such", () => {
  const series = pdSeries(["up", "disconnected", "down"]);
  expect(value(panel("Stores up").exprs[0].expr, series)).toEqual([1]);
  expect(panel("Stores not up").exprs.map((e) => value(e.expr, series))).toEqual([[1], [1], [0]]);
});
