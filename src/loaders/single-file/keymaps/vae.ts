/**
 * VAE: LDM `AutoencoderKL` names (single-file `first_stage_model.*`, or a bare VAE file) ↔ diffusers
 * AutoencoderKL names. The decoder numbers its levels from the bottom (`decoder.up.0` is the last to run),
 * diffusers from the top: the plan binds both (`fileLevel` = levels − 1 − `level`).
 */
import { WEIGHT_AND_BIAS, type ModuleRule, type PartTable } from './types.js';

const VAE_RESNET_PARTS: PartTable = {
  rules: [
    { file: 'norm1', diffusers: 'norm1' },
    { file: 'conv1', diffusers: 'conv1' },
    { file: 'norm2', diffusers: 'norm2' },
    { file: 'conv2', diffusers: 'conv2' },
    { file: 'nin_shortcut', diffusers: 'conv_shortcut' },
  ],
  passThrough: false,
};

/** LDM's AttnBlock uses 1×1 convs where diffusers' Attention has linears. */
const VAE_ATTENTION_PARTS: PartTable = {
  rules: [
    { file: 'norm', diffusers: 'group_norm' },
    { file: 'q.weight', diffusers: 'to_q.weight', transform: 'conv1x1ToLinear' },
    { file: 'q.bias', diffusers: 'to_q.bias' },
    { file: 'k.weight', diffusers: 'to_k.weight', transform: 'conv1x1ToLinear' },
    { file: 'k.bias', diffusers: 'to_k.bias' },
    { file: 'v.weight', diffusers: 'to_v.weight', transform: 'conv1x1ToLinear' },
    { file: 'v.bias', diffusers: 'to_v.bias' },
    { file: 'proj_out.weight', diffusers: 'to_out.0.weight', transform: 'conv1x1ToLinear' },
    { file: 'proj_out.bias', diffusers: 'to_out.0.bias' },
  ],
  passThrough: false,
};

const VAE_ROOT_PARTS: PartTable = {
  rules: [
    { file: 'encoder.conv_in', diffusers: 'encoder.conv_in' },
    { file: 'encoder.norm_out', diffusers: 'encoder.conv_norm_out' },
    { file: 'encoder.conv_out', diffusers: 'encoder.conv_out' },
    { file: 'decoder.conv_in', diffusers: 'decoder.conv_in' },
    { file: 'decoder.norm_out', diffusers: 'decoder.conv_norm_out' },
    { file: 'decoder.conv_out', diffusers: 'decoder.conv_out' },
    { file: 'quant_conv', diffusers: 'quant_conv' },
    { file: 'post_quant_conv', diffusers: 'post_quant_conv' },
  ],
  passThrough: false,
};

/** Plan entries (plans.ts vaeIndexPlan) and their placeholders. */
export const VAE_MODULES: readonly ModuleRule[] = [
  { file: '', diffusers: '', parts: VAE_ROOT_PARTS },
  {
    plan: 'encoderResnet',
    file: 'encoder.down.{level}.block.{layer}',
    diffusers: 'encoder.down_blocks.{level}.resnets.{layer}',
    parts: VAE_RESNET_PARTS,
  },
  {
    plan: 'downsampler',
    file: 'encoder.down.{level}.downsample.conv',
    diffusers: 'encoder.down_blocks.{level}.downsamplers.0.conv',
    parts: WEIGHT_AND_BIAS,
  },
  {
    plan: 'decoderResnet',
    file: 'decoder.up.{fileLevel}.block.{layer}',
    diffusers: 'decoder.up_blocks.{level}.resnets.{layer}',
    parts: VAE_RESNET_PARTS,
  },
  {
    plan: 'upsampler',
    file: 'decoder.up.{fileLevel}.upsample.conv',
    diffusers: 'decoder.up_blocks.{level}.upsamplers.0.conv',
    parts: WEIGHT_AND_BIAS,
  },
  { file: 'encoder.mid.block_1', diffusers: 'encoder.mid_block.resnets.0', parts: VAE_RESNET_PARTS },
  { file: 'encoder.mid.block_2', diffusers: 'encoder.mid_block.resnets.1', parts: VAE_RESNET_PARTS },
  { file: 'decoder.mid.block_1', diffusers: 'decoder.mid_block.resnets.0', parts: VAE_RESNET_PARTS },
  { file: 'decoder.mid.block_2', diffusers: 'decoder.mid_block.resnets.1', parts: VAE_RESNET_PARTS },
  { plan: 'midAttention', file: '{side}.mid.attn_1', diffusers: '{side}.mid_block.attentions.0', parts: VAE_ATTENTION_PARTS },
];
