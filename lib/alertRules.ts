// Prometheus alert rules for what loses data or availability, rendered as data (YAML through the
// yaml library). Pure. Checked by Prometheus's own promtool (test/alertRules.test.ts), which also
// fires them against its rule engine.
import { stringify } from "yaml";
import { EXPIRY_WARNING_DAYS } from "./certificates";
import { ClusterPlan, PORTS } from "./topology";

export const ALERT_RULES_PATH = "/etc/prometheus/rules/tikv-cvm.yml";

export interface AlertInputs {
  readonly plan: ClusterPlan;
  /** Per member (pd1.., tikv1..), its container's memory cap, MiB. */
  readonly memoryCapMiB: (member: string) => number;
  /** Per store (tikv1..), the space TiKV keeps free (lib/memoryBudget.ts reservedSpaceBytes), bytes. */
  readonly reserveBytes: (store: string) => number;
  /** Every certificate whose end the program knows: a name and its NotAfter (RFC 3339). */
  readonly certificates: readonly { readonly name: string; readonly notAfter: string }[];
}

interface Rule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: { readonly severity: "critical" | "warning" } & Record<string, string>;
  readonly annotations: { readonly summary: string };
}

/** A memory cap is near when the process's resident set passes this share of it. */
export const MEMORY_ALERT_SHARE = 0.9;
const DAY_S = 86_400;

/**
 * The rule groups. Store and PD rules follow PD's own (tikv/pd v8.5.7
 * metrics/alertmanager/pd.rules.yml: PD_cluster_down_tikv_nums, PD_cluster_lost_connect_tikv_nums,
 * PD_system_time_slow): only the PD leader exports pd_cluster_status and
 * pd_scheduler_store_status (pkg/statistics/store_collection.go), followers reset theirs.
 */
export function alertRules(input: AlertInputs): string {
  const { plan } = input;
  const cluster: Rule[] = [
    {
      alert: "TiKVStoreDown",
      expr: 'sum(pd_cluster_status{type="store_down_count"}) > 0',
      for: "1m",
      labels: { severity: "critical" },
      annotations: { summary: "PD counts {{ $value }} TiKV store(s) down: replicas are missing until they return" },
    },
    {
      alert: "TiKVStoreDisconnected",
      expr: 'sum(pd_cluster_status{type="store_disconnected_count"}) > 0',
      for: "1m",
      labels: { severity: "warning" },
      annotations: { summary: "PD has no heartbeat from {{ $value }} TiKV store(s)" },
    },
    {
      alert: "PDNoLeader",
      expr: '(sum(etcd_server_is_leader{job="pd"}) or vector(0)) < 1',
      for: "1m",
      labels: { severity: "critical" },
      annotations: { summary: "no PD member is leader: no timestamps, no region routing" },
    },
    {
      alert: "PDQuorumLost",
      expr: 'sum(up{job="pd"}) < floor(count(up{job="pd"}) / 2) + 1',
      for: "1m",
      labels: { severity: "critical" },
      annotations: { summary: "fewer than a majority of PD members answer: PD cannot commit anything" },
    },
    {
      alert: "TargetDown",
      expr: 'up{job=~"pd|tikv"} == 0',
      for: "2m",
      labels: { severity: "warning" },
      annotations: { summary: "{{ $labels.job }} at {{ $labels.instance }} does not answer Prometheus" },
    },
    {
      alert: "PDSystemTimeSlow",
      expr: 'changes(pd_tso_events{type="system_time_slow"}[10m]) >= 1',
      labels: { severity: "warning" },
      annotations: {
        summary: "PD at {{ $labels.instance }} saw its host's clock go back: check chronyc tracking on the PD hosts",
      },
    },
  ];
  const disk: Rule[] = plan.hosts.map((h) => {
    const address = `${h.tikvHost}:${PORTS.tikv}`;
    return {
      alert: "TiKVDataDiskPastReserve",
      expr: `max by (address) (pd_scheduler_store_status{type="store_available",address="${address}"}) < ${input.reserveBytes(h.tikvName)}`,
      for: "5m",
      labels: { severity: "critical", store: h.tikvName },
      annotations: {
        summary: `${h.tikvName} (${address}) has less free space than TiKV's reserve: writes stall; grow dataDiskSize`,
      },
    };
  });
  const memory: Rule[] = [
    ...plan.hosts.flatMap((h) =>
      h.pdName ? [{ member: h.pdName, job: "pd", target: `${h.pdHost}:${PORTS.pdClient}` }] : [],
    ),
    ...plan.hosts.map((h) => ({ member: h.tikvName, job: "tikv", target: `${h.tikvHost}:${PORTS.tikvStatus}` })),
  ].map(({ member, job, target }) => {
    const cap = input.memoryCapMiB(member) * 1024 * 1024;
    return {
      alert: "MemoryNearContainerCap",
      expr: `process_resident_memory_bytes{job="${job}",instance="${target}"} > ${Math.floor(cap * MEMORY_ALERT_SHARE)}`,
      for: "5m",
      labels: { severity: "warning", member },
      annotations: {
        summary: `${member} uses over ${MEMORY_ALERT_SHARE * 100} % of its ${input.memoryCapMiB(member)} MiB cap: the kernel kills it at the cap`,
      },
    };
  });
  const certificates: Rule[] = input.certificates.map((c) => {
    const due = Math.floor(Date.parse(c.notAfter) / 1000) - EXPIRY_WARNING_DAYS * DAY_S;
    if (Number.isNaN(due)) throw new Error(`certificate ${c.name}: not a time: ${JSON.stringify(c.notAfter)}`);
    return {
      alert: "CertificateExpiresSoon",
      expr: `vector(time()) > ${due}`,
      labels: { severity: "warning", certificate: c.name, not_after: c.notAfter },
      annotations: {
        summary: `${c.name} expires ${c.notAfter}: renew it with pulumi up --refresh`,
      },
    };
  });
  return stringify(
    {
      groups: [
        { name: "tikv-cvm-cluster", rules: cluster },
        { name: "tikv-cvm-disk", rules: disk },
        { name: "tikv-cvm-memory", rules: memory },
        { name: "tikv-cvm-certificates", rules: certificates },
      ],
    },
    { lineWidth: 0 },
  );
}
