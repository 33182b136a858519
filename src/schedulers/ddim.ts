// DDIM (Song et al. 2021), matching diffusers' DDIMScheduler.
import {
  baseDefaults,
  baseRules,
  ddpmNoiseDefaults,
  resolveConfig,
  type BaseSchedulerConfig,
  type ConfigRules,
  type TimestepSpacing,
} from './config.js';
import { roundHalfEven, spacedTimesteps } from './spacing.js';
import { Scheduler, type SchedulerPlan, type StepOptions, type StepResult } from './scheduler.js';
import { levelFromAlphaBar } from './prediction.js';
import { combine } from './tensor-math.js';

export interface DdimConfig extends BaseSchedulerConfig {
  set_alpha_to_one: boolean;
  steps_offset: number;
  timestep_spacing: TimestepSpacing;
}

export const ddimRules: ConfigRules<DdimConfig> = {
  ...baseRules,
  set_alpha_to_one: { kind: 'boolean' },
  steps_offset: { kind: 'number', integer: true, min: 0 },
  timestep_spacing: { kind: 'enum', values: ['leading', 'trailing', 'linspace'] },
};

export const ddimDefaults: DdimConfig = {
  ...ddpmNoiseDefaults,
  ...baseDefaults,
  clip_sample: true,
  set_alpha_to_one: true,
  steps_offset: 0,
  timestep_spacing: 'leading',
};

export class DdimScheduler extends Scheduler<DdimConfig> {
  readonly name = 'ddim';

  static create(input?: Record<string, unknown>): DdimScheduler {
    const { config, ignored } = resolveConfig('ddim', ddimRules, ddimDefaults, input);
    return new DdimScheduler(config, ignored);
  }

  /** ᾱ used past the end of the schedule (t < 0). */
  private get finalAlphaBar(): number {
    return this.config.set_alpha_to_one ? 1 : this.schedule.alphasCumprod[0];
  }

  protected makePlan(n: number): SchedulerPlan {
    const c = this.config;
    const raw = spacedTimesteps(c.timestep_spacing, n, c.num_train_timesteps, c.steps_offset);
    return { numInferenceSteps: n, timesteps: raw.map(roundHalfEven), initNoiseSigma: 1 };
  }

  protected stepAt(index: number, modelOutput: Float32Array, sample: Float32Array, options: StepOptions): StepResult {
    const { timesteps, numInferenceSteps } = this.plan;
    const t = timesteps[index];
    const eta = options.eta ?? 0;
    // diffusers steps back by a fixed stride, whatever the spacing.
    const prevT = t - Math.floor(this.config.num_train_timesteps / numInferenceSteps);
    const abT = this.schedule.alphaBar(t);
    const abPrev = prevT >= 0 ? this.schedule.alphaBar(prevT) : this.finalAlphaBar;
    const level = levelFromAlphaBar(abT);
    const x0 = this.predictOriginal(modelOutput, sample, level, options, {
      threshold: this.config.thresholding,
      clipSample: this.config.clip_sample,
    });
    const eps = this.predictEpsilon(modelOutput, sample, level);
    const variance = ((1 - abPrev) / (1 - abT)) * (1 - abT / abPrev);
    const std = eta * Math.sqrt(variance);
    const direction = Math.sqrt(1 - abPrev - std * std);
    const prevSample =
      eta > 0
        ? combine([Math.sqrt(abPrev), x0], [direction, eps], [std, this.noiseFor(options, sample.length, index)])
        : combine([Math.sqrt(abPrev), x0], [direction, eps]);
    return { prevSample, predOriginal: x0 };
  }
}
