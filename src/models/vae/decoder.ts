/**
 * diffusers VAE `Decoder` (norm_type "group"): conv_in → UNetMidBlock2D → UpDecoderBlock2D × n (widest
 * first, layers_per_block + 1 resnets each; every block but the last doubles the resolution) → GroupNorm →
 * SiLU → conv_out.
 */
import type { Value } from '../../ir/index.js';
import { conv, groupNormLayer, type Scope } from '../../nn/index.js';
import { upDecoderBlock, VAE_NORM_EPS, vaeMidBlock } from './blocks.js';
import type { AutoencoderKLConfig } from './config.js';
import { blockOptions } from './encoder.js';

/** Parameters under `scope` (the model's `decoder`); latents [B, latent_channels, h, w] → [B, out_channels, h·f, w·f]. */
export function vaeDecoder(scope: Scope, config: AutoencoderKLConfig, latents: Value): Value {
  const reversed = [...config.block_out_channels].reverse();
  const options = blockOptions(config);
  let h = conv(scope.sub('conv_in'), latents, reversed[0], { kernel: 3, padding: 1 });
  h = vaeMidBlock(scope.sub('mid_block'), h, config.mid_block_add_attention, options);
  reversed.forEach((out, i) => {
    const isLast = i === reversed.length - 1;
    h = upDecoderBlock(scope.sub('up_blocks').sub(i), h, out, config.layers_per_block + 1, !isLast, options);
  });
  h = groupNormLayer(scope.sub('conv_norm_out'), h, { groups: config.norm_num_groups, eps: VAE_NORM_EPS }).silu();
  return conv(scope.sub('conv_out'), h, config.out_channels, { kernel: 3, padding: 1 });
}
