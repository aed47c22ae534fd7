import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DockerEndpoint } from "../lib/dockerApi";
import { HostPlan } from "../lib/topology";
import { DockerReady } from "./dockerReady";

export interface ExistingHostArgs {
  plan: HostPlan;
  /** tcp://<address>:<port> of the host's Docker API. */
  dockerHost: string;
  caPem: pulumi.Input<string>;
  certPem: pulumi.Input<string>;
  keyPem: pulumi.Input<string>;
  readinessTimeoutMinutes: number;
}

/** A server the user already runs, reached over its own mutual-TLS Docker API (mode existing). */
export class ExistingHost extends pulumi.ComponentResource {
  public readonly plan: HostPlan;
  public readonly provider: docker.Provider;
  public readonly operatorAddress: string;
  public readonly dockerHost: pulumi.Output<string>;
  /** The same API for the calls the provider cannot make; carries the client key (secret). */
  public readonly dockerApi: pulumi.Output<DockerEndpoint>;

  constructor(name: string, args: ExistingHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:host:ExistingHost", name, {}, opts);
    const url = new URL(args.dockerHost);
    this.plan = args.plan;
    this.operatorAddress = url.hostname;
    // The same check as for new hosts: a wrong address or certificate fails here, named.
    const ready = new DockerReady(`${name}-docker-ready`, {
      host: url.hostname,
      port: Number(url.port),
      instanceId: args.plan.name,
      caPem: args.caPem,
      certPem: args.certPem,
      keyPem: args.keyPem,
      label: args.plan.name,
      origin: "existing",
      timeoutMinutes: args.readinessTimeoutMinutes,
    }, { parent: this });
    this.dockerHost = ready.id.apply(() => args.dockerHost);
    this.provider = new docker.Provider(`${name}-docker`, {
      host: this.dockerHost,
      caMaterial: args.caPem,
      certMaterial: args.certPem,
      keyMaterial: pulumi.secret(args.keyPem),
    }, { parent: this });
    this.dockerApi = pulumi.all([ready.id, args.caPem, args.certPem, args.keyPem]).apply(([, caPem, certPem, keyPem]): DockerEndpoint =>
      ({ kind: "tls", host: url.hostname, port: Number(url.port), caPem, certPem, keyPem }));
    this.registerOutputs({ dockerHost: this.dockerHost });
  }
}
