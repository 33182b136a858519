/**
 * diffusers VAE `Encoder` (double_z): conv_in → DownEncoderBlock2D × n (every block but the last halves the
 * resolution) → UNetMidBlock2D → GroupNorm → SiLU → conv_out to 2·latent_channels (mean and logvar).
 */
import type { Value } from '../../ir/index.js';
import { conv, groupNormLayer, type Scope } from '../../nn/index.js';
import { downEncoderBlock, VAE_NORM_EPS, vaeMidBlock, type VaeBlockOptions } from './blocks.js';
import type { AutoencoderKLConfig } from './config.js';

export function blockOptions(config: AutoencoderKLConfig): VaeBlockOptions {
  return { groups: config.norm_num_groups, act: config.act_fn };
}

/** Parameters under `scope` (the model's `encoder`); image [B, in_channels, H, W] → [B, 2·latent, H/f, W/f]. */
export function vaeEncoder(scope: Scope, config: AutoencoderKLConfig, image: Value): Value {
  const channels = config.block_out_channels;
  const options = blockOptions(config);
  let h = conv(scope.sub('conv_in'), image, channels[0], { kernel: 3, padding: 1 });
  channels.forEach((out, i) => {
    const isLast = i === channels.length - 1;
    h = downEncoderBlock(scope.sub('down_blocks').sub(i), h, out, config.layers_per_block, !isLast, options);
  });
  h = vaeMidBlock(scope.sub('mid_block'), h, config.mid_block_add_attention, options);
  // conv_act is nn.SiLU() whatever act_fn says.
  h = groupNormLayer(scope.sub('conv_norm_out'), h, { groups: config.norm_num_groups, eps: VAE_NORM_EPS }).silu();
  return conv(scope.sub('conv_out'), h, 2 * config.latent_channels, { kernel: 3, padding: 1 });
}
