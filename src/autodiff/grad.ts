/**
 * Reverse-mode autodiff over the IR. `grad` appends the backward graph to the same Graph, so forward and
 * backward are emitted together as one ONNX model. Per-op rules live next to their op (OpDef.vjp);
 * this walker owns everything shared: ordering, accumulation of values used several times, reduction of
 * broadcast cotangents (once, here), stop-gradient, and differentiating composite ops through their
 * primitive decomposition.
 */
import { formatShape, GraphError, isFloat, liveSet, path, shapesEqual, type Node, type Value } from '../ir/index.js';
import { registry as defaultRegistry, sumToShape, zerosLike, type OpRegistry } from '../ops/index.js';
import { rebuildSegment, segmentOf, type Segment } from './checkpoint.js';

export interface GradOptions {
  /** Cotangent of `output` (default: 1, which requires a scalar output). */
  readonly seed?: Value;
  /** Op table providing the VJP rules (default: the standard registry). */
  readonly ops?: OpRegistry;
}

/** d(output)/d(wrt) for each `wrt` value (inputs, params or intermediates), as new values of the graph. */
export function grad(output: Value, wrt: readonly Value[], options: GradOptions = {}): Value[] {
  let seed = options.seed;
  if (!seed) {
    if (output.rank !== 0) {
      throw new GraphError(`grad: output must be a scalar without a seed, got ${formatShape(output.shape)}\n  ${path(output, 2)}`);
    }
    seed = output.graph.scalar(1, output.dtype);
  }
  return vjp([output], [seed], wrt, options.ops ?? defaultRegistry);
}

/** Pulls cotangents `seeds` of `outputs` back to `wrt`. Values that do not affect the outputs get zeros. */
export function vjp(
  outputs: readonly Value[],
  seeds: readonly (Value | null)[],
  wrt: readonly Value[],
  ops: OpRegistry = defaultRegistry,
): Value[] {
  return pullback(outputs, seeds, wrt, ops, 0);
}

/** `vjp` over the nodes with id ≥ `firstNode` only (a rebuilt segment must not walk into the original). */
function pullback(
  outputs: readonly Value[],
  seeds: readonly (Value | null)[],
  wrt: readonly Value[],
  ops: OpRegistry,
  firstNode: number,
): Value[] {
  if (seeds.length !== outputs.length) throw new GraphError(`vjp: ${outputs.length} outputs but ${seeds.length} seeds`);
  outputs.forEach((o, i) => {
    const s = seeds[i];
    if (s && !shapesEqual(s.shape, o.shape)) {
      throw new GraphError(`vjp: seed ${i} has shape ${formatShape(s.shape)}, output has ${formatShape(o.shape)}`);
    }
  });
  wrt.forEach((w) => {
    if (!isFloat(w.dtype)) throw new GraphError(`grad: cannot differentiate w.r.t. ${w.dtype} value\n  ${path(w, 2)}`);
  });
  const cotangents = new Map<Value, Value>();
  outputs.forEach((o, i) => accumulate(cotangents, o, seeds[i]));
  const { nodes, dependent } = nodesBetween(outputs, wrt, firstNode);
  const done = new Set<Segment>();
  for (const node of nodes) {
    const segment = segmentOf(node, node.outputs[0].graph);
    if (!segment) backpropNode(node, cotangents, ops);
    else if (!done.has(segment)) {
      done.add(segment);
      backpropSegment(segment, dependent, cotangents, ops);
    }
  }
  return wrt.map((w) => cotangents.get(w) ?? zerosLike(w));
}

/**
 * A checkpointed segment: rebuild it from its inputs, gated on a cotangent so ORT cannot schedule the
 * recomputation before the backward pass needs it, and differentiate the copy. Gradients flow to the
 * segment inputs and to any other on-path value its nodes read directly (e.g. parameters).
 */
function backpropSegment(segment: Segment, dependent: ReadonlySet<Value>, cotangents: Map<Value, Value>, ops: OpRegistry): void {
  // An output listed twice (a block's hidden state that is also its last skip) carries one cotangent, seeded once.
  const outCots = segment.outputs.map((o, i) => (segment.outputs.indexOf(o) === i ? (cotangents.get(o) ?? null) : null));
  const first = outCots.find((c) => c !== null);
  if (!first) return;
  // x + 0·g₀ is x, but depends on the cotangent (multiplying by zero is not folded away, because of NaN).
  const firstNode = first.graph.nodes.length;
  const gate = first.reshape([-1]).sliceAxis(0, 0, 1).reshape([]).mul(0);
  const gated = segment.inputs.map((x) => (isFloat(x.dtype) ? x.add(x.dtype === gate.dtype ? gate : gate.cast(x.dtype)) : x));
  const rebuilt = rebuildSegment(segment, gated);
  const reads = new Set<Value>();
  for (const node of segment.nodes) {
    for (const x of node.inputs) {
      const internal = x.source.kind === 'node' && segment.nodes.has(x.source.node);
      if (!internal && dependent.has(x) && !segment.inputs.includes(x)) reads.add(x);
    }
  }
  const external = [...reads];
  const needed = segment.inputs.map((x, i) => (dependent.has(x) ? i : -1)).filter((i) => i >= 0);
  const grads = pullback(rebuilt, outCots, [...needed.map((i) => gated[i]), ...external], ops, firstNode);
  needed.forEach((i, k) => accumulate(cotangents, segment.inputs[i], grads[k]));
  external.forEach((x, k) => accumulate(cotangents, x, grads[needed.length + k]));
}

/**
 * Nodes in reverse topological order that lie on a path from some `wrt` to some output, and the values
 * that depend on some `wrt` (only those need cotangents).
 */
function nodesBetween(outputs: readonly Value[], wrt: readonly Value[], firstNode: number): { nodes: Node[]; dependent: Set<Value> } {
  const live = liveSet(outputs).nodes;
  const dependent = new Set<Value>(wrt);
  const graph = outputs[0]?.graph;
  const onPath: Node[] = [];
  for (const node of graph?.nodes ?? []) {
    if (node.id < firstNode || !live.has(node) || node.op === 'stop_gradient') continue;
    if (node.inputs.some((x) => dependent.has(x))) {
      node.outputs.forEach((o) => dependent.add(o));
      onPath.push(node);
    }
  }
  return { nodes: onPath.reverse(), dependent };
}

function backpropNode(node: Node, cotangents: Map<Value, Value>, ops: OpRegistry): void {
  const outCots = node.outputs.map((o) => cotangents.get(o) ?? null);
  if (outCots.every((c) => c === null)) return;
  const def = ops.get(node.op);
  let inCots: (Value | null)[];
  if (def?.vjp) {
    inCots = def.vjp({ node, inputs: node.inputs, outputs: node.outputs, attrs: node.attrs, cotangents: outCots });
  } else if (def?.decompose) {
    // Rebuild the composite from primitives (recomputing its internals) and differentiate through that.
    const firstNode = node.outputs[0].graph.nodes.length;
    const rebuilt = def.decompose(node.inputs, node.attrs);
    const wrt = node.inputs.filter((x) => isFloat(x.dtype));
    const grads = pullback(rebuilt, outCots, wrt, ops, firstNode);
    inCots = node.inputs.map((x) => (isFloat(x.dtype) ? grads[wrt.indexOf(x)] : null));
  } else {
    throw new GraphError(`grad: op '${node.op}' has no VJP rule or decomposition\n  ${path(node.outputs[0], 2)}`);
  }
  if (inCots.length !== node.inputs.length) {
    throw new GraphError(`grad: VJP of '${node.op}' returned ${inCots.length} cotangents for ${node.inputs.length} inputs`);
  }
  node.inputs.forEach((x, i) => {
    const c = inCots[i];
    if (c && isFloat(x.dtype)) accumulate(cotangents, x, reduceTo(c, x, node.op));
  });
}

/** Un-broadcasts a rule's cotangent to its input's shape and checks dtype. */
function reduceTo(c: Value, x: Value, op: string): Value {
  if (c.dtype !== x.dtype) {
    throw new GraphError(`grad: VJP of '${op}' returned a ${c.dtype} cotangent for a ${x.dtype} input\n  ${path(x, 2)}`);
  }
  return sumToShape(c, x.shape);
}

function accumulate(cotangents: Map<Value, Value>, x: Value, c: Value | null): void {
  if (!c) return;
  const prev = cotangents.get(x);
  cotangents.set(x, prev ? prev.add(c) : c);
}
