/**
 * Time embeddings of diffusers' UNets: the sinusoidal `Timesteps` projection (get_timestep_embedding) and
 * the `TimestepEmbedding` MLP (linear_1 → act → linear_2, optional cond_proj and post_act).
 */
import { hostArray, type Value } from '../../ir/index.js';
import { linear, type Scope } from '../../nn/index.js';
import { concat } from '../../ops/index.js';

/** Activation names diffusers' get_activation accepts that this port builds ('swish' = 'silu'). */
export const ACTIVATIONS = ['silu', 'swish', 'gelu', 'relu'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export function activation(x: Value, name: ActivationName): Value {
  switch (name) {
    case 'silu':
    case 'swish':
      return x.silu();
    case 'gelu':
      return x.gelu();
    case 'relu':
      return x.relu();
  }
}

export interface TimestepsOptions {
  /** Emit [cos, sin] instead of [sin, cos] (diffusers' flip_sin_to_cos). */
  flipSinToCos: boolean;
  /** diffusers' downscale_freq_shift (the UNet's `freq_shift`): frequencies are exp(-ln(P)·i/(half − shift)). */
  downscaleFreqShift: number;
  scale?: number;
  maxPeriod?: number;
}

/**
 * The `half` frequencies exp(−ln(maxPeriod)·i/(half − shift)), rounded after every step as torch computes
 * them in float32, so the embedding of a timestep like 999 matches the reference to float32 rounding.
 */
export function timestepFrequencies(half: number, downscaleFreqShift: number, maxPeriod = 10000): Float32Array {
  const f = Math.fround;
  const logPeriod = f(-Math.log(maxPeriod));
  const denominator = f(half - downscaleFreqShift);
  return Float32Array.from({ length: half }, (_, i) => f(Math.exp(f(f(logPeriod * i) / denominator))));
}

/**
 * Sinusoidal embedding [N, dim] of timesteps [N] (diffusers' Timesteps / get_timestep_embedding, max period
 * 10000 by default). Timesteps are float32 values; integer timesteps are exact in float32 up to 2^24.
 * Odd `dim` gets a trailing zero column, as diffusers pads.
 */
export function sinusoidalTimestepEmbedding(timesteps: Value, dim: number, options: TimestepsOptions): Value {
  if (timesteps.rank !== 1) throw new Error(`timestep embedding: timesteps must be 1-D [N], got rank ${timesteps.rank}`);
  const half = Math.floor(dim / 2);
  const g = timesteps.graph;
  const freqs = g.constant(hostArray([1, half], 'float32', timestepFrequencies(half, options.downscaleFreqShift, options.maxPeriod)));
  const t = timesteps.dtype === 'float32' ? timesteps : timesteps.cast('float32');
  let args = t.reshape([t.shape[0], 1]).mul(freqs);
  if ((options.scale ?? 1) !== 1) args = args.mul(options.scale!);
  const sin = args.sin();
  const cos = args.cos();
  const emb = concat(options.flipSinToCos ? [cos, sin] : [sin, cos], 1);
  return dim % 2 === 1 ? emb.pad([0, 0, 0, 1]) : emb;
}

export interface TimestepMlpOptions {
  outDim: number;
  act?: ActivationName;
  postAct?: ActivationName | null;
  /** Added to the input through `cond_proj` (no bias), as LCM-distilled UNets' timestep_cond. */
  condition?: Value;
}

/** diffusers TimestepEmbedding: [cond_proj(condition) +] x → linear_1 → act → linear_2 [→ post_act]. */
export function timestepMlp(scope: Scope, x: Value, { outDim, act = 'silu', postAct = null, condition }: TimestepMlpOptions): Value {
  let h = x;
  if (condition) h = h.add(linear(scope.sub('cond_proj'), condition, x.shape[1], { bias: false }));
  h = activation(linear(scope.sub('linear_1'), h, outDim), act);
  h = linear(scope.sub('linear_2'), h, outDim);
  return postAct ? activation(h, postAct) : h;
}
