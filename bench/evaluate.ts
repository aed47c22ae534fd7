// One evaluation of the program under mocks, in its own process: prints the dependency graph the
// engine would see (with each resource's inputs), the wall time of the evaluation, the process's
// peak memory and the stack outputs, as JSON.
// Usage: node bin/bench/evaluate.js <nodeCount> [first|chained|roll <last outputs JSON file>]
// - chained: a later deployment that changes no CVM (the member-by-member chain is in the graph);
// - roll: a later deployment after every Docker server certificate was renewed on refresh: every
//   CVM, and so every container, is replaced (new ids), host by host.
import * as fs from "fs";
import * as path from "path";
import { mockState, resetMockState, FAKE_IMAGE_ID } from "../test/support/mocks";
import { secretEnvelope } from "../test/support/secrets";
import { GraphNode } from "./graph";
import { latencyOf } from "./latencies";

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProvider(): string;
  getDependenciesList(): string[];
}

interface Monitor {
  registerResource(req: RegisterRequest, cb: (err: unknown, resp: unknown) => void): void;
}

export interface Evaluation {
  readonly nodeCount: number;
  readonly evalMs: number;
  readonly maxRssMb: number;
  readonly resources: number;
  readonly graph: GraphNode[];
  /** Canonical JSON of each custom resource's inputs, by URN as in the graph. */
  readonly inputs: Record<string, string>;
  readonly outputs: Record<string, unknown>;
  /** Names of the outputs the program exported as secrets. */
  readonly secretOutputs: string[];
}

/** What the next deployment's self stack reference reads: the outputs, and which were secret. */
export interface LastOutputs {
  readonly outputs: Record<string, unknown>;
  readonly secretOutputs: string[];
}

export type Mode = "first" | "chained" | "roll";

async function main(): Promise<void> {
  const nodeCount = Number(process.argv[2] ?? "3");
  const mode = (process.argv[3] ?? "first") as Mode;
  const last: LastOutputs =
    mode === "first"
      ? { outputs: {}, secretOutputs: [] }
      : (JSON.parse(fs.readFileSync(process.argv[4], "utf8")) as LastOutputs);
  // As the engine answers a stack reference: each secret output in a secret envelope, and named
  // in secretOutputNames (test/support/harness.ts does the same).
  const selfReference = {
    outputs: Object.fromEntries(
      Object.entries(last.outputs).map(([k, v]) => [k, last.secretOutputs.includes(k) ? secretEnvelope(v) : v]),
    ),
    secretOutputNames: last.secretOutputs,
  };
  process.env.TENCENTCLOUD_SECRET_ID = "bench";
  process.env.TENCENTCLOUD_SECRET_KEY = "bench";
  const pulumi = await import("@pulumi/pulumi");
  resetMockState();
  const stack = "bench";
  const renewed = (type: string, name: string, state: Record<string, unknown>) =>
    mode === "roll" && /-docker-server-cert$/.test(name)
      ? { ...state, certPem: `${String(state.certPem)}renewed` }
      : state;
  // Replaced resources come back with new ids.
  const replaced = (type: string) =>
    mode === "roll" &&
    (/:index\/instance:Instance$|:Instance\/instance:Instance$/.test(type) ||
      type === "docker:index/container:Container");
  const inputs: Record<string, string> = {};
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        inputs[`${args.type.split("$").pop()}::${args.name}`] = JSON.stringify(args.inputs);
        return {
          id: replaced(args.type) ? `${args.name}-id-2` : `${args.name}-id`,
          state:
            args.type === "pulumi:pulumi:StackReference"
              ? { ...args.inputs, ...selfReference }
              : renewed(args.type, args.name, mockState(args.type, args.name, args.inputs)),
        };
      },
      call: () => ({
        images: [{ imageId: FAKE_IMAGE_ID, imageName: "Ubuntu Server 22.04 LTS 64bit", createdTime: "2026-01-01" }],
      }),
    },
    "tikv-cvm",
    stack,
    false,
    "organization",
  );
  pulumi.runtime.setAllConfig({
    "tencentcloud:region": "ap-guangzhou",
    "tikv-cvm:availabilityZone": "ap-guangzhou-3",
    "tikv-cvm:operatorCidrs": JSON.stringify(["5.6.7.0/28"]),
    "tikv-cvm:nodeCount": String(nodeCount),
  });

  // Every registration as the engine receives it: its dependencies and its provider.
  const graph: GraphNode[] = [];
  const monitor = pulumi.runtime.getMonitor() as unknown as Monitor;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    if (req.getCustom()) {
      const urn = `urn:pulumi:${stack}::tikv-cvm::${req.getType()}::${req.getName()}`;
      const provider = req.getProvider() ? [req.getProvider().split("::").slice(0, 4).join("::")] : [];
      graph.push({
        urn,
        type: req.getType(),
        deps: [...req.getDependenciesList(), ...provider],
        seconds: latencyOf(req.getType()),
      });
    }
    register(req, cb);
  };

  const started = process.hrtime.bigint();
  const loaded = (await import(path.join(__dirname, "..", "index"))) as { default?: unknown };
  const program = await ((loaded.default ?? loaded) as () => Promise<Record<string, unknown>>)();
  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  for (const [key, value] of Object.entries(program)) {
    if (await pulumi.isSecret(pulumi.output(value))) secretOutputs.push(key);
    const output = pulumi.output(value) as unknown as { apply(f: (v: unknown) => void): void };
    await new Promise<void>((resolve) =>
      output.apply((v) => {
        outputs[key] = v;
        resolve();
      }),
    );
  }
  await pulumi.runtime.disconnect();
  const evalMs = Number(process.hrtime.bigint() - started) / 1e6;
  const result: Evaluation = {
    nodeCount,
    evalMs,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    resources: graph.length,
    graph: normalizeUrns(graph),
    inputs,
    outputs,
    secretOutputs,
  };
  // The last line: the program may log to stdout (pulumi.log under mocks) before it.
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}

/** Dependencies arrive as full URNs with parent types; key every node by type and name alone. */
function normalizeUrns(graph: GraphNode[]): GraphNode[] {
  const key = (urn: string) => {
    const parts = urn.split("::");
    return `${parts[2].split("$").pop()}::${parts[3]}`;
  };
  return graph.map((n) => ({ ...n, urn: key(n.urn), deps: n.deps.map(key) }));
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
