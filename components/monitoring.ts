import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { CONTAINER_HARDENING, FILE_MODES, KEY_READER_GROUP, PIDS_LIMIT } from "../lib/containerSecurity";
import { RETAIN_LABEL } from "../lib/labels";
import { ALERT_RULES_PATH } from "../lib/alertRules";
import { CPU_SHARES, PROMETHEUS_RETENTION_GB, monitoringCapsMiB } from "../lib/memoryBudget";
import {
  ALERTMANAGER_CONFIG_PATH,
  ALERTMANAGER_DATA,
  ALERTMANAGER_IMAGE,
  GRAFANA_DASHBOARDS_PATH,
  GRAFANA_DASHBOARD_DIR,
  GRAFANA_DATASOURCE_PATH,
  GRAFANA_IMAGE,
  PROMETHEUS_CONFIG_PATH,
  PROMETHEUS_IMAGE,
  PROMETHEUS_TLS,
  grafanaDashboard,
  grafanaDashboardProvider,
  alertmanagerCommand,
  alertmanagerConfig,
  grafanaDatasource,
  prometheusConfig,
} from "../lib/monitoringConfig";
import {
  ClusterNetworking,
  attachment,
  containerName,
  neighbourAddress,
  neighbourListenAddress,
  servesHostAddresses,
  volumeName,
} from "../lib/networking";
import { INSTANCE_LABEL } from "../lib/labels";
import { KeyPair, TlsMaterial } from "../lib/tlsMaterial";
import { ClusterPlan, PORTS } from "../lib/topology";
import { PidsLimit } from "./pidsLimit";
import { ClusterHost } from "./tikvCluster";

export interface MonitoringArgs {
  /** The host both containers run on (the first). */
  host: ClusterHost;
  plan: ClusterPlan;
  networking: ClusterNetworking;
  /** Prometheus's client certificate and the cluster CA, when the cluster speaks TLS. */
  tls?: TlsMaterial<pulumi.Input<string>>;
  /**
   * Grafana's server certificate when it is public (grafanaPublic): it then serves HTTPS on the
   * host's address. Without it Grafana listens on the host's loopback only (on a shared engine, it
   * is published on 127.0.0.1 whatever this says).
   */
  grafanaHttps?: KeyPair<pulumi.Input<string>>;
  protect: boolean;
  /** Prometheus's alert rules (lib/alertRules.ts), uploaded where prometheus.yml's rule_files points. */
  alertRules: pulumi.Input<string>;
  /** tikv-cvm:alertWebhookUrl (a secret): Alertmanager beside Prometheus sends every alert there. */
  alertWebhookUrl?: pulumi.Output<string>;
}

/** Grafana's own paths for its HTTPS material. */
const GRAFANA_TLS = { cert: "/etc/grafana/tls/cert.pem", key: "/etc/grafana/tls/key.pem" } as const;

/**
 * Grafana applies GF_SECURITY_ADMIN_PASSWORD only when it creates its database, so a changed
 * password would be ignored on a kept volume. A password change replaces the container (its env
 * changes); this entrypoint sets the password from the env before every start, through stdin so it
 * never shows in a process list (`grafana cli admin reset-admin-password --password-from-stdin`,
 * Grafana 9.1+), then runs the image's own /run.sh. On the very first start there is no admin user
 * yet, the reset fails harmlessly, and Grafana creates the user with the env's password.
 */
export const GRAFANA_ENTRYPOINT = [
  "/bin/sh",
  "-c",
  'printenv GF_SECURITY_ADMIN_PASSWORD | grafana cli --homepath "$GF_PATHS_HOME" --config "$GF_PATHS_CONFIG" ' +
    "admin reset-admin-password --password-from-stdin >/dev/null 2>&1 " +
    '|| echo "grafana admin password not reset (first start: it is set when the database is created)"; exec /run.sh',
];

/**
 * Prometheus scraping every PD and TiKV, and Grafana with that data source and a dashboard.
 * Prometheus listens on loopback only; Grafana too, unless it is public (then over HTTPS).
 */
export class Monitoring extends pulumi.ComponentResource {
  public readonly grafanaUrl: pulumi.Output<string>;
  public readonly grafanaAdminPassword: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:monitoring:Monitoring", name, {}, opts);
    const provider = args.host.provider;
    const networking = args.networking;
    const volume = (id: string) =>
      new docker.Volume(
        `${name}-${id}-data`,
        { name: volumeName(networking, id, `${id}-data`), labels: [{ label: RETAIN_LABEL, value: "true" }] },
        { parent: this, provider, retainOnDelete: true, protect: args.protect },
      );
    const common: Partial<docker.ContainerArgs> = {
      restart: "unless-stopped",
      // No capabilities, no privilege gain: see lib/containerSecurity.ts for why none is needed.
      capabilities: { drops: [...CONTAINER_HARDENING.capabilities.drops] },
      securityOpts: [...CONTAINER_HARDENING.securityOpts],
      // Uploaded keys are root:root 0440; group 0 lets these non-root processes read them.
      groupAdds: [KEY_READER_GROUP],
      logDriver: "json-file",
      logOpts: { "max-size": "50m", "max-file": "3" },
      wait: true,
      waitTimeout: 180,
      // Recreated with the CVM they run on.
      labels: args.host.instanceId === undefined ? undefined : [{ label: INSTANCE_LABEL, value: args.host.instanceId }],
    };

    const caps = monitoringCapsMiB(args.alertWebhookUrl !== undefined);
    const alertmanager =
      args.alertWebhookUrl && this.alertmanager(name, args, args.alertWebhookUrl, common, caps, volume);
    const promUploads: docker.types.input.ContainerUpload[] = [
      {
        file: PROMETHEUS_CONFIG_PATH,
        content: prometheusConfig(
          args.plan,
          alertmanager ? `${neighbourAddress(networking, "alertmanager")}:${PORTS.alertmanager}` : undefined,
        ),
      },
      { file: ALERT_RULES_PATH, content: args.alertRules },
    ];
    if (args.tls) {
      // The image runs as nobody, which cannot own an uploaded file: it reads the key through group 0.
      promUploads.push(
        { file: PROMETHEUS_TLS.ca, content: args.tls.caPem, permissions: FILE_MODES.certificate },
        { file: PROMETHEUS_TLS.cert, content: args.tls.certPem, permissions: FILE_MODES.certificate },
        { file: PROMETHEUS_TLS.key, content: pulumi.secret(args.tls.keyPem), permissions: FILE_MODES.groupKey },
      );
    }
    const promImage = new docker.RemoteImage(
      `${name}-prometheus-image`,
      { name: PROMETHEUS_IMAGE, keepLocally: true },
      { parent: this, provider },
    );
    // On the host network Prometheus binds loopback; on a bridge network only Grafana reaches it.
    const promListen = `${neighbourListenAddress(networking)}:${PORTS.prometheus}`;
    const prometheus = new docker.Container(
      `${name}-prometheus`,
      {
        ...common,
        ...attachment(networking, "prometheus"),
        name: containerName(networking, "prometheus"),
        image: promImage.imageId,
        command: [
          `--config.file=${PROMETHEUS_CONFIG_PATH}`,
          "--storage.tsdb.path=/prometheus",
          "--storage.tsdb.retention.time=15d",
          // A size cap as well (WAL and head included), which the store beside it leaves out of
          // its capacity (lib/memoryBudget.ts tikvCapacityGB).
          `--storage.tsdb.retention.size=${PROMETHEUS_RETENTION_GB}GB`,
          `--web.listen-address=${promListen}`,
        ],
        memory: caps.prometheus,
        // Docker's default swap limit (twice the memory) would read back as a perpetual diff.
        memorySwap: caps.prometheus,
        cpuShares: CPU_SHARES.prometheus,
        volumes: [{ volumeName: volume("prometheus").name, containerPath: "/prometheus" }],
        uploads: promUploads,
        // Both images carry busybox wget: prom/prometheus is FROM quay.io/prometheus/busybox and
        // grafana/grafana builds on BASE_IMAGE=alpine (their Dockerfiles).
        healthcheck: {
          tests: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${PORTS.prometheus}/-/ready`],
          interval: "15s",
          timeout: "5s",
          retries: 3,
          startPeriod: "30s",
        },
      },
      { parent: this, provider, deleteBeforeReplace: true, dependsOn: alertmanager ? [alertmanager] : [] },
    );
    new PidsLimit(
      `${name}-prometheus-pids`,
      { endpoint: args.host.dockerApi, containerId: prometheus.id, limit: PIDS_LIMIT.prometheus },
      { parent: this },
    );

    const password = new random.RandomPassword(
      `${name}-grafana-admin`,
      { length: 24, special: false },
      { parent: this },
    );
    const grafanaImage = new docker.RemoteImage(
      `${name}-grafana-image`,
      { name: GRAFANA_IMAGE, keepLocally: true },
      { parent: this, provider },
    );
    const prometheusUrl = `http://${neighbourAddress(networking, "prometheus")}:${PORTS.prometheus}`;
    // On a host: loopback only unless public, then HTTPS on every address (the security group, or
    // your own firewall in mode existing, admits operators). On a shared engine: published on loopback.
    const onHost = servesHostAddresses(networking);
    const https = onHost ? args.grafanaHttps : undefined;
    const listen = !onHost || https ? [] : ["GF_SERVER_HTTP_ADDR=127.0.0.1"];
    const httpsEnv = https
      ? ["GF_SERVER_PROTOCOL=https", `GF_SERVER_CERT_FILE=${GRAFANA_TLS.cert}`, `GF_SERVER_CERT_KEY=${GRAFANA_TLS.key}`]
      : [];
    const grafanaUploads: docker.types.input.ContainerUpload[] = [
      { file: GRAFANA_DATASOURCE_PATH, content: grafanaDatasource(prometheusUrl) },
      { file: GRAFANA_DASHBOARDS_PATH, content: grafanaDashboardProvider() },
      { file: `${GRAFANA_DASHBOARD_DIR}/tikv-cvm.json`, content: grafanaDashboard() },
    ];
    if (https) {
      grafanaUploads.push(
        { file: GRAFANA_TLS.cert, content: https.certPem, permissions: FILE_MODES.certificate },
        { file: GRAFANA_TLS.key, content: pulumi.secret(https.keyPem), permissions: FILE_MODES.groupKey },
      );
    }
    const scheme = https ? "https" : "http";
    const grafana = new docker.Container(
      `${name}-grafana`,
      {
        ...common,
        ...attachment(networking, "grafana", [{ internal: PORTS.grafana, external: PORTS.grafana, ip: "127.0.0.1" }]),
        name: containerName(networking, "grafana"),
        image: grafanaImage.imageId,
        memory: caps.grafana,
        entrypoints: GRAFANA_ENTRYPOINT,
        memorySwap: caps.grafana,
        cpuShares: CPU_SHARES.grafana,
        // Secret in state and previews whatever the provider reports.
        envs: [
          pulumi.secret(pulumi.interpolate`GF_SECURITY_ADMIN_PASSWORD=${password.result}`),
          "GF_USERS_ALLOW_SIGN_UP=false",
          "GF_ANALYTICS_REPORTING_ENABLED=false",
          `GF_SERVER_HTTP_PORT=${PORTS.grafana}`,
          ...listen,
          ...httpsEnv,
        ],
        volumes: [{ volumeName: volume("grafana").name, containerPath: "/var/lib/grafana" }],
        uploads: grafanaUploads,
        // Busybox wget: a liveness probe on loopback, so the certificate is not checked here.
        healthcheck: {
          tests: [
            "CMD",
            "wget",
            "-q",
            "-O",
            "/dev/null",
            ...(https ? ["--no-check-certificate"] : []),
            `${scheme}://127.0.0.1:${PORTS.grafana}/api/health`,
          ],
          interval: "15s",
          timeout: "5s",
          retries: 3,
          startPeriod: "30s",
        },
      },
      { parent: this, provider, deleteBeforeReplace: true, dependsOn: [prometheus] },
    );
    new PidsLimit(
      `${name}-grafana-pids`,
      { endpoint: args.host.dockerApi, containerId: grafana.id, limit: PIDS_LIMIT.grafana },
      { parent: this },
    );

    this.grafanaUrl = !https
      ? pulumi.output(`http://127.0.0.1:${PORTS.grafana}`)
      : pulumi.interpolate`https://${args.host.operatorAddress}:${PORTS.grafana}`;
    this.grafanaAdminPassword = pulumi.secret(password.result);
    this.registerOutputs({ grafanaUrl: this.grafanaUrl, grafanaAdminPassword: this.grafanaAdminPassword });
  }

  /** Alertmanager with one webhook receiver, listening where only Prometheus reaches it (lib/monitoringConfig.ts). */
  private alertmanager(
    name: string,
    args: MonitoringArgs,
    webhookUrl: pulumi.Output<string>,
    common: Partial<docker.ContainerArgs>,
    caps: ReturnType<typeof monitoringCapsMiB>,
    volume: (id: string) => docker.Volume,
  ): docker.Container {
    const provider = args.host.provider;
    const image = new docker.RemoteImage(
      `${name}-alertmanager-image`,
      { name: ALERTMANAGER_IMAGE, keepLocally: true },
      { parent: this, provider },
    );
    const listen = `${neighbourListenAddress(args.networking)}:${PORTS.alertmanager}`;
    const container = new docker.Container(
      `${name}-alertmanager`,
      {
        ...common,
        ...attachment(args.networking, "alertmanager"),
        name: containerName(args.networking, "alertmanager"),
        image: image.imageId,
        command: alertmanagerCommand(listen),
        memory: caps.alertmanager,
        memorySwap: caps.alertmanager,
        cpuShares: CPU_SHARES.alertmanager,
        volumes: [{ volumeName: volume("alertmanager").name, containerPath: ALERTMANAGER_DATA }],
        // The webhook URL may carry a token: the file is secret in state, 0440 root:root, read by
        // nobody through group 0 as Prometheus reads its key.
        uploads: [
          {
            file: ALERTMANAGER_CONFIG_PATH,
            content: pulumi.secret(webhookUrl.apply(alertmanagerConfig)),
            permissions: FILE_MODES.groupKey,
          },
        ],
        healthcheck: {
          tests: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${PORTS.alertmanager}/-/ready`],
          interval: "15s",
          timeout: "5s",
          retries: 3,
          startPeriod: "30s",
        },
      },
      { parent: this, provider, deleteBeforeReplace: true },
    );
    new PidsLimit(
      `${name}-alertmanager-pids`,
      { endpoint: args.host.dockerApi, containerId: container.id, limit: PIDS_LIMIT.alertmanager },
      { parent: this },
    );
    return container;
  }
}
