// Configuration and σ-plan pieces shared by DPM-Solver++ multistep, singlestep and TDD.
import { baseRules, type BaseSchedulerConfig, type ConfigRules } from './config.js';
import type { SolverType } from './dpm-solver-math.js';
import type { NoiseSchedule } from './noise-schedule.js';
import { interpTable } from './spacing.js';

export interface DpmConfig extends BaseSchedulerConfig {
  solver_order: number;
  algorithm_type: 'dpmsolver++';
  solver_type: SolverType;
  lower_order_final: boolean;
  final_sigmas_type: 'zero' | 'sigma_min';
  lambda_min_clipped: number;
}

export const dpmRules: ConfigRules<DpmConfig> = {
  ...baseRules,
  solver_order: { kind: 'number', integer: true, min: 1, max: 2 },
  algorithm_type: { kind: 'enum', values: ['dpmsolver++'] },
  solver_type: { kind: 'enum', values: ['midpoint', 'heun'] },
  lower_order_final: { kind: 'boolean' },
  final_sigmas_type: { kind: 'enum', values: ['zero', 'sigma_min'] },
  lambda_min_clipped: { kind: 'number', allowInfinite: true },
};

/** How many of the noisiest training steps λ_min_clipped cuts off (diffusers' searchsorted). */
export function clippedSteps(schedule: NoiseSchedule, lambdaMin: number): number {
  if (lambdaMin === -Infinity) return 0;
  let count = 0;
  for (const ab of schedule.alphasCumprod) if (0.5 * Math.log(ab / (1 - ab)) < lambdaMin) count++;
  return count;
}

/** σ at each (possibly fractional) timestep by linear interpolation, float32, plus the final σ. */
export function sigmasAt(schedule: NoiseSchedule, timesteps: readonly number[], finalType: 'zero' | 'sigma_min'): number[] {
  const sigmas = timesteps.map((t) => Math.fround(interpTable(t, schedule.sigmas)));
  return [...sigmas, finalType === 'zero' ? 0 : schedule.sigmas[0]];
}
