import * as pulumi from "@pulumi/pulumi";
import { DockerEndpoint, setPidsLimit } from "../lib/dockerApi";

export interface PidsLimitArgs {
  /** The engine the container runs on; its client key is kept secret. */
  endpoint: pulumi.Input<DockerEndpoint>;
  /** The container's id: a new container (a replacement) gets the limit again. */
  containerId: pulumi.Input<string>;
  /** Most processes and threads the container may have (its pids cgroup). */
  limit: number;
}

export interface LimitInputs {
  endpoint: DockerEndpoint;
  containerId: string;
  limit: number;
}

/** What is kept in the state: never the client key. */
interface LimitOutputs {
  containerId: string;
  limit: number;
}

/** The state kept: which container got which limit. */
export function pidsLimitOutputs(inputs: LimitInputs): LimitOutputs {
  return { containerId: inputs.containerId, limit: inputs.limit };
}

async function apply(inputs: LimitInputs): Promise<LimitOutputs> {
  await setPidsLimit(inputs.endpoint, inputs.containerId, inputs.limit, 30_000);
  return pidsLimitOutputs(inputs);
}

/** Runs inside the engine at deploy time; deleting does nothing (the container goes with its own resource). */
export const pidsLimitProvider: pulumi.dynamic.ResourceProvider<LimitInputs, LimitOutputs> = {
  async create(inputs) {
    return { id: inputs.containerId, outs: await apply(inputs) };
  },
  async diff(_id, olds, news) {
    const changes = olds.containerId !== news.containerId || olds.limit !== news.limit;
    return { changes, replaces: olds.containerId !== news.containerId ? ["containerId"] : [] };
  },
  async update(_id, _olds, news) {
    return { outs: await apply(news) };
  },
};

/**
 * A container's pids limit (CIS Docker Benchmark 5.28). The Docker provider's container resource
 * has no such attribute (kreuzwerker/terraform-provider-docker v3.9.0 has none), so this sets it
 * through the Engine API right after the container exists, and again for every replacement.
 */
export class PidsLimit extends pulumi.dynamic.Resource {
  constructor(name: string, args: PidsLimitArgs, opts?: pulumi.CustomResourceOptions) {
    super(pidsLimitProvider, name, { ...args, endpoint: pulumi.secret(args.endpoint) }, opts, "tikv-cvm", "PidsLimit");
  }
}
