// LCM multistep sampling (Luo et al. 2023), matching diffusers' LCMScheduler: boundary-scaled x0,
// then re-noised to the next grid timestep with fresh noise.
import { consistencyPlan, resolveConsistencyConfig, type ConsistencyConfig } from './consistency-grid.js';
import {
  Scheduler,
  type PlanOption,
  type SchedulerPlan,
  type SetTimestepsOptions,
  type StepOptions,
  type StepResult,
} from './scheduler.js';
import { boundaryScalings, levelFromAlphaBar, renoiseCoefficients } from './prediction.js';
import { combine } from './tensor-math.js';

export class LcmScheduler extends Scheduler<ConsistencyConfig> {
  readonly name = 'lcm';
  protected override readonly planOptions: ReadonlySet<PlanOption> = new Set<PlanOption>([
    'strength',
    'timesteps',
    'originalInferenceSteps',
  ]);

  static create(input?: Record<string, unknown>): LcmScheduler {
    const { config, ignored } = resolveConsistencyConfig('lcm', input);
    return new LcmScheduler(config, ignored);
  }

  protected makePlan(n: number, options: SetTimestepsOptions): SchedulerPlan {
    return consistencyPlan(this.name, this.config, n, options);
  }

  protected stepAt(index: number, modelOutput: Float32Array, sample: Float32Array, options: StepOptions): StepResult {
    const { timesteps } = this.plan;
    const t = timesteps[index];
    const isLast = index === timesteps.length - 1;
    const { cSkip, cOut } = boundaryScalings(t, this.config.timestep_scaling);
    const x0 = this.predictOriginal(modelOutput, sample, levelFromAlphaBar(this.schedule.alphaBar(t)), options, {
      threshold: this.config.thresholding,
      clipSample: this.config.clip_sample,
    });
    const denoised = combine([cOut, x0], [cSkip, sample]);
    if (isLast) return { prevSample: denoised, predOriginal: x0, denoised };
    const c = renoiseCoefficients(1, this.schedule.alphaBar(timesteps[index + 1]));
    const noise = this.noiseFor(options, sample.length, index);
    return { prevSample: combine([c.keep, denoised], [c.noise, noise]), predOriginal: x0, denoised };
  }
}
