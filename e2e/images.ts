// The images the program asks for, made here: no registry is reachable. A Debian root filesystem
// from debootstrap (with GNU wget, which the program's health checks and PD start script run, jq,
// which the start script runs too, as pingcap/pd images carry both, and CA certificates),
// plus the stand-in binary as /pd-server, /pd-ctl and /tikv-server, loaded with `docker import`
// under the exact names the program uses (pingcap/pd:<tag>, pingcap/tikv:<tag>). Each tag is its
// own image (its version is in its environment), so a tag change is a real image change.
// Everything built is cached outside the repository, keyed by its inputs.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { CLIENT_IMAGE } from "./dataPath";
import { CACHE_DIR, goSourceHash, log, run } from "./util";

const SUITE = "bookworm";
const MIRROR = process.env.TIKV_CVM_E2E_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
const PACKAGES = ["wget", "jq", "ca-certificates"];
/** Dropped from the root filesystem: documentation, translations, apt's caches. */
const TRIM = [
  "usr/share/doc",
  "usr/share/man",
  "usr/share/locale",
  "usr/share/info",
  "var/cache/apt",
  "var/lib/apt/lists",
];
export const STANDIN_SRC = path.join(__dirname, "..", "..", "..", "e2e", "standins");
/** The Tencent Cloud stand-in is a module of its own (e2e/cloud.ts builds it), not part of the images. */
const NOT_IN_IMAGES = path.join(STANDIN_SRC, "tencentcloud");

export interface ImageSet {
  /** The tarball every image is imported from. */
  readonly tarball: string;
  readonly standinKey: string;
  /** The client image's tarball (ensureClientImageTarball), imported beside them as CLIENT_IMAGE. */
  readonly client: string;
  /** The Node.js image's tarball (ensureNodeImageTarball), imported as NODE_IMAGE. */
  readonly node: string;
}

/**
 * The PD client gateways' image (tikv-cvm:clientGatewayImage): the Debian root filesystem with the
 * Node.js that runs this test as /usr/local/bin/node, where node's official images keep it, named
 * for what it is: no node image can be pulled here.
 */
export const NODE_IMAGE = `tikv-cvm-e2e/node:${process.versions.node}-bookworm`;

/** The root filesystem plus this machine's node binary (glibc-linked; bookworm's libstdc++ serves it). */
export function ensureNodeImageTarball(): string {
  const rootfs = ensureRootfs();
  const node = fs.readFileSync(process.execPath);
  const key = crypto.createHash("sha256").update(node).digest("hex").slice(0, 12);
  const tarball = path.join(CACHE_DIR, `node-image-${path.basename(rootfs, ".tar")}-${key}.tar`);
  if (fs.existsSync(tarball)) return tarball;
  const extra = path.join(CACHE_DIR, `node-extra-${key}`);
  fs.rmSync(extra, { recursive: true, force: true });
  fs.mkdirSync(path.join(extra, "usr", "local", "bin"), { recursive: true });
  fs.writeFileSync(path.join(extra, "usr", "local", "bin", "node"), node, { mode: 0o755 });
  fs.copyFileSync(rootfs, `${tarball}.tmp`);
  run("tar", ["-C", extra, "--owner=0", "--group=0", "-rf", `${tarball}.tmp`, "./usr/local/bin/node"]);
  fs.renameSync(`${tarball}.tmp`, tarball);
  fs.rmSync(extra, { recursive: true, force: true });
  return tarball;
}

/** debootstrap once; the trimmed root filesystem is kept as a tarball. */
export function ensureRootfs(): string {
  const key = crypto.createHash("sha256").update(JSON.stringify({ SUITE, PACKAGES, TRIM })).digest("hex").slice(0, 12);
  const tarball = path.join(CACHE_DIR, `rootfs-${SUITE}-${key}.tar`);
  if (fs.existsSync(tarball)) return tarball;
  const staging = path.join(CACHE_DIR, `rootfs-${key}.tmp`);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  log(`debootstrap ${SUITE} (${PACKAGES.join(", ")}) from ${MIRROR}`);
  run("debootstrap", ["--variant=minbase", `--include=${PACKAGES.join(",")}`, SUITE, staging, MIRROR], {
    inherit: false,
  });
  for (const t of TRIM) fs.rmSync(path.join(staging, t), { recursive: true, force: true });
  run("tar", ["-C", staging, "--numeric-owner", "-cf", `${tarball}.tmp`, "."]);
  fs.renameSync(`${tarball}.tmp`, tarball);
  fs.rmSync(staging, { recursive: true, force: true });
  return tarball;
}

/** Builds the stand-in once per source revision: a static binary. */
export function ensureStandin(): { binary: string; key: string } {
  const key = goSourceHash(STANDIN_SRC, [NOT_IN_IMAGES]);
  const binary = path.join(CACHE_DIR, "bin", `standin-${key}`);
  if (fs.existsSync(binary)) return { binary, key };
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  log(`testing and building the stand-ins (${STANDIN_SRC})`);
  run("go", ["test", "./..."], { cwd: STANDIN_SRC });
  run("go", ["build", "-trimpath", "-ldflags", "-s -w", "-o", `${binary}.tmp`, "."], {
    cwd: STANDIN_SRC,
    env: { ...process.env, CGO_ENABLED: "0" },
  });
  fs.renameSync(`${binary}.tmp`, binary);
  return { binary, key };
}

/** The root filesystem plus /pd-server, /pd-ctl and /tikv-server (one binary, three names). */
export function ensureImageTarball(): ImageSet {
  const rootfs = ensureRootfs();
  const { binary, key } = ensureStandin();
  const tarball = path.join(CACHE_DIR, `image-${path.basename(rootfs, ".tar")}-${key}.tar`);
  const client = ensureClientImageTarball();
  const node = ensureNodeImageTarball();
  if (fs.existsSync(tarball)) return { tarball, standinKey: key, client, node };
  const extra = path.join(CACHE_DIR, `extra-${key}`);
  fs.rmSync(extra, { recursive: true, force: true });
  fs.mkdirSync(extra, { recursive: true });
  for (const name of ["pd-server", "pd-ctl", "tikv-server"]) fs.copyFileSync(binary, path.join(extra, name));
  fs.copyFileSync(rootfs, `${tarball}.tmp`);
  run("tar", [
    "-C",
    extra,
    "--owner=0",
    "--group=0",
    "--mode=0755",
    "-rf",
    `${tarball}.tmp`,
    "pd-server",
    "pd-ctl",
    "tikv-server",
  ]);
  fs.renameSync(`${tarball}.tmp`, tarball);
  fs.rmSync(extra, { recursive: true, force: true });
  return { tarball, standinKey: key, client, node };
}

/**
 * Loads pingcap/pd:<tag> and pingcap/tikv:<tag> for each tag, the client image and the Node.js
 * image, into the engine at `socket`.
 */
export function importImages(socket: string, images: ImageSet, tags: readonly string[]): void {
  importClientImage(socket, images.client, CLIENT_IMAGE);
  run("docker", [
    "-H",
    socket,
    "import",
    "--message",
    "Node.js for the PD client gateways, built by the end-to-end test",
    images.node,
    NODE_IMAGE,
  ]);
  for (const tag of tags) {
    for (const [repo, entry] of [
      ["pingcap/pd", "/pd-server"],
      ["pingcap/tikv", "/tikv-server"],
    ] as const) {
      run("docker", [
        "-H",
        socket,
        "import",
        "--change",
        `ENTRYPOINT ["${entry}"]`,
        "--change",
        `ENV TIKV_CVM_STANDIN_VERSION=${tag}`,
        "--change",
        "ENV TZ=UTC",
        "--change",
        `LABEL org.tikv-cvm.e2e-stand-in=${images.standinKey}`,
        "--message",
        "tikv-cvm end-to-end test stand-in, never for users",
        images.tarball,
        `${repo}:${tag}`,
      ]);
    }
  }
}

const CLIENT_SRC = path.join(__dirname, "..", "..", "..", "client");

/**
 * The client image of client/ (issue 19): the Go test that runs it against the stand-ins, then a
 * static binary in an image of its own (the binary and an empty /etc, where clientCommands copies
 * the client's material), imported under CLIENT_IMAGE (e2e/dataPath.ts). client/Dockerfile is the
 * users' way to the same binary; no base image can be pulled here.
 */
export function ensureClientImageTarball(): string {
  const key = goSourceHash(CLIENT_SRC);
  const tarball = path.join(CACHE_DIR, `client-image-${key}.tar`);
  if (fs.existsSync(tarball)) return tarball;
  log(`testing and building the client (${CLIENT_SRC})`);
  run("go", ["vet", "./..."], { cwd: CLIENT_SRC });
  run("go", ["test", "-count=1", "./..."], { cwd: CLIENT_SRC });
  const staging = path.join(CACHE_DIR, `client-${key}.tmp`);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(path.join(staging, "etc"), { recursive: true });
  fs.mkdirSync(path.join(staging, "tmp"), { recursive: true });
  run("go", ["build", "-trimpath", "-ldflags", "-s -w", "-o", path.join(staging, "tikv-cvm-client"), "."], {
    cwd: CLIENT_SRC,
    env: { ...process.env, CGO_ENABLED: "0" },
  });
  run("tar", ["-C", staging, "--owner=0", "--group=0", "--numeric-owner", "-cf", `${tarball}.tmp`, "."]);
  fs.renameSync(`${tarball}.tmp`, tarball);
  fs.rmSync(staging, { recursive: true, force: true });
  return tarball;
}

/** Loads the client image into the engine at `socket`. */
export function importClientImage(socket: string, tarball: string, name: string): void {
  run("docker", [
    "-H",
    socket,
    "import",
    "--change",
    'ENTRYPOINT ["/tikv-cvm-client"]',
    "--message",
    "tikv-cvm client (client/), built by the end-to-end test",
    tarball,
    name,
  ]);
}
