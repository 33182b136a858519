/**
 * UNet: LDM/SGM `openaimodel.UNetModel` names (single-file `model.diffusion_model.*`) ↔ diffusers
 * UNet2DConditionModel names. LDM numbers its blocks flatly (`input_blocks.N`, `middle_block.N`,
 * `output_blocks.N`); the plan (plans.ts, from the config's layout) says which N is which diffusers block.
 */
import { SAME_NAMES, WEIGHT_AND_BIAS, type ModuleRule, type PartTable } from './types.js';

/** LDM ResBlock ↔ diffusers ResnetBlock2D. */
export const UNET_RESNET_PARTS: PartTable = {
  rules: [
    { file: 'in_layers.0', diffusers: 'norm1' },
    { file: 'in_layers.2', diffusers: 'conv1' },
    { file: 'emb_layers.1', diffusers: 'time_emb_proj' },
    { file: 'out_layers.0', diffusers: 'norm2' },
    { file: 'out_layers.3', diffusers: 'conv2' },
    { file: 'skip_connection', diffusers: 'conv_shortcut' },
  ],
  passThrough: false,
};

/** Modules outside the numbered blocks. */
const UNET_ROOT_PARTS: PartTable = {
  rules: [
    { file: 'time_embed.0', diffusers: 'time_embedding.linear_1' },
    { file: 'time_embed.2', diffusers: 'time_embedding.linear_2' },
    // LCM-distilled UNets converted from diffusers keep the guidance projection under its diffusers name.
    { file: 'time_embedding.cond_proj', diffusers: 'time_embedding.cond_proj' },
    // SDXL's "sequential" label embedding is diffusers' text_time add_embedding.
    { file: 'label_emb.0.0', diffusers: 'add_embedding.linear_1' },
    { file: 'label_emb.0.2', diffusers: 'add_embedding.linear_2' },
    { file: 'input_blocks.0.0', diffusers: 'conv_in' },
    { file: 'out.0', diffusers: 'conv_norm_out' },
    { file: 'out.2', diffusers: 'conv_out' },
  ],
  passThrough: false,
};

/** Plan entries (plans.ts unetIndexPlan) and their placeholders. */
export const UNET_MODULES: readonly ModuleRule[] = [
  { file: '', diffusers: '', parts: UNET_ROOT_PARTS },
  { plan: 'downResnet', file: 'input_blocks.{input}.0', diffusers: 'down_blocks.{level}.resnets.{layer}', parts: UNET_RESNET_PARTS },
  { plan: 'downAttention', file: 'input_blocks.{input}.1', diffusers: 'down_blocks.{level}.attentions.{layer}', parts: SAME_NAMES },
  { plan: 'downsampler', file: 'input_blocks.{input}.0.op', diffusers: 'down_blocks.{level}.downsamplers.0.conv', parts: WEIGHT_AND_BIAS },
  { plan: 'midResnet', file: 'middle_block.{middle}', diffusers: 'mid_block.resnets.{layer}', parts: UNET_RESNET_PARTS },
  { plan: 'midAttention', file: 'middle_block.{middle}', diffusers: 'mid_block.attentions.{layer}', parts: SAME_NAMES },
  { plan: 'upResnet', file: 'output_blocks.{output}.0', diffusers: 'up_blocks.{level}.resnets.{layer}', parts: UNET_RESNET_PARTS },
  { plan: 'upAttention', file: 'output_blocks.{output}.1', diffusers: 'up_blocks.{level}.attentions.{layer}', parts: SAME_NAMES },
  // The Upsample module follows the block's last resnet (slot 1) or its attention (slot 2).
  {
    plan: 'upsampler',
    file: 'output_blocks.{output}.{slot}.conv',
    diffusers: 'up_blocks.{level}.upsamplers.0.conv',
    parts: WEIGHT_AND_BIAS,
  },
];
