/**
 * UNet blocks of diffusers' unet_2d_blocks: DownBlock2D / CrossAttnDownBlock2D, UNetMidBlock2DCrossAttn /
 * UNetMidBlock2D, UpBlock2D / CrossAttnUpBlock2D, with Downsample2D (strided conv) and Upsample2D
 * (nearest ×2 + conv). Parameter paths follow the diffusers modules: `resnets.i`, `attentions.i`,
 * `downsamplers.0.conv`, `upsamplers.0.conv`.
 */
import type { Value } from '../../ir/index.js';
import { conv, type Scope } from '../../nn/index.js';
import { concat, upsampleNearest2d } from '../../ops/index.js';
import type { AttentionPlan, BlockCommon, DownBlockPlan, MidBlockPlan, UpBlockPlan } from './layout.js';
import { resnetBlock2D } from './resnet.js';
import { transformer2D } from './transformer-2d.js';

/** What every block reads besides its input: the time embedding, the encoder states and shared settings. */
export interface BlockInputs {
  temb: Value;
  context: Value;
  common: BlockCommon;
}

/** Downsample2D with use_conv: 3×3 conv, stride 2; padding 0 pads right/bottom by one first, as diffusers. */
export function downsample2D(scope: Scope, x: Value, padding: number): Value {
  const input = padding === 0 ? x.pad([0, 0, 0, 0, 0, 0, 1, 1]) : x;
  return conv(scope.sub('conv'), input, x.shape[1], { kernel: 3, stride: 2, padding });
}

/** Upsample2D with use_conv: nearest-neighbour ×2, then a 3×3 conv. */
export function upsample2D(scope: Scope, x: Value): Value {
  return conv(scope.sub('conv'), upsampleNearest2d(x, 2), x.shape[1], { kernel: 3, padding: 1 });
}

function resnet(scope: Scope, x: Value, outChannels: number, io: BlockInputs, outputScaleFactor = 1): Value {
  const { groups, eps, act } = io.common;
  return resnetBlock2D(scope, x, io.temb, { outChannels, groups, eps, act, outputScaleFactor });
}

function transformer(scope: Scope, x: Value, plan: AttentionPlan, layer: number, io: BlockInputs): Value {
  return transformer2D(scope, x, io.context, {
    heads: plan.heads,
    crossAttentionDim: plan.crossAttentionDim,
    depth: plan.depths[layer],
    groups: io.common.groups,
    useLinearProjection: io.common.useLinearProjection,
    onlyCrossAttention: plan.onlyCrossAttention,
  });
}

export interface DownBlockResult {
  hidden: Value;
  /** Skip connections for the up path, in the order diffusers appends them to down_block_res_samples. */
  skips: Value[];
}

/** DownBlock2D / CrossAttnDownBlock2D: (resnet [→ transformer]) × layers [→ downsampler]. */
export function downBlock(scope: Scope, x: Value, plan: DownBlockPlan, io: BlockInputs): DownBlockResult {
  const skips: Value[] = [];
  let h = x;
  for (let i = 0; i < plan.layers; i++) {
    h = resnet(scope.sub('resnets').sub(i), h, plan.outChannels, io);
    if (plan.attention) h = transformer(scope.sub('attentions').sub(i), h, plan.attention, i, io);
    skips.push(h);
  }
  if (plan.addDownsample) {
    h = downsample2D(scope.sub('downsamplers').sub(0), h, plan.downsamplePadding);
    skips.push(h);
  }
  return { hidden: h, skips };
}

/** UNetMidBlock2DCrossAttn (resnet → transformer → resnet) or, without attention, UNetMidBlock2D (one resnet). */
export function midBlock(scope: Scope, x: Value, plan: MidBlockPlan, io: BlockInputs): Value {
  const resnets = scope.sub('resnets');
  let h = resnet(resnets.sub(0), x, plan.channels, io, plan.outputScaleFactor);
  if (plan.attention) {
    h = transformer(scope.sub('attentions').sub(0), h, plan.attention, 0, io);
    h = resnet(resnets.sub(1), h, plan.channels, io, plan.outputScaleFactor);
  }
  return h;
}

/**
 * UpBlock2D / CrossAttnUpBlock2D: per layer, concat the last remaining skip on channels, resnet
 * [→ transformer]; then [upsampler]. `skips` are this block's skips, in down-path order (consumed from the end).
 */
export function upBlock(scope: Scope, x: Value, skips: readonly Value[], plan: UpBlockPlan, io: BlockInputs): Value {
  if (skips.length !== plan.layers) throw new Error(`up block: expected ${plan.layers} skip connections, got ${skips.length}`);
  let h = x;
  for (let i = 0; i < plan.layers; i++) {
    h = concat([h, skips[skips.length - 1 - i]], 1);
    h = resnet(scope.sub('resnets').sub(i), h, plan.outChannels, io);
    if (plan.attention) h = transformer(scope.sub('attentions').sub(i), h, plan.attention, i, io);
  }
  return plan.addUpsample ? upsample2D(scope.sub('upsamplers').sub(0), h) : h;
}
