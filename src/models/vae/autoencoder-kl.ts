/**
 * diffusers AutoencoderKL without tiling/slicing: `encode` gives the moments of the latent distribution,
 * `decode` maps latents back to images. Both work on the VAE's raw latent scale. As in diffusers, the
 * pipeline converts between that scale and the diffusion model's: after encoding
 * `z = (sample − shift_factor)·scaling_factor` (scaleLatents), before decoding
 * `z / scaling_factor + shift_factor` (unscaleLatents); shift_factor null means 0. Images are in [-1, 1].
 */
import type { Value } from '../../ir/index.js';
import { conv, type Scope } from '../../nn/index.js';
import type { AutoencoderKLConfig } from './config.js';
import { vaeDecoder } from './decoder.js';
import { vaeEncoder } from './encoder.js';
import { expectNCHW } from './inputs.js';

/** DiagonalGaussianDistribution of the encoder output; sample = mean + std·ε, mode = mean. */
export interface LatentMoments {
  mean: Value;
  /** Clamped to [-30, 20], as diffusers does before taking the std. */
  logvar: Value;
  /** exp(0.5·logvar). */
  std: Value;
}

/** encoder → quant_conv → split into mean/logvar. Parameters `encoder.*`, `quant_conv.*` under `scope`. */
export function vaeEncode(scope: Scope, config: AutoencoderKLConfig, image: Value): LatentMoments {
  expectNCHW('AutoencoderKL encode: image', image, config.in_channels);
  let moments = vaeEncoder(scope.sub('encoder'), config, image);
  const width = 2 * config.latent_channels;
  if (config.use_quant_conv) moments = conv(scope.sub('quant_conv'), moments, width, { kernel: 1 });
  const [mean, rawLogvar] = moments.split([config.latent_channels, config.latent_channels], 1);
  const logvar = rawLogvar.clamp(-30, 20);
  return { mean, logvar, std: logvar.mul(0.5).exp() };
}

/** post_quant_conv → decoder; latents on the VAE's raw scale (unscaleLatents first). Image in [-1, 1]. */
export function vaeDecode(scope: Scope, config: AutoencoderKLConfig, latents: Value): Value {
  expectNCHW('AutoencoderKL decode: latents', latents, config.latent_channels);
  const z = config.use_post_quant_conv ? conv(scope.sub('post_quant_conv'), latents, config.latent_channels, { kernel: 1 }) : latents;
  return vaeDecoder(scope.sub('decoder'), config, z);
}

/** The two config fields the latent scaling reads (AutoencoderKL and AutoencoderTiny configs both have them). */
export interface LatentScaling {
  scaling_factor: number;
  shift_factor: number | null;
}

/** VAE latents → diffusion latents: (z − shift_factor)·scaling_factor. */
export function scaleLatents(config: LatentScaling, latents: Value): Value {
  const shifted = config.shift_factor ? latents.sub(config.shift_factor) : latents;
  return shifted.mul(config.scaling_factor);
}

/** Diffusion latents → VAE latents: z / scaling_factor + shift_factor (what pipelines do before decode). */
export function unscaleLatents(config: LatentScaling, latents: Value): Value {
  const scaled = latents.div(config.scaling_factor);
  return config.shift_factor ? scaled.add(config.shift_factor) : scaled;
}
