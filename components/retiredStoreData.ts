import * as pulumi from "@pulumi/pulumi";
import { DockerEndpoint, runOneShot } from "../lib/dockerApi";
import { PdTarget, WaitPolicy, getAllStores, pollUntil, retiredStoreAt } from "../lib/pdApi";
import { TlsMaterial } from "../lib/tlsMaterial";

/**
 * Before a TiKV store is created on a host that had one (nodeCount 4 -> 3 -> 4): the retained
 * volume still holds the old store, which PD made Tombstone when it was retired and now refuses
 * ("store is tombstone"). Created before the store's container, on every creation of the member,
 * this asks PD (the live cluster, not the stack's outputs) whether the store at this address is
 * Tombstone with no live store there; only then does it move the volume's contents aside, into
 * `retired-store-<id>-<time>` on the same volume (kept, never deleted), through a one-shot
 * container of the TiKV image (a dnf-based image with /bin/sh and coreutils: PingCAP-QE/artifacts
 * dockerfiles/bases/tikv-base/Dockerfile, FROM pingcap-base), so the new store starts empty.
 * A live store's data is never touched. On the cluster's first deployment PD is not up yet:
 * nothing to check.
 */
export interface RetiredStoreDataArgs {
  /** The store's advertised address. */
  address: string;
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
  address: string;
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
  address: string;
  outcome: string;
}

export function retiredDataOutputs(inputs: RetiredDataInputs, outcome: string): RetiredDataOutputs {
  return { address: inputs.address, outcome };
}

/** The shell command that moves everything on the volume into `aside` (a directory on it). */
export function moveAsideCommand(dataDir: string, aside: string): string[] {
  return [
    "-c",
    `set -eu; mkdir -p "${dataDir}/${aside}"; for e in "${dataDir}"/* "${dataDir}"/.[!.]*; do ` +
      `[ -e "$e" ] || continue; case "$e" in "${dataDir}"/retired-store-*) ;; *) mv "$e" "${dataDir}/${aside}/" ;; esac; done`,
  ];
}

async function check(inputs: RetiredDataInputs, policy: WaitPolicy): Promise<string> {
  if (inputs.firstDeployment) return "first deployment: no store to check";
  const target: PdTarget = { endpoints: inputs.pdEndpoints, requestTimeoutMs: 5_000, tls: inputs.tls };
  let stores: Awaited<ReturnType<typeof getAllStores>> | undefined;
  let failure = "";
  const answered = await pollUntil(async () => {
    try {
      stores = await getAllStores(target);
      return true;
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
      return false;
    }
  }, policy);
  if (!answered || !stores) {
    throw new Error(
      `before creating TiKV store ${inputs.address}: PD did not answer within ${policy.timeoutMs / 1000} s (${failure}), ` +
        "so whether its volume holds a retired store is unknown; nothing was changed. Run pulumi up again once PD answers",
    );
  }
  const retired = retiredStoreAt(stores, inputs.address);
  if (!retired) return "no retired store at this address";
  const aside = `retired-store-${retired.id}-${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}`;
  await runOneShot(
    inputs.endpoint,
    {
      name: inputs.name,
      image: inputs.image,
      entrypoint: ["/bin/sh"],
      cmd: moveAsideCommand(inputs.dataDir, aside),
      binds: [`${inputs.volumeName}:${inputs.dataDir}`],
    },
    120_000,
  );
  return `store ${retired.id} is Tombstone: its data moved to ${aside} on ${inputs.volumeName}`;
}

export const retiredStoreDataProvider: pulumi.dynamic.ResourceProvider<RetiredDataInputs, RetiredDataOutputs> = {
  async create(inputs) {
    const outcome = await check(inputs, { timeoutMs: inputs.timeoutMinutes * 60_000, intervalMs: 2_000 });
    return { id: inputs.name, outs: retiredDataOutputs(inputs, outcome) };
  },
  // Once, before the member's container is first created: its later restarts reuse its own data.
  async diff() {
    return { changes: false, replaces: [] };
  },
};

export class RetiredStoreData extends pulumi.dynamic.Resource {
  constructor(name: string, args: RetiredStoreDataArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      retiredStoreDataProvider,
      name,
      { ...args, endpoint: pulumi.secret(args.endpoint) },
      opts,
      "tikv-cvm",
      "RetiredStoreData",
    );
  }
}
