// Runs index.ts in-process under Pulumi mocks and records what it declares.
import type * as PulumiModule from "@pulumi/pulumi";
import { FAKE_IMAGE_ID, mockState, resetMockState } from "./mocks";
import { SECRET_SIG, isSecret, secretEnvelope, unwrap } from "./secrets";

// Tests read secrets through the harness, as before.
export { SECRET_SIG, isSecret, unwrap };

export interface Declared {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  /** Provider reference `urn::id` for custom resources with an explicit provider. */
  readonly provider?: string;
  readonly id: string;
}

/** Resource options as the SDK saw them, captured by a stack transformation. */
export interface DeclaredOptions {
  readonly dependsOn: string[];
  readonly deleteBeforeReplace: boolean;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly ignoreChanges: string[];
  readonly replaceOnChanges: string[];
  readonly additionalSecretOutputs: string[];
  /** The id the resource is imported from (`import`), if any. */
  readonly import?: string;
  /** The name of the resource whose deletion skips this one's (`deletedWith`), if any. */
  readonly deletedWith?: string;
}

/** A resource's dependencies as the engine receives them in its registration, by resource name. */
export interface DeclaredDependencies {
  /** Every resource it waits for: its inputs' resources, dependsOn (components expanded), not its provider. */
  readonly all: string[];
  /** Input name -> the resources that input's value came from. */
  readonly byProperty: Record<string, string[]>;
}

export interface Invoked {
  readonly token: string;
  readonly args: Record<string, unknown>;
}

/** What a component registered as its outputs (stored in the state like any resource's outputs). */
export interface ComponentOutputs {
  readonly name: string;
  readonly outputs: Record<string, unknown>;
  /** Names of those outputs that are secret. */
  readonly secret: string[];
}

/** The parts of the SDK's RegisterResourceRequest (proto/resource_pb) read here. */
interface RegistrationRequest {
  getName(): string;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(f: (deps: { getUrnsList(): string[] }, key: string) => void): void };
}

export interface ProgramRun {
  readonly resources: Declared[];
  /** Every component's registerOutputs, resolved. */
  readonly componentOutputs: ComponentOutputs[];
  readonly invokes: Invoked[];
  readonly outputs: Record<string, unknown>;
  /** Names of stack outputs that are secret. */
  readonly secretOutputs: string[];
  /** Resource name -> options, for every resource the program declares. */
  readonly options: Map<string, DeclaredOptions>;
  /** Resource name -> dependencies sent to the engine, for every resource (components included). */
  readonly dependencies: Map<string, DeclaredDependencies>;
}

// Each fresh copy of @pulumi/pulumi adds a process exit listener (its promise-leak report), removed
// after the run; several runs of a file may overlap.
process.setMaxListeners(0);

export const BASE_CONFIG: Readonly<Record<string, string>> = {
  "tencentcloud:region": "ap-guangzhou",
  "tikv-cvm:availabilityZone": "ap-guangzhou-3",
  "tikv-cvm:operatorCidrs": JSON.stringify(["5.6.7.0/28"]),
};

/** Removes BASE_CONFIG's mode-cvm keys, for a stack of another mode. */
export const NOT_CVM: Readonly<Record<string, undefined>> = {
  "tencentcloud:region": undefined,
  "tikv-cvm:availabilityZone": undefined,
  "tikv-cvm:operatorCidrs": undefined,
};

const pem = (label: string) => `-----BEGIN ${label}-----\nMIIB\n-----END ${label}-----\n`;

/** Mode existing: three listed hosts and PEM-shaped Docker client material, stored as secrets; no cloud credentials. */
export const EXISTING_STACK: { readonly config: Record<string, string | undefined>; readonly options: RunOptions } = {
  config: {
    ...NOT_CVM,
    "tikv-cvm:mode": "existing",
    "tikv-cvm:hosts": JSON.stringify(
      [1, 2, 3].map((i) => ({ name: `db${i}`, dockerHost: `tcp://192.0.2.1${i}:2376`, privateIp: `10.9.0.1${i}` })),
    ),
    "tikv-cvm:dockerCaPem": pem("CERTIFICATE"),
    "tikv-cvm:dockerCertPem": pem("CERTIFICATE"),
    "tikv-cvm:dockerKeyPem": pem("EC PRIVATE KEY"),
  },
  options: {
    env: { TENCENTCLOUD_SECRET_ID: undefined, TENCENTCLOUD_SECRET_KEY: undefined },
    secretKeys: ["tikv-cvm:dockerCaPem", "tikv-cvm:dockerCertPem", "tikv-cvm:dockerKeyPem"],
  },
};

export interface RunOptions {
  /** Evaluate the program again even if an identical run is cached: for tests of determinism itself. */
  fresh?: boolean;
  stack?: string;
  env?: Record<string, string | undefined>;
  /** Runs after @pulumi/pulumi is loaded and before the program: the place to install spies. */
  beforeProgram?: () => void;
  /**
   * Outputs of the stack's last deployment, as its self-reference reads them: a run's `outputs`, or
   * `lastOutputsOf(run, ...)`. The engine marks every output the program exported as secret in
   * `secretOutputNames` and sends its value as a secret; so does the harness, which therefore refuses
   * a record that did not come from a run (it could not know which of its outputs were secret).
   */
  lastOutputs?: Record<string, unknown>;
  /**
   * A preview of a stack with nothing deployed, as the engine runs it: dry run, and every resource
   * about to be created has an unknown id and only its inputs; every output the provider computes
   * (an EIP's address, a certificate, a key) is unknown.
   */
  preview?: boolean;
  /** Config keys (with namespace) stored as secrets. */
  secretKeys?: string[];
  /** Called for every resource the program registers, as it registers it. */
  onResource?: (type: string, name: string) => void;
  /**
   * Changes what the mock provider returns for a resource, e.g. a certificate renewed on refresh
   * (a new certPem) or a CVM that was replaced (a new id).
   */
  adjust?: (resource: { type: string; name: string; id: string; state: Record<string, unknown> }) => {
    id: string;
    state: Record<string, unknown>;
  };
}

/** Which outputs of a run's `outputs` record (or a record made by lastOutputsOf) were secret. */
const secretNamesOf = new WeakMap<object, readonly string[]>();

/**
 * The outputs a stack reference reads after `run` was deployed, optionally only `names` and with
 * some replaced (`changes`, e.g. a record as an older version wrote it). Secrecy is the run's:
 * a replaced output keeps the secrecy the program gave it.
 */
export function lastOutputsOf(
  run: ProgramRun,
  names?: readonly string[],
  changes: Record<string, unknown> = {},
): Record<string, unknown> {
  const picked = names ? Object.fromEntries(names.map((n) => [n, run.outputs[n]])) : { ...run.outputs };
  const outputs = { ...picked, ...changes };
  secretNamesOf.set(
    outputs,
    run.secretOutputs.filter((n) => n in outputs),
  );
  return outputs;
}

/**
 * The outputs a stack keeps after an update that failed: since pulumi/pulumi#15754 (the fix of
 * #14621) the engine writes only the stack outputs the failed run registered and keeps the others
 * from the last successful one. `resolved`: the outputs of `failed` that were registered (those
 * whose values did not wait on a resource that failed). Secrecy follows each value's own run.
 */
export function lastOutputsAfterFailedUpdate(
  before: ProgramRun,
  failed: ProgramRun,
  resolved: readonly string[],
): Record<string, unknown> {
  const outputs: Record<string, unknown> = { ...before.outputs };
  for (const name of resolved) outputs[name] = failed.outputs[name];
  const secret = Object.keys(outputs).filter((n) =>
    (resolved.includes(n) ? failed.secretOutputs : before.secretOutputs).includes(n),
  );
  secretNamesOf.set(outputs, secret);
  return outputs;
}

/** The `outputs` and `secretOutputNames` the engine's StackReference read returns for `lastOutputs`. */
function stackReferenceState(lastOutputs: Record<string, unknown> | undefined): {
  outputs: Record<string, unknown>;
  secretOutputNames: string[];
} {
  if (lastOutputs === undefined) return { outputs: {}, secretOutputNames: [] };
  const secret = secretNamesOf.get(lastOutputs);
  if (secret === undefined) {
    throw new Error(
      "lastOutputs must be a run's outputs or lastOutputsOf(run, ...): the engine marks the program's secret " +
        "outputs secret in a stack reference, and a hand-made record cannot say which those are",
    );
  }
  // The engine's wire form: each secret output's value in a secret envelope, and its name listed. An
  // undefined output is not in a stack's state at all.
  const present = Object.entries(lastOutputs).filter(([, v]) => v !== undefined);
  const outputs = Object.fromEntries(present.map(([k, v]) => [k, secret.includes(k) ? secretEnvelope(v) : v]));
  return { outputs, secretOutputNames: secret.filter((n) => n in outputs) };
}

/**
 * Identical runs (same config, stack, env, last outputs and secret keys, and no hook) run once per
 * test file: a run is a pure function of those, and most tests start from the same few configs.
 * Each caller gets its own deep copy, so one test cannot change what another reads.
 */
const runs = new Map<string, Promise<ProgramRun>>();

/**
 * Loads a fresh copy of the program with the given config (merged over BASE_CONFIG; a value of
 * undefined removes a base key) and waits until every resource is declared.
 */
export async function runProgram(
  config: Record<string, string | undefined> = {},
  options: RunOptions = {},
): Promise<ProgramRun> {
  if (options.fresh || options.beforeProgram || options.onResource || options.adjust)
    return registered(await runFresh(config, options));
  // undefined is meaningful in config and env (it removes a key), so it must reach the key.
  const key = JSON.stringify(
    [config, options.stack, options.env, options.lastOutputs, options.secretKeys, options.preview],
    (_, value: unknown) => (value === undefined ? "\u0000undefined" : value),
  );
  let run = runs.get(key);
  if (run === undefined) {
    run = runFresh(config, options);
    runs.set(key, run);
  }
  return registered(copy(await run));
}

/** Remembers which of a run's outputs are secret, for a later run's lastOutputs. */
function registered(run: ProgramRun): ProgramRun {
  secretNamesOf.set(run.outputs, run.secretOutputs);
  return run;
}

/**
 * A deep copy of arrays, maps and plain objects, made in this realm: structuredClone's objects come
 * from Node's realm, not jest's, and fail the SDK's `instanceof` checks when passed back as outputs.
 */
function copy<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copy) as T;
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, copy(v)])) as T;
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)])) as T;
  }
  return value;
}

/** Runs in flight; the first sets the plain stack-trace format, the last restores jest's. */
let inFlight = 0;
let jestPrepareStackTrace: typeof Error.prepareStackTrace;

/**
 * The SDK formats a whole stack trace for every resource (its source position) and every promise
 * it wraps (its leak report); jest maps each frame through source maps, which took 40% of a run
 * (CPU profile of `runProgram`). While programs run, frames are printed as V8 gives them.
 */
function plainStackTraces(): () => void {
  if (inFlight++ === 0) {
    jestPrepareStackTrace = Error.prepareStackTrace;
    Error.prepareStackTrace = (error, frames) =>
      [String(error), ...frames.map((f) => `    at ${f.toString()}`)].join("\n");
  }
  return () => {
    if (--inFlight === 0) Error.prepareStackTrace = jestPrepareStackTrace;
  };
}

async function runFresh(config: Record<string, string | undefined>, options: RunOptions): Promise<ProgramRun> {
  const restore = plainStackTraces();
  try {
    return await evaluate(config, options);
  } finally {
    restore();
  }
}

async function evaluate(config: Record<string, string | undefined>, options: RunOptions): Promise<ProgramRun> {
  jest.resetModules();
  // The SDK's index loads its Automation API, and runtime/closure/codePaths.js npm's arborist (for
  // computeCodePaths), eagerly: a third of a run's load time. No program run here uses either.
  jest.doMock("@pulumi/pulumi/automation", () => ({}));
  jest.doMock("@npmcli/arborist", () => ({}));
  resetMockState();
  const env = { TENCENTCLOUD_SECRET_ID: "AKID-test", TENCENTCLOUD_SECRET_KEY: "test-key", ...options.env };
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  // The exit listener a copy adds holds that whole copy (and every resource of its run) until the
  // file ends: dropped after the run, the copy is garbage once the run's result is.
  const exitListeners = new Set(process.listeners("exit"));
  const pulumi = (await import("@pulumi/pulumi")) as typeof PulumiModule;
  const resources: Declared[] = [];
  const invokes: Invoked[] = [];
  if (options.preview && options.lastOutputs) {
    // The engine previews unchanged resources with their state; this harness models only a stack
    // with nothing deployed, so it refuses to answer for one that has.
    throw new Error("preview: true models a first preview only; it cannot be combined with lastOutputs");
  }
  const selfReference = stackReferenceState(options.lastOutputs);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        options.onResource?.(args.type, args.name);
        // The engine reads whichever stack a reference names: only this stack's own name gets its
        // last outputs (another name reads as a stack with none; throwing here would crash jest).
        const self = args.inputs.name === `organization/tikv-cvm/${options.stack ?? "dev"}`;
        // Derived from the name alone, so adding resources never shifts the ids of others.
        const mocked =
          args.type === "pulumi:pulumi:StackReference"
            ? {
                id: `${args.name}-id`,
                state: { ...args.inputs, ...(self ? selfReference : stackReferenceState(undefined)) },
              }
            : options.preview
              ? // The SDK reads an empty id and a missing output as unknown in a dry run (runtime/resource.ts).
                { id: "", state: { ...args.inputs } }
              : { id: `${args.name}-id`, state: mockState(args.type, args.name, args.inputs) };
        const { id, state } = options.adjust ? options.adjust({ type: args.type, name: args.name, ...mocked }) : mocked;
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider, id });
        return { id, state };
      },
      call(args) {
        invokes.push({ token: args.token, args: args.inputs });
        if (
          args.token === "tencentcloud:Images/getInstance:getInstance" ||
          args.token === "tencentcloud:index/getImages:getImages"
        ) {
          return {
            images: [{ imageId: FAKE_IMAGE_ID, imageName: "Ubuntu Server 22.04 LTS 64bit", createdTime: "2026-01-01" }],
          };
        }
        throw new Error(`unexpected invoke ${args.token}`);
      },
    },
    "tikv-cvm",
    options.stack ?? "dev",
    options.preview === true,
    "organization",
  );

  // What the engine is told each resource waits for: the registration request itself, as
  // bench/evaluate.ts reads it. URNs end in the resource's name.
  const dependencies = new Map<string, DeclaredDependencies>();
  const nameOfUrn = (urn: string) => urn.split("::").pop() ?? urn;
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegistrationRequest, cb: unknown): void;
  };
  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    const byProperty: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((deps, key) => {
      byProperty[key] = deps.getUrnsList().map(nameOfUrn);
    });
    dependencies.set(req.getName(), { all: req.getDependenciesList().map(nameOfUrn), byProperty });
    registerResource(req, cb);
  };

  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...BASE_CONFIG, ...config })) if (v !== undefined) merged[k] = v;
  pulumi.runtime.setAllConfig(merged, options.secretKeys);

  // Components' registerOutputs go to the state but not through the mocks: record them on the way.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the copy just loaded, patched in place
  const runtimeResource = require("@pulumi/pulumi/runtime/resource") as {
    registerResourceOutputs: (res: unknown, outputs: unknown) => void;
  };
  const registered: { res: unknown; outputs: unknown }[] = [];
  const registerResourceOutputs = runtimeResource.registerResourceOutputs;
  runtimeResource.registerResourceOutputs = (res, outputs) => {
    registered.push({ res, outputs });
    registerResourceOutputs(res, outputs);
  };
  options.beforeProgram?.();
  const declaredOptions = new Map<string, DeclaredOptions>();
  const pendingDeps: Promise<void>[] = [];
  const nameOf = (r: unknown) => (r as { __name?: string }).__name ?? "?";
  try {
    let program: Record<string, unknown> = {};
    let failure: unknown;
    // Mocks never see resource options; a stack transformation does, inside the stack resource.
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        const opts = args.opts as PulumiModule.CustomResourceOptions;
        const declared: DeclaredOptions = {
          dependsOn: [],
          deleteBeforeReplace: opts.deleteBeforeReplace === true,
          protect: opts.protect === true,
          retainOnDelete: opts.retainOnDelete === true,
          ignoreChanges: opts.ignoreChanges ?? [],
          replaceOnChanges: opts.replaceOnChanges ?? [],
          additionalSecretOutputs: opts.additionalSecretOutputs ?? [],
          import: opts.import,
          ...(opts.deletedWith ? { deletedWith: nameOf(opts.deletedWith) } : {}),
        };
        declaredOptions.set(args.name, declared);
        // dependsOn may be a list, a resource, or an Output of a list (resolved later).
        for (const dep of ([] as unknown[]).concat(opts.dependsOn ?? [])) {
          if (pulumi.Output.isInstance(dep)) {
            pendingDeps.push(
              new Promise((resolve) =>
                (dep as PulumiModule.Output<unknown>).apply((value) => {
                  declared.dependsOn.push(...([] as unknown[]).concat(value).map(nameOf));
                  resolve();
                }),
              ),
            );
          } else {
            declared.dependsOn.push(nameOf(dep));
          }
        }
        return undefined;
      });
      try {
        // index.ts exports its main function (`export =`); its result is the stack's outputs.
        const loaded = (await import("../../index")) as { default?: unknown };
        const main = (loaded.default ?? loaded) as () => Promise<Record<string, unknown>>;
        program = await main();
      } catch (err) {
        // Thrown inside the stack's constructor it would be an unhandled rejection: rethrow below.
        failure = err;
      }
      return {};
    });
    if (failure !== undefined) throw failure;
    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    for (const [key, value] of Object.entries(program)) {
      const output = pulumi.output(value) as unknown as PulumiModule.Output<unknown>;
      outputs[key] = await settle(output);
      if (await pulumi.isSecret(output)) secretOutputs.push(key);
    }
    const componentOutputs: ComponentOutputs[] = [];
    for (const { res, outputs: registeredOutputs } of registered) {
      const resolved: Record<string, unknown> = {};
      const secret: string[] = [];
      for (const [key, value] of Object.entries((registeredOutputs ?? {}) as Record<string, unknown>)) {
        const output = pulumi.output(value) as unknown as PulumiModule.Output<unknown>;
        resolved[key] = await settle(output);
        if (await pulumi.isSecret(output)) secret.push(key);
      }
      componentOutputs.push({ name: nameOf(res), outputs: resolved, secret });
    }
    // In a preview a dependsOn computed from unknowns is never resolved: the engine waits for nothing then.
    if (!options.preview) await Promise.all(pendingDeps);
    await pulumi.runtime.disconnect();
    return {
      resources,
      componentOutputs,
      invokes,
      outputs,
      secretOutputs,
      options: declaredOptions,
      dependencies,
    };
  } finally {
    for (const listener of process.listeners("exit"))
      if (!exitListeners.has(listener)) process.removeListener("exit", listener);
    runtimeResource.registerResourceOutputs = registerResourceOutputs;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** What an output shows in a preview while unknown (the engine's display of a computed value). */
export const UNKNOWN = "[unknown]";

/** An output's value, or UNKNOWN when it is not known (only in a preview); apply never runs then. */
async function settle(output: PulumiModule.Output<unknown>): Promise<unknown> {
  // isKnown is internal to the SDK's typings (output.ts), and what its own apply consults.
  const { isKnown } = output as unknown as { isKnown: Promise<boolean> };
  if (!(await isKnown)) return UNKNOWN;
  return new Promise((resolve) => output.apply(resolve));
}

export function ofType(run: ProgramRun, type: string): Declared[] {
  return run.resources.filter((r) => r.type === type);
}

export function byName(run: ProgramRun, name: string): Declared {
  const found = run.resources.find((r) => r.name === name);
  if (!found) throw new Error(`no resource named ${name}; have ${run.resources.map((r) => r.name).join(", ")}`);
  return found;
}
