/**
 * Builds the training graph: for each phase, loss → gradients (autodiff) → optional accumulation and clipping →
 * AdamW. Everything that changes per step (lr, bias corrections, whether this run applies a phase's update) is a
 * scalar graph input, so one compiled model serves the whole run. Phases (a generator and the discriminator it is
 * judged by, say) live in the same graph so the frozen weights they share are in one session once; a phase that
 * does not apply this run keeps its parameters and moments exactly (`where`, not blending).
 */
import { grad } from '../autodiff/index.js';
import { formatShape, GraphError, type Graph, type Value } from '../ir/index.js';
import { zerosLike } from '../ops/index.js';
import { clipByGlobalNorm } from './clip.js';
import { adamwUpdate, type AdamWConfig } from './optim/adamw.js';

export interface PhaseGraphOptions {
  readonly name: string;
  readonly loss: Value;
  readonly trainable: readonly Value[];
  readonly optimizer: AdamWConfig;
  readonly maxGradNorm?: number;
  /** The phase skips some runs (it updates on every n-th optimizer step): adds its `apply` input. */
  readonly gated?: boolean;
}

export interface StepGraphOptions {
  readonly phases: readonly PhaseGraphOptions[];
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

export interface PhaseGraph {
  readonly name: string;
  readonly slots: readonly ParamSlots[];
  readonly scalars: { lr: Value; biasCorrection1: Value; biasCorrection2: Value; apply?: Value };
  /** Global gradient norm before clipping (when clipping). */
  readonly gradNorm?: Value;
}

export interface StepGraph {
  readonly phases: readonly PhaseGraph[];
  /** Every phase's slots, in phase order. */
  readonly slots: readonly ParamSlots[];
  /** 1 / accumulation steps, when accumulating. */
  readonly accScale?: Value;
}

/** Reserved names of the optimizer's graph inputs (per phase for the step scalars, per parameter for the state). */
export const optimizerInputNames = {
  lr: (phase: string) => `optim:${phase}:lr`,
  biasCorrection1: (phase: string) => `optim:${phase}:bias_correction1`,
  biasCorrection2: (phase: string) => `optim:${phase}:bias_correction2`,
  apply: (phase: string) => `optim:${phase}:apply`,
  accScale: 'optim:acc_scale',
  m: (p: string) => `optim:m:${p}`,
  v: (p: string) => `optim:v:${p}`,
  acc: (p: string) => `optim:acc:${p}`,
} as const;

export function buildStepGraph(graph: Graph, o: StepGraphOptions): StepGraph {
  checkPhases(o.phases);
  const accumulate = (o.gradAccumulationSteps ?? 1) > 1;
  const accScale = accumulate ? graph.input(optimizerInputNames.accScale, [], o.phases[0].loss.dtype) : undefined;
  const phases = o.phases.map((p) => phaseGraph(graph, p, accScale));
  return { phases, slots: phases.flatMap((p) => p.slots), accScale };
}

function phaseGraph(graph: Graph, o: PhaseGraphOptions, accScale: Value | undefined): PhaseGraph {
  const dtype = o.loss.dtype;
  const names = optimizerInputNames;
  const scalar = (name: string, d = dtype): Value => graph.input(name, [], d);
  const accumulate = accScale !== undefined;
  const scalars = {
    lr: scalar(names.lr(o.name)),
    biasCorrection1: scalar(names.biasCorrection1(o.name)),
    biasCorrection2: scalar(names.biasCorrection2(o.name)),
    apply: accumulate || o.gated ? scalar(names.apply(o.name), 'bool') : undefined,
  };
  let grads = grad(o.loss, o.trainable);
  const accs = o.trainable.map((p) => (accumulate ? graph.input(names.acc(p.name!), p.shape, p.dtype) : undefined));
  if (accumulate) grads = grads.map((g, i) => accs[i]!.add(g.mul(accScale)));
  let gradNorm: Value | undefined;
  let used = grads;
  if (o.maxGradNorm !== undefined) ({ grads: used, norm: gradNorm } = clipByGlobalNorm(grads, o.maxGradNorm));

  const slots = o.trainable.map((param, i): ParamSlots => {
    const name = param.name!;
    const m = graph.input(names.m(name), param.shape, param.dtype);
    const v = graph.input(names.v(name), param.shape, param.dtype);
    const next = adamwUpdate({ param, m, v }, used[i], scalars, o.optimizer);
    const apply = scalars.apply;
    if (!apply) return { name, param, m, v, newParam: next.param, newM: next.m, newV: next.v };
    // Runs that do not apply keep param/m/v exactly (where, not blending); an accumulating phase carries the sum on.
    const keep = (updated: Value, old: Value) => apply.where(updated, old);
    return {
      name,
      param,
      m,
      v,
      acc: accs[i],
      newParam: keep(next.param, param),
      newM: keep(next.m, m),
      newV: keep(next.v, v),
      newAcc: accumulate ? apply.where(zerosLike(param), grads[i]) : undefined,
    };
  });
  return { name: o.name, slots, scalars, gradNorm };
}

function checkPhases(phases: readonly PhaseGraphOptions[]): void {
  if (phases.length === 0) throw new GraphError('no training phases');
  const owner = new Map<string, string>();
  const names = new Set<string>();
  for (const phase of phases) {
    if (names.has(phase.name)) throw new GraphError(`two training phases are named "${phase.name}"`);
    names.add(phase.name);
    checkTrainable(phase.loss, phase.trainable);
    for (const p of phase.trainable) {
      const other = owner.get(p.name!);
      if (other !== undefined) throw new GraphError(`parameter "${p.name}" is trained by phases "${other}" and "${phase.name}"`);
      owner.set(p.name!, phase.name);
    }
  }
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
