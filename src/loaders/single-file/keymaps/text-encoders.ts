/**
 * Text encoders. OpenAI CLIP inside SD-1 (`cond_stage_model.transformer.*`) and SDXL
 * (`conditioner.embedders.0.transformer.*`) is a transformers CLIPTextModel already: names pass through.
 * OpenCLIP (SD-2 `cond_stage_model.model.*`, SDXL `conditioner.embedders.1.model.*`, SDXL refiner
 * `conditioner.embedders.0.model.*`) has its own names, a fused q/k/v projection and a transposed
 * text projection.
 */
import { SAME_NAMES, type ModuleRule, type PartTable } from './types.js';

export const CLIP_MODULES: readonly ModuleRule[] = [
  { file: 'text_model', diffusers: 'text_model', parts: SAME_NAMES },
  { file: 'text_projection', diffusers: 'text_projection', parts: SAME_NAMES },
];

/** One OpenCLIP ResidualAttentionBlock ↔ one transformers CLIPEncoderLayer. */
const OPEN_CLIP_LAYER_PARTS: PartTable = {
  rules: [
    { file: 'ln_1', diffusers: 'layer_norm1' },
    { file: 'ln_2', diffusers: 'layer_norm2' },
    {
      file: 'attn.in_proj_weight',
      diffusers: ['self_attn.q_proj.weight', 'self_attn.k_proj.weight', 'self_attn.v_proj.weight'],
      transform: 'splitRows',
    },
    {
      file: 'attn.in_proj_bias',
      diffusers: ['self_attn.q_proj.bias', 'self_attn.k_proj.bias', 'self_attn.v_proj.bias'],
      transform: 'splitRows',
    },
    { file: 'attn.out_proj', diffusers: 'self_attn.out_proj' },
    { file: 'mlp.c_fc', diffusers: 'mlp.fc1' },
    { file: 'mlp.c_proj', diffusers: 'mlp.fc2' },
  ],
  passThrough: false,
};

const OPEN_CLIP_ROOT_PARTS: PartTable = {
  rules: [
    { file: 'token_embedding', diffusers: 'text_model.embeddings.token_embedding' },
    { file: 'positional_embedding', diffusers: 'text_model.embeddings.position_embedding.weight' },
    { file: 'ln_final', diffusers: 'text_model.final_layer_norm' },
    // OpenCLIP computes pooled @ text_projection ([hidden, proj]); transformers' Linear stores [proj, hidden].
    { file: 'text_projection', diffusers: 'text_projection.weight', transform: 'transpose' },
  ],
  passThrough: false,
};

/** Plan entry `layer` (plans.ts openClipIndexPlan). */
export const OPEN_CLIP_MODULES: readonly ModuleRule[] = [
  { file: '', diffusers: '', parts: OPEN_CLIP_ROOT_PARTS },
  { plan: 'layer', file: 'transformer.resblocks.{layer}', diffusers: 'text_model.encoder.layers.{layer}', parts: OPEN_CLIP_LAYER_PARTS },
];
