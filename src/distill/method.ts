/**
 * What distinguishes the distillation methods, given one batch's timesteps: where the student's and the target's
 * outputs are mapped before they are compared. Everything else (data, teacher, solver, loss) is shared.
 *   TDD — both to a target timestep s chosen per sample among the merged K-step schedules (K ∈ [kMin, kMax]),
 *         moved earlier by the γ offset: x_s = sqrt(ᾱ_s)·x0 + sqrt(1−ᾱ_s)·ε (the reference's tdd_step).
 *   LCM — both to the trajectory's origin with the consistency boundary scalings c_skip/c_out.
 *   PCM — both to the end of the sample's phase (phase-edges.ts) with a DDIM step from x0 and ε; a target that
 *         already sits on a phase end (its source is a phase start) is the teacher's step itself.
 *   simpleCTM — both to a timestep s drawn uniformly on the grid at or below the teacher's step end t' (0
 *         included): CTM's "jump from t to any earlier s" in the DDPM framing, where the DDIM move from the
 *         predicted x0 and ε stands in for CTM's s-conditioned network (PCM's paper's baseline of that name).
 *   TCD — the same mapping: its trajectory consistency function of first order, x_s = √ᾱ_s·x0 + √(1−ᾱ_s)·ε
 *         (the exponential-integrator form with an ε-model), to an end s drawn uniformly among 0 and the grid points
 *         below t', after one DDIM teacher step. Its authors released no training code; their answers on the
 *         TCD repository (one solver call per skipped step) and the public reimplementation
 *         (rootonchair/consistency_models_distill) agree on this. What TCD adds is its sampler (γ), not the loss.
 */
import { DistillConfigError } from './errors.js';
import type { TorchGenerator } from '../util/torch-generator.js';
import { boundaryBlend, noisingBlend, type Blend } from './common/coefficients.js';
import type { DdimSolver } from './common/ddim-solver.js';
import { mergedTimesteps, selectTargets } from './common/target-selection.js';
import { phaseStartOf, phaseStarts } from './common/phase-edges.js';
import type { NoiseSchedule } from '../schedulers/noise-schedule.js';

export type DistillMethodName = 'tdd' | 'lcm' | 'pcm' | 'simplectm' | 'tcd' | 'dmd2';
export const distillMethodNames: readonly DistillMethodName[] = ['tdd', 'lcm', 'pcm', 'simplectm', 'tcd', 'dmd2'];

export function isDistillMethodName(name: string): name is DistillMethodName {
  return (distillMethodNames as readonly string[]).includes(name);
}

/** One batch's timesteps on the solver grid. */
export interface GridTimesteps {
  /** Solver grid index per sample. */
  readonly index: readonly number[];
  /** Where the student and the teacher start: the grid timestep t_i (the reference's start_timesteps). */
  readonly source: readonly number[];
  /** Where the teacher's DDIM move ends and the target model runs: max(t_i − k, 0) (the reference's timesteps). */
  readonly target: readonly number[];
}

export interface MethodBlends {
  readonly student: Blend[];
  readonly target: Blend[];
  /** TDD and simpleCTM: the chosen timesteps s; PCM: the phase ends (for logs and tests). */
  readonly selected?: number[];
}

export interface DistillMethod {
  readonly name: DistillMethodName;
  blends(timesteps: GridTimesteps, rng: TorchGenerator): MethodBlends;
}

export interface TddMethodOptions {
  /** num_inference_steps_min / _max of the merged schedules (default 4..8). */
  readonly kMin?: number;
  readonly kMax?: number;
  /** γ-sampling offset ratio (default 0.3). */
  readonly sRatio?: number;
}

export function tddMethod(
  solver: DdimSolver,
  schedule: NoiseSchedule,
  { kMin = 4, kMax = 8, sRatio = 0.3 }: TddMethodOptions = {},
): DistillMethod {
  if (!(sRatio >= 0 && sRatio <= 1)) throw new DistillConfigError(`s_ratio must be in [0, 1] (got ${sRatio})`);
  const merged = mergedTimesteps(solver, kMin, kMax);
  return {
    name: 'tdd',
    blends(timesteps, rng) {
      const selected = selectTargets(merged, timesteps.target, sRatio, rng);
      const blends = selected.map((s) => noisingBlend(schedule.alphaBar(s)));
      return { student: blends, target: blends, selected };
    },
  };
}

export function lcmMethod(): DistillMethod {
  return {
    name: 'lcm',
    blends(timesteps) {
      return { student: timesteps.source.map(boundaryBlend), target: timesteps.target.map(boundaryBlend) };
    },
  };
}

/** The value itself: the sample, untouched (a target already on its phase end). */
const IDENTITY: Blend = { sample: 1, x0: 0, eps: 0 };

export function pcmMethod(solver: DdimSolver, phases: number): DistillMethod {
  const starts = phaseStarts(solver.count, phases);
  return {
    name: 'pcm',
    blends(timesteps) {
      const student: Blend[] = [];
      const target: Blend[] = [];
      const selected: number[] = [];
      for (const i of timesteps.index) {
        const start = phaseStartOf(starts, i);
        // The reference's ddim_alpha_cumprods_prev: ᾱ at the start's predecessor on the grid (ᾱ[0] for the first phase).
        const end = noisingBlend(solver.alphaCumprodsPrev[start]);
        student.push(end);
        target.push(start === i ? IDENTITY : end);
        selected.push(solver.timestepsPrev[start]);
      }
      return { student, target, selected };
    },
  };
}

/** simpleCTM and TCD: both outputs to an end drawn uniformly among 0 and the grid timesteps below t'. */
function earlierTimestepMethod(name: 'simplectm' | 'tcd', solver: DdimSolver, schedule: NoiseSchedule): DistillMethod {
  return {
    name,
    blends(timesteps, rng) {
      // Grid index i ends its teacher step at timestepsPrev[i]; the candidates are timestepsPrev[0..i]
      // (0, then every grid timestep below t'), one randint per sample as TDD draws its window picks.
      const selected = timesteps.index.map((i) => solver.timestepsPrev[Number(rng.randint(0, i + 1, [1])[0])]);
      const blends = selected.map((s) => noisingBlend(schedule.alphaBar(s)));
      return { student: blends, target: blends, selected };
    },
  };
}

export const simpleCtmMethod = (solver: DdimSolver, schedule: NoiseSchedule): DistillMethod =>
  earlierTimestepMethod('simplectm', solver, schedule);

export const tcdMethod = (solver: DdimSolver, schedule: NoiseSchedule): DistillMethod => earlierTimestepMethod('tcd', solver, schedule);
