import * as pulumi from "@pulumi/pulumi";
import { DockerEndpoint } from "../lib/dockerApi";
import { DataFsWait, FsReading, waitForDataFs } from "../lib/dataFs";

export interface StoreDiskArgs {
  /** The host's engine; its client key is kept secret. */
  endpoint: pulumi.Input<DockerEndpoint>;
  /** Names the host in messages. */
  label: string;
  store: string;
  image: pulumi.Input<string>;
  volumeName: pulumi.Input<string>;
  /** Container name of the one-shot read. */
  name: string;
  /**
   * The data disk's size as the cloud reports it after its last change (the CBS disk's
   * storageSize output), so the read happens after a resize, never before.
   */
  diskGB: pulumi.Input<number>;
  maxWaitMinutes: number;
}

export interface StoreDiskInputs {
  endpoint: DockerEndpoint;
  label: string;
  store: string;
  image: string;
  volumeName: string;
  name: string;
  diskGB: number;
  maxWaitMinutes: number;
}

/** What is kept in the state: never the client key. */
export interface StoreDiskOutputs {
  store: string;
  diskGB: number;
  volumeName: string;
  /** The filesystem as TiKV will find it (statvfs), bytes. */
  fsTotalBytes: number;
  fsAvailableBytes: number;
}

/** How the wait reads: every 10 s (the grow timer runs every 30 s), at most a read's 60 s. */
export function dataFsWait(inputs: StoreDiskInputs): DataFsWait {
  return {
    label: inputs.label,
    store: inputs.store,
    image: inputs.image,
    volumeName: inputs.volumeName,
    name: inputs.name,
    diskGB: inputs.diskGB,
    maxWaitMs: inputs.maxWaitMinutes * 60_000,
    intervalMs: 10_000,
    attemptTimeoutMs: 60_000,
  };
}

/** The state kept: what was read and against what, never the client material. */
export function storeDiskOutputs(inputs: StoreDiskInputs, reading: FsReading): StoreDiskOutputs {
  return {
    store: inputs.store,
    diskGB: inputs.diskGB,
    volumeName: inputs.volumeName,
    fsTotalBytes: reading.totalBytes,
    fsAvailableBytes: reading.availableBytes,
  };
}

async function check(inputs: StoreDiskInputs): Promise<StoreDiskOutputs> {
  return storeDiskOutputs(inputs, await waitForDataFs(inputs.endpoint, dataFsWait(inputs)));
}

/** A grown disk, or another volume (a new store), is read again; a new image alone (an upgrade) is not. */
export function storeDiskChanges(
  olds: Pick<StoreDiskInputs, "diskGB" | "volumeName">,
  news: Pick<StoreDiskInputs, "diskGB" | "volumeName">,
): boolean {
  return olds.diskGB !== news.diskGB || olds.volumeName !== news.volumeName;
}

/** Runs inside the engine; reads the store's filesystem, never changes it. */
export const storeDiskProvider: pulumi.dynamic.ResourceProvider<StoreDiskInputs, StoreDiskOutputs> = {
  async create(inputs) {
    return { id: `${inputs.store}-data-fs`, outs: await check(inputs) };
  },
  async diff(_id, olds, news) {
    return { changes: storeDiskChanges(olds, news), replaces: [] };
  },
  async update(_id, _olds, news) {
    return { outs: await check(news) };
  },
};

/**
 * A store's data filesystem against the disk its config is sized for (lib/dataFs.ts): before the
 * store's container is created or replaced after a data disk change, waits until the host's
 * filesystem fills the resized disk (the grow timer, lib/dataDisk.ts), so TiKV never starts with a
 * reserve-space and capacity for a disk larger than the filesystem it finds. Only where the
 * program made the disk (mode cvm).
 */
export class StoreDisk extends pulumi.dynamic.Resource {
  public readonly fsTotalBytes!: pulumi.Output<number>;

  constructor(name: string, args: StoreDiskArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      storeDiskProvider,
      name,
      { ...args, endpoint: pulumi.secret(args.endpoint), fsTotalBytes: undefined },
      opts,
      "tikv-cvm",
      "StoreDisk",
    );
  }
}
