import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface LocalEngineArgs {
  /** Name of the user-defined network, also the prefix of every container and volume. */
  networkName: string;
}

/**
 * This machine's own Docker engine (DOCKER_HOST, or the default socket) and one user-defined
 * network on which containers reach each other by name.
 */
export class LocalEngine extends pulumi.ComponentResource {
  public readonly provider: docker.Provider;
  public readonly networkName: pulumi.Output<string>;

  constructor(name: string, args: LocalEngineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:host:LocalEngine", name, {}, opts);
    // No host given: the provider follows DOCKER_HOST / DOCKER_CERT_PATH like the docker CLI.
    this.provider = new docker.Provider(`${name}-docker`, {}, { parent: this });
    const network = new docker.Network(
      `${name}-network`,
      { name: args.networkName, driver: "bridge" },
      { parent: this, provider: this.provider },
    );
    this.networkName = network.name;
    this.registerOutputs({ networkName: this.networkName });
  }
}
