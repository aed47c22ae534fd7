// Prometheus and Grafana configuration, rendered as data (YAML through the yaml library, the
// dashboard as JSON). Pure.
import { stringify } from "yaml";
import { ALERT_RULES_PATH } from "./alertRules";
import { ClusterPlan, PORTS } from "./topology";

export const PROMETHEUS_IMAGE = "prom/prometheus:v2.53.4";
/**
 * The 11.6 line past its 2025 high-severity fixes: CVE-2025-4123 (GHSA-q53q-gxq9-mgrj, fixed in
 * 11.6.1+security-01) and CVE-2025-6023 (GHSA-vqph-p5vc-g644, fixed in 11.6.3+security-01 and,
 * as a regular release, 11.6.4: grafana/grafana CHANGELOG.md "11.6.4 (2025-07-23)", #108281).
 * 11.6.14 (2026-03-25) also carries the line's later fixes (CVE-2026-33375); same major, same
 * database, so a running Grafana upgrades in place with its volume.
 */
export const GRAFANA_IMAGE = "grafana/grafana:11.6.14";
/**
 * Sends the alerts Prometheus fires to tikv-cvm:alertWebhookUrl. Alertmanager rather than
 * Grafana's own alerting: the rules are Prometheus's (lib/alertRules.ts, checked and fired by
 * promtool), and Prometheus hands firing alerts to Alertmanager as they are, while Grafana would
 * have to evaluate a second copy of every rule as Grafana-managed rules. Alertmanager's config is
 * checked by its own amtool and its delivery run for real in the tests (Debian's
 * prometheus-alertmanager). v0.34.0 (2026-08-16): the image is FROM quay.io/prometheus/busybox,
 * runs as nobody, serves 9093 (prometheus/alertmanager Dockerfile, cmd/alertmanager/main.go).
 */
export const ALERTMANAGER_IMAGE = "prom/alertmanager:v0.34.0";
export const ALERTMANAGER_CONFIG_PATH = "/etc/alertmanager/alertmanager.yml";
/** Alertmanager's notification log and silences (the image's VOLUME). */
export const ALERTMANAGER_DATA = "/alertmanager";
export const PROMETHEUS_CONFIG_PATH = "/etc/prometheus/prometheus.yml";
export const PROMETHEUS_TLS = {
  ca: "/etc/prometheus/tls/ca.pem",
  cert: "/etc/prometheus/tls/cert.pem",
  key: "/etc/prometheus/tls/key.pem",
} as const;
export const GRAFANA_DATASOURCE_PATH = "/etc/grafana/provisioning/datasources/prometheus.yaml";
export const GRAFANA_DASHBOARDS_PATH = "/etc/grafana/provisioning/dashboards/tikv-cvm.yaml";
export const GRAFANA_DASHBOARD_DIR = "/etc/grafana/dashboards";
export const DATASOURCE_UID = "tikv-cvm-prometheus";

/**
 * Scrape configuration: every PD member on its client port, every TiKV on its status port; with
 * `alertmanager` (host:port), firing alerts go there too.
 */
export function prometheusConfig(plan: ClusterPlan, alertmanager?: string): string {
  const tls =
    plan.scheme === "https"
      ? {
          scheme: "https",
          tls_config: { ca_file: PROMETHEUS_TLS.ca, cert_file: PROMETHEUS_TLS.cert, key_file: PROMETHEUS_TLS.key },
        }
      : {};
  const pd = plan.hosts
    .filter((h) => h.pdName)
    .map((h) => ({ targets: [`${h.pdHost}:${PORTS.pdClient}`], labels: { member: h.pdName! } }));
  const tikv = plan.hosts.map((h) => ({
    targets: [`${h.tikvHost}:${PORTS.tikvStatus}`],
    labels: { store: h.tikvName },
  }));
  return stringify({
    global: { scrape_interval: "15s", evaluation_interval: "15s" },
    // lib/alertRules.ts: what loses data or availability; firing alerts show in Grafana (ALERTS).
    rule_files: [ALERT_RULES_PATH],
    ...(alertmanager === undefined
      ? {}
      : { alerting: { alertmanagers: [{ static_configs: [{ targets: [alertmanager] }] }] } }),
    scrape_configs: [
      { job_name: "pd", metrics_path: "/metrics", ...tls, static_configs: pd },
      { job_name: "tikv", metrics_path: "/metrics", ...tls, static_configs: tikv },
    ],
  });
}

/**
 * How alerts are grouped and repeated before they reach the webhook (prometheus/alertmanager
 * v0.34.0 config/config.go Route): one message per alert and subject (store, member,
 * certificate), the first after 30 s so alerts of one incident travel together, again every 4 h
 * while firing, and once more when resolved.
 */
export const ALERT_ROUTE = {
  group_by: ["alertname", "store", "member", "certificate"],
  group_wait: "30s",
  group_interval: "5m",
  repeat_interval: "4h",
} as const;

/**
 * Alertmanager's flags: its API where only Prometheus reaches it (`listen`), its HA gossip off
 * (--cluster.listen-address empty: by default it listens on 0.0.0.0:9094, on the host network
 * every address of the host; prometheus/alertmanager v0.34.0 cmd/alertmanager/main.go).
 */
export function alertmanagerCommand(listen: string): string[] {
  return [
    `--config.file=${ALERTMANAGER_CONFIG_PATH}`,
    `--storage.path=${ALERTMANAGER_DATA}`,
    `--web.listen-address=${listen}`,
    "--cluster.listen-address=",
  ];
}

/** Alertmanager's configuration: every alert to one webhook (its `url` is the secret key's value). */
export function alertmanagerConfig(webhookUrl: string): string {
  return stringify({
    route: { receiver: "webhook", ...ALERT_ROUTE, group_by: [...ALERT_ROUTE.group_by] },
    receivers: [{ name: "webhook", webhook_configs: [{ url: webhookUrl, send_resolved: true }] }],
  });
}

export function grafanaDatasource(prometheusUrl: string): string {
  return stringify({
    apiVersion: 1,
    datasources: [
      {
        name: "Prometheus",
        uid: DATASOURCE_UID,
        type: "prometheus",
        access: "proxy",
        url: prometheusUrl,
        isDefault: true,
        editable: false,
      },
    ],
  });
}

export function grafanaDashboardProvider(): string {
  return stringify({
    apiVersion: 1,
    providers: [
      {
        name: "tikv-cvm",
        folder: "TiKV",
        type: "file",
        disableDeletion: true,
        options: { path: GRAFANA_DASHBOARD_DIR },
      },
    ],
  });
}

interface Panel {
  readonly title: string;
  readonly type: "stat" | "timeseries" | "bargauge" | "table";
  readonly unit: string;
  readonly exprs: readonly { readonly expr: string; readonly legend: string }[];
}

/**
 * What an operator looks at first, top to bottom: is every store up, where are regions and leaders, load, room.
 * Since PD v8.5.5 pd_cluster_status carries a `store` label: each store_*_count type is one 0/1
 * series per store (tikv/pd pkg/statistics/store_collection.go observe), so counts are sums, as
 * in PD's own dashboard (metrics/grafana/pd.json). Only the PD leader exports them; followers
 * reset theirs (statistics.Reset). pd_scheduler_store_status has one series per store and type.
 */
export const DASHBOARD_PANELS: readonly Panel[] = [
  {
    // Prometheus's own series of every alert it evaluates (lib/alertRules.ts), one row per firing alert.
    title: "Firing alerts",
    type: "table",
    unit: "none",
    exprs: [{ expr: 'ALERTS{alertstate="firing"}', legend: "{{alertname}} {{severity}}" }],
  },
  {
    title: "Stores up",
    type: "stat",
    unit: "none",
    exprs: [{ expr: 'sum(pd_cluster_status{type="store_up_count"})', legend: "up" }],
  },
  {
    title: "Stores not up",
    type: "stat",
    unit: "none",
    exprs: [
      { expr: 'sum(pd_cluster_status{type="store_disconnected_count"})', legend: "disconnected" },
      { expr: 'sum(pd_cluster_status{type="store_down_count"})', legend: "down" },
      { expr: 'sum(pd_cluster_status{type="store_offline_count"})', legend: "offline" },
    ],
  },
  {
    title: "Regions per store",
    type: "bargauge",
    unit: "none",
    exprs: [{ expr: 'max by (address) (pd_scheduler_store_status{type="region_count"})', legend: "{{address}}" }],
  },
  {
    title: "Leaders per store",
    type: "bargauge",
    unit: "none",
    exprs: [{ expr: 'max by (address) (pd_scheduler_store_status{type="leader_count"})', legend: "{{address}}" }],
  },
  {
    title: "Requests per second",
    type: "timeseries",
    unit: "reqps",
    exprs: [
      { expr: 'sum by (type) (rate(tikv_grpc_msg_duration_seconds_count{type!="kv_gc"}[1m]))', legend: "{{type}}" },
    ],
  },
  {
    title: "Request latency p99",
    type: "timeseries",
    unit: "s",
    exprs: [
      {
        expr: 'histogram_quantile(0.99, sum by (le, type) (rate(tikv_grpc_msg_duration_seconds_bucket{type!="kv_gc"}[1m])))',
        legend: "{{type}}",
      },
    ],
  },
  {
    title: "Storage used per store",
    type: "timeseries",
    unit: "bytes",
    exprs: [
      { expr: 'max by (address) (pd_scheduler_store_status{type="store_used"})', legend: "used {{address}}" },
      { expr: 'max by (address) (pd_scheduler_store_status{type="store_capacity"})', legend: "capacity {{address}}" },
    ],
  },
  {
    title: "Memory (RSS) per process",
    type: "timeseries",
    unit: "bytes",
    exprs: [{ expr: 'process_resident_memory_bytes{job=~"pd|tikv"}', legend: "{{job}} {{instance}}" }],
  },
];

export function grafanaDashboard(): string {
  const panels = DASHBOARD_PANELS.map((p, i) => ({
    id: i + 1,
    title: p.title,
    type: p.type,
    datasource: { type: "prometheus", uid: DATASOURCE_UID },
    gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
    fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
    options: {},
    targets: p.exprs.map((e, j) => ({
      refId: String.fromCharCode(65 + j),
      expr: e.expr,
      legendFormat: e.legend,
      datasource: { type: "prometheus", uid: DATASOURCE_UID },
    })),
  }));
  return `${JSON.stringify(
    {
      uid: "tikv-cvm-overview",
      title: "TiKV cluster overview",
      schemaVersion: 39,
      version: 1,
      editable: false,
      time: { from: "now-1h", to: "now" },
      refresh: "30s",
      tags: ["tikv", "tikv-cvm"],
      panels,
    },
    null,
    2,
  )}\n`;
}
