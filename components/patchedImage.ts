import * as pulumi from "@pulumi/pulumi";
import { DockerEndpoint, buildPatchedImage } from "../lib/dockerApi";

export interface PatchedImageArgs {
  /** The host's engine; its client key is kept secret. */
  endpoint: pulumi.Input<DockerEndpoint>;
  /** The id of the image the binary goes into (the member's release or own image, on this engine). */
  baseImageId: pulumi.Input<string>;
  /** The binary on the operator's machine, its SHA-256, and where it goes in the image. */
  binaryFile: string;
  sha256: string;
  target: string;
  /** The name the image gets on the host (lib/builds.ts patchedTag). */
  tag: string;
}

export interface PatchedInputs {
  endpoint: DockerEndpoint;
  baseImageId: string;
  binaryFile: string;
  sha256: string;
  target: string;
  tag: string;
}

/** What is kept in the state: never the client key. */
interface PatchedOutputs {
  tag: string;
  sha256: string;
  target: string;
  baseImageId: string;
  imageId: string;
}

/** A timeout for sending a binary of a few hundred MB to a host across the internet. */
const BUILD_TIMEOUT_MS = 20 * 60_000;

async function build(inputs: PatchedInputs): Promise<PatchedOutputs> {
  const imageId = await buildPatchedImage(
    inputs.endpoint,
    {
      baseImageId: inputs.baseImageId,
      binaryFile: inputs.binaryFile,
      sha256: inputs.sha256,
      target: inputs.target,
      tag: inputs.tag,
      labels: { "org.tikv-cvm.patch.sha256": inputs.sha256, "org.tikv-cvm.patch.target": inputs.target },
    },
    BUILD_TIMEOUT_MS,
  );
  return patchedOutputs(inputs, imageId);
}

/** What is kept: the image and what it was built from; never the client key. */
export function patchedOutputs(inputs: PatchedInputs, imageId: string): PatchedOutputs {
  return { tag: inputs.tag, sha256: inputs.sha256, target: inputs.target, baseImageId: inputs.baseImageId, imageId };
}

/**
 * Builds and names the image once; a new binary or base is a new image (replace), and the engine
 * keeps the old one, as `keepLocally` keeps the release images: going back needs no rebuild.
 * The binary's path alone is no change: only its content (sha256) names the build.
 */
export const patchedImageProvider: pulumi.dynamic.ResourceProvider<PatchedInputs, PatchedOutputs> = {
  async create(inputs) {
    return { id: inputs.tag, outs: await build(inputs) };
  },
  async diff(_id, olds, news) {
    const replaces = (["tag", "sha256", "target", "baseImageId"] as const).filter((k) => olds[k] !== news[k]);
    return { changes: replaces.length > 0, replaces };
  },
};

/**
 * The member's image with the user's binary in place (tikvPatch/pdPatch), built on the host's own
 * engine through the Engine API, so no registry is involved. Why not the Docker provider's
 * RemoteImage `build`: kreuzwerker/terraform-provider-docker (the published plugin's v3.9.0 and
 * the e2e plugin's commit) chooses buildx or the legacy builder from the operator's environment
 * (internal/provider/docker_buildx_build.go canUseBuildx: DOCKER_BUILDKIT, BUILDX_BUILDER and the
 * buildx builder store in ~/.docker), which this program keeps out of every provider
 * (lib/dockerProvider.ts), and it needs the context as a directory on disk.
 */
export class PatchedImage extends pulumi.dynamic.Resource {
  declare public readonly imageId: pulumi.Output<string>;
  declare public readonly tag: pulumi.Output<string>;

  constructor(name: string, args: PatchedImageArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      patchedImageProvider,
      name,
      { ...args, endpoint: pulumi.secret(args.endpoint), imageId: undefined },
      opts,
      "tikv-cvm",
      "PatchedImage",
    );
  }
}
