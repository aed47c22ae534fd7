import * as pulumi from "@pulumi/pulumi";
import {
  PdTarget,
  awaitHostBack,
  awaitPdHealthy,
  prepareHostRestart,
  preparePdRestart,
  prepareTikvRestart,
  removePdMember,
  restoreTikv,
  retireStore,
} from "../lib/pdApi";
import { TlsMaterial } from "../lib/tlsMaterial";

/**
 * A step of a rolling restart, placed in the dependency chain around each PD and TiKV container:
 *
 *   before(pd1) -> pd1 -> after(pd1) -> before(pd2) -> ... -> after(tikvN)
 *
 * "before" runs when its trigger (a digest of the container inputs whose change makes the engine
 * replace it) changes, i.e. just before the replacement: it moves PD leadership to a member already
 * on the new spec, or evicts a store's Raft leaders. "after" runs when the container's id or the
 * before trigger changes, i.e. once the replacement exists or whenever "before" ran: it removes the
 * store's evict-leader scheduler and waits until the member is healthy again. Creating a gate does
 * nothing: a new member has nothing to drain, and its container's own health wait covers its start.
 *
 * A "host" gate does both for every member of one CVM host: "before" runs when anything that
 * restarts, re-images or replaces the CVM changes (its roll key), just before the engine touches
 * the CVM; "after" runs once the host's containers are back. lib/rolloutPlan.ts decides the chain.
 */
export interface RolloutGateArgs {
  kind: "pd" | "tikv" | "host";
  phase: "before" | "after";
  /** PD member name, or the TiKV store's advertised address (a host: its store's). */
  member: string;
  /** A host gate's PD member, when the host runs one. */
  pdMember?: string;
  trigger: pulumi.Input<string>;
  /** PD client URLs the operator's machine can reach. */
  pdEndpoints: pulumi.Input<pulumi.Input<string>[]>;
  timeoutMinutes: number;
  /** PD's CA and a client certificate, when PD speaks TLS. */
  tls?: TlsMaterial<pulumi.Input<string>>;
  /** PD members rolled before this one (already on the new spec) and after it; see chooseNextLeader. */
  rolled?: readonly string[];
  pending?: readonly string[];
}

interface GateInputs {
  kind: "pd" | "tikv" | "host";
  phase: "before" | "after";
  member: string;
  pdMember?: string;
  trigger: string;
  pdEndpoints: string[];
  timeoutMinutes: number;
  tls?: TlsMaterial;
  rolled?: string[];
  pending?: string[];
}

/** What is kept in the state: never the client key. */
interface GateOutputs {
  kind: string;
  phase: string;
  member: string;
  trigger: string;
  /** What the last run did, e.g. "resigned leadership"; kept in the state for the curious. */
  outcome: string;
}

async function runGate(inputs: GateInputs): Promise<string> {
  const target: PdTarget = { endpoints: inputs.pdEndpoints, requestTimeoutMs: 5_000, tls: inputs.tls };
  const policy = { timeoutMs: inputs.timeoutMinutes * 60_000, intervalMs: 2_000 };
  if (inputs.kind === "host") {
    const host = {
      pdMember: inputs.pdMember,
      storeAddress: inputs.member,
      place: { rolled: inputs.rolled ?? [], pending: inputs.pending ?? [] },
    };
    if (inputs.phase === "before") return prepareHostRestart(target, host, policy);
    return awaitHostBack(target, host, policy);
  }
  if (inputs.kind === "pd") {
    if (inputs.phase === "before") {
      return preparePdRestart(
        target,
        inputs.member,
        { rolled: inputs.rolled ?? [], pending: inputs.pending ?? [] },
        policy,
      );
    }
    await awaitPdHealthy(target, inputs.member, policy, [
      ...(inputs.rolled ?? []),
      inputs.member,
      ...(inputs.pending ?? []),
    ]);
    return "healthy";
  }
  if (inputs.phase === "before") return prepareTikvRestart(target, inputs.member, policy);
  return restoreTikv(target, inputs.member, policy);
}

function outputs(inputs: GateInputs, outcome: string): GateOutputs {
  return { kind: inputs.kind, phase: inputs.phase, member: inputs.member, trigger: inputs.trigger, outcome };
}

export const rolloutGateProvider: pulumi.dynamic.ResourceProvider<GateInputs, GateOutputs> = {
  async create(inputs) {
    return { id: `${inputs.kind}-${inputs.phase}-${inputs.member}`, outs: outputs(inputs, "created") };
  },
  async diff(_id, olds, news) {
    // Only the trigger matters: new endpoints or timeouts are no reason to drain a member.
    return { changes: olds.trigger !== news.trigger || olds.member !== news.member, replaces: [] };
  },
  async update(_id, _olds, news) {
    return { outs: outputs(news, await runGate(news)) };
  },
};

export class RolloutGate extends pulumi.dynamic.Resource {
  /** What makes it run (see RolloutGateArgs); the build report follows the after gates' triggers. */
  declare public readonly trigger: pulumi.Output<string>;

  constructor(name: string, args: RolloutGateArgs, opts?: pulumi.CustomResourceOptions) {
    super(rolloutGateProvider, name, { ...args }, opts, "tikv-cvm", "RolloutGate");
  }
}

export interface MemberRetirementArgs {
  kind: "pd" | "tikv";
  /** PD member name, or the TiKV store's advertised address. */
  member: string;
  /** PD members that stay: one of them takes over leadership if `member` leads. */
  remaining: string[];
  pdEndpoints: pulumi.Input<pulumi.Input<string>[]>;
  timeoutMinutes: number;
  tls?: TlsMaterial<pulumi.Input<string>>;
}

interface RetirementInputs {
  kind: "pd" | "tikv";
  member: string;
  remaining: string[];
  pdEndpoints: string[];
  timeoutMinutes: number;
  tls?: TlsMaterial;
}

/**
 * Declared for one deployment only, when scaling in removes a member: created before the engine
 * deletes the member's container (deletions come last in a deployment), it removes a PD member
 * from PD, or retires a TiKV store (Offline, then Tombstone; lib/pdApi.ts retireStore) and fails
 * the deployment while it is not Tombstone yet. The member's guard (components/memberGuard.ts)
 * does the same from the state, for members these outputs-based retirements do not know of.
 * Deleting it, on the next deployment, does nothing.
 */
interface RetirementOutputs {
  kind: string;
  member: string;
  outcome: string;
}

/** What is kept in the state: what was retired and how, never the client key. */
export function retirementOutputs(inputs: RetirementInputs, outcome: string): RetirementOutputs {
  return { kind: inputs.kind, member: inputs.member, outcome };
}

export const retirementProvider: pulumi.dynamic.ResourceProvider<RetirementInputs, RetirementOutputs> = {
  async create(inputs) {
    const target: PdTarget = { endpoints: inputs.pdEndpoints, requestTimeoutMs: 5_000, tls: inputs.tls };
    const policy = { timeoutMs: inputs.timeoutMinutes * 60_000, intervalMs: 2_000 };
    const outcome =
      inputs.kind === "pd"
        ? await removePdMember(target, inputs.member, inputs.remaining, policy)
        : await retireStore(target, inputs.member, policy);
    return { id: `retire-${inputs.kind}-${inputs.member}`, outs: retirementOutputs(inputs, outcome) };
  },
  async diff() {
    return { changes: false, replaces: [] };
  },
};

export class MemberRetirement extends pulumi.dynamic.Resource {
  constructor(name: string, args: MemberRetirementArgs, opts?: pulumi.CustomResourceOptions) {
    super(retirementProvider, name, { ...args }, opts, "tikv-cvm", "MemberRetirement");
  }
}
