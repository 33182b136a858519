// TDD sampling (Wang et al., "Target-Driven Distillation", AAAI 2025), matching the reference
// TDDScheduler: a DPM-Solver++ singlestep update from σ(t_k) to σ(s_{k+1}) with s = ⌊(1−η)·t⌋, then
// fresh noise from s_{k+1} back up to t_{k+1}. Optional non-equidistant "special jump" schedules and
// x0 clipping (dynamic thresholding) on the first t_l + 1 steps.
import { SchedulerOptionError } from './config.js';
import { resolveConfig, SchedulerConfigError, type ConfigRules } from './config.js';
import { dpmRules, sigmasAt, type DpmConfig } from './dpm-config.js';
import { DpmSinglestepScheduler, singlestepDefaults, type SinglestepPlan } from './dpm-singlestep.js';
import { renoiseCoefficients } from './prediction.js';
import type { StepOptions, StepResult } from './scheduler.js';
import { skippingGrid } from './spacing.js';
import { combine } from './tensor-math.js';

export interface TddConfig extends DpmConfig {
  /** Size of the distillation grid the student was trained on (reference default 250). */
  tdd_train_step: number;
  /** Use the non-equidistant schedules for 5–7 steps (tdd_train_step 250 only). */
  special_jump: boolean;
  /** Last step index whose x0 is thresholded (when `thresholding`); −1 = none. */
  t_l: number;
}

const rules: ConfigRules<TddConfig> = {
  ...dpmRules,
  tdd_train_step: { kind: 'number', integer: true, min: 1 },
  special_jump: { kind: 'boolean' },
  t_l: { kind: 'number', integer: true, min: -1 },
};

const defaults: TddConfig = { ...singlestepDefaults, solver_order: 1, tdd_train_step: 250, special_jump: false, t_l: -1 };

/** The reference's hand-picked schedules (tdd_train_step 250): denser early, one long final jump. */
const specialJumps: Record<number, number[]> = {
  5: [999, 875, 751, 499, 251],
  6: [999, 875, 751, 627, 499, 251],
  7: [999, 875, 751, 627, 499, 375, 251],
};

export interface TddPlan extends SinglestepPlan {
  /** Intermediate timesteps s_k = ⌊(1−η)·t_k⌋ and their σ (final 0 appended) for a given η. */
  intermediate(eta: number): { timestepsS: number[]; sigmasS: number[] };
}

export class TddScheduler extends DpmSinglestepScheduler<TddConfig, TddPlan> {
  override readonly name = 'tdd';
  private targets: { timestepsS: number[]; sigmasS: number[] } | undefined;

  static override create(input?: Record<string, unknown>): TddScheduler {
    const { config, ignored } = resolveConfig('tdd', rules, defaults, input);
    if (config.tdd_train_step > config.num_train_timesteps) {
      throw new SchedulerConfigError('tdd', 'tdd_train_step', `cannot exceed num_train_timesteps (${config.num_train_timesteps})`);
    }
    if (config.special_jump && config.tdd_train_step !== 250) {
      // The reference defines jump schedules only for 250; with 50 its timesteps and targets disagree (NaN).
      throw new SchedulerConfigError('tdd', 'special_jump', `is defined only for tdd_train_step 250 (got ${config.tdd_train_step})`);
    }
    return new TddScheduler(config, ignored);
  }

  protected override resetState(): void {
    super.resetState();
    this.targets = undefined;
  }

  /** Timestep positions before the integer cast (fractional when tdd_train_step does not divide T). */
  private gridPoints(n: number): number[] {
    const c = this.config;
    if (n > c.tdd_train_step) throw new SchedulerOptionError(`tdd: steps (${n}) cannot exceed tdd_train_step (${c.tdd_train_step})`);
    if (c.special_jump && specialJumps[n]) return specialJumps[n];
    return skippingGrid(c.tdd_train_step, c.num_train_timesteps / c.tdd_train_step, n);
  }

  protected override makePlan(n: number): TddPlan {
    const points = this.gridPoints(n);
    const base = this.withSigmas(points.map(Math.trunc), points);
    const intermediate = (eta: number) => {
      if (!(eta >= 0 && eta <= 1)) throw new SchedulerOptionError(`tdd: eta must be in [0, 1] (got ${eta})`);
      const timestepsS = points.map((t) => Math.floor((1 - eta) * t));
      return { timestepsS, sigmasS: sigmasAt(this.schedule, timestepsS, this.config.final_sigmas_type) };
    };
    return { ...base, intermediate };
  }

  protected override shouldThreshold(index: number): boolean {
    return this.config.thresholding && index <= this.config.t_l;
  }

  /** The reference fixes the intermediate schedule from the η of the first step. */
  protected override targetSigma(index: number, options: StepOptions): number {
    if (index === 0 || !this.targets) this.targets = this.plan.intermediate(options.eta ?? 0);
    return this.targets.sigmasS[index + 1];
  }

  protected override stepAt(index: number, modelOutput: Float32Array, sample: Float32Array, options: StepOptions): StepResult {
    const eta = options.eta ?? 0;
    const { timesteps } = this.plan;
    const renoise = eta > 0 && index < timesteps.length - 1;
    // Fetch noise first so a missing source fails before any solver state changes.
    const noise = renoise ? this.noiseFor(options, sample.length, index) : undefined;
    const result = super.stepAt(index, modelOutput, sample, options);
    if (!noise) return result;
    const s = this.targets!.timestepsS[index + 1];
    const c = renoiseCoefficients(this.schedule.alphaBar(s), this.schedule.alphaBar(timesteps[index + 1]));
    return { ...result, prevSample: combine([c.keep, result.prevSample], [c.noise, noise]) };
  }
}
