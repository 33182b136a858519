/**
 * Builds the training graph: loss → gradients (autodiff) → optional accumulation and clipping → AdamW.
 * Everything that changes per step (lr, bias corrections, whether this micro-step applies the update)
 * is a scalar graph input, so one compiled model serves the whole run.
 */
import { grad } from '../autodiff/index.js';
import { formatShape, GraphError, type Graph, type Value } from '../ir/index.js';
import { zerosLike } from '../ops/index.js';
import { clipByGlobalNorm } from './clip.js';
import { adamwUpdate, type AdamWConfig } from './optim/adamw.js';

export interface StepGraphOptions {
  readonly loss: Value;
  readonly trainable: readonly Value[];
  readonly optimizer: AdamWConfig;
  readonly maxGradNorm?: number;
  /** > 1 adds gradient accumulators (one micro-batch per run; the update on every n-th). */
  readonly gradAccumulationSteps?: number;
}

/** Graph inputs and outputs of the per-parameter optimizer state. */
export interface ParamSlots {
  readonly name: string;
  readonly param: Value;
  readonly m: Value;
  readonly v: Value;
  readonly acc?: Value;
  readonly newParam: Value;
  readonly newM: Value;
  readonly newV: Value;
  readonly newAcc?: Value;
}

export interface StepGraph {
  readonly slots: readonly ParamSlots[];
  readonly scalars: { lr: Value; biasCorrection1: Value; biasCorrection2: Value; accScale?: Value; apply?: Value };
  /** Global gradient norm before clipping (when clipping). */
  readonly gradNorm?: Value;
}

/** Reserved names of the optimizer's graph inputs. */
export const optimizerInputNames = {
  lr: 'optim:lr',
  biasCorrection1: 'optim:bias_correction1',
  biasCorrection2: 'optim:bias_correction2',
  accScale: 'optim:acc_scale',
  apply: 'optim:apply',
  m: (p: string) => `optim:m:${p}`,
  v: (p: string) => `optim:v:${p}`,
  acc: (p: string) => `optim:acc:${p}`,
} as const;

export function buildStepGraph(graph: Graph, o: StepGraphOptions): StepGraph {
  checkTrainable(o.loss, o.trainable);
  const dtype = o.loss.dtype;
  const names = optimizerInputNames;
  const scalar = (name: string, d = dtype): Value => graph.input(name, [], d);
  const accumulate = (o.gradAccumulationSteps ?? 1) > 1;
  const scalars = {
    lr: scalar(names.lr),
    biasCorrection1: scalar(names.biasCorrection1),
    biasCorrection2: scalar(names.biasCorrection2),
    accScale: accumulate ? scalar(names.accScale) : undefined,
    apply: accumulate ? scalar(names.apply, 'bool') : undefined,
  };
  let grads = grad(o.loss, o.trainable);
  const accs = o.trainable.map((p) => (accumulate ? graph.input(names.acc(p.name!), p.shape, p.dtype) : undefined));
  if (accumulate) grads = grads.map((g, i) => accs[i]!.add(g.mul(scalars.accScale!)));
  let gradNorm: Value | undefined;
  let used = grads;
  if (o.maxGradNorm !== undefined) ({ grads: used, norm: gradNorm } = clipByGlobalNorm(grads, o.maxGradNorm));

  const slots = o.trainable.map((param, i): ParamSlots => {
    const name = param.name!;
    const m = graph.input(names.m(name), param.shape, param.dtype);
    const v = graph.input(names.v(name), param.shape, param.dtype);
    const next = adamwUpdate({ param, m, v }, used[i], scalars, o.optimizer);
    if (!accumulate) return { name, param, m, v, newParam: next.param, newM: next.m, newV: next.v };
    // Micro-steps that do not apply keep param/m/v exactly (where, not blending) and carry the sum on.
    const keep = (updated: Value, old: Value) => scalars.apply!.where(updated, old);
    return {
      name,
      param,
      m,
      v,
      acc: accs[i],
      newParam: keep(next.param, param),
      newM: keep(next.m, m),
      newV: keep(next.v, v),
      newAcc: scalars.apply!.where(zerosLike(param), grads[i]),
    };
  });
  return { slots, scalars, gradNorm };
}

function checkTrainable(loss: Value, trainable: readonly Value[]): void {
  if (loss.rank !== 0) throw new GraphError(`training loss must be a scalar, got ${formatShape(loss.shape)}`);
  if (trainable.length === 0) throw new GraphError('no trainable parameters');
  for (const p of trainable) {
    if (p.source.kind !== 'param' || !p.name) throw new GraphError(`trainable value ${p.name ?? `#${p.id}`} is not a parameter`);
    if (p.dtype !== loss.dtype)
      throw new GraphError(`parameter "${p.name}" is ${p.dtype} but the loss is ${loss.dtype} (keep master weights in the loss dtype)`);
  }
}
