import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { RETAIN_LABEL } from "../lib/labels";
import { MONITORING_MIB } from "../lib/memoryBudget";
import {
  GRAFANA_DASHBOARDS_PATH, GRAFANA_DASHBOARD_DIR, GRAFANA_DATASOURCE_PATH, GRAFANA_IMAGE, PROMETHEUS_CONFIG_PATH,
  PROMETHEUS_IMAGE, PROMETHEUS_TLS, grafanaDashboard, grafanaDashboardProvider, grafanaDatasource, prometheusConfig,
} from "../lib/monitoringConfig";
import { ClusterPlan, PORTS } from "../lib/topology";
import { ClusterHost, ClusterNetworking } from "./tikvCluster";

export interface MonitoringArgs {
  /** The host both containers run on (the first). */
  host: ClusterHost;
  plan: ClusterPlan;
  networking: ClusterNetworking;
  /** Prometheus's client certificate, when the cluster speaks TLS. */
  tls?: { caPem: pulumi.Input<string>; certPem: pulumi.Input<string>; keyPem: pulumi.Input<string> };
  protect: boolean;
}

/**
 * Prometheus scraping every PD and TiKV, and Grafana with that data source and a dashboard.
 * Prometheus listens on loopback only; Grafana is the one port operators reach.
 */
export class Monitoring extends pulumi.ComponentResource {
  public readonly grafanaUrl: pulumi.Output<string>;
  public readonly grafanaAdminPassword: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:monitoring:Monitoring", name, {}, opts);
    const provider = args.host.provider;
    const bridge = args.networking.kind === "bridge" ? args.networking : undefined;
    const volume = (id: string, volumeName: string) => new docker.Volume(`${name}-${id}-data`,
      { name: bridge ? `${bridge.namePrefix}-${volumeName}` : volumeName, labels: [{ label: RETAIN_LABEL, value: "true" }] },
      { parent: this, provider, retainOnDelete: true, protect: args.protect });
    const placement = (alias: string, publish: docker.types.input.ContainerPort[]): Partial<docker.ContainerArgs> => bridge
      ? { networkMode: "bridge", networksAdvanced: [{ name: bridge.network, aliases: [alias] }], ports: publish }
      : { networkMode: "host" };
    const common: Partial<docker.ContainerArgs> = {
      restart: "unless-stopped",
      logDriver: "json-file",
      logOpts: { "max-size": "50m", "max-file": "3" },
      wait: true,
      waitTimeout: 180,
    };

    const promUploads: docker.types.input.ContainerUpload[] = [{ file: PROMETHEUS_CONFIG_PATH, content: prometheusConfig(args.plan) }];
    if (args.tls) {
      // The image runs as nobody: the key must be readable inside the container.
      promUploads.push(
        { file: PROMETHEUS_TLS.ca, content: args.tls.caPem },
        { file: PROMETHEUS_TLS.cert, content: args.tls.certPem },
        { file: PROMETHEUS_TLS.key, content: pulumi.secret(args.tls.keyPem), permissions: "0644" },
      );
    }
    const promImage = new docker.RemoteImage(`${name}-prometheus-image`, { name: PROMETHEUS_IMAGE, keepLocally: true }, { parent: this, provider });
    // On the host network Prometheus binds loopback; on a bridge network only Grafana reaches it.
    const promListen = bridge ? `0.0.0.0:${PORTS.prometheus}` : `127.0.0.1:${PORTS.prometheus}`;
    const prometheus = new docker.Container(`${name}-prometheus`, {
      ...common,
      ...placement("prometheus", []),
      name: bridge ? `${bridge.namePrefix}-prometheus` : "prometheus",
      image: promImage.imageId,
      command: [`--config.file=${PROMETHEUS_CONFIG_PATH}`, "--storage.tsdb.path=/prometheus",
        "--storage.tsdb.retention.time=15d", `--web.listen-address=${promListen}`],
      memory: MONITORING_MIB.prometheus,
      volumes: [{ volumeName: volume("prometheus", "prometheus-data").name, containerPath: "/prometheus" }],
      uploads: promUploads,
      // Both images carry busybox wget: prom/prometheus is FROM quay.io/prometheus/busybox and
      // grafana/grafana builds on BASE_IMAGE=alpine (their Dockerfiles).
      healthcheck: { tests: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${PORTS.prometheus}/-/ready`], interval: "15s", timeout: "5s", retries: 3, startPeriod: "30s" },
    }, { parent: this, provider, deleteBeforeReplace: true });

    const password = new random.RandomPassword(`${name}-grafana-admin`, { length: 24, special: false }, { parent: this });
    const grafanaImage = new docker.RemoteImage(`${name}-grafana-image`, { name: GRAFANA_IMAGE, keepLocally: true }, { parent: this, provider });
    const prometheusUrl = bridge ? `http://prometheus:${PORTS.prometheus}` : `http://127.0.0.1:${PORTS.prometheus}`;
    new docker.Container(`${name}-grafana`, {
      ...common,
      // Published on loopback only on a shared engine; on a host, the security group admits operators.
      ...placement("grafana", [{ internal: PORTS.grafana, external: PORTS.grafana, ip: "127.0.0.1" }]),
      name: bridge ? `${bridge.namePrefix}-grafana` : "grafana",
      image: grafanaImage.imageId,
      memory: MONITORING_MIB.grafana,
      // Secret in state and previews whatever the provider reports.
      envs: [pulumi.secret(pulumi.interpolate`GF_SECURITY_ADMIN_PASSWORD=${password.result}`), "GF_USERS_ALLOW_SIGN_UP=false",
        "GF_ANALYTICS_REPORTING_ENABLED=false", `GF_SERVER_HTTP_PORT=${PORTS.grafana}`],
      volumes: [{ volumeName: volume("grafana", "grafana-data").name, containerPath: "/var/lib/grafana" }],
      uploads: [
        { file: GRAFANA_DATASOURCE_PATH, content: grafanaDatasource(prometheusUrl) },
        { file: GRAFANA_DASHBOARDS_PATH, content: grafanaDashboardProvider() },
        { file: `${GRAFANA_DASHBOARD_DIR}/tikv-cvm.json`, content: grafanaDashboard() },
      ],
      healthcheck: { tests: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${PORTS.grafana}/api/health`], interval: "15s", timeout: "5s", retries: 3, startPeriod: "30s" },
    }, { parent: this, provider, deleteBeforeReplace: true, dependsOn: [prometheus] });

    this.grafanaUrl = bridge
      ? pulumi.output(`http://127.0.0.1:${PORTS.grafana}`)
      : pulumi.interpolate`http://${args.host.operatorAddress}:${PORTS.grafana}`;
    this.grafanaAdminPassword = pulumi.secret(password.result);
    this.registerOutputs({ grafanaUrl: this.grafanaUrl });
  }
}
