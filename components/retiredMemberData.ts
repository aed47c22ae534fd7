import * as pulumi from "@pulumi/pulumi";
import { DockerEndpoint, runOneShot } from "../lib/dockerApi";
import { PdTarget, WaitPolicy, getAllStores, getMembers, pollUntil, retiredStoreAt } from "../lib/pdApi";
import { TlsMaterial } from "../lib/tlsMaterial";

/**
 * Before a member is created on a host whose retained volume may hold a predecessor's data that
 * the live cluster refuses:
 *
 * - a TiKV store (nodeCount 4 -> 3 -> 4): the old store, which PD made Tombstone when it was
 *   retired, is refused when it comes back ("store is tombstone"). When PD's store list (the live
 *   cluster, not the stack's outputs) shows a Tombstone store at this address and no live one,
 *   the volume's contents move into `retired-store-<id>-<time>`;
 * - a PD member (pdCount 3 -> 1 -> 3): its old member data is a removed member's, which etcd
 *   refuses (PD's join.go: "A deleted PD joins the previous cluster"). When PD's member list
 *   names it by neither name nor peer URL and its volume holds member data, that data moves into
 *   `removed-<time>`; the start script then joins it afresh (lib/pdStart.ts). The script itself
 *   never does this: a member removed by a scale-in restarts while its container waits to be
 *   deleted, and re-adding itself then would cost the cluster its quorum.
 *
 * Created before the member's container, once per member (not on a container replacement).
 * Moved data stays on the same volume, never deleted, through a one-shot container of the
 * member's image (dnf-based images with /bin/sh and coreutils: PingCAP-QE/artifacts
 * dockerfiles/bases/{pd,tikv}-base/Dockerfile, FROM pingcap-base). A live member's data is never
 * touched. On the cluster's first deployment PD is not up yet: nothing to check.
 */
export interface RetiredMemberDataArgs {
  kind: "pd" | "tikv";
  /** The store's advertised address, or the PD member's name. */
  member: string;
  /** A PD member's advertised peer URL (etcd lists an added, unstarted member by it alone). */
  peerUrl?: string;
  endpoint: pulumi.Input<DockerEndpoint>;
  image: pulumi.Input<string>;
  volumeName: pulumi.Input<string>;
  /** Container name of the one-shot run (e.g. tikv4-retired-data). */
  name: string;
  dataDir: string;
  pdEndpoints: pulumi.Input<pulumi.Input<string>[]>;
  timeoutMinutes: number;
  tls?: TlsMaterial<pulumi.Input<string>>;
  /** The cluster's first deployment: PD does not run yet. */
  firstDeployment: boolean;
}

export interface RetiredDataInputs {
  kind: "pd" | "tikv";
  member: string;
  peerUrl?: string;
  endpoint: DockerEndpoint;
  image: string;
  volumeName: string;
  name: string;
  dataDir: string;
  pdEndpoints: string[];
  timeoutMinutes: number;
  tls?: TlsMaterial;
  firstDeployment: boolean;
}

/** What is kept in the state: never a key. */
interface RetiredDataOutputs {
  kind: string;
  member: string;
  outcome: string;
}

export function retiredDataOutputs(inputs: RetiredDataInputs, outcome: string): RetiredDataOutputs {
  return { kind: inputs.kind, member: inputs.member, outcome };
}

/** Asides of earlier runs stay where they are: a PD member's `removed-*`, a store's `retired-store-*`. */
const ASIDE_PREFIXES = ["removed-", "retired-store-"];

/**
 * The shell command that moves everything on the volume into `aside` (a directory on it); with
 * `onlyIfPresent`, only when that entry of the volume is a non-empty directory.
 */
export function moveAsideCommand(dataDir: string, aside: string, onlyIfPresent?: string): string[] {
  const guard = onlyIfPresent
    ? `[ -n "$(ls -A "${dataDir}/${onlyIfPresent}" 2>/dev/null)" ] || { echo "no ${onlyIfPresent} data"; exit 0; }; `
    : "";
  const keep = ASIDE_PREFIXES.map((p) => `"${dataDir}"/${p}*`).join("|");
  return [
    "-c",
    `set -eu; ${guard}mkdir -p "${dataDir}/${aside}"; for e in "${dataDir}"/* "${dataDir}"/.[!.]*; do ` +
      `[ -e "$e" ] || continue; case "$e" in ${keep}) ;; *) mv "$e" "${dataDir}/${aside}/" ;; esac; done`,
  ];
}

/** Answers from PD, retried within the policy; a PD that never answers stops the deployment, nothing changed. */
async function askPd<T>(inputs: RetiredDataInputs, policy: WaitPolicy, ask: (t: PdTarget) => Promise<T>): Promise<T> {
  const target: PdTarget = { endpoints: inputs.pdEndpoints, requestTimeoutMs: 5_000, tls: inputs.tls };
  let answer: T | undefined;
  let failure = "";
  const answered = await pollUntil(async () => {
    try {
      answer = await ask(target);
      return true;
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
      return false;
    }
  }, policy);
  if (!answered || answer === undefined) {
    const what = inputs.kind === "tikv" ? `TiKV store ${inputs.member}` : `PD member ${inputs.member}`;
    throw new Error(
      `before creating ${what}: PD did not answer within ${policy.timeoutMs / 1000} s (${failure}), ` +
        "so whether its volume holds a retired member's data is unknown; nothing was changed. Run pulumi up again once PD answers",
    );
  }
  return answer;
}

function asideStamp(): string {
  return new Date().toISOString().replace(/\D/g, "").slice(0, 14);
}

async function check(inputs: RetiredDataInputs, policy: WaitPolicy): Promise<string> {
  if (inputs.firstDeployment) return "first deployment: nothing to check";
  const oneShot = (aside: string, onlyIfPresent?: string) =>
    runOneShot(
      inputs.endpoint,
      {
        name: inputs.name,
        image: inputs.image,
        entrypoint: ["/bin/sh"],
        cmd: moveAsideCommand(inputs.dataDir, aside, onlyIfPresent),
        binds: [`${inputs.volumeName}:${inputs.dataDir}`],
      },
      120_000,
    );
  if (inputs.kind === "pd") {
    const members = await askPd(inputs, policy, getMembers);
    if (members.some((m) => m.name === inputs.member || (inputs.peerUrl && m.peerUrls.includes(inputs.peerUrl))))
      return `PD member ${inputs.member} is in the cluster: its data is its own`;
    const aside = `removed-${asideStamp()}`;
    await oneShot(aside, "member");
    return `PD member ${inputs.member} is not in the cluster: member data on ${inputs.volumeName}, if any, moved to ${aside}`;
  }
  const retired = retiredStoreAt(await askPd(inputs, policy, getAllStores), inputs.member);
  if (!retired) return "no retired store at this address";
  const aside = `retired-store-${retired.id}-${asideStamp()}`;
  await oneShot(aside);
  return `store ${retired.id} is Tombstone: its data moved to ${aside} on ${inputs.volumeName}`;
}

export const retiredMemberDataProvider: pulumi.dynamic.ResourceProvider<RetiredDataInputs, RetiredDataOutputs> = {
  async create(inputs) {
    const outcome = await check(inputs, { timeoutMs: inputs.timeoutMinutes * 60_000, intervalMs: 2_000 });
    return { id: inputs.name, outs: retiredDataOutputs(inputs, outcome) };
  },
  // Once, before the member's container is first created: its later restarts reuse its own data.
  async diff() {
    return { changes: false, replaces: [] };
  },
};

export class RetiredMemberData extends pulumi.dynamic.Resource {
  constructor(name: string, args: RetiredMemberDataArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      retiredMemberDataProvider,
      name,
      { ...args, endpoint: pulumi.secret(args.endpoint) },
      opts,
      "tikv-cvm",
      "RetiredMemberData",
    );
  }
}
