/**
 * Host data for the unfused LoRA graph (src/nn/lora-graph.ts): the arrays a slot's parameters take from a
 * parsed adapter, the per-slot scale feeds, fresh training initialisations, and trained parameters turned back
 * into LoRA modules for export (src/weights/lora/export.ts).
 */
import type { Value } from '../ir/index.js';
import { numel } from '../ir/shape.js';
import type { HostTensor } from '../runtime/tensors.js';
import { TorchGenerator } from '../util/torch-generator.js';
import { checkLoraShapes, loraFactor, LoraError, type LoraComponent, type LoraTarget } from '../weights/lora-formats.js';
import { isLoraParamName, type LoraSlot, type LoraSlotParams, type UnfusedLora } from './lora-graph.js';

function slotOf(lora: UnfusedLora, name: string): LoraSlot {
  const slot = lora.slots.get(name);
  if (!slot) throw new LoraError(`no LoRA slot ${JSON.stringify(name)} (slots: ${[...lora.slots.keys()].join(', ') || 'none'})`);
  lora.assertApplied();
  return slot;
}

/** The weight's shape as the LoRA parameters imply it ([out, ...down.shape[1:]]). */
const weightShapeOf = (p: LoraSlotParams): number[] => [p.up.shape[0], ...p.down.shape.slice(1)];

/**
 * Arrays for slot `name` from a matched adapter: `down` as stored, `up`·(alpha/rank)/f; weights of the slot that
 * the adapter does not touch get zeros (ΔW = 0), so smaller adapters fit a larger slot. An adapter module the
 * slot lacks, or a rank that differs, needs another graph: that is an error naming the module.
 */
export function loraSlotWeights(lora: UnfusedLora, name: string, matched: ReadonlyMap<string, LoraTarget>): Map<string, Float32Array> {
  const slot = slotOf(lora, name);
  const extra = [...matched.keys()].filter((k) => !slot.params.has(k));
  if (extra.length > 0)
    throw new LoraError(
      `LoRA slot ${JSON.stringify(name)} has no place for ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ` and ${extra.length - 5} more` : ''} (build the graph with a slot covering them)`,
    );
  const arrays = new Map<string, Float32Array>();
  for (const [key, p] of slot.params) {
    const target = matched.get(key);
    if (target && target.rank !== p.down.shape[0])
      throw new LoraError(
        `LoRA module ${target.module} has rank ${target.rank}; slot ${JSON.stringify(name)} has rank ${p.down.shape[0]} for ${key}`,
      );
    if (target) checkLoraShapes(target, key, weightShapeOf(p));
    const ratio = target ? loraFactor(target) / p.factor : 0;
    arrays.set(p.down.name!, target ? target.down.data : new Float32Array(numel(p.down.shape)));
    arrays.set(
      p.up.name!,
      !target ? new Float32Array(numel(p.up.shape)) : ratio === 1 ? target.up.data : target.up.data.map((x) => x * ratio),
    );
  }
  return arrays;
}

/** Feeds for every slot's scale input; each slot must be given (0 turns one off). */
export function loraScaleFeeds(lora: UnfusedLora, scales: Readonly<Record<string, number>>): Record<string, HostTensor> {
  const unknown = Object.keys(scales).filter((n) => !lora.slots.has(n));
  const missing = [...lora.slots.keys()].filter((n) => !(n in scales));
  if (unknown.length > 0 || missing.length > 0)
    throw new LoraError(
      `LoRA scales: ${[...unknown.map((n) => `unknown slot ${n}`), ...missing.map((n) => `no scale for slot ${n}`)].join(', ')}`,
    );
  return Object.fromEntries(
    [...lora.slots].map(([n, s]) => [s.scale.name!, { dtype: 'float32', dims: [], data: Float32Array.of(scales[n]) }]),
  );
}

/** Graph parameters split into the model's own and the LoRA ones (by the `lora.` name prefix). */
export function splitLoraParams(params: readonly Value[]): { base: Value[]; lora: Value[] } {
  return { base: params.filter((p) => !isLoraParamName(p.name!)), lora: params.filter((p) => isLoraParamName(p.name!)) };
}

/**
 * peft's initialisation for a new adapter: down (lora_A) kaiming-uniform with a = √5, i.e. U(−1/√fan_in, 1/√fan_in),
 * up (lora_B) zeros, so training starts from the base model. Seeded; drawn in slot parameter order.
 */
export function initLoraWeights(lora: UnfusedLora, name: string, seed = 0): Map<string, Float32Array> {
  const slot = slotOf(lora, name);
  const generator = new TorchGenerator(seed);
  const arrays = new Map<string, Float32Array>();
  for (const p of slot.params.values()) {
    const bound = 1 / Math.sqrt(numel(p.down.shape.slice(1)));
    arrays.set(
      p.down.name!,
      generator.rand(p.down.shape).map((u) => (2 * u - 1) * bound),
    );
    arrays.set(p.up.name!, new Float32Array(numel(p.up.shape)));
  }
  return arrays;
}

/** Trained slot parameters as LoRA modules by weight key (alpha = f·rank), ready for writeLora. */
export function loraModulesFromWeights(
  lora: UnfusedLora,
  name: string,
  values: ReadonlyMap<string, Float32Array>,
  component: LoraComponent = 'unet',
): Map<string, LoraTarget> {
  const slot = slotOf(lora, name);
  const modules = new Map<string, LoraTarget>();
  for (const [key, p] of slot.params) {
    const get = (v: Value): Float32Array => {
      const data = values.get(v.name!);
      if (!data || data.length !== numel(v.shape))
        throw new LoraError(
          `LoRA export of slot ${JSON.stringify(name)}: ${data ? `${data.length} values` : 'no values'} for ${v.name} [${v.shape.join(', ')}]`,
        );
      return data;
    };
    const rank = p.down.shape[0];
    modules.set(key, {
      component,
      module: key.slice(0, -'.weight'.length),
      format: 'peft',
      down: { shape: p.down.shape, data: get(p.down) },
      up: { shape: p.up.shape, data: get(p.up) },
      alpha: p.factor * rank,
      rank,
      keys: [p.down.name!, p.up.name!],
    });
  }
  return modules;
}
