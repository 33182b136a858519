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

  // --- elementwise extras ---

  // --- movement extras ---

  private binary(op: string, y: Operand): Value {
    const other = typeof y === 'number' ? this.graph.scalar(y, this.dtype) : y;
    return this.graph.apply(op, [this, other]);
  }
}

function axesAttr(axes: number | readonly number[] | undefined): number[] | null {
  if (axes === undefined) return null;
  return typeof axes === 'number' ? [axes] : [...axes];
}
