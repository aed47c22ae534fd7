import * as pulumi from "@pulumi/pulumi";
import { DockerEndpoint } from "../lib/dockerApi";
import { ClockReading, HostReading, clockWarning, waitForHostClock } from "../lib/hostClock";
import { memoryFitProblem } from "../lib/memoryBudget";

export interface HostCheckArgs {
  /** The host's engine; its client key is kept secret. */
  endpoint: pulumi.Input<DockerEndpoint>;
  /** Names the host in messages. */
  label: string;
  /** Latest NotBefore of the cluster certificates (lib/hostClock.ts latestNotBefore); "" without TLS. */
  notBefore: pulumi.Input<string>;
  /** Changes when the host does (a new CVM, another listed address): its clock is read again. */
  hostKey: pulumi.Input<string>;
  maxWaitMinutes: number;
  /**
   * The memory caps of every container about to run on this engine, MiB: checked against what the
   * host's kernel reports. Undefined where one engine serves several hosts' plans (mode local).
   */
  plannedMiB?: number;
}

export interface CheckInputs {
  endpoint: DockerEndpoint;
  label: string;
  notBefore: string;
  hostKey: string;
  maxWaitMinutes: number;
  plannedMiB?: number;
}

/** What is kept in the state: never the client key. */
export interface CheckOutputs extends ClockReading {
  label: string;
  notBefore: string;
  hostKey: string;
  /** What the host's kernel reports (MemTotal), MiB; and the caps checked against it. */
  memTotalMiB: number;
  plannedMiB?: number;
  /** When the clock was read (this machine's ISO time). */
  checkedAt: string;
}

/** The state kept for a clock check: what was read and against what, never the client material. */
export function checkOutputs(inputs: CheckInputs, reading: HostReading): CheckOutputs {
  return {
    label: inputs.label,
    notBefore: inputs.notBefore,
    hostKey: inputs.hostKey,
    memTotalMiB: Math.floor(reading.memTotalBytes / 1048576),
    ...(inputs.plannedMiB === undefined ? {} : { plannedMiB: inputs.plannedMiB }),
    offsetMs: Math.round(reading.offsetMs),
    uncertaintyMs: Math.round(reading.uncertaintyMs),
    checkedAt: new Date().toISOString(),
  };
}

async function check(inputs: CheckInputs): Promise<CheckOutputs> {
  const reading = await waitForHostClock(inputs.endpoint, {
    label: inputs.label,
    notBefore: inputs.notBefore,
    maxWaitMs: inputs.maxWaitMinutes * 60_000,
    attemptTimeoutMs: 10_000,
  });
  const outs = checkOutputs(inputs, reading);
  const misfit =
    inputs.plannedMiB === undefined ? undefined : memoryFitProblem(inputs.label, outs.memTotalMiB, inputs.plannedMiB);
  if (misfit) throw new Error(misfit);
  return outs;
}

/** Runs inside the engine; reads the host's clock, never changes the host. */
export const hostCheckProvider: pulumi.dynamic.ResourceProvider<CheckInputs, CheckOutputs> = {
  async create(inputs) {
    return { id: `${inputs.label}-check`, outs: await check(inputs) };
  },
  async diff(_id, olds, news) {
    // Only new certificates, a new host or new caps make the host worth reading again.
    const changes =
      olds.notBefore !== news.notBefore || olds.hostKey !== news.hostKey || olds.plannedMiB !== news.plannedMiB;
    return { changes, replaces: [] };
  },
  async update(_id, _olds, news) {
    return { outs: await check(news) };
  },
};

/**
 * A host against what is about to start on it, read through its Docker API (GET /info) before any
 * PD or TiKV container there starts: its clock has passed the NotBefore of every certificate made
 * on this machine (@pulumi/tls cannot backdate one: lib/hostClock.ts), and the containers' memory
 * caps fit what its kernel really has (lib/memoryBudget.ts memoryFitProblem). Reads the host
 * again whenever a certificate is reissued, the host changes or the caps do; warns when the host's
 * clock is off from this machine's by TiUP's limit or more.
 */
export class HostCheck extends pulumi.dynamic.Resource {
  public readonly offsetMs!: pulumi.Output<number>;
  public readonly uncertaintyMs!: pulumi.Output<number>;

  constructor(name: string, args: HostCheckArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      hostCheckProvider,
      name,
      { ...args, endpoint: pulumi.secret(args.endpoint), offsetMs: undefined, uncertaintyMs: undefined },
      opts,
      "tikv-cvm",
      "HostCheck",
    );
    pulumi.all([this.offsetMs, this.uncertaintyMs]).apply(([offsetMs, uncertaintyMs]) => {
      if (offsetMs === undefined || uncertaintyMs === undefined) return;
      const warning = clockWarning(args.label, { offsetMs, uncertaintyMs });
      if (warning) pulumi.log.warn(warning, this);
    });
  }
}
