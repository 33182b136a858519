// TCD's γ-sampler (Zheng et al. 2024), matching diffusers' TCDScheduler: jump to x0, move to the
// intermediate timestep s = ⌊(1−γ)·t_next⌋ along the predicted noise, then add fresh noise back up to t_next.
import { SchedulerOptionError } from './config.js';
import { consistencyPlan, resolveConsistencyConfig, type ConsistencyConfig } from './consistency-grid.js';
import {
  Scheduler,
  type PlanOption,
  type SchedulerPlan,
  type SetTimestepsOptions,
  type StepOptions,
  type StepResult,
} from './scheduler.js';
import { levelFromAlphaBar, renoiseCoefficients } from './prediction.js';
import { combine } from './tensor-math.js';

const f32 = Math.fround;

/** TCD's intermediate timestep: torch computes (1−γ)·t in float32 before flooring. */
export function tcdIntermediateTimestep(gamma: number, nextTimestep: number): number {
  return Math.floor(f32(f32(1 - gamma) * nextTimestep));
}

export class TcdScheduler extends Scheduler<ConsistencyConfig> {
  readonly name = 'tcd';
  protected override readonly planOptions: ReadonlySet<PlanOption> = new Set<PlanOption>([
    'strength',
    'timesteps',
    'originalInferenceSteps',
  ]);

  static create(input?: Record<string, unknown>): TcdScheduler {
    const { config, ignored } = resolveConsistencyConfig('tcd', input);
    return new TcdScheduler(config, ignored);
  }

  protected makePlan(n: number, options: SetTimestepsOptions): SchedulerPlan {
    return consistencyPlan(this.name, this.config, n, options);
  }

  protected stepAt(index: number, modelOutput: Float32Array, sample: Float32Array, options: StepOptions): StepResult {
    const gamma = options.eta ?? 0.3;
    if (gamma > 1) throw new SchedulerOptionError(`tcd: eta (gamma) must be in [0, 1] (got ${gamma})`);
    const { timesteps } = this.plan;
    const isLast = index === timesteps.length - 1;
    const nextT = isLast ? 0 : timesteps[index + 1];
    const s = tcdIntermediateTimestep(gamma, nextT);
    const level = levelFromAlphaBar(this.schedule.alphaBar(timesteps[index]));
    const x0 = this.predictOriginal(modelOutput, sample, level, options, { threshold: false, clipSample: false });
    const eps = this.predictEpsilon(modelOutput, sample, level);
    const atS = levelFromAlphaBar(this.schedule.alphaBar(s));
    const predNoisedSample = combine([atS.alpha, x0], [atS.sigmaT, eps]);
    if (gamma === 0 || isLast) return { prevSample: predNoisedSample, predOriginal: x0, predNoisedSample };
    const c = renoiseCoefficients(this.schedule.alphaBar(s), this.schedule.alphaBar(nextT));
    const noise = this.noiseFor(options, sample.length, index);
    return { prevSample: combine([c.keep, predNoisedSample], [c.noise, noise]), predOriginal: x0, predNoisedSample };
  }
}
