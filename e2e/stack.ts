// One stack of the program driven through Pulumi's Automation API with the CLI on PATH: a file
// backend in the test's directory, secrets under a passphrase, every step timed, the engine's
// events kept so a step can be checked for what it touched and in which order.
import * as fs from "fs";
import * as path from "path";
import { ConfigMap, EngineEvent, LocalWorkspace, OpType, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { RunResult, assert, log, run } from "./util";

export const REPO = path.join(__dirname, "..", "..", "..");

/** One resource step as the engine reported it, with when this process received it. */
export interface StepRecord {
  readonly op: OpType;
  readonly urn: string;
  readonly type: string;
  readonly phase: "pre" | "done" | "failed";
  readonly at: number;
}

export interface StepResult {
  readonly ms: number;
  readonly steps: StepRecord[];
  readonly summary: Record<string, number>;
  readonly stdout: string;
}

export function shortName(urn: string): string {
  return urn.split("::").pop() ?? urn;
}

function recorder(steps: StepRecord[]): (event: EngineEvent) => void {
  return (event) => {
    const at = Date.now();
    if (event.resourcePreEvent) {
      const m = event.resourcePreEvent.metadata;
      steps.push({ op: m.op, urn: m.urn, type: m.type, phase: "pre", at });
    } else if (event.resOutputsEvent) {
      const m = event.resOutputsEvent.metadata;
      steps.push({ op: m.op, urn: m.urn, type: m.type, phase: "done", at });
    } else if (event.resOpFailedEvent) {
      const m = event.resOpFailedEvent.metadata;
      steps.push({ op: m.op, urn: m.urn, type: m.type, phase: "failed", at });
    }
  };
}

/** The engine's own variables, passed to every pulumi command (e2e/engine.sh prints them). */
const ENGINE_VARIABLES = [
  "PATH",
  "PULUMI_HOME",
  "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
  "PULUMI_SKIP_UPDATE_CHECK",
];

export class E2EStack {
  private constructor(
    readonly name: string,
    readonly stack: Stack,
    private readonly stateDir: string,
    /** Every variable the stack's pulumi commands run with, beyond the machine's own. */
    readonly envVars: Readonly<Record<string, string>>,
    /** The shell's own exports (a subset of envVars). */
    private readonly shell: Readonly<Record<string, string>>,
  ) {}

  /**
   * Creates (or selects) `name` in the project at the repository root. The stack's settings file
   * Pulumi.<name>.yaml is written there, as a user's would be; `dispose` removes it. `shell` is
   * what else the operator's shell exports (DOCKER_* for mode local or to prove they are ignored,
   * the Tencent Cloud stand-in's settings for mode cvm).
   */
  static async open(
    name: string,
    stateDir: string,
    env: NodeJS.ProcessEnv,
    shell: Record<string, string> = {},
  ): Promise<E2EStack> {
    fs.mkdirSync(stateDir, { recursive: true });
    // A kept or interrupted run leaves its stack settings behind (TIKV_CVM_E2E_KEEP=1 on purpose):
    // every run starts from none, or a key set by a later step (pdCount 1) shapes the first up.
    fs.rmSync(path.join(REPO, `Pulumi.${name}.yaml`), { force: true });
    const envVars: Record<string, string> = {
      PULUMI_BACKEND_URL: `file://${stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: "tikv-cvm end-to-end test passphrase",
      ...shell,
    };
    for (const key of ENGINE_VARIABLES) {
      const value = env[key];
      if (value !== undefined) envVars[key] = value;
    }
    const pulumiCommand = await PulumiCommand.get();
    const ws = await LocalWorkspace.create({ workDir: REPO, pulumiCommand, envVars });
    const stack = await Stack.createOrSelect(name, ws);
    return new E2EStack(name, stack, stateDir, envVars, shell);
  }

  /** The operator's home for this stack: where certSetup writes ~/.tikv-cvm/<stack>. */
  get home(): string {
    return path.join(this.stateDir, "home");
  }

  /**
   * A command the stack prints (certSetup, dockerCommands, pdCtlStores), run as a user pastes it:
   * `sh -c` in the project directory, with the engine and backend settings and this stack's
   * operator home. Modes cvm and existing: none of the DOCKER_* variables, which their printed
   * commands must not need (issue 22). Mode local (`keepDockerEnv`): the shell's DOCKER_HOST, which
   * its commands use on purpose, as its provider does.
   */
  printed(command: string, keepDockerEnv = false): string {
    fs.mkdirSync(this.home, { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.envVars, HOME: this.home };
    for (const name of ["DOCKER_CERT_PATH", "DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CONTEXT"]) {
      delete env[name];
      if (keepDockerEnv && this.shell[name] !== undefined) env[name] = this.shell[name];
    }
    return run("sh", ["-c", command], { env, cwd: REPO }).stdout;
  }

  /** As `printed`, but a failure is returned (status, output) instead of thrown. */
  printedResult(command: string, keepDockerEnv = false): RunResult {
    fs.mkdirSync(this.home, { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.envVars, HOME: this.home };
    for (const name of ["DOCKER_CERT_PATH", "DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CONTEXT"]) {
      delete env[name];
      if (keepDockerEnv && this.shell[name] !== undefined) env[name] = this.shell[name];
    }
    return run("sh", ["-c", command], { env, cwd: REPO, allowFailure: true });
  }

  /** Runs the stack's certSetup output; returns the directory it wrote (~/.tikv-cvm/<stack>). */
  async certSetup(): Promise<string> {
    const outputs = await this.outputs();
    assert(typeof outputs.certSetup === "string", `${this.name} has a certSetup output`);
    this.printed(outputs.certSetup);
    return path.join(this.home, ".tikv-cvm", this.name);
  }

  /**
   * Lines that give a shell exactly this stack's environment (TIKV_CVM_E2E_KEEP=1): source them,
   * then `pulumi preview`, `pulumi stack output`, `pulumi up` work on the kept stack.
   */
  writeKeepScript(dir: string): string {
    const file = path.join(dir, `keep-${this.name}.sh`);
    fs.writeFileSync(file, this.keepScript());
    return file;
  }

  keepScript(): string {
    const quote = (v: string) => `'${v.replace(/'/g, "'\\''")}'`;
    return [
      `# the e2e stack ${this.name}, kept (docs/e2e.md "Keeping a run")`,
      `cd ${quote(REPO)}`,
      ...Object.entries(this.envVars).map(([k, v]) => `export ${k}=${quote(v)}`),
      `export HOME=${quote(this.home)}`,
      `pulumi stack select ${this.name}`,
      "",
    ].join("\n");
  }

  async configure(config: ConfigMap): Promise<void> {
    // path: true, so list entries such as hosts[0].name build YAML lists as `pulumi config set --path` does.
    await this.stack.setAllConfig(config, true);
  }

  async removeConfig(keys: string[]): Promise<void> {
    await this.stack.removeAllConfig(keys, true);
  }

  /** Runs one engine operation, timed, with its events recorded. */
  private async timedOp(
    what: string,
    op: (onEvent: (event: EngineEvent) => void) => Promise<{ summary: Record<string, number>; stdout: string }>,
  ): Promise<StepResult> {
    const steps: StepRecord[] = [];
    const started = Date.now();
    log(`${this.name}: ${what}`);
    const { summary, stdout } = await op(recorder(steps));
    return { ms: Date.now() - started, steps, summary, stdout };
  }

  up(label: string): Promise<StepResult> {
    return this.timedOp(`pulumi up (${label})`, async (onEvent) => {
      const r = await this.stack.up({ onEvent, color: "never" });
      return { summary: (r.summary.resourceChanges ?? {}) as Record<string, number>, stdout: r.stdout };
    });
  }

  preview(label: string, expectNoChanges = false): Promise<StepResult> {
    const what = `pulumi preview${expectNoChanges ? " --expect-no-changes" : ""} (${label})`;
    return this.timedOp(what, async (onEvent) => {
      const r = await this.stack.preview({ onEvent, color: "never", diff: true, expectNoChanges });
      return { summary: r.changeSummary as Record<string, number>, stdout: r.stdout };
    });
  }

  refresh(label: string): Promise<StepResult> {
    return this.timedOp(`pulumi refresh (${label})`, async (onEvent) => {
      const r = await this.stack.refresh({ onEvent, color: "never" });
      return { summary: (r.summary.resourceChanges ?? {}) as Record<string, number>, stdout: r.stdout };
    });
  }

  destroy(label: string): Promise<StepResult> {
    return this.timedOp(`pulumi destroy (${label})`, async (onEvent) => {
      const r = await this.stack.destroy({ onEvent, color: "never" });
      return { summary: (r.summary.resourceChanges ?? {}) as Record<string, number>, stdout: r.stdout };
    });
  }

  /**
   * A preview or up that must fail: what the operator saw (the CLI's stdout and stderr, as the
   * Automation API's CommandError carries them) and the steps the engine reported before it stopped.
   */
  async failing(op: "preview" | "up", label: string): Promise<{ ms: number; steps: StepRecord[]; output: string }> {
    const steps: StepRecord[] = [];
    const started = Date.now();
    log(`${this.name}: pulumi ${op}, expected to fail (${label})`);
    try {
      if (op === "up") await this.stack.up({ onEvent: recorder(steps), color: "never" });
      else await this.stack.preview({ onEvent: recorder(steps), color: "never" });
    } catch (err) {
      return { ms: Date.now() - started, steps, output: err instanceof Error ? err.message : String(err) };
    }
    throw new Error(`${this.name}: pulumi ${op} (${label}) succeeded; it must fail`);
  }

  /** Outputs with secrets revealed (the test reads the client key to call PD). */
  async outputs(): Promise<Record<string, unknown>> {
    const out = await this.stack.outputs();
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.value]));
  }

  /**
   * The state as `pulumi stack export` prints it, secrets encrypted, as JSON text. Not the
   * Automation API's exportStack, which runs `pulumi stack export --show-secrets`
   * (@pulumi/pulumi automation/localWorkspace.js, exportStack).
   */
  exportedState(): string {
    return run("pulumi", ["stack", "export", "--stack", this.name], {
      env: { ...process.env, ...this.envVars },
      cwd: REPO,
    }).stdout;
  }

  /** Resources in the stack's state, the stack itself and providers included. */
  async resourceCount(): Promise<number> {
    const state = await this.stack.exportStack();
    return (state.deployment.resources ?? []).length;
  }

  async dispose(): Promise<void> {
    await this.stack.workspace.removeStack(this.name, { force: true }).catch(() => undefined);
    fs.rmSync(path.join(REPO, `Pulumi.${this.name}.yaml`), { force: true });
    fs.rmSync(this.stateDir, { recursive: true, force: true });
  }
}
