import * as pulumi from "@pulumi/pulumi";
import { HostOrigin, waitForDocker } from "../lib/dockerProbe";
import { TlsMaterial } from "../lib/tlsMaterial";

/** The Docker client material sits flat in the inputs (caPem, certPem, keyPem), as in every state written so far. */
export interface DockerReadyArgs extends TlsMaterial<pulumi.Input<string>> {
  /** Address dialled, the host's EIP; the server certificate must name it. */
  host: pulumi.Input<string>;
  port: pulumi.Input<number>;
  /** A replaced instance boots afresh, so a new id means waiting again. */
  instanceId: pulumi.Input<string>;
  /** Names the host in the error message. */
  label: pulumi.Input<string>;
  /** A CVM made here or a host of the user's: decides what an error tells them to check. */
  origin: HostOrigin;
  timeoutMinutes: pulumi.Input<number>;
  /** The CBS disk Docker's data root must be on (CVMs made here); checked through GET /info. */
  dataDiskId?: pulumi.Input<string>;
  /** Changes with every change to the CVM (a reinstall keeps its id): a change means waiting again. */
  hostKey?: pulumi.Input<string>;
}

export interface ReadyInputs extends TlsMaterial {
  host: string;
  port: number;
  instanceId: string;
  label: string;
  /** Absent in the state of gates created before it existed: those were all CVMs. */
  origin?: HostOrigin;
  timeoutMinutes: number;
  dataDiskId?: string;
  hostKey?: string;
}

/** What is kept in the state: never the client key. */
interface ReadyOutputs {
  host: string;
  port: number;
  instanceId: string;
  caPem: string;
  dataDiskId?: string;
  hostKey?: string;
}

async function waitFor(inputs: ReadyInputs): Promise<ReadyOutputs> {
  await waitForDocker(
    {
      host: inputs.host,
      port: inputs.port,
      caPem: inputs.caPem,
      certPem: inputs.certPem,
      keyPem: inputs.keyPem,
      dataDiskId: inputs.dataDiskId,
    },
    {
      label: `${inputs.label} (${inputs.host})`,
      origin: inputs.origin ?? "cvm",
      timeoutMs: inputs.timeoutMinutes * 60_000,
      firstDelayMs: 2_000,
      maxDelayMs: 30_000,
      attemptTimeoutMs: 10_000,
    },
  );
  return readyOutputs(inputs);
}

/** The state kept for a readiness check: what it checked, never the client certificate or key. */
export function readyOutputs(inputs: ReadyInputs): ReadyOutputs {
  const outs: ReadyOutputs = {
    host: inputs.host,
    port: inputs.port,
    instanceId: inputs.instanceId,
    caPem: inputs.caPem,
  };
  if (inputs.dataDiskId !== undefined) outs.dataDiskId = inputs.dataDiskId;
  if (inputs.hostKey !== undefined) outs.hostKey = inputs.hostKey;
  return outs;
}

/** Runs inside the engine; only probes, never changes the host. */
export const dockerReadyProvider: pulumi.dynamic.ResourceProvider<ReadyInputs, ReadyOutputs> = {
  async create(inputs) {
    return { id: `${inputs.host}:${inputs.port}`, outs: await waitFor(inputs) };
  },
  async diff(_id, olds, news) {
    const changed = (["host", "port", "instanceId", "caPem", "dataDiskId", "hostKey"] as const).filter(
      (k) => olds[k] !== news[k],
    );
    return { changes: changed.length > 0, replaces: changed.filter((k) => k === "host" || k === "port") };
  },
  async update(_id, _olds, news) {
    return { outs: await waitFor(news) };
  },
};

/**
 * Waits until a host's Docker API answers over mutual TLS. Nothing is deployed to a host before
 * this exists: a Docker provider connects lazily and would otherwise fail late and obscurely.
 */
export class DockerReady extends pulumi.dynamic.Resource {
  constructor(name: string, args: DockerReadyArgs, opts?: pulumi.CustomResourceOptions) {
    super(dockerReadyProvider, name, { ...args, keyPem: pulumi.secret(args.keyPem) }, opts, "tikv-cvm", "DockerReady");
  }
}
