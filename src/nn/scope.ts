/**
 * Path-scoped parameter view (candle's `vs.pp`): model code asks for `scope.sub('norm1').param('weight')`
 * and gets the graph parameter named by its full diffusers key, `down_blocks.0.resnets.0.norm1.weight`.
 * Loading weights and attaching LoRA are then lookups by key.
 */
import { formatShape, GraphError, shapesEqual, type DType, type Graph, type Shape, type Value } from '../ir/index.js';

/**
 * Rewrites a parameter into the value the model computes with, given its full key (unfused LoRA returns
 * W + ΔW here). Called on every `param` request, so an implementation caches per key if it builds nodes.
 */
export type ParamHook = (key: string, param: Value) => Value;

export class Scope {
  constructor(
    readonly graph: Graph,
    readonly prefix = '',
    /** Element type of parameters created through this scope (weights may be stored as float16). */
    readonly dtype: DType = 'float32',
    /** Applied to every parameter this scope and its children hand out; model code never sees the difference. */
    readonly paramHook?: ParamHook,
  ) {}

  /** A child scope: `scope.sub('down_blocks').sub(0)` has prefix `down_blocks.0`. */
  sub(name: string | number): Scope {
    return new Scope(this.graph, this.key(String(name)), this.dtype, this.paramHook);
  }

  /** This scope with `hook` in place of its current hook (pass undefined for raw parameters). */
  withParamHook(hook: ParamHook | undefined): Scope {
    return new Scope(this.graph, this.prefix, this.dtype, hook);
  }

  /** Full key of a name in this scope. */
  key(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** The parameter `prefix.name`, created on first use; asking again with another shape is an error. */
  param(name: string, shape: Shape, dtype: DType = this.dtype): Value {
    const p = this.rawParam(this.key(name), shape, dtype);
    return this.paramHook ? this.paramHook(p.name!, p) : p;
  }

  private rawParam(key: string, shape: Shape, dtype: DType): Value {
    const existing = this.graph.get(key);
    if (existing) {
      if (existing.source.kind !== 'param' || !shapesEqual(existing.shape, shape) || existing.dtype !== dtype) {
        throw new GraphError(
          `parameter "${key}" requested as ${dtype}${formatShape(shape)} but exists as ${existing.source.kind} ${existing.dtype}${formatShape(existing.shape)}`,
        );
      }
      return existing;
    }
    return this.graph.param(key, shape, dtype);
  }
}
