// Small helpers for the end-to-end test: running commands, waiting, timing, logging.
import { SpawnSyncOptions, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Cache outside the repository: root filesystem, stand-in binary, image tarball. */
export const CACHE_DIR = process.env.TIKV_CVM_E2E_CACHE ?? path.join(os.homedir(), ".cache", "tikv-cvm-e2e");

export function log(message: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[e2e ${t}] ${message}\n`);
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  /** Pass output through to the terminal instead of capturing it. */
  readonly inherit?: boolean;
  /** Capture stdout but pass stderr (progress) through. */
  readonly passStderr?: boolean;
  readonly allowFailure?: boolean;
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; throws with its output when it fails (unless allowFailure). */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): RunResult {
  const spawnOptions: SpawnSyncOptions = {
    cwd: options.cwd,
    env: options.env ?? process.env,
    input: options.input,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    timeout: options.timeoutMs,
    stdio: options.inherit
      ? ["ignore", "inherit", "inherit"]
      : options.passStderr
        ? ["pipe", "pipe", "inherit"]
        : ["pipe", "pipe", "pipe"],
  };
  const result = spawnSync(cmd, [...args], spawnOptions);
  const out: RunResult = {
    status: result.status ?? -1,
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? "") + (result.error ? String(result.error) : ""),
  };
  if (out.status !== 0 && !options.allowFailure) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${out.status}:\n${out.stderr.slice(-4000)}${out.stdout.slice(-2000)}`,
    );
  }
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `check` returns a value (not undefined) or the deadline passes, then throws `what`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined> | T | undefined,
  intervalMs = 1000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? `: ${lastError}` : ""}`);
    await sleep(intervalMs);
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

export function assertEqual<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`assertion failed: ${what}: expected ${e}, got ${a}`);
}

/**
 * A short hash of a Go module's sources (.go, go.mod, go.sum) below `dir`, leaving out the folders in
 * `skip`: a build is cached under it, so a change to any of them rebuilds.
 */
export function goSourceHash(dir: string, skip: readonly string[] = []): string {
  const list = (d: string): string[] =>
    fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(d, e.name);
      if (e.isDirectory()) return skip.includes(p) ? [] : list(p);
      return /\.go$|^go\.(mod|sum)$/.test(e.name) ? [p] : [];
    });
  const h = crypto.createHash("sha256");
  for (const f of list(dir).sort()) {
    h.update(path.relative(dir, f));
    h.update(fs.readFileSync(f));
  }
  return h.digest("hex").slice(0, 12);
}

/** A sample taken while something else runs, and when it was taken. */
export type Sample<T> = T & { readonly at: number };

/**
 * Takes `sample` every `everyMs` until stopped; a sample that throws (a member restarting, PD
 * busy) is skipped. For watching a cluster while the engine works.
 */
export function watch<T extends object>(
  everyMs: number,
  sample: () => Promise<T>,
): { samples: Sample<T>[]; stop(): Promise<void> } {
  const samples: Sample<T>[] = [];
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      try {
        const value = await sample();
        samples.push({ ...value, at: Date.now() });
      } catch {
        /* skipped */
      }
      await sleep(everyMs);
    }
  })();
  return {
    samples,
    stop: async () => {
      watching = false;
      await watcher;
    },
  };
}
