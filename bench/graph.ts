// The deploy model: resources as nodes, the engine's dependencies as edges, each node taking its
// modelled latency once all its dependencies are done. Pure.

export interface GraphNode {
  readonly urn: string;
  readonly type: string;
  /** URNs this resource waits for: data dependencies, dependsOn and its provider. */
  readonly deps: readonly string[];
  readonly seconds: number;
}

export interface Schedule {
  /** Finish time of the last resource, with unlimited parallelism. */
  readonly makespan: number;
  /** The chain of URNs that determines it, first to last. */
  readonly criticalPath: readonly string[];
  /** Every latency added up: one step after another, as by hand. */
  readonly serial: number;
}

export function schedule(nodes: readonly GraphNode[]): Schedule {
  const byUrn = new Map(nodes.map((n) => [n.urn, n]));
  const finish = new Map<string, number>();
  const via = new Map<string, string | undefined>();
  const visiting = new Set<string>();
  const visit = (urn: string): number => {
    const known = finish.get(urn);
    if (known !== undefined) return known;
    const node = byUrn.get(urn);
    if (!node) return 0; // components and the stack itself: no step of their own
    if (visiting.has(urn)) throw new Error(`dependency cycle through ${urn}`);
    visiting.add(urn);
    let start = 0;
    let from: string | undefined;
    for (const dep of node.deps) {
      const t = visit(dep);
      if (t > start) {
        start = t;
        from = dep;
      }
    }
    visiting.delete(urn);
    const done = start + node.seconds;
    finish.set(urn, done);
    via.set(urn, from);
    return done;
  };
  let makespan = 0;
  let last: string | undefined;
  for (const n of nodes) {
    const t = visit(n.urn);
    if (t > makespan) {
      makespan = t;
      last = n.urn;
    }
  }
  const criticalPath: string[] = [];
  for (let u = last; u !== undefined; u = via.get(u)) criticalPath.unshift(u);
  return { makespan, criticalPath, serial: nodes.reduce((sum, n) => sum + n.seconds, 0) };
}

/** The subgraph of resources not tied to another host: the shared ones and host `keep`'s. */
export function restrictToHost(
  nodes: readonly GraphNode[],
  hostOf: (urn: string) => number | undefined,
  keep: number,
): GraphNode[] {
  const kept = nodes.filter((n) => {
    const h = hostOf(n.urn);
    return h === undefined || h === keep;
  });
  const urns = new Set(kept.map((n) => n.urn));
  return kept.map((n) => ({ ...n, deps: n.deps.filter((d) => urns.has(d)) }));
}
