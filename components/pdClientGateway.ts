import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { REPLACE_ON_CHANGES } from "../lib/containerReplacement";
import { DockerEndpoint } from "../lib/dockerApi";
import { ClusterNetworking } from "../lib/networking";
import { GATEWAY_PIDS_LIMIT, gatewayContainerArgs } from "../lib/pdGateway";
import { KeyPair } from "../lib/tlsMaterial";
import { HostPlan } from "../lib/topology";
import { PidsLimit } from "./pidsLimit";

/** The gateway's program, uploaded as it is in the repository. */
const SCRIPT_FILE = path.join(__dirname, "..", "gateway", "pd-client-gateway.js");

export interface PdClientGatewayArgs {
  host: HostPlan;
  provider: docker.Provider;
  /** A CVM made here: its instance id (the gateway is recreated with it). */
  instanceId?: pulumi.Input<string>;
  /** The same engine for the pids limit, which the provider cannot set. */
  dockerApi: pulumi.Input<DockerEndpoint>;
  networking: ClusterNetworking;
  /** A Node.js image (tikv-cvm:clientGatewayImage). */
  image: string;
  caPem: pulumi.Input<string>;
  /** The host's member certificate: PD admits it, and it names the host's address. */
  memberCert: KeyPair<pulumi.Input<string>>;
  /**
   * The PD member's container on this host. On a shared engine the gateway joins its network
   * namespace (and is replaced with it); on the host network it needs nothing of it to start.
   */
  pdContainer: docker.Container;
}

/**
 * Application clients' way to PD (lib/pdGateway.ts, docs/security.md): admits only the client
 * name, forwards only a TiKV client's gRPC calls to its own PD member as that member, and points
 * GetMembers answers at the gateways. Stateless: replaced whenever its certificate, script or
 * member changes, restarting no member.
 */
export class PdClientGateway extends pulumi.ComponentResource {
  public readonly container: docker.Container;

  constructor(name: string, args: PdClientGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tikv-cvm:cluster:PdClientGateway", name, {}, opts);
    const provider = args.provider;
    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: args.image, keepLocally: true },
      { parent: this, provider },
    );
    const containerArgs = gatewayContainerArgs(args.host, {
      networking: args.networking,
      imageId: image.imageId,
      script: fs.readFileSync(SCRIPT_FILE, "utf8"),
      caPem: args.caPem,
      certPem: args.memberCert.certPem,
      keyPem: pulumi.secret(args.memberCert.keyPem),
      pdNetworkMode:
        args.networking.kind === "bridge" ? pulumi.interpolate`container:${args.pdContainer.id}` : undefined,
      instanceId: args.instanceId,
    });
    this.container = new docker.Container(name, containerArgs, {
      parent: this,
      provider,
      deleteBeforeReplace: true,
      replaceOnChanges: [...REPLACE_ON_CHANGES],
    });
    new PidsLimit(
      `${name}-pids`,
      { endpoint: args.dockerApi, containerId: this.container.id, limit: GATEWAY_PIDS_LIMIT },
      { parent: this },
    );
    this.registerOutputs({ container: this.container.name });
  }
}
