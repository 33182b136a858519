/**
 * One training step's random choices and the per-sample coefficient columns they imply. Draw order (one
 * generator, as the reference draws from torch's global one after the noise): grid index (randint), guidance
 * scale w ~ U[w_min, w_max) (rand), then whatever the method draws (TDD: its target timesteps).
 */
import type { PredictionType } from '../schedulers/config.js';
import type { NoiseSchedule } from '../schedulers/noise-schedule.js';
import type { TorchGenerator } from '../util/torch-generator.js';
import { noisingBlend, readoutOfBlend } from './common/coefficients.js';
import type { DdimSolver } from './common/ddim-solver.js';
import { distillInputs, type CoefficientName } from './common/distill-graph.js';
import type { DistillMethod, GridTimesteps } from './method.js';

export interface StepPlanContext {
  readonly solver: DdimSolver;
  readonly schedule: NoiseSchedule;
  readonly method: DistillMethod;
  readonly predictionType: PredictionType;
  readonly wMin: number;
  readonly wMax: number;
}

export interface StepPlan {
  readonly timesteps: GridTimesteps;
  /** Per-sample [B] columns, fed as [B, 1, 1, 1]. */
  readonly coefficients: Record<CoefficientName, Float32Array>;
  /** TDD: the selected target timesteps. */
  readonly selected?: number[];
}

export function planStep(batch: number, rng: TorchGenerator, ctx: StepPlanContext): StepPlan {
  const { solver, schedule } = ctx;
  const index = rng.randint(0, solver.count, [batch]).map(Number);
  const timesteps: GridTimesteps = {
    index,
    source: index.map((i) => solver.timesteps[i]),
    target: index.map((i) => solver.sourceTimestep(i)),
  };
  const w = rng.rand([batch]).map((u) => (ctx.wMax - ctx.wMin) * u + ctx.wMin);
  const { student, target, selected } = ctx.method.blends(timesteps, rng);
  const columns = Object.fromEntries(distillInputs.coefficients.map((k) => [k, new Float32Array(batch)])) as Record<
    CoefficientName,
    Float32Array
  >;
  for (let b = 0; b < batch; b++) {
    const abarSource = schedule.alphaBar(timesteps.source[b]);
    const s = readoutOfBlend(ctx.predictionType, abarSource, student[b]);
    const p = readoutOfBlend(ctx.predictionType, abarSource, noisingBlend(solver.alphaCumprodsPrev[index[b]]));
    const t = readoutOfBlend(ctx.predictionType, schedule.alphaBar(timesteps.target[b]), target[b]);
    columns.student_sample[b] = s.sample;
    columns.student_model[b] = s.model;
    columns.guidance[b] = w[b];
    columns.prev_sample[b] = p.sample;
    columns.prev_model[b] = p.model;
    columns.target_sample[b] = t.sample;
    columns.target_model[b] = t.model;
  }
  return { timesteps, coefficients: columns, selected };
}
