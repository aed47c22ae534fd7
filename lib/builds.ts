// The user's own builds: which image each component runs (the release's, or tikvImage/pdImage),
// whether a local binary is put into it (tikvPatch/pdPatch), what that patched image is named, and
// which registries need credentials. Pure except `readPatch`, which reads the binary's file.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { PROJECT } from "./configKeys";
import type { BuildSettings } from "./settings";

export type Component = "pd" | "tikv";

/** The CPU architectures PingCAP publishes pd/tikv images for, as ELF e_machine values (elf.h). */
export const ELF_MACHINES = { x86_64: 62, aarch64: 183 } as const;
export type Architecture = keyof typeof ELF_MACHINES;

/** Where the binary sits in the release image, and the config key that replaces it. */
export const PATCH_TARGETS: Readonly<Record<Component, { binary: string; path: string; key: string }>> = {
  // pingcap/pd's entrypoint is /pd-server, pingcap/tikv's /tikv-server (PingCAP-QE/artifacts
  // dockerfiles/products/{pd,tikv}.Dockerfile: COPY ... /pd-server, /tikv-server).
  pd: { binary: "pd-server", path: "/pd-server", key: "pdPatch" },
  tikv: { binary: "tikv-server", path: "/tikv-server", key: "tikvPatch" },
};

/**
 * Why `head` (the file's first bytes) is not a Linux executable for `arch`, or undefined when it is.
 * The ELF header (System V ABI, gABI "ELF Header"; Linux include/uapi/linux/elf.h): magic
 * 7f 'E' 'L' 'F', EI_CLASS 2 (64-bit), EI_DATA 1 (little-endian: both architectures here),
 * e_type ET_EXEC (2) or ET_DYN (3, a PIE), e_machine at offset 18.
 */
export function elfProblem(head: Buffer, arch: Architecture): string | undefined {
  if (head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46) {
    const start = head.subarray(0, 2).toString("latin1");
    return start === "#!"
      ? "is a script, not a compiled binary"
      : "is not an ELF executable (no ELF magic 7f 45 4c 46 at its start)";
  }
  if (head[4] !== 2) return `is a ${head[4] === 1 ? "32-bit" : "non-64-bit"} ELF file; the hosts run 64-bit Linux`;
  if (head[5] !== 1) return "is a big-endian ELF file; the hosts are little-endian";
  const type = head.readUInt16LE(16);
  if (type !== 2 && type !== 3)
    return `is an ELF ${type === 1 ? "relocatable object (.o)" : type === 4 ? "core dump" : `file of type ${type}`}, not an executable`;
  const machine = head.readUInt16LE(18);
  if (machine !== ELF_MACHINES[arch]) {
    const known = Object.entries(ELF_MACHINES).find(([, m]) => m === machine)?.[0];
    return `is built for ${known ?? `ELF machine ${machine}`}, but the hosts are ${arch}`;
  }
  return undefined;
}

/** A local binary to put into a component's image. */
export interface Patch {
  /** Absolute path, resolved from the configured one. */
  readonly file: string;
  /** SHA-256 of its content, hex: names the image, so only a new build rolls the members. */
  readonly sha256: string;
  /** Where it goes in the image, e.g. /tikv-server. */
  readonly target: string;
}

/**
 * Reads and checks the binary a patch key names; throws a message naming the key and the fix when
 * it is missing, not a file, or not an executable for the hosts' architecture.
 */
export function readPatch(component: Component, configured: string, arch: Architecture, cwd: string): Patch {
  const { key, binary, path: target } = PATCH_TARGETS[component];
  const file = path.resolve(cwd, configured);
  const refuse = (why: string) =>
    new Error(
      `${PROJECT}:${key}: ${file} ${why}. Give the path of a ${binary} built for ${arch} Linux ` +
        `(README, "Running your own build"), or go back to the release with: pulumi config rm ${PROJECT}:${key}`,
    );
  let content: Buffer;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw refuse("is not a regular file");
    content = fs.readFileSync(file);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith(`${PROJECT}:`)) throw err;
    throw refuse(`cannot be read (${err instanceof Error ? err.message : String(err)})`);
  }
  const problem = elfProblem(content.subarray(0, 64), arch);
  if (problem !== undefined) throw refuse(problem);
  return { file, sha256: crypto.createHash("sha256").update(content).digest("hex"), target };
}

/** What a component runs: the image to start from, and the binary put into it, if any. */
export interface ComponentBuild {
  /** `pingcap/<component>:<tikvVersion>`, or the user's image. */
  readonly image: string;
  readonly patch?: Patch;
  /** The patched image's name on each host (no registry: it is built there). */
  readonly patchedTag?: string;
}

/** The release image of a component. */
export function releaseImage(component: Component, tikvVersion: string): string {
  return `pingcap/${component}:${tikvVersion}`;
}

/**
 * The patched image's name: repository `tikv-cvm/<component>-patched`, tag from the binary's
 * SHA-256 and a digest of the image it is built from, so a new binary, or a new base (another
 * tikvVersion or image), is a new name and everything else leaves it as it is.
 */
export function patchedTag(component: Component, base: string, sha256: string): string {
  const baseDigest = crypto.createHash("sha256").update(base).digest("hex").slice(0, 8);
  return `tikv-cvm/${component}-patched:${sha256.slice(0, 16)}-${baseDigest}`;
}

export function componentBuild(
  component: Component,
  builds: BuildSettings,
  tikvVersion: string,
  patch: Patch | undefined,
): ComponentBuild {
  const image = builds.images[component] ?? releaseImage(component, tikvVersion);
  return patch ? { image, patch, patchedTag: patchedTag(component, image, patch.sha256) } : { image };
}

/**
 * The registry a reference is pulled from, as the Docker provider picks the credentials for it
 * (kreuzwerker/terraform-provider-docker internal/provider/resource_docker_image_funcs.go,
 * parseImageOptions: the first path component when there are two slashes or more, or when it has
 * a "." or ":" or is localhost; otherwise Docker Hub, registry-1.docker.io).
 */
export function registryOf(reference: string): string {
  const slash = reference.indexOf("/");
  const first = slash === -1 ? "" : reference.slice(0, slash);
  if ((reference.split("/").length > 2 && slash !== -1) || /[.:]/.test(first) || first === "localhost") return first;
  return "registry-1.docker.io";
}

/**
 * One credential per registry of the user's images (the provider's registryAuth entries), with the
 * password as given: index.ts passes the secret the config holds, never the clear text.
 */
export function registryAuths<P>(
  builds: BuildSettings,
  password: P | undefined,
): { address: string; username: string; password: P }[] {
  if (!builds.registry || password === undefined) return [];
  const registry = { username: builds.registry.username, password };
  const addresses = [builds.images.pd, builds.images.tikv].filter((i): i is string => i !== undefined).map(registryOf);
  return [...new Set(addresses)].map((address) => ({ address, ...registry }));
}
