import { formatShape, GraphError, liveSet, path, ref, shapesEqual, type Graph, type HostArray, type Value } from '../ir/index.js';
import { registry as defaultRegistry, type OpRegistry } from '../ops/index.js';

/** Data for graph inputs and parameters, keyed by their names. */
export type Feeds = ReadonlyMap<string, HostArray> | Readonly<Record<string, HostArray>>;

export interface EvaluateOptions {
  /** Op table providing the reference kernels (defaults to the standard registry). */
  readonly ops?: OpRegistry;
}

/**
 * Pure-TS reference evaluation in float64 (see HostArray for dtype conventions). Only the nodes the
 * requested outputs depend on are executed, so unused branches need no feeds; intermediates are freed
 * after their last use.
 */
export function evaluate(graph: Graph, outputs: readonly Value[], feeds: Feeds, options: EvaluateOptions = {}): HostArray[] {
  const ops = options.ops ?? defaultRegistry;
  for (const v of outputs) {
    if (v.graph !== graph) throw new GraphError(`evaluate: output ${ref(v)} belongs to another graph`);
  }
  const feedMap = feeds instanceof Map ? feeds : new Map(Object.entries(feeds));
  const { nodes, leaves } = liveSet(outputs);
  const env = new Map<Value, HostArray>();
  bindLeaves(graph, leaves, feedMap, env);

  const uses = new Map<Value, number>();
  for (const node of graph.nodes) {
    if (nodes.has(node)) for (const x of node.inputs) uses.set(x, (uses.get(x) ?? 0) + 1);
  }
  const keep = new Set(outputs);
  for (const node of graph.nodes) {
    if (!nodes.has(node)) continue;
    const def = ops.get(node.op);
    if (!def) throw new GraphError(`evaluate: no reference kernel for op '${node.op}'`);
    const results = def.evaluate(
      node.inputs.map((x) => env.get(x)!),
      node.attrs,
    );
    node.outputs.forEach((v, i) => {
      const r = results[i];
      if (!r || !shapesEqual(r.shape, v.shape) || r.dtype !== v.dtype) {
        const got = r ? `${r.dtype}${formatShape(r.shape)}` : 'nothing';
        throw new GraphError(`evaluate: kernel '${node.op}' returned ${got} for ${ref(v)} = ${path(v)}`);
      }
      env.set(v, r);
    });
    for (const x of node.inputs) {
      const left = uses.get(x)! - 1;
      uses.set(x, left);
      if (left === 0 && !keep.has(x)) env.delete(x);
    }
  }
  return outputs.map((v) => env.get(v)!);
}

function bindLeaves(graph: Graph, leaves: Set<Value>, feeds: ReadonlyMap<string, HostArray>, env: Map<Value, HostArray>): void {
  for (const name of feeds.keys()) {
    if (!graph.get(name)) throw new GraphError(`evaluate: feed "${name}" matches no input or parameter of the graph`);
  }
  const missing: string[] = [];
  for (const v of leaves) {
    if (v.source.kind === 'const') {
      env.set(v, v.source.data);
      continue;
    }
    const data = feeds.get(v.name!);
    if (!data) {
      missing.push(ref(v));
      continue;
    }
    if (!shapesEqual(data.shape, v.shape) || data.dtype !== v.dtype) {
      throw new GraphError(`evaluate: feed "${v.name}" is ${data.dtype}${formatShape(data.shape)}, expected ${ref(v)}`);
    }
    env.set(v, data);
  }
  if (missing.length > 0) throw new GraphError(`evaluate: missing feeds for ${missing.join(', ')}`);
}
