// One evaluation of the program under mocks, in its own process: prints the dependency graph the
// engine would see, the wall time of the evaluation and the process's peak memory, as JSON.
// Usage: node bin/bench/evaluate.js <nodeCount> [chained]
// "chained" evaluates as a later deployment would, with every member already deployed, so the
// rolling-restart chain is in the graph.
import * as path from "path";
import { mockState, resetMockState, FAKE_IMAGE_ID } from "../test/support/mocks";
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
}

async function main(): Promise<void> {
  const nodeCount = Number(process.argv[2] ?? "3");
  const chained = process.argv[3] === "chained";
  const members = [...Array.from({ length: Math.min(3, nodeCount) }, (_, i) => `pd${i + 1}`),
    ...Array.from({ length: nodeCount }, (_, i) => `tikv${i + 1}`)];
  const lastOutputs = chained ? { rolloutOrder: members } : {};
  process.env.TENCENTCLOUD_SECRET_ID = "bench";
  process.env.TENCENTCLOUD_SECRET_KEY = "bench";
  const pulumi = await import("@pulumi/pulumi");
  resetMockState();
  const stack = "bench";
  await pulumi.runtime.setMocks({
    newResource: (args) => ({ id: `${args.name}-id`, state: args.type === "pulumi:pulumi:StackReference" ? { ...args.inputs, outputs: lastOutputs } : mockState(args.type, args.name, args.inputs) }),
    call: () => ({ images: [{ imageId: FAKE_IMAGE_ID, imageName: "Ubuntu Server 22.04 LTS 64bit", createdTime: "2026-01-01" }] }),
  }, "tikv-cvm", stack, false, "organization");
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
      graph.push({ urn, type: req.getType(), deps: [...req.getDependenciesList(), ...provider], seconds: latencyOf(req.getType()) });
    }
    register(req, cb);
  };

  const started = process.hrtime.bigint();
  const loaded = (await import(path.join(__dirname, "..", "index"))) as { default?: unknown };
  const program = await ((loaded.default ?? loaded) as () => Promise<Record<string, unknown>>)();
  for (const value of Object.values(program)) {
    const output = pulumi.output(value) as unknown as { apply(f: (v: unknown) => void): void };
    await new Promise<void>((resolve) => output.apply(() => resolve()));
  }
  await pulumi.runtime.disconnect();
  const evalMs = Number(process.hrtime.bigint() - started) / 1e6;
  const result: Evaluation = {
    nodeCount,
    evalMs,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    resources: graph.length,
    graph: normalizeUrns(graph),
  };
  process.stdout.write(JSON.stringify(result));
}

/** Dependencies arrive as full URNs with parent types; key every node by type and name alone. */
function normalizeUrns(graph: GraphNode[]): GraphNode[] {
  const key = (urn: string) => { const parts = urn.split("::"); return `${parts[2].split("$").pop()}::${parts[3]}`; };
  return graph.map((n) => ({ ...n, urn: key(n.urn), deps: n.deps.map(key) }));
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
