/**
 * Path-scoped parameter view (candle's `vs.pp`): model code asks for `scope.sub('norm1').param('weight')`
 * and gets the graph parameter named by its full diffusers key, `down_blocks.0.resnets.0.norm1.weight`.
 * Loading weights and attaching LoRA are then lookups by key.
 */
import { formatShape, GraphError, shapesEqual, type DType, type Graph, type Shape, type Value } from '../ir/index.js';

export class Scope {
  constructor(
    readonly graph: Graph,
    readonly prefix = '',
    /** Element type of parameters created through this scope (weights may be stored as float16). */
    readonly dtype: DType = 'float32',
  ) {}

  /** A child scope: `scope.sub('down_blocks').sub(0)` has prefix `down_blocks.0`. */
  sub(name: string | number): Scope {
    return new Scope(this.graph, this.key(String(name)), this.dtype);
  }

  /** Full key of a name in this scope. */
  key(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** The parameter `prefix.name`, created on first use; asking again with another shape is an error. */
  param(name: string, shape: Shape, dtype: DType = this.dtype): Value {
    const key = this.key(name);
    const existing = this.graph.get(key);
    if (existing) {
      if (existing.source.kind !== 'param' || !shapesEqual(existing.shape, shape) || existing.dtype !== dtype) {
        throw new GraphError(`parameter "${key}" requested as ${dtype}${formatShape(shape)} but exists as ${existing.source.kind} ${existing.dtype}${formatShape(existing.shape)}`);
      }
      return existing;
    }
    return this.graph.param(key, shape, dtype);
  }
}
