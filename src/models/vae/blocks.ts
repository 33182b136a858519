/**
 * The blocks of diffusers' VAE Encoder/Decoder (unet_2d_blocks): DownEncoderBlock2D, UpDecoderBlock2D and
 * UNetMidBlock2D as the VAE builds it (one layer: resnet → [attention] → resnet, no time embedding, resnet
 * eps 1e-6). Resnets, Downsample2D (padding 0: pad right/bottom, stride-2 conv) and Upsample2D (nearest ×2
 * + conv) are the UNet's: the VAE uses the same modules with temb = None.
 */
import type { Value } from '../../ir/index.js';
import { groupNormLayer, linear, type Scope } from '../../nn/index.js';
import { attention } from '../../ops/index.js';
import { downsample2D, upsample2D } from '../unet/blocks.js';
import type { ActivationName } from '../unet/embeddings.js';
import { resnetBlock2D } from '../unet/resnet.js';

/** diffusers' Encoder/Decoder pass resnet_eps=1e-6 to every block. */
export const VAE_NORM_EPS = 1e-6;

export interface VaeBlockOptions {
  groups: number;
  act: ActivationName;
}

function resnet(scope: Scope, x: Value, outChannels: number, { groups, act }: VaeBlockOptions): Value {
  return resnetBlock2D(scope, x, null, { outChannels, groups, eps: VAE_NORM_EPS, act });
}

/**
 * The mid-block Attention (the converted legacy AttentionBlock): GroupNorm → to_q/to_k/to_v with bias → one
 * head over all channels (scale 1/√C) → to_out.0 → + input. rescale_output_factor is 1 in the VAE.
 */
export function vaeAttention(scope: Scope, x: Value, groups: number): Value {
  const [b, c, h, w] = x.shape;
  const normed = groupNormLayer(scope.sub('group_norm'), x, { groups, eps: VAE_NORM_EPS });
  const tokens = normed.reshape([b, c, h * w]).transpose([0, 2, 1]);
  const q = linear(scope.sub('to_q'), tokens, c);
  const k = linear(scope.sub('to_k'), tokens, c);
  const v = linear(scope.sub('to_v'), tokens, c);
  const out = linear(scope.sub('to_out').sub(0), attention(q, k, v, { heads: 1 }), c);
  return out.transpose([0, 2, 1]).reshape([b, c, h, w]).add(x);
}

/** UNetMidBlock2D with num_layers 1: resnets.0 → [attentions.0] → resnets.1 (both resnets exist either way). */
export function vaeMidBlock(scope: Scope, x: Value, addAttention: boolean, options: VaeBlockOptions): Value {
  const channels = x.shape[1];
  let h = resnet(scope.sub('resnets').sub(0), x, channels, options);
  if (addAttention) h = vaeAttention(scope.sub('attentions').sub(0), h, options.groups);
  return resnet(scope.sub('resnets').sub(1), h, channels, options);
}

/** DownEncoderBlock2D: `layers` resnets to outChannels, then (unless last) Downsample2D with padding 0. */
export function downEncoderBlock(scope: Scope, x: Value, outChannels: number, layers: number, addDownsample: boolean, options: VaeBlockOptions): Value {
  let h = x;
  for (let i = 0; i < layers; i++) h = resnet(scope.sub('resnets').sub(i), h, outChannels, options);
  return addDownsample ? downsample2D(scope.sub('downsamplers').sub(0), h, 0) : h;
}

/** UpDecoderBlock2D: `layers` resnets to outChannels (no skip connections), then (unless last) Upsample2D. */
export function upDecoderBlock(scope: Scope, x: Value, outChannels: number, layers: number, addUpsample: boolean, options: VaeBlockOptions): Value {
  let h = x;
  for (let i = 0; i < layers; i++) h = resnet(scope.sub('resnets').sub(i), h, outChannels, options);
  return addUpsample ? upsample2D(scope.sub('upsamplers').sub(0), h) : h;
}
