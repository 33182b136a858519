// DPM-Solver++ multistep (Lu et al. 2022), orders 1–2, matching diffusers' DPMSolverMultistepScheduler.
import { baseDefaults, ddpmNoiseDefaults, resolveConfig, type ConfigRules, type TimestepSpacing } from './config.js';
import { clippedSteps, dpmRules, sigmasAt, type DpmConfig } from './dpm-config.js';
import { dpmFirstOrder, dpmSecondOrder } from './dpm-solver-math.js';
import { levelFromSigma } from './prediction.js';
import { Scheduler, type SchedulerPlan, type StepOptions, type StepResult } from './scheduler.js';
import { arange, linspace, roundHalfEven } from './spacing.js';
import { combine } from './tensor-math.js';

export interface DpmMultistepConfig extends DpmConfig {
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  euler_at_final: boolean;
}

const rules: ConfigRules<DpmMultistepConfig> = {
  ...dpmRules,
  timestep_spacing: { kind: 'enum', values: ['leading', 'trailing', 'linspace'] },
  steps_offset: { kind: 'number', integer: true, min: 0 },
  euler_at_final: { kind: 'boolean' },
};

const defaults: DpmMultistepConfig = {
  ...ddpmNoiseDefaults,
  ...baseDefaults,
  solver_order: 2,
  algorithm_type: 'dpmsolver++',
  solver_type: 'midpoint',
  lower_order_final: true,
  final_sigmas_type: 'zero',
  lambda_min_clipped: -Infinity,
  timestep_spacing: 'linspace',
  steps_offset: 0,
  euler_at_final: false,
};

export class DpmMultistepScheduler extends Scheduler<DpmMultistepConfig> {
  readonly name = 'dpmsolver++';
  /** x0 predictions of the previous and current step. */
  private history: Float32Array[] = [];

  static create(input?: Record<string, unknown>): DpmMultistepScheduler {
    const { config, ignored } = resolveConfig('dpmsolver++', rules, defaults, input);
    return new DpmMultistepScheduler(config, ignored);
  }

  protected override resetState(): void {
    this.history = [];
  }

  protected makePlan(n: number): SchedulerPlan {
    const c = this.config;
    const last = c.num_train_timesteps - clippedSteps(this.schedule, c.lambda_min_clipped);
    let timesteps: number[];
    if (c.timestep_spacing === 'linspace') {
      timesteps = linspace(0, last - 1, n + 1)
        .map(roundHalfEven)
        .reverse()
        .slice(0, n);
    } else if (c.timestep_spacing === 'leading') {
      const ratio = Math.floor(last / (n + 1));
      timesteps = Array.from({ length: n }, (_, i) => (n - i) * ratio + c.steps_offset);
    } else {
      timesteps = arange(last, 0, -(c.num_train_timesteps / n)).map((t) => roundHalfEven(t) - 1);
    }
    return {
      numInferenceSteps: timesteps.length,
      timesteps,
      sigmas: sigmasAt(this.schedule, timesteps, c.final_sigmas_type),
      initNoiseSigma: 1,
    };
  }

  protected stepAt(index: number, modelOutput: Float32Array, sample: Float32Array, options: StepOptions): StepResult {
    const c = this.config;
    const { timesteps } = this.plan;
    const sigmas = this.plan.sigmas!;
    const n = timesteps.length;
    const lowerOrderFinal = index === n - 1 && (c.euler_at_final || (c.lower_order_final && n < 15) || c.final_sigmas_type === 'zero');
    const x0 = this.predictOriginal(modelOutput, sample, levelFromSigma(sigmas[index]), options, {
      threshold: c.thresholding,
      clipSample: false,
    });
    const previous = this.history.at(-1);
    this.history = [x0];
    if (c.solver_order === 1 || previous === undefined || lowerOrderFinal) {
      const k = dpmFirstOrder(sigmas[index], sigmas[index + 1]);
      return { prevSample: combine([k.sample, sample], [k.x0, x0]), predOriginal: x0 };
    }
    const k = dpmSecondOrder('multistep', c.solver_type, sigmas[index - 1], sigmas[index], sigmas[index + 1]);
    return { prevSample: combine([k.sample, sample], [k.current, x0], [k.previous, previous]), predOriginal: x0 };
  }
}
