// The training noise schedule (betas, ᾱ) with the exact float32 values diffusers holds.
// Values are float32 (as torch keeps them); arithmetic on them elsewhere is float64.
import { SchedulerOptionError } from './config.js';
import type { BaseSchedulerConfig } from './config.js';
import { SchedulerConfigError } from './config.js';
import { fmaf } from '../util/float32.js';

const f32 = Math.fround;

export interface NoiseSchedule {
  readonly numTrainTimesteps: number;
  readonly betas: Float32Array;
  /** ᾱ_t = ∏(1-β), float32 as torch.cumprod returns it. */
  readonly alphasCumprod: Float32Array;
  /** σ_t = sqrt((1-ᾱ)/ᾱ) in float32 arithmetic, the table DPM/Euler/TDD interpolate. */
  readonly sigmas: Float32Array;
  /** ᾱ at an integer timestep; throws with the timestep when it is out of range. */
  alphaBar(t: number): number;
}

/**
 * torch.linspace(start, end, n) in float32, as torch 1.13's AVX2 CPU kernel computes it (bit-exact
 * against the golden betas): the first half counts up from start, the second half down from end, and
 * each 8-lane vector is built as base + j·step from a base computed with a fused multiply-add.
 */
function linspaceF32(start: number, end: number, n: number): Float32Array {
  const lanes = 8;
  const out = new Float32Array(n);
  const s = f32(start);
  const e = f32(end);
  const step = f32(f32(e - s) / (n - 1));
  const halfway = Math.floor(n / 2);
  const at = (i: number) => (i < halfway ? fmaf(step, i, s) : fmaf(-step, n - i - 1, e));
  // Vectors are produced two at a time; what is left over goes through the scalar path.
  const vectorEnd = n - (n % (2 * lanes));
  for (let i = 0; i < vectorEnd; i += lanes) {
    const base = at(i);
    for (let j = 0; j < lanes; j++) out[i + j] = f32(base + f32(j * step));
  }
  for (let i = vectorEnd; i < n; i++) out[i] = at(i);
  return out;
}

/** Cosine schedule (Nichol & Dhariwal), computed in float64 and cast once, capped at max_beta 0.999. */
function cosineBetas(n: number): Float32Array {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999);
  return out;
}

/** torch's float32 cumprod: a float64 running product rounded at each output. */
function cumprodF32(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  let acc = 1;
  for (let i = 0; i < values.length; i++) {
    acc *= values[i];
    out[i] = acc;
  }
  return out;
}

/** Rescales betas to zero terminal SNR (Lin et al. 2023), as diffusers' rescale_zero_terminal_snr. */
function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const alphaBarSqrt = Float64Array.from(cumprodF32(betas.map((b) => f32(1 - b))), Math.sqrt);
  const first = alphaBarSqrt[0];
  const last = alphaBarSqrt[alphaBarSqrt.length - 1];
  const scaled = alphaBarSqrt.map((a) => ((a - last) * first) / (first - last));
  const out = new Float32Array(betas.length);
  for (let i = 0; i < betas.length; i++) {
    const bar = scaled[i] ** 2;
    const alpha = i === 0 ? bar : bar / scaled[i - 1] ** 2;
    out[i] = 1 - alpha;
  }
  return out;
}

export function makeBetas(config: BaseSchedulerConfig, scheduler = 'scheduler'): Float32Array {
  const n = config.num_train_timesteps;
  let betas: Float32Array;
  if (config.trained_betas) {
    if (config.trained_betas.length !== n) {
      throw new SchedulerConfigError(
        scheduler,
        'trained_betas',
        `has ${config.trained_betas.length} values but num_train_timesteps is ${n}`,
      );
    }
    betas = Float32Array.from(config.trained_betas);
  } else if (config.beta_schedule === 'linear') {
    betas = linspaceF32(config.beta_start, config.beta_end, n);
  } else if (config.beta_schedule === 'scaled_linear') {
    betas = linspaceF32(Math.sqrt(config.beta_start), Math.sqrt(config.beta_end), n).map((b) => b * b);
  } else {
    betas = cosineBetas(n);
  }
  return config.rescale_betas_zero_snr ? rescaleZeroTerminalSnr(betas) : betas;
}

export function makeNoiseSchedule(config: BaseSchedulerConfig, scheduler = 'scheduler'): NoiseSchedule {
  const betas = makeBetas(config, scheduler);
  const alphasCumprod = cumprodF32(betas.map((b) => f32(1 - b)));
  const sigmas = alphasCumprod.map((a) => Math.sqrt(f32(f32(1 - a) / a)));
  const n = config.num_train_timesteps;
  return {
    numTrainTimesteps: n,
    betas,
    alphasCumprod,
    sigmas,
    alphaBar(t: number): number {
      if (!Number.isInteger(t) || t < 0 || t >= n) {
        throw new SchedulerOptionError(`timestep ${t} is outside the training schedule [0, ${n - 1}]`);
      }
      return alphasCumprod[t];
    },
  };
}
