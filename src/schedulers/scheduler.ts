// The scheduler contract shared by every sampler: setTimesteps → plan, then step() once per plan entry.
// Subclasses supply the plan and the per-index update; this class owns step-index tracking, input
// checks, noise sourcing and the x0 readout with clipping, so none of that is repeated per sampler.
import { SchedulerOptionError } from './config.js';
import type { BaseSchedulerConfig } from './config.js';
import { makeNoiseSchedule, type NoiseSchedule } from './noise-schedule.js';
import { combine, clipSample, dynamicThreshold } from './tensor-math.js';
import { epsilonReadout, levelFromAlphaBar, originalReadout, type NoiseLevel } from './prediction.js';

export type SchedulerName = 'ddim' | 'euler' | 'dpmsolver++' | 'dpmsolver-singlestep' | 'lcm' | 'tcd' | 'tdd' | 'dmd';

/** Anything that draws standard normal noise, e.g. TorchGenerator. */
export interface NoiseSource {
  randn(shape: readonly number[]): Float32Array;
}

export type PlanOption = 'strength' | 'timesteps' | 'originalInferenceSteps';

export interface SetTimestepsOptions {
  /** img2img strength for schedulers that cut their own grid (LCM, TCD); 1 = full schedule. */
  strength?: number;
  /** Explicit descending timesteps instead of a count (LCM, TCD, DMD). */
  timesteps?: readonly number[];
  /** LCM/TCD: size of the coarse training grid (default: config.original_inference_steps). */
  originalInferenceSteps?: number;
}

export interface SchedulerPlan {
  readonly numInferenceSteps: number;
  /** Timesteps fed to the model, largest first (integers; floats for Euler). */
  readonly timesteps: readonly number[];
  /** σ = sqrt((1−ᾱ)/ᾱ) per step plus the final σ, for σ-based schedulers. */
  readonly sigmas?: readonly number[];
  /** Factor for the initial noise (Euler: σ_max; others: 1). */
  readonly initNoiseSigma: number;
}

export interface StepOptions {
  /** DDIM η, TCD γ, TDD η (stochasticity). Defaults: DDIM 0, TCD 0.3, TDD 0. */
  eta?: number;
  /** Noise for stochastic steps (same length as the sample); overrides `generator`. */
  noise?: Float32Array;
  /** Draws noise when a step needs it and none was injected. */
  generator?: NoiseSource;
  /** Batch items in the sample, for per-item dynamic thresholding (default 1). */
  batchSize?: number;
  /** Use this plan index instead of tracking/looking up the timestep. */
  stepIndex?: number;
}

export interface StepResult {
  prevSample: Float32Array;
  /** The model's x0 estimate at this step (preview images). */
  predOriginal?: Float32Array;
  /** LCM: the boundary-scaled estimate before re-noising. */
  denoised?: Float32Array;
  /** TCD: x0 moved to the intermediate timestep s. */
  predNoisedSample?: Float32Array;
}

export abstract class Scheduler<C extends BaseSchedulerConfig = BaseSchedulerConfig, P extends SchedulerPlan = SchedulerPlan> {
  abstract readonly name: SchedulerName;
  readonly schedule: NoiseSchedule;
  /** Which setTimesteps options this sampler implements; others are rejected, not ignored. */
  protected readonly planOptions: ReadonlySet<PlanOption> = new Set();
  private currentPlan: P | undefined;
  private nextIndex: number | null = null;

  constructor(
    readonly config: Readonly<C>,
    /** Config keys this scheduler does not use (e.g. `_class_name`), for reporting. */
    readonly ignoredKeys: readonly string[] = [],
  ) {
    this.schedule = makeNoiseSchedule(config, this.constructor.name);
  }

  get plan(): P {
    if (!this.currentPlan) throw new SchedulerOptionError(`${this.name}: call setTimesteps(n) before using the plan or step()`);
    return this.currentPlan;
  }

  get initNoiseSigma(): number {
    return this.plan.initNoiseSigma;
  }

  setTimesteps(numInferenceSteps: number, options: SetTimestepsOptions = {}): P {
    for (const [key, value] of Object.entries(options)) {
      if (value !== undefined && !this.planOptions.has(key as PlanOption)) {
        throw new SchedulerOptionError(`${this.name}: setTimesteps option \`${key}\` is not supported by this scheduler`);
      }
    }
    const custom = options.timesteps;
    if (custom === undefined && (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1)) {
      throw new SchedulerOptionError(`${this.name}: steps must be a positive integer (got ${numInferenceSteps})`);
    }
    if (custom === undefined && numInferenceSteps > this.schedule.numTrainTimesteps) {
      throw new SchedulerOptionError(
        `${this.name}: steps (${numInferenceSteps}) cannot exceed num_train_timesteps (${this.schedule.numTrainTimesteps})`,
      );
    }
    if (options.strength !== undefined && !(options.strength > 0 && options.strength <= 1)) {
      throw new SchedulerOptionError(`${this.name}: strength must be in (0, 1] (got ${options.strength})`);
    }
    this.currentPlan = Object.freeze(this.makePlan(numInferenceSteps, options));
    this.nextIndex = null;
    this.resetState();
    return this.currentPlan;
  }

  /** Scales the denoising input at a timestep (Euler divides by sqrt(σ²+1)); identity by default. */
  scaleModelInput(sample: Float32Array, _timestep: number): Float32Array {
    return sample;
  }

  /** One denoising update from `timestep` to the next plan entry (diffusers' step()). */
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options: StepOptions = {}): StepResult {
    const plan = this.plan;
    if (modelOutput.length !== sample.length) {
      throw new RangeError(`${this.name}: modelOutput has ${modelOutput.length} elements, sample has ${sample.length}`);
    }
    const index = this.resolveIndex(timestep, options.stepIndex);
    if (options.eta !== undefined && !(options.eta >= 0 && Number.isFinite(options.eta))) {
      throw new SchedulerOptionError(`${this.name}: eta must be a finite number >= 0 (got ${options.eta})`);
    }
    const result = this.stepAt(index, modelOutput, sample, options);
    this.nextIndex = index + 1 < plan.timesteps.length ? index + 1 : null;
    return result;
  }

  /** Forward process for per-batch-item timesteps (img2img, training): x_t from x0 and noise. */
  addNoise(original: Float32Array, noise: Float32Array, timesteps: number | readonly number[]): Float32Array {
    const ts = typeof timesteps === 'number' ? [timesteps] : timesteps;
    if (noise.length !== original.length || original.length % ts.length !== 0) {
      throw new RangeError(`${this.name}.addNoise: sample, noise and timesteps do not have matching sizes`);
    }
    const per = original.length / ts.length;
    const out = new Float32Array(original.length);
    ts.forEach((t, b) => {
      const c = this.noisingAt(t);
      const span = [b * per, (b + 1) * per] as const;
      out.set(combine([c.x0, original.subarray(...span)], [c.noise, noise.subarray(...span)]), b * per);
    });
    return out;
  }

  /** Coefficients of (x0, noise) in x_t; the VP form sqrt(ᾱ_t)·x0 + sqrt(1−ᾱ_t)·ε by default. */
  protected noisingAt(timestep: number): { x0: number; noise: number } {
    const { alpha, sigmaT } = levelFromAlphaBar(this.schedule.alphaBar(timestep));
    return { x0: alpha, noise: sigmaT };
  }

  protected abstract makePlan(numInferenceSteps: number, options: SetTimestepsOptions): P;
  protected abstract stepAt(index: number, modelOutput: Float32Array, sample: Float32Array, options: StepOptions): StepResult;
  /** Clears multistep history when a new plan is made. */
  protected resetState(): void {}

  /** The plan index for a step: explicit, tracked from the previous call, or looked up. */
  protected resolveIndex(timestep: number, explicit?: number): number {
    const ts = this.plan.timesteps;
    const index = explicit ?? this.nextIndex ?? ts.indexOf(timestep);
    if (!Number.isInteger(index) || index < 0 || index >= ts.length) {
      throw new RangeError(`${this.name}: timestep ${timestep} is not in the plan [${ts.join(', ')}]`);
    }
    if (ts[index] !== timestep) {
      throw new RangeError(`${this.name}: step ${index} expects timestep ${ts[index]}, got ${timestep}`);
    }
    return index;
  }

  /** Noise for a stochastic step: injected, or drawn from the generator. */
  protected noiseFor(options: StepOptions, length: number, index: number): Float32Array {
    if (options.noise) {
      if (options.noise.length !== length) {
        throw new SchedulerOptionError(`${this.name}: noise has ${options.noise.length} elements, sample has ${length}`);
      }
      return options.noise;
    }
    if (options.generator) return options.generator.randn([length]);
    throw new SchedulerOptionError(`${this.name}: step ${index} is stochastic; pass options.noise or options.generator`);
  }

  /** x0 from the model output, clipped as configured (dynamic thresholding wins over clip_sample). */
  protected predictOriginal(
    modelOutput: Float32Array,
    sample: Float32Array,
    level: NoiseLevel,
    options: StepOptions,
    clip: { threshold: boolean; clipSample: boolean },
  ): Float32Array {
    const r = originalReadout(this.config.prediction_type, level);
    const x0 = combine([r.sample, sample], [r.model, modelOutput]);
    if (clip.threshold) {
      return dynamicThreshold(x0, options.batchSize ?? 1, this.config.dynamic_thresholding_ratio, this.config.sample_max_value);
    }
    return clip.clipSample ? clipSample(x0, this.config.clip_sample_range) : x0;
  }

  protected predictEpsilon(modelOutput: Float32Array, sample: Float32Array, level: NoiseLevel): Float32Array {
    const r = epsilonReadout(this.config.prediction_type, level);
    return r.sample === 0 && r.model === 1 ? modelOutput : combine([r.sample, sample], [r.model, modelOutput]);
  }
}
