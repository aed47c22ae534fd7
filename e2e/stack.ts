// One stack of the program driven through Pulumi's Automation API with the CLI on PATH: a file
// backend in the test's directory, secrets under a passphrase, every step timed, the engine's
// events kept so a step can be checked for what it touched and in which order.
import * as fs from "fs";
import * as path from "path";
import { ConfigMap, EngineEvent, LocalWorkspace, OpType, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { log } from "./util";

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

export class E2EStack {
  private constructor(
    readonly name: string,
    readonly stack: Stack,
    private readonly stateDir: string,
  ) {}

  /**
   * Creates (or selects) `name` in the project at the repository root. The stack's settings file
   * Pulumi.<name>.yaml is written there, as a user's would be; `dispose` removes it.
   */
  static async open(name: string, stateDir: string, env: NodeJS.ProcessEnv): Promise<E2EStack> {
    fs.mkdirSync(stateDir, { recursive: true });
    const envVars: Record<string, string> = {
      PULUMI_BACKEND_URL: `file://${stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: "tikv-cvm end-to-end test passphrase",
    };
    for (const key of [
      "PATH",
      "PULUMI_HOME",
      "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
      "PULUMI_SKIP_UPDATE_CHECK",
      "DOCKER_HOST",
      "DOCKER_CERT_PATH",
      "DOCKER_TLS_VERIFY",
    ]) {
      const value = env[key];
      if (value !== undefined) envVars[key] = value;
    }
    const pulumiCommand = await PulumiCommand.get();
    const ws = await LocalWorkspace.create({ workDir: REPO, pulumiCommand, envVars });
    const stack = await Stack.createOrSelect(name, ws);
    return new E2EStack(name, stack, stateDir);
  }

  async configure(config: ConfigMap): Promise<void> {
    // path: true, so list entries such as hosts[0].name build YAML lists as `pulumi config set --path` does.
    await this.stack.setAllConfig(config, true);
  }

  async removeConfig(keys: string[]): Promise<void> {
    await this.stack.removeAllConfig(keys, true);
  }

  async up(label: string): Promise<StepResult> {
    const steps: StepRecord[] = [];
    const started = Date.now();
    log(`${this.name}: pulumi up (${label})`);
    const result = await this.stack.up({ onEvent: recorder(steps), color: "never" });
    return {
      ms: Date.now() - started,
      steps,
      summary: (result.summary.resourceChanges ?? {}) as Record<string, number>,
      stdout: result.stdout,
    };
  }

  async preview(label: string, expectNoChanges = false): Promise<StepResult> {
    const steps: StepRecord[] = [];
    const started = Date.now();
    log(`${this.name}: pulumi preview${expectNoChanges ? " --expect-no-changes" : ""} (${label})`);
    const result = await this.stack.preview({ onEvent: recorder(steps), color: "never", diff: true, expectNoChanges });
    return {
      ms: Date.now() - started,
      steps,
      summary: result.changeSummary as Record<string, number>,
      stdout: result.stdout,
    };
  }

  async destroy(label: string): Promise<StepResult> {
    const steps: StepRecord[] = [];
    const started = Date.now();
    log(`${this.name}: pulumi destroy (${label})`);
    const result = await this.stack.destroy({ onEvent: recorder(steps), color: "never" });
    return {
      ms: Date.now() - started,
      steps,
      summary: (result.summary.resourceChanges ?? {}) as Record<string, number>,
      stdout: result.stdout,
    };
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
