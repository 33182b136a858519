/**
 * Index plans: which numbered single-file module is which diffusers module, computed from a component's
 * config. These are the only place where block arithmetic lives; the tables themselves are data.
 */
import type { UNetLayout } from '../../models/unet/index.js';
import type { Binding, IndexPlan } from './keymaps/types.js';

/**
 * LDM numbers input blocks 1.. in run order (resnet [+ attention] per layer, then the downsampler),
 * middle_block 0..2 (resnet, attention, resnet) and output blocks 0.. (resnet [+ attention] per layer,
 * the upsampler after the level's last layer).
 */
export function unetIndexPlan(layout: UNetLayout): IndexPlan {
  const plan: Record<string, Binding[]> = {
    downResnet: [],
    downAttention: [],
    downsampler: [],
    midResnet: [],
    midAttention: [],
    upResnet: [],
    upAttention: [],
    upsampler: [],
  };
  let input = 1;
  layout.down.forEach((block, level) => {
    for (let layer = 0; layer < block.layers; layer++, input++) {
      plan.downResnet.push({ input, level, layer });
      if (block.attention) plan.downAttention.push({ input, level, layer });
    }
    if (block.addDownsample) plan.downsampler.push({ input: input++, level });
  });
  if (layout.mid) {
    plan.midResnet.push({ middle: 0, layer: 0 });
    if (layout.mid.attention) {
      plan.midAttention.push({ middle: 1, layer: 0 });
      plan.midResnet.push({ middle: 2, layer: 1 });
    }
  }
  let output = 0;
  layout.up.forEach((block, level) => {
    for (let layer = 0; layer < block.layers; layer++, output++) {
      plan.upResnet.push({ output, level, layer });
      if (block.attention) plan.upAttention.push({ output, level, layer });
    }
    if (block.addUpsample) plan.upsampler.push({ output: output - 1, slot: block.attention ? 2 : 1, level });
  });
  return plan;
}

export interface VaeShape {
  levels: number;
  /** Encoder resnets per level; the decoder has one more. */
  layersPerBlock: number;
  midAttention: boolean;
}

/** The decoder's `up.{fileLevel}` runs in reverse: diffusers' up_blocks.{level} is up.{levels − 1 − level}. */
export function vaeIndexPlan({ levels, layersPerBlock, midAttention }: VaeShape): IndexPlan {
  const plan: Record<string, Binding[]> = { encoderResnet: [], downsampler: [], decoderResnet: [], upsampler: [], midAttention: [] };
  for (let level = 0; level < levels; level++) {
    const fileLevel = levels - 1 - level;
    for (let layer = 0; layer < layersPerBlock; layer++) plan.encoderResnet.push({ level, layer });
    for (let layer = 0; layer <= layersPerBlock; layer++) plan.decoderResnet.push({ level, fileLevel, layer });
    if (level < levels - 1) {
      plan.downsampler.push({ level });
      plan.upsampler.push({ level, fileLevel });
    }
  }
  if (midAttention) plan.midAttention.push({ side: 'encoder' }, { side: 'decoder' });
  return plan;
}

export function openClipIndexPlan(layers: number): IndexPlan {
  return { layer: Array.from({ length: layers }, (_, layer) => ({ layer })) };
}
