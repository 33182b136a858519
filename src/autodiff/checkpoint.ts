/**
 * Gradient checkpointing: `checkpoint(inputs, fn)` builds `fn(inputs)` normally for the forward pass and
 * remembers how to build it again. During `grad`, the walker rebuilds the segment from its inputs and
 * differentiates the copy, so the forward intermediates inside the segment can be freed right after
 * the forward pass instead of living until the backward pass reaches them.
 */
import { GraphError, type Graph, type Node, type Value } from '../ir/index.js';

export interface Segment {
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  readonly nodes: ReadonlySet<Node>;
  readonly rebuild: (inputs: readonly Value[]) => Value[];
}

const segmentsByGraph = new WeakMap<Graph, Segment[]>();
let rebuilding = 0;

/** Builds `fn(inputs)` as a recomputed-in-backward segment. `fn` must be pure graph building. */
export function checkpoint(inputs: readonly Value[], fn: (inputs: readonly Value[]) => Value[]): Value[] {
  if (inputs.length === 0) throw new GraphError('checkpoint: a segment needs at least one input');
  const graph = inputs[0].graph;
  const start = graph.nodes.length;
  const outputs = fn(inputs);
  // Nested checkpoints inside a rebuild are plain code: the rebuild itself is already the recomputation.
  if (rebuilding > 0) return outputs;
  const nodes = new Set(graph.nodes.slice(start));
  for (const o of outputs) {
    if (o.source.kind !== 'node' || !nodes.has(o.source.node))
      throw new GraphError('checkpoint: every output must be computed inside the segment');
  }
  const list = segmentsByGraph.get(graph) ?? [];
  list.push({ inputs: [...inputs], outputs, nodes, rebuild: fn });
  segmentsByGraph.set(graph, list);
  return outputs;
}

/** The checkpoint segment a node belongs to, if any. */
export function segmentOf(node: Node, graph: Graph): Segment | undefined {
  return segmentsByGraph.get(graph)?.find((s) => s.nodes.has(node));
}

/** Runs a segment's builder again (without registering nested segments). */
export function rebuildSegment(segment: Segment, inputs: readonly Value[]): Value[] {
  rebuilding++;
  try {
    return segment.rebuild(inputs);
  } finally {
    rebuilding--;
  }
}
