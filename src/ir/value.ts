import type { DType } from './dtype.js';
import { GraphError } from './errors.js';
import type { Graph, ValueSource } from './graph.js';
import type { Shape } from './shape.js';

export type Operand = Value | number;

/**
 * A typed, statically shaped value of a Graph, with fluent builders so model code reads like array code:
 * `x.matmul(w).add(b).tanh()`. Each builder appends one node through `graph.apply`, which runs the op's
 * shape/dtype inference immediately. Number operands become scalar constants of this value's dtype.
 */
export class Value {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly shape: Shape,
    readonly dtype: DType,
    readonly source: ValueSource,
    /** Debug name; inputs and parameters use it as their feed key. */
    public name?: string,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  /** Sets a debug name (shown in paths and error messages) and returns this value. */
  named(name: string): this {
    if (this.source.kind === 'input' || this.source.kind === 'param') {
      throw new GraphError(`cannot rename ${this.source.kind} "${this.name}"`);
    }
    this.name = name;
    return this;
  }

  add(y: Operand): Value {
    return this.binary('add', y);
  }
  sub(y: Operand): Value {
    return this.binary('sub', y);
  }
  mul(y: Operand): Value {
    return this.binary('mul', y);
  }
  div(y: Operand): Value {
    return this.binary('div', y);
  }
  pow(y: Operand): Value {
    return this.binary('pow', y);
  }

  neg(): Value {
    return this.graph.apply('neg', [this]);
  }
  exp(): Value {
    return this.graph.apply('exp', [this]);
  }
  log(): Value {
    return this.graph.apply('log', [this]);
  }
  sqrt(): Value {
    return this.graph.apply('sqrt', [this]);
  }
  tanh(): Value {
    return this.graph.apply('tanh', [this]);
  }
  sigmoid(): Value {
    return this.graph.apply('sigmoid', [this]);
  }
  relu(): Value {
    return this.graph.apply('relu', [this]);
  }
  cast(dtype: DType): Value {
    return this.graph.apply('cast', [this], { dtype });
  }

  /** Numpy matmul: 1-D operands are promoted, batch dimensions broadcast. */
  matmul(y: Value): Value {
    return this.graph.apply('matmul', [this, y]);
  }

  /** Reshape; at most one dimension may be -1 (inferred). */
  reshape(shape: readonly number[]): Value {
    return this.graph.apply('reshape', [this], { shape: [...shape] });
  }

  /** Permute axes; without `perm`, reverses them. */
  transpose(perm?: readonly number[]): Value {
    const p = perm ?? this.shape.map((_, i) => this.rank - 1 - i);
    return this.graph.apply('transpose', [this], { perm: [...p] });
  }

  /** Sum over `axes` (negative allowed; all axes when omitted). */
  sum(axes?: number | readonly number[], keepdims = false): Value {
    return this.graph.apply('sum', [this], { axes: axesAttr(axes), keepdims });
  }

  mean(axes?: number | readonly number[], keepdims = false): Value {
    return this.graph.apply('mean', [this], { axes: axesAttr(axes), keepdims });
  }

  /** Same value, but autodiff treats it as a constant. */
  stopGradient(): Value {
    return this.graph.apply('stop_gradient', [this]);
  }

  // --- elementwise extras ---

  sin(): Value {
    return this.graph.apply('sin', [this]);
  }
  cos(): Value {
    return this.graph.apply('cos', [this]);
  }
  abs(): Value {
    return this.graph.apply('abs', [this]);
  }
  erf(): Value {
    return this.graph.apply('erf', [this]);
  }
  maximum(y: Operand): Value {
    return this.binary('maximum', y);
  }
  minimum(y: Operand): Value {
    return this.binary('minimum', y);
  }
  less(y: Operand): Value {
    return this.binary('less', y);
  }
  greater(y: Operand): Value {
    return this.binary('greater', y);
  }
  equal(y: Operand): Value {
    return this.binary('equal', y);
  }

  /** `this` (bool) selects `a` where true, else `b`; a number becomes a scalar of the other branch's dtype. */
  where(a: Operand, b: Operand): Value {
    const dtype = typeof a !== 'number' ? a.dtype : typeof b !== 'number' ? b.dtype : 'float32';
    const branch = (v: Operand): Value => (typeof v === 'number' ? this.graph.scalar(v, dtype) : v);
    return this.graph.apply('where', [this, branch(a), branch(b)]);
  }

  /** Limits to [min, max]; a null or omitted bound is absent. */
  clamp(min: number | null = null, max: number | null = null): Value {
    return this.graph.apply('clamp', [this], { min, max });
  }

  /** x·sigmoid(x). */
  silu(): Value {
    return this.graph.apply('silu', [this]);
  }
  /** GELU as torch: exact (erf) by default, or the tanh approximation. */
  gelu(approximate: 'none' | 'tanh' = 'none'): Value {
    return this.graph.apply('gelu', [this], { approximate });
  }
  /** x·sigmoid(1.702x) (CLIP). */
  quickGelu(): Value {
    return this.graph.apply('quick_gelu', [this]);
  }

  /** Maximum over `axes` (all axes when omitted), like torch.amax. */
  max(axes?: number | readonly number[], keepdims = false): Value {
    return this.graph.apply('reduce_max', [this], { axes: axesAttr(axes), keepdims });
  }

  // --- movement extras ---

  /**
   * Static numpy-style slice of the listed `axes` (default 0..n-1): negative bounds count from the end,
   * out-of-range bounds clamp; `steps` (default 1) must be positive.
   */
  slice(starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): Value {
    const attrs = { starts: [...starts], ends: [...ends], axes: axes ? [...axes] : null, steps: steps ? [...steps] : null };
    return this.graph.apply('slice', [this], attrs);
  }

  /** x[..., start:end:step, ...] along one axis. */
  sliceAxis(axis: number, start: number, end: number, step = 1): Value {
    return this.slice([start], [end], [axis], [step]);
  }

  /** Constant padding; `pads` = [begin per axis..., end per axis...] as in ONNX Pad (non-negative). */
  pad(pads: readonly number[], value = 0): Value {
    return this.graph.apply('pad', [this], { pads: [...pads], value });
  }

  /** numpy.broadcast_to: may add leading axes; size-1 axes stretch. */
  expand(shape: readonly number[]): Value {
    return this.graph.apply('expand', [this], { shape: [...shape] });
  }

  /** Splits along `axis` into pieces of `sizes` (summing to that dim). */
  split(sizes: readonly number[], axis = 0): Value[] {
    return this.graph.addNode('split', [this], { axis, sizes: [...sizes] });
  }

  /** ONNX Gather: rows of this table picked by int indices along `axis` (negative indices wrap). */
  gather(indices: Value, axis = 0): Value {
    return this.graph.apply('gather', [this, indices], { axis });
  }

  private binary(op: string, y: Operand): Value {
    const other = typeof y === 'number' ? this.graph.scalar(y, this.dtype) : y;
    return this.graph.apply(op, [this, other]);
  }
}

function axesAttr(axes: number | readonly number[] | undefined): number[] | null {
  if (axes === undefined) return null;
  return typeof axes === 'number' ? [axes] : [...axes];
}
