/**
 * Unfused LoRA: the model is built through a Scope whose parameter hook hands out W + Σ_a s_a·f·reshape(up_a·down_a)
 * for targeted weights, where up/down are graph parameters `lora.<slot>.<weightKey>.{down,up}` and s_a the
 * float32 scalar input `lora_scale.<slot>`. Base weights can be baked while the LoRA tensors and scales are fed,
 * so one compiled model switches and mixes adapters (any adapter whose modules are a subset of a slot's, with
 * the same ranks) and trains them. f is a per-target constant: 1 for inference slots (the adapter's alpha/rank
 * is folded into the fed `up`), alpha/rank for training slots (peft's scaling, which sets the update size).
 * ΔW is formed from the weights rather than the activations: r·out·in extra work per use, small next to the
 * activations' tokens·out·in for ranks ≪ tokens, and it needs no change in any layer.
 */
import type { Graph, Value } from '../ir/index.js';
import { numel } from '../ir/shape.js';
import { LoraError, type LoraTarget } from '../weights/lora-formats.js';
import type { Scope } from './scope.js';

export interface LoraSlotTarget {
  readonly rank: number;
  /** Constant multiplier of ΔW in the graph: 1 when alpha/rank is folded into fed weights, else alpha/rank. */
  readonly factor: number;
}

/** One adapter position of the graph: which weights it modifies, with which rank. */
export interface LoraSlotSpec {
  readonly name: string;
  readonly targets: ReadonlyMap<string, LoraSlotTarget>;
}

export interface LoraSlotParams {
  readonly down: Value;
  readonly up: Value;
  readonly factor: number;
}

export const loraParamName = (slot: string, weightKey: string, part: 'down' | 'up'): string => `lora.${slot}.${weightKey}.${part}`;
export const loraScaleName = (slot: string): string => `lora_scale.${slot}`;
/** True for the names of LoRA parameters created by UnfusedLora. */
export const isLoraParamName = (name: string): boolean => name.startsWith('lora.');

/** An inference slot shaped like a matched adapter (alpha folded in at feed time, so f = 1). */
export function loraSlotFromMatch(name: string, matched: ReadonlyMap<string, LoraTarget>): LoraSlotSpec {
  return { name, targets: new Map([...matched].map(([key, t]) => [key, { rank: t.rank, factor: 1 }])) };
}

/** A training slot over `weightKeys` with peft's scaling alpha/rank (alpha defaults to rank). */
export function loraTrainingSlot(
  name: string,
  weightKeys: Iterable<string>,
  { rank, alpha = rank }: { rank: number; alpha?: number },
): LoraSlotSpec {
  if (!Number.isInteger(rank) || rank < 1)
    throw new LoraError(`LoRA slot ${JSON.stringify(name)}: rank must be a positive integer, got ${rank}`);
  return { name, targets: new Map([...weightKeys].map((key) => [key, { rank, factor: alpha / rank }])) };
}

/** A slot as built: its scale input and, once the model asked for a targeted weight, that weight's LoRA parameters. */
export interface LoraSlot {
  readonly spec: LoraSlotSpec;
  readonly scale: Value;
  readonly params: Map<string, LoraSlotParams>;
}

export class UnfusedLora {
  readonly slots = new Map<string, LoraSlot>();
  private readonly graph: Graph;
  private readonly cache = new Map<string, Value>();

  constructor(scope: Scope, specs: readonly LoraSlotSpec[]) {
    this.graph = scope.graph;
    for (const spec of specs) {
      if (this.slots.has(spec.name)) throw new LoraError(`LoRA slot ${JSON.stringify(spec.name)} is given twice`);
      this.slots.set(spec.name, { spec, scale: this.graph.input(loraScaleName(spec.name), [], 'float32'), params: new Map() });
    }
  }

  /** `scope` with the hook that adds the LoRA updates (keep `scope`'s own hook out: one hook per scope). */
  attach(scope: Scope): Scope {
    return scope.withParamHook((key, param) => this.effectiveWeight(key, param));
  }

  /** Every LoRA parameter created so far (slot order, then the order the model asked for the weights). */
  get params(): Value[] {
    return [...this.slots.values()].flatMap((s) => [...s.params.values()].flatMap((p) => [p.down, p.up]));
  }

  /** Throws when a slot targets weights the model never asked for (wrong keys or another model). */
  assertApplied(): void {
    for (const { spec, params } of this.slots.values()) {
      const missing = [...spec.targets.keys()].filter((k) => !params.has(k));
      if (missing.length > 0)
        throw new LoraError(
          `LoRA slot ${JSON.stringify(spec.name)}: the model has no parameter ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`,
        );
    }
  }

  private effectiveWeight(key: string, weight: Value): Value {
    if (weight.graph !== this.graph)
      throw new LoraError(`UnfusedLora: ${key} belongs to another graph than the one this LoRA was created for`);
    const cached = this.cache.get(key);
    if (cached) return cached;
    let delta: Value | undefined;
    for (const slot of this.slots.values()) {
      const target = slot.spec.targets.get(key);
      if (!target) continue;
      const p = this.createParams(slot.spec.name, key, weight, target);
      slot.params.set(key, p);
      const scale = p.factor === 1 ? slot.scale : slot.scale.mul(p.factor);
      const term = deltaOf(p, weight.shape).mul(scale);
      delta = delta ? delta.add(term) : term;
    }
    const result = delta ? weight.add(weight.dtype === delta.dtype ? delta : delta.cast(weight.dtype)) : weight;
    this.cache.set(key, result);
    return result;
  }

  private createParams(slot: string, key: string, weight: Value, { rank, factor }: LoraSlotTarget): LoraSlotParams {
    if (weight.rank < 2)
      throw new LoraError(`LoRA slot ${JSON.stringify(slot)}: ${key} is ${weight.rank}-d; LoRA modifies Linear/Conv weights only`);
    const [out, ...rest] = weight.shape;
    const down = this.graph.param(loraParamName(slot, key, 'down'), [rank, ...rest], 'float32');
    const up = this.graph.param(loraParamName(slot, key, 'up'), [out, rank, ...rest.slice(1).map(() => 1)], 'float32');
    return { down, up, factor };
  }
}

/** reshape(up.flatten(1) · down.flatten(1)) to the weight's shape. */
function deltaOf({ down, up }: LoraSlotParams, shape: readonly number[]): Value {
  if (shape.length === 2) return up.matmul(down);
  const rank = down.shape[0];
  return up
    .reshape([shape[0], rank])
    .matmul(down.reshape([rank, numel(shape.slice(1))]))
    .reshape(shape);
}
