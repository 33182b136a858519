import { isDType, type DType } from './dtype.js';
import { GraphError, InferError } from './errors.js';
import { hostArray, scalarArray, type HostArray } from './host-array.js';
import { formatShape, isValidShape, type Shape } from './shape.js';
import { describeOperands, path } from './path.js';
import { Value } from './value.js';

/** Attribute values are plain JSON-like data, so nodes can be printed, hashed and lowered without code. */
export type AttrValue = number | string | boolean | null | readonly AttrValue[] | { readonly [key: string]: AttrValue };
export type Attrs = Readonly<Record<string, AttrValue>>;

/** Static type of a value: what shape inference consumes and produces. */
export interface TensorType {
  readonly shape: Shape;
  readonly dtype: DType;
}

/** The part of an op definition the graph needs to build nodes (full OpDefs live in src/ops). */
export interface OpSignature {
  readonly name: string;
  infer(inputs: readonly TensorType[], attrs: Attrs): TensorType[];
}
export type OpTable = ReadonlyMap<string, OpSignature>;

/** One op application. Its outputs are Values whose `source` points back here. */
export class Node {
  constructor(
    readonly id: number,
    readonly op: string,
    readonly inputs: readonly Value[],
    readonly attrs: Attrs,
    readonly outputs: readonly Value[],
  ) {}
}

/**
 * Owns nodes and values. `nodes` is in creation order, which is a valid topological order because a
 * node can only consume values that already exist.
 */
export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly params: Value[] = [];
  private nextValueId = 0;
  private readonly named = new Map<string, Value>();

  constructor(readonly ops: OpTable) {}

  /** A runtime input fed by name at evaluation time. */
  input(name: string, shape: Shape, dtype: DType = 'float32'): Value {
    const v = this.leaf({ kind: 'input' }, shape, dtype, name);
    this.inputs.push(v);
    return v;
  }

  /** A trainable/loadable parameter, named by its (diffusers) key; data is supplied at run time or bound later. */
  param(name: string, shape: Shape, dtype: DType = 'float32'): Value {
    const v = this.leaf({ kind: 'param' }, shape, dtype, name);
    this.params.push(v);
    return v;
  }

  /** Small host data embedded in the graph. */
  constant(data: HostArray, name?: string): Value {
    const copy = hostArray(data.shape, data.dtype, data.data.slice());
    return this.makeValue({ kind: 'const', data: copy }, copy.shape, copy.dtype, name);
  }

  scalar(value: number, dtype: DType = 'float32'): Value {
    return this.constant(scalarArray(value, dtype));
  }

  /** Finds an input or parameter by name. */
  get(name: string): Value | undefined {
    return this.named.get(name);
  }

  /** Appends a node after running the op's shape/dtype inference; throws GraphError with context. */
  addNode(op: string, inputs: readonly Value[], attrs: Attrs = {}): Value[] {
    const def = this.ops.get(op);
    if (!def) {
      throw new GraphError(`unknown op '${op}' (known: ${[...this.ops.keys()].sort().join(', ')})\n` + describeOperands(inputs));
    }
    inputs.forEach((v, i) => {
      if (!(v instanceof Value) || v.graph !== this) {
        throw new GraphError(`${op}: operand ${i} is not a value of this graph`);
      }
    });
    checkAttrs(op, attrs);
    let types: TensorType[];
    try {
      types = def.infer(inputs, attrs);
    } catch (e) {
      if (!(e instanceof InferError)) throw e;
      const at = e.operand === undefined ? '' : `\n  offending operand ${e.operand}: ${path(inputs[e.operand], 2)}`;
      throw new GraphError(`${op}: ${e.message}\n${describeOperands(inputs)}${at}`, { cause: e });
    }
    const frozen = Object.freeze({ ...attrs });
    const outputs: Value[] = [];
    const node = new Node(this.nodes.length, op, [...inputs], frozen, outputs);
    types.forEach((t, index) => {
      if (!isValidShape(t.shape) || !isDType(t.dtype)) {
        throw new GraphError(`${op}: infer returned invalid type ${t.dtype}${formatShape(t.shape)}`);
      }
      outputs.push(this.makeValue({ kind: 'node', node, index }, t.shape, t.dtype));
    });
    this.nodes.push(node);
    // A copy: callers may reorder what they get (e.g. split(...).reverse()) without touching the node.
    return [...outputs];
  }

  /** `addNode` for single-output ops. */
  apply(op: string, inputs: readonly Value[], attrs: Attrs = {}): Value {
    const outs = this.addNode(op, inputs, attrs);
    if (outs.length !== 1) throw new GraphError(`${op}: expected 1 output, op produced ${outs.length}`);
    return outs[0];
  }

  private leaf(source: ValueSource, shape: Shape, dtype: DType, name: string): Value {
    if (this.named.has(name)) throw new GraphError(`duplicate input/parameter name "${name}"`);
    if (!isValidShape(shape)) throw new GraphError(`${source.kind} "${name}": invalid shape ${formatShape(shape)}`);
    if (!isDType(dtype)) throw new GraphError(`${source.kind} "${name}": unknown dtype ${String(dtype)}`);
    const v = this.makeValue(source, shape, dtype, name);
    this.named.set(name, v);
    return v;
  }

  private makeValue(source: ValueSource, shape: Shape, dtype: DType, name?: string): Value {
    return new Value(this, this.nextValueId++, Object.freeze([...shape]), dtype, source, name);
  }
}

/** Where a value comes from. */
export type ValueSource =
  | { readonly kind: 'node'; readonly node: Node; readonly index: number }
  | { readonly kind: 'input' }
  | { readonly kind: 'param' }
  | { readonly kind: 'const'; readonly data: HostArray };

function checkAttrs(op: string, attrs: Attrs): void {
  const ok = (x: unknown): boolean => {
    if (x === null || typeof x === 'string' || typeof x === 'boolean') return true;
    if (typeof x === 'number') return true;
    if (Array.isArray(x)) return x.every(ok);
    if (typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) {
      return Object.values(x as object).every(ok);
    }
    return false;
  };
  for (const [k, v] of Object.entries(attrs)) {
    if (!ok(v)) throw new GraphError(`${op}: attribute '${k}' is not plain JSON-like data`);
  }
}
