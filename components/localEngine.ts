import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LocalEngineTarget, RegistryAuth, localProviderArgs } from "../lib/dockerProvider";

export interface LocalEngineArgs {
  /** Name of the user-defined network, also the prefix of every container and volume. */
  networkName: string;
  /** Where the engine is, read once from DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH (modes/local.ts). */
  target: LocalEngineTarget;
  /** Credentials for the registries of the user's images (tikvImage, pdImage). */
  registryAuth?: readonly RegistryAuth[];
}

/**
 * This machine's own Docker engine (DOCKER_HOST, or the default socket; lib/dockerProvider.ts
 * localEngineTarget) and one user-defined network on which containers reach each other by name.
 */
export class LocalEngine extends pulumi.ComponentResource {
  public readonly provider: docker.Provider;
  public readonly networkName: pulumi.Output<string>;

  constructor(name: string, args: LocalEngineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:host:LocalEngine", name, {}, opts);
    // Every input given: the provider reads no DOCKER_* variable of its own (DOCKER_CONTEXT, the
    // *_MATERIAL ones), only what localEngineTarget took from the environment.
    // keyMaterial is "" but still a key input: kept secret, as test/secrecy.test.ts demands of every key.
    this.provider = new docker.Provider(
      `${name}-docker`,
      { ...localProviderArgs(args.target, args.registryAuth), keyMaterial: pulumi.secret("") },
      { parent: this },
    );
    const network = new docker.Network(
      `${name}-network`,
      { name: args.networkName, driver: "bridge" },
      { parent: this, provider: this.provider },
    );
    this.networkName = network.name;
    this.registerOutputs({ networkName: this.networkName });
  }
}
