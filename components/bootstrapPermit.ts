import * as pulumi from "@pulumi/pulumi";
import { DockerEndpoint, runOneShot } from "../lib/dockerApi";
import { bootstrapPermitCommand } from "../lib/pdStart";

export interface BootstrapPermitArgs {
  /** The engine of the member's host; its client key is kept secret. */
  endpoint: pulumi.Input<DockerEndpoint>;
  /** The PD image (already on the host): the one-shot container runs its /bin/sh. */
  image: pulumi.Input<string>;
  /** The member's data volume. */
  volumeName: pulumi.Input<string>;
  /** Container name of the one-shot run (e.g. pd1-bootstrap-permit). */
  name: string;
  /** Where the volume is mounted (PD's data directory). */
  dataDir: string;
  /** Whether this is the cluster's first deployment: only then is the permit written. */
  bootstrap: boolean;
}

export interface PermitInputs {
  endpoint: DockerEndpoint;
  image: string;
  volumeName: string;
  name: string;
  dataDir: string;
  bootstrap: boolean;
}

/** What is kept in the state: never the client key. */
interface PermitOutputs {
  volumeName: string;
  outcome: string;
}

/** The state kept: which volume, and whether the permit was written. */
export function permitOutputs(inputs: PermitInputs, outcome: string): PermitOutputs {
  return { volumeName: inputs.volumeName, outcome };
}

export const bootstrapPermitProvider: pulumi.dynamic.ResourceProvider<PermitInputs, PermitOutputs> = {
  async create(inputs) {
    if (!inputs.bootstrap) {
      return { id: inputs.name, outs: permitOutputs(inputs, "cluster already bootstrapped") };
    }
    await runOneShot(
      inputs.endpoint,
      {
        name: inputs.name,
        image: inputs.image,
        entrypoint: ["/bin/sh"],
        cmd: bootstrapPermitCommand(inputs.dataDir),
        binds: [`${inputs.volumeName}:${inputs.dataDir}`],
      },
      120_000,
    );
    return { id: inputs.name, outs: permitOutputs(inputs, "permit written") };
  },
  // Never runs again: once created (on the first deployment or later), the answer stands for the
  // member's life. An image upgrade or the end of the first deployment changes nothing.
  async diff() {
    return { changes: false, replaces: [] };
  },
};

/**
 * The PD bootstrap permit of one member of the initial cluster (lib/pdStart.ts
 * PD_BOOTSTRAP_PERMIT). Declared for as long as the member exists; created before the member's
 * container. Only when created on the cluster's first deployment does it write the permit onto
 * the member's volume, through a one-shot container of the PD image; created later (a member
 * added back, a stack upgraded to this version) it writes nothing. Deleting it does nothing:
 * the start script removes the permit as soon as the member has data.
 */
export class BootstrapPermit extends pulumi.dynamic.Resource {
  constructor(name: string, args: BootstrapPermitArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      bootstrapPermitProvider,
      name,
      { ...args, endpoint: pulumi.secret(args.endpoint), volumeName: args.volumeName },
      opts,
      "tikv-cvm",
      "BootstrapPermit",
    );
  }
}
