import * as pulumi from "@pulumi/pulumi";
import { PdTarget, getMembers, removePdMember, retireStore } from "../lib/pdApi";
import { TlsMaterial } from "../lib/tlsMaterial";

/**
 * A resource that exists exactly as long as its member, so that the member's removal never
 * depends on what the stack's last outputs say (a failed update keeps the previous outputs,
 * pulumi/pulumi#14621: a store created by a failed scale-out is not in them). It depends on the
 * member's container, so the engine deletes it first (dependents before what they depend on);
 * its delete retires the member through PD and fails the deployment, keeping the container,
 * when PD does not confirm:
 *
 * - a PD member leaves the cluster (DELETE /pd/api/v1/members/name/{name}, leadership handed to
 *   another member first), as TiUP's scale-in;
 * - a TiKV store is deleted in PD and waited for until Tombstone (lib/pdApi.ts retireStore).
 *
 * Not on `pulumi destroy`: `deletedWith` the cluster component, the engine skips the delete of
 * a resource whose `deletedWith` is deleted in the same operation (pulumi/pulumi
 * pkg/resource/deploy/step.go DeleteStep.Apply, isDeletedWith), and destroy keeps the data on
 * purpose (README, Destroy).
 */
export interface MemberGuardArgs {
  kind: "pd" | "tikv";
  /** PD member name, or the TiKV store's advertised address. */
  member: string;
  pdEndpoints: pulumi.Input<pulumi.Input<string>[]>;
  timeoutMinutes: number;
  /** The cluster admin's client material; kept in the state as a secret, since the delete needs it. */
  tls?: TlsMaterial<pulumi.Input<string>>;
}

export interface GuardInputs {
  kind: "pd" | "tikv";
  member: string;
  pdEndpoints: string[];
  timeoutMinutes: number;
  tls?: TlsMaterial;
}

/** A delete only has the state: the guard keeps what it needs to reach PD (the key as a secret). */
export type GuardOutputs = GuardInputs;

export async function retireMember(guard: GuardOutputs): Promise<string> {
  const target: PdTarget = { endpoints: guard.pdEndpoints, requestTimeoutMs: 5_000, tls: guard.tls };
  const policy = { timeoutMs: guard.timeoutMinutes * 60_000, intervalMs: 2_000 };
  if (guard.kind === "tikv") return retireStore(target, guard.member, policy);
  const remaining = (await getMembers(target)).map((m) => m.name).filter((n) => n !== "" && n !== guard.member);
  return removePdMember(target, guard.member, remaining, policy);
}

export const memberGuardProvider: pulumi.dynamic.ResourceProvider<GuardInputs, GuardOutputs> = {
  async create(inputs) {
    return { id: `guard-${inputs.kind}-${inputs.member}`, outs: inputs };
  },
  async diff(_id, olds, news) {
    // Endpoints, timeouts and certificates are kept current (an update talks to nobody).
    const changes = JSON.stringify(olds) !== JSON.stringify(news);
    const replaces = olds.kind !== news.kind || olds.member !== news.member ? ["member"] : [];
    return { changes, replaces, deleteBeforeReplace: false };
  },
  async update(_id, _olds, news) {
    return { outs: news };
  },
  async delete(_id, props) {
    await retireMember(props);
  },
};

export class MemberGuard extends pulumi.dynamic.Resource {
  constructor(name: string, args: MemberGuardArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      memberGuardProvider,
      name,
      { ...args },
      { ...opts, additionalSecretOutputs: ["tls"] },
      "tikv-cvm",
      "MemberGuard",
    );
  }
}
