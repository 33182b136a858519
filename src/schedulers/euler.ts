// Euler (Karras et al. 2022, discrete), matching diffusers' EulerDiscreteScheduler (linear σ
// interpolation; optional s_churn).
import {
  baseDefaults,
  baseRules,
  ddpmNoiseDefaults,
  resolveConfig,
  SchedulerConfigError,
  type BaseSchedulerConfig,
  type ConfigRules,
  type TimestepSpacing,
} from './config.js';
import { interpTable, roundHalfEven, spacedTimesteps } from './spacing.js';
import { Scheduler, type SchedulerPlan, type StepOptions, type StepResult } from './scheduler.js';
import { combine } from './tensor-math.js';

export interface EulerConfig extends BaseSchedulerConfig {
  steps_offset: number;
  timestep_spacing: TimestepSpacing;
  interpolation_type: 'linear' | 'log_linear';
  final_sigmas_type: 'zero' | 'sigma_min';
}

export interface EulerStepOptions extends StepOptions {
  sChurn?: number;
  sTmin?: number;
  sTmax?: number;
  sNoise?: number;
}

const rules: ConfigRules<EulerConfig> = {
  ...baseRules,
  steps_offset: { kind: 'number', integer: true, min: 0 },
  timestep_spacing: { kind: 'enum', values: ['leading', 'trailing', 'linspace'] },
  interpolation_type: { kind: 'enum', values: ['linear', 'log_linear'] },
  final_sigmas_type: { kind: 'enum', values: ['zero', 'sigma_min'] },
};

const defaults: EulerConfig = {
  ...ddpmNoiseDefaults,
  ...baseDefaults,
  steps_offset: 0,
  timestep_spacing: 'linspace',
  interpolation_type: 'linear',
  final_sigmas_type: 'zero',
};

const f32 = Math.fround;

export class EulerScheduler extends Scheduler<EulerConfig> {
  readonly name = 'euler';

  static create(input?: Record<string, unknown>): EulerScheduler {
    const { config, ignored } = resolveConfig('euler', rules, defaults, input);
    if (config.interpolation_type !== 'linear') {
      throw new SchedulerConfigError('euler', 'interpolation_type', 'supports only "linear" for now');
    }
    return new EulerScheduler(config, ignored);
  }

  /** The σ table; zero-SNR schedules pin the last ᾱ to 2^-24 as diffusers does, keeping σ finite. */
  private get sigmaTable(): Float32Array {
    if (!this.config.rescale_betas_zero_snr) return this.schedule.sigmas;
    const table = this.schedule.sigmas.slice();
    const last = 2 ** -24;
    table[table.length - 1] = Math.sqrt(f32(f32(1 - last) / last));
    return table;
  }

  protected makePlan(n: number): SchedulerPlan {
    const c = this.config;
    const raw = spacedTimesteps(c.timestep_spacing, n, c.num_train_timesteps, c.steps_offset);
    const timesteps = raw.map((t) => f32(c.timestep_spacing === 'linspace' ? t : roundHalfEven(t)));
    const table = this.sigmaTable;
    const sigmas = timesteps.map((t) => f32(interpTable(t, table)));
    const last = c.final_sigmas_type === 'zero' ? 0 : table[0];
    const maxSigma = Math.max(...sigmas);
    const initNoiseSigma = c.timestep_spacing === 'leading' ? f32(Math.sqrt(maxSigma * maxSigma + 1)) : maxSigma;
    return { numInferenceSteps: n, timesteps, sigmas: [...sigmas, last], initNoiseSigma };
  }

  override scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const sigma = this.plan.sigmas![this.resolveIndex(timestep)];
    const scale = 1 / Math.sqrt(sigma * sigma + 1);
    return sample.map((v) => v * scale);
  }

  /** Euler's samples live in σ-space: x_t = x0 + σ_t·ε, with σ from the plan entry of t. */
  protected override noisingAt(timestep: number): { x0: number; noise: number } {
    const index = this.plan.timesteps.indexOf(timestep);
    return { x0: 1, noise: this.plan.sigmas![this.resolveIndex(timestep, index)] };
  }

  protected stepAt(index: number, modelOutput: Float32Array, sample: Float32Array, options: EulerStepOptions): StepResult {
    const sigmas = this.plan.sigmas!;
    const sigma = sigmas[index];
    const { sChurn = 0, sTmin = 0, sTmax = Infinity, sNoise = 1 } = options;
    const gamma = sTmin <= sigma && sigma <= sTmax ? Math.min(sChurn / (sigmas.length - 1), Math.SQRT2 - 1) : 0;
    const sigmaHat = sigma * (gamma + 1);
    let x = sample;
    if (gamma > 0) {
      const noise = this.noiseFor(options, sample.length, index);
      x = combine([1, sample], [sNoise * Math.sqrt(sigmaHat * sigmaHat - sigma * sigma), noise]);
    }
    let x0: Float32Array;
    switch (this.config.prediction_type) {
      case 'epsilon':
        x0 = combine([1, x], [-sigmaHat, modelOutput]);
        break;
      case 'v_prediction':
        x0 = combine([1 / (sigma * sigma + 1), x], [-sigma / Math.sqrt(sigma * sigma + 1), modelOutput]);
        break;
      case 'sample':
        x0 = modelOutput;
    }
    // x_next = x + (x − x0)/σ̂ · (σ_next − σ̂)
    const ratio = (sigmas[index + 1] - sigmaHat) / sigmaHat;
    return { prevSample: combine([1 + ratio, x], [-ratio, x0]), predOriginal: x0 };
  }
}
