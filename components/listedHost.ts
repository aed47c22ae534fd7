import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DockerEndpoint } from "../lib/dockerApi";
import { RegistryAuth, tlsProviderArgs } from "../lib/dockerProvider";
import { TlsMaterial } from "../lib/tlsMaterial";
import { HostPlan } from "../lib/topology";
import { DockerReady } from "./dockerReady";

export interface ListedHostArgs {
  plan: HostPlan;
  /** tcp://<address>:<port> of the host's Docker API. */
  dockerHost: string;
  /** The user's Docker client material for this host (from the stack's secret config). */
  client: TlsMaterial<pulumi.Input<string>>;
  readinessTimeoutMinutes: number;
  /** Credentials for the registries of the user's images (tikvImage, pdImage). */
  registryAuth?: readonly RegistryAuth[];
}

/**
 * A server the user already runs and lists in config `hosts` (mode existing), reached over its own
 * mutual-TLS Docker API. Its type token keeps the name it was created under (ExistingHost): the
 * token is part of every child's URN, and a new one would replace the hosts' containers.
 */
export class ListedHost extends pulumi.ComponentResource {
  public readonly plan: HostPlan;
  public readonly provider: docker.Provider;
  /** Where the operator's machine reaches this host: the address in `dockerHost`. */
  public readonly operatorAddress: string;
  /** `dockerHost`, resolved only once the daemon has answered. */
  public readonly dockerHost: pulumi.Output<string>;
  /** The same API for the calls the provider cannot make; carries the client key (secret). */
  public readonly dockerApi: pulumi.Output<DockerEndpoint>;

  constructor(name: string, args: ListedHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:host:ExistingHost", name, {}, opts);
    const url = new URL(args.dockerHost);
    const { caPem, certPem, keyPem } = args.client;
    this.plan = args.plan;
    this.operatorAddress = url.hostname;
    // The same check as for new hosts: a wrong address or certificate fails here, named.
    const ready = new DockerReady(
      `${name}-docker-ready`,
      {
        host: url.hostname,
        port: Number(url.port),
        instanceId: args.plan.name,
        caPem,
        certPem,
        keyPem,
        label: args.plan.name,
        origin: "existing",
        timeoutMinutes: args.readinessTimeoutMinutes,
      },
      { parent: this },
    );
    this.dockerHost = ready.id.apply(() => args.dockerHost);
    this.provider = new docker.Provider(
      `${name}-docker`,
      // Nothing from the operator's DOCKER_* environment (lib/dockerProvider.ts).
      tlsProviderArgs(this.dockerHost, { caPem, certPem, keyPem: pulumi.secret(keyPem) }, args.registryAuth),
      { parent: this },
    );
    this.dockerApi = pulumi.secret(
      pulumi.all([ready.id, caPem, certPem, keyPem]).apply(([, ca, cert, key]): DockerEndpoint => ({
        kind: "tls",
        host: url.hostname,
        port: Number(url.port),
        caPem: ca,
        certPem: cert,
        keyPem: key,
      })),
    );
    // dockerApi carries the client key: it stays out of the state, where outputs would keep it.
    this.registerOutputs({ operatorAddress: this.operatorAddress, dockerHost: this.dockerHost });
  }
}
