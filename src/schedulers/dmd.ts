// DMD2-style multistep sampling (Yin et al. 2024): the generator predicts x0 at a few fixed
// conditioning timesteps and the sample is re-noised to the next one. 1-step mode feeds pure noise at a
// single conditioning timestep (DMD2 uses 399).
import { SchedulerOptionError } from './config.js';
import { baseDefaults, baseRules, resolveConfig, sdNoiseDefaults, type BaseSchedulerConfig, type ConfigRules } from './config.js';
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

export interface DmdConfig extends BaseSchedulerConfig {
  /** Conditioning timestep of the 1-step generator. */
  one_step_timestep: number;
}

const rules: ConfigRules<DmdConfig> = {
  ...baseRules,
  one_step_timestep: { kind: 'number', integer: true, min: 0 },
};

const defaults: DmdConfig = { ...sdNoiseDefaults, ...baseDefaults, one_step_timestep: 399 };

export class DmdScheduler extends Scheduler<DmdConfig> {
  readonly name = 'dmd';
  protected override readonly planOptions: ReadonlySet<PlanOption> = new Set<PlanOption>(['timesteps']);

  static create(input?: Record<string, unknown>): DmdScheduler {
    const { config, ignored } = resolveConfig('dmd', rules, defaults, input);
    return new DmdScheduler(config, ignored);
  }

  /** n steps at T−1−round(i·T/n): 4 steps give DMD2's 999, 749, 499, 249; 1 step uses one_step_timestep. */
  protected makePlan(n: number, options: SetTimestepsOptions): SchedulerPlan {
    const T = this.config.num_train_timesteps;
    const timesteps = options.timesteps
      ? [...options.timesteps]
      : n === 1
        ? [this.config.one_step_timestep]
        : Array.from({ length: n }, (_, i) => T - 1 - Math.round((i * T) / n));
    timesteps.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= T) throw new SchedulerOptionError(`dmd: timesteps[${i}] = ${t} is outside [0, ${T - 1}]`);
      if (i > 0 && t >= timesteps[i - 1]) throw new SchedulerOptionError('dmd: timesteps must be strictly descending');
    });
    return { numInferenceSteps: timesteps.length, timesteps, initNoiseSigma: 1 };
  }

  protected stepAt(index: number, modelOutput: Float32Array, sample: Float32Array, options: StepOptions): StepResult {
    const { timesteps } = this.plan;
    const level = levelFromAlphaBar(this.schedule.alphaBar(timesteps[index]));
    const x0 = this.predictOriginal(modelOutput, sample, level, options, {
      threshold: this.config.thresholding,
      clipSample: this.config.clip_sample,
    });
    if (index === timesteps.length - 1) return { prevSample: x0, predOriginal: x0 };
    const c = renoiseCoefficients(1, this.schedule.alphaBar(timesteps[index + 1]));
    const noise = this.noiseFor(options, sample.length, index);
    return { prevSample: combine([c.keep, x0], [c.noise, noise]), predOriginal: x0 };
  }
}
