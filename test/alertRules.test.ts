// Item: alert rules for what loses data or availability, checked by Prometheus's own promtool and
// fired against its rule engine (promtool test rules evaluates them as the server does).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { ALERT_RULES_PATH, alertRules } from "../lib/alertRules";
import { prometheusConfig } from "../lib/monitoringConfig";
import { planCluster } from "../lib/topology";
import { byName, runProgram, unwrap } from "./support/harness";
import { MOCK_LEAF_VALID_FROM } from "./support/mocks";
import { tempDir } from "./support/openssl";
import { describeWithTools } from "./support/tools";

const plan = planCluster(3, 3, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3"] }, true);
const rules = () =>
  alertRules({
    plan,
    memoryCapMiB: (m) => (m.startsWith("pd") ? 704 : 2304),
    reserveBytes: () => 2_500_000_000,
    certificates: [
      { name: "tikv-dev-cluster-tls-tikv1-cert", notAfter: "2027-12-07T06:00:00Z" },
      // promtool's clock starts at the Unix epoch: this one is due 10 minutes in (30 days before its end).
      { name: "tikv-dev-pki-operator-cert", notAfter: "1970-01-31T00:10:00Z" },
    ],
  });

test("Prometheus loads the rules file the program uploads", () => {
  const config = parse(prometheusConfig(plan)) as { rule_files: string[] };
  expect(config.rule_files).toEqual([ALERT_RULES_PATH]);
});

describeWithTools(["promtool"], "Prometheus's promtool", () => {
  const dir = tempDir("alert-rules");
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("check rules: every rule parses and is valid", () => {
    const file = path.join(dir, "rules.yml");
    fs.writeFileSync(file, rules());
    const result = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8" });
    expect([result.status, result.stdout + result.stderr]).toEqual([
      0,
      expect.stringMatching(/SUCCESS: \d+ rules found/),
    ]);
  });

  test("the check can fail: a broken expression is refused", () => {
    const file = path.join(dir, "bad.yml");
    fs.writeFileSync(
      file,
      rules().replace('sum(pd_cluster_status{type="store_down_count"}) > 0', "sum(pd_cluster_status{ > 0"),
    );
    expect(spawnSync("promtool", ["check", "rules", file], { encoding: "utf8" }).status).not.toBe(0);
  });

  test("the rule engine fires them: a store down, PD without a leader, a disk past its reserve, a certificate due", () => {
    fs.writeFileSync(path.join(dir, "rules.yml"), rules());
    const tikv1 = "10.0.1.11:20160";
    const tests = {
      rule_files: ["rules.yml"],
      evaluation_interval: "15s",
      tests: [
        {
          interval: "15s",
          input_series: [
            { series: 'pd_cluster_status{type="store_down_count",store="1"}', values: "0 0 1x80" },
            { series: 'etcd_server_is_leader{job="pd",instance="10.0.1.11:2379"}', values: "1 1 0x80" },
            { series: 'etcd_server_is_leader{job="pd",instance="10.0.1.12:2379"}', values: "0x82" },
            {
              series: `pd_scheduler_store_status{type="store_available",address="${tikv1}",store="1"}`,
              values: "9000000000 1000000000x80",
            },
          ],
          alert_rule_test: [
            { eval_time: "30s", alertname: "TiKVStoreDown", exp_alerts: [] },
            {
              eval_time: "3m",
              alertname: "TiKVStoreDown",
              exp_alerts: [
                {
                  exp_labels: { severity: "critical" },
                  exp_annotations: {
                    summary: "PD counts 1 TiKV store(s) down: replicas are missing until they return",
                  },
                },
              ],
            },
            {
              eval_time: "3m",
              alertname: "PDNoLeader",
              exp_alerts: [
                {
                  exp_labels: { severity: "critical" },
                  exp_annotations: { summary: "no PD member is leader: no timestamps, no region routing" },
                },
              ],
            },
            { eval_time: "5m", alertname: "CertificateExpiresSoon", exp_alerts: [] },
            {
              eval_time: "15m",
              alertname: "CertificateExpiresSoon",
              exp_alerts: [
                {
                  exp_labels: {
                    severity: "warning",
                    certificate: "tikv-dev-pki-operator-cert",
                    not_after: "1970-01-31T00:10:00Z",
                  },
                  exp_annotations: {
                    summary:
                      "tikv-dev-pki-operator-cert expires 1970-01-31T00:10:00Z: renew it with pulumi up --refresh",
                  },
                },
              ],
            },
            {
              eval_time: "8m",
              alertname: "TiKVDataDiskPastReserve",
              exp_alerts: [
                {
                  exp_labels: { severity: "critical", store: "tikv1", address: tikv1 },
                  exp_annotations: {
                    summary: `tikv1 (${tikv1}) has less free space than TiKV's reserve: writes stall; grow dataDiskSize`,
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const file = path.join(dir, "tests.yml");
    fs.writeFileSync(file, JSON.stringify(tests));
    const result = spawnSync("promtool", ["test", "rules", file], { encoding: "utf8", cwd: dir });
    expect([result.status, result.stdout + result.stderr]).toEqual([0, expect.stringMatching(/SUCCESS/)]);
  });

  test("and stays quiet, and fails the test, when nothing is wrong (the check can fail)", () => {
    const tests = {
      rule_files: ["rules.yml"],
      evaluation_interval: "15s",
      tests: [
        {
          interval: "15s",
          input_series: [{ series: 'pd_cluster_status{type="store_down_count",store="1"}', values: "0x20" }],
          alert_rule_test: [
            { eval_time: "3m", alertname: "TiKVStoreDown", exp_alerts: [{ exp_labels: { severity: "critical" } }] },
          ],
        },
      ],
    };
    const file = path.join(dir, "quiet.yml");
    fs.writeFileSync(file, JSON.stringify(tests));
    expect(spawnSync("promtool", ["test", "rules", file], { encoding: "utf8", cwd: dir }).status).not.toBe(0);
  });
});

describeWithTools(["promtool"], "the rules the program uploads to Prometheus", () => {
  test("know every certificate's end, every member's cap and every store's reserve, and pass promtool", async () => {
    const run = await runProgram();
    const prometheus = byName(run, "tikv-dev-monitoring-prometheus");
    const uploads = unwrap(prometheus.inputs.uploads) as { file: string; content: string }[];
    const text = uploads.find((u) => u.file === ALERT_RULES_PATH)!.content;
    const groups = (
      parse(text) as {
        groups: { name: string; rules: { alert: string; expr: string; labels: Record<string, string> }[] }[];
      }
    ).groups;
    const rulesOf = (name: string) => groups.find((g) => g.name === name)!.rules;
    // 3 PD/TiKV host certificates, the cluster admin, Prometheus, the operator's Docker client and
    // each CVM's Docker server certificate.
    const certs = rulesOf("tikv-cvm-certificates");
    expect(certs.map((r) => r.labels.certificate).sort()).toEqual(
      [
        "tikv1 (cluster)",
        "tikv2 (cluster)",
        "tikv3 (cluster)",
        "cluster admin",
        "Prometheus client",
        "operator's Docker client",
        "tikv-host-1 Docker server",
        "tikv-host-2 Docker server",
        "tikv-host-3 Docker server",
      ].sort(),
    );
    // The mocks' leaves end a year after MOCK_LEAF_VALID_FROM: each rule fires 30 days before that.
    const end = Date.parse(MOCK_LEAF_VALID_FROM) / 1000 + 365 * 86_400;
    expect(certs[0].expr).toBe(`vector(time()) > ${end - 30 * 86_400}`);
    // Each member's memory rule at 90 % of the cap its container was declared with.
    for (const member of ["pd2", "tikv2"]) {
      const rule = rulesOf("tikv-cvm-memory").find((r) => r.labels.member === member)!;
      const cap = Number(byName(run, `tikv-dev-cluster-${member}`).inputs.memory) * 1024 * 1024;
      expect(rule.expr).toMatch(new RegExp(` > ${Math.floor(cap * 0.9)}$`));
    }
    const dir = tempDir("program-rules");
    fs.writeFileSync(path.join(dir, "rules.yml"), text);
    const result = spawnSync("promtool", ["check", "rules", path.join(dir, "rules.yml")], { encoding: "utf8" });
    expect([result.status, result.stdout]).toEqual([0, expect.stringMatching(/SUCCESS/)]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
