// Item 5 (webhook): a firing rule reaches tikv-cvm:alertWebhookUrl. Real tools: Alertmanager's own
// checker (amtool check-config) on the configuration the program uploads, then real Prometheus
// (with the program's prometheus.yml and alert rules) firing a rule into real Alertmanager (with
// the program's flags and configuration), which posts it to a webhook served by this test.
// Debian's prometheus (2.42) and prometheus-alertmanager (0.25): the grammar used here (route,
// webhook_configs url and send_resolved, alerting.alertmanagers) is the same in the images' versions.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { parse, stringify } from "yaml";
import { alertRules } from "../lib/alertRules";
import { ALERT_ROUTE, alertmanagerCommand, alertmanagerConfig, prometheusConfig } from "../lib/monitoringConfig";
import { planCluster } from "../lib/topology";
import { freePort } from "./support/dockerd";
import { tempDir } from "./support/openssl";
import { describeWithTools } from "./support/tools";

const HOOK = "https://hooks.example.com/services/T000/B000/secret-token";

test("every alert goes to the one webhook, resolved ones too, grouped per alert and subject", () => {
  const config = parse(alertmanagerConfig(HOOK)) as {
    route: { receiver: string; group_by: string[] };
    receivers: { name: string; webhook_configs: { url: string; send_resolved: boolean }[] }[];
  };
  expect(config.route).toMatchObject({ receiver: "webhook", group_by: [...ALERT_ROUTE.group_by] });
  expect(config.receivers).toEqual([{ name: "webhook", webhook_configs: [{ url: HOOK, send_resolved: true }] }]);
  // Every label the rules set to tell alerts apart is grouped by (lib/alertRules.ts).
  expect(ALERT_ROUTE.group_by).toEqual(expect.arrayContaining(["alertname", "store", "member", "certificate"]));
});

test("Prometheus sends alerts to Alertmanager only when there is one", () => {
  const plan = planCluster(3, 3, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3"] }, true);
  expect(parse(prometheusConfig(plan)).alerting).toBeUndefined();
  expect(parse(prometheusConfig(plan, "127.0.0.1:9093")).alerting).toEqual({
    alertmanagers: [{ static_configs: [{ targets: ["127.0.0.1:9093"] }] }],
  });
});

describeWithTools(["amtool"], "Alertmanager's amtool", () => {
  const dir = tempDir("amtool");
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const check = (text: string) => {
    const file = path.join(dir, "alertmanager.yml");
    fs.writeFileSync(file, text);
    return spawnSync("amtool", ["check-config", file], { encoding: "utf8" });
  };

  test("check-config accepts the configuration the program uploads", () => {
    const result = check(alertmanagerConfig(HOOK));
    expect([result.status, result.stdout + result.stderr]).toEqual([0, expect.stringMatching(/SUCCESS/)]);
  });

  test("the check can fail: a webhook URL Alertmanager cannot post to is refused", () => {
    expect(check(alertmanagerConfig("ftp://hooks.example.com/x")).status).not.toBe(0);
  });
});

/** Waits until `probe` holds, polling every 100 ms. */
async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface WebhookMessage {
  version: string;
  status: string;
  receiver: string;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}

describeWithTools(
  ["prometheus", "prometheus-alertmanager"],
  "a firing rule through real Prometheus and Alertmanager",
  () => {
    const dir = tempDir("alert-webhook");
    const children: ChildProcess[] = [];
    const received: WebhookMessage[] = [];
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString("utf8")));
      req.on("end", () => {
        if (req.method === "POST" && req.url === "/hook/token") received.push(JSON.parse(body) as WebhookMessage);
        res.writeHead(200).end();
      });
    });
    afterAll(async () => {
      // Both write into `dir` until they are gone: wait for each to exit before removing it.
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once("exit", () => resolve());
              child.kill("SIGTERM");
            }),
        ),
      );
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Starts a binary whose output goes to `<name>.log`, ended after the tests. */
    function start(name: string, binary: string, args: string[]): void {
      const log = fs.openSync(path.join(dir, `${name}.log`), "a");
      children.push(spawn(binary, args, { stdio: ["ignore", log, log] }));
    }
    const logOf = (name: string) => fs.readFileSync(path.join(dir, `${name}.log`), "utf8").slice(-2000);

    test("a certificate due for renewal fires, and its alert is posted to the webhook", async () => {
      const hookPort = await freePort();
      await new Promise<void>((r) => server.listen(hookPort, "127.0.0.1", r));
      const hook = `http://127.0.0.1:${hookPort}/hook/token`;

      // Alertmanager with the program's flags, its paths moved here; the first notification's wait
      // shortened from 30 s to 1 s for the test.
      const amPort = await freePort();
      const amConfig = parse(alertmanagerConfig(hook)) as { route: Record<string, unknown> };
      amConfig.route.group_wait = "1s";
      fs.writeFileSync(path.join(dir, "alertmanager.yml"), stringify(amConfig));
      const amArgs = alertmanagerCommand(`127.0.0.1:${amPort}`).map((flag) =>
        flag
          .replace(/^--config\.file=.*/, `--config.file=${path.join(dir, "alertmanager.yml")}`)
          .replace(/^--storage\.path=.*/, `--storage.path=${path.join(dir, "am-data")}`),
      );
      expect(amArgs).toContain("--cluster.listen-address=");
      start("alertmanager", "prometheus-alertmanager", amArgs);

      // Prometheus with the program's prometheus.yml (its rules file and alerting target moved here)
      // and rules in which one certificate is within 30 days of its end; evaluated every second.
      const plan = planCluster(3, 3, { kind: "subnet", subnetCidr: "10.0.1.0/24", zones: ["ap-guangzhou-3"] }, false);
      const due = new Date(Date.now() + 10 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
      const rules = alertRules({
        plan,
        memoryCapMiB: () => 704,
        reserveBytes: () => 2_500_000_000,
        certificates: [
          { name: "tikv-dev-cluster-tls-tikv2-cert", notAfter: due },
          { name: "tikv-dev-pki-operator-cert", notAfter: "2099-01-01T00:00:00Z" },
        ],
      });
      fs.writeFileSync(path.join(dir, "rules.yml"), rules);
      const promConfig = parse(prometheusConfig(plan, `127.0.0.1:${amPort}`)) as {
        global: Record<string, string>;
        rule_files: string[];
      };
      promConfig.global.evaluation_interval = "1s";
      promConfig.rule_files = [path.join(dir, "rules.yml")];
      fs.writeFileSync(path.join(dir, "prometheus.yml"), stringify(promConfig));
      const promPort = await freePort();
      start("prometheus", "prometheus", [
        `--config.file=${path.join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${path.join(dir, "tsdb")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        // An alert fired before Prometheus has found its Alertmanager is dropped and sent again only
        // after this delay (1 min by default: prometheus cmd/prometheus/main.go rules.alert.resend-delay).
        "--rules.alert.resend-delay=1s",
      ]);

      const message = await until("no certificate alert reached the webhook", 60_000, () =>
        received.find((m) => m.alerts.some((a) => a.labels.alertname === "CertificateExpiresSoon")),
      ).catch((e: Error) => {
        throw new Error(`${e.message}\nprometheus:\n${logOf("prometheus")}\nalertmanager:\n${logOf("alertmanager")}`);
      });
      // Alertmanager's webhook message (notify/webhook/webhook.go Message, version 4).
      expect(message).toMatchObject({ version: "4", status: "firing", receiver: "webhook" });
      const alerts = message.alerts.filter((a) => a.labels.alertname === "CertificateExpiresSoon");
      expect(alerts.map((a) => [a.status, a.labels.certificate, a.labels.not_after, a.labels.severity])).toEqual([
        ["firing", "tikv-dev-cluster-tls-tikv2-cert", due, "warning"],
      ]);
      expect(alerts[0].annotations.summary).toMatch(/renew it with pulumi up --refresh/);
    }, 90_000);
  },
);
