// The dependency cone of a set of outputs: what evaluation and emission must visit.
import type { Node } from './graph.js';
import type { Value } from './value.js';

/** Nodes and leaf values (inputs, params, constants) reachable backwards from `outputs`. */
export function liveSet(outputs: readonly Value[]): { nodes: Set<Node>; leaves: Set<Value> } {
  const nodes = new Set<Node>();
  const leaves = new Set<Value>();
  const stack = [...outputs];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (v.source.kind !== 'node') {
      leaves.add(v);
    } else if (!nodes.has(v.source.node)) {
      nodes.add(v.source.node);
      stack.push(...v.source.node.inputs);
    }
  }
  return { nodes, leaves };
}
