/**
 * Which models a LoRA fits, from safetensors headers and configs alone (no tensor data): the LoRA's
 * cross-attention in-dim (the down/A shape of a UNet `attn2.to_k` / `attn2.to_v` module) is the text
 * embedding width of the model it was trained on — 768 SD1.x, 1024 SD2.x, 2048 SDXL, 128 the emoji model, 32
 * the tiny test model — and is compared with the model's UNet `cross_attention_dim` (config.json, or the
 * shape of a checkpoint's `attn2.to_k` weight). A text-encoder-only LoRA is compared by its encoder width
 * (`q_proj` in-dim) with the model's text encoder `hidden_size`. What cannot be told is offered everywhere.
 */
import type { TensorSource } from '../weights/tensor-source.js';

export interface LoraBase {
  /** In-dim of the LoRA's UNet cross-attention key/value modules. */
  crossAttentionDim?: number;
  /** In-dim of the LoRA's (first) text encoder attention modules. */
  textEncoderDim?: number;
  /** Has second-text-encoder modules (`lora_te2_`, `text_encoder_2.`): an SDXL LoRA. */
  textEncoder2?: boolean;
}

export interface ModelBase {
  crossAttentionDim?: number;
  textEncoderDim?: number;
}

const CROSS_KV = /attn2[._]to_[kv]/;
const LORA_DOWN = /(\.lora_down\.weight|\.lora_A(\.default)?\.weight|\.lora\.down\.weight)$/;
const TE2 = /^(lora_te2_|text_encoder_2\.)/;
const TE1 = /^(lora_te1?_|text_encoder\.)/;
const TE_ATTN = /self_attn[._](q|k|v)_proj/;
const CHECKPOINT_CROSS_K = /^model\.diffusion_model\..*attn2\.to_k\.weight$/;

/** The LoRA's base, from its tensor names and shapes (header only). */
export function loraBase(source: Pick<TensorSource, 'keys' | 'shape'>): LoraBase {
  const base: LoraBase = {};
  for (const key of source.keys()) {
    if (TE2.test(key)) base.textEncoder2 = true;
    if (!LORA_DOWN.test(key)) continue;
    const inDim = source.shape(key)[1];
    if (inDim === undefined) continue;
    if (base.crossAttentionDim === undefined && !TE1.test(key) && !TE2.test(key) && CROSS_KV.test(key)) base.crossAttentionDim = inDim;
    else if (base.textEncoderDim === undefined && TE1.test(key) && TE_ATTN.test(key)) base.textEncoderDim = inDim;
  }
  return base;
}

/** A single-file checkpoint's base, from its header. */
export function checkpointBase(source: Pick<TensorSource, 'keys' | 'shape'>): ModelBase {
  const key = source.keys().find((k) => CHECKPOINT_CROSS_K.test(k));
  return key ? { crossAttentionDim: source.shape(key)[1] } : {};
}

/** A diffusers folder's base, from its unet and text_encoder configs. */
export function configBase(unet: Record<string, unknown>, textEncoder: Record<string, unknown> | undefined): ModelBase {
  const base: ModelBase = {};
  if (typeof unet.cross_attention_dim === 'number') base.crossAttentionDim = unet.cross_attention_dim;
  if (typeof textEncoder?.hidden_size === 'number') base.textEncoderDim = textEncoder.hidden_size;
  return base;
}

/** The family a LoRA was made for, in words ("SD1.x", "SDXL", …), or null when its shapes do not tell. */
export function loraFamily(base: LoraBase): string | null {
  const dim = base.crossAttentionDim;
  if (dim === 768) return 'SD1.x';
  if (dim === 1024) return 'SD2.x';
  if (dim === 2048 || base.textEncoder2) return 'SDXL';
  if (dim !== undefined) return `cross-attention ${dim}`;
  if (base.textEncoderDim !== undefined) return `text encoder ${base.textEncoderDim}`;
  return null;
}

/** False only when the shapes prove the LoRA was made for another family of model. */
export function loraFits(lora: LoraBase, model: ModelBase): boolean {
  if (lora.crossAttentionDim !== undefined && model.crossAttentionDim !== undefined)
    return lora.crossAttentionDim === model.crossAttentionDim;
  if (lora.textEncoder2 && model.crossAttentionDim !== undefined) return model.crossAttentionDim === 2048;
  if (lora.textEncoderDim !== undefined && model.textEncoderDim !== undefined) return lora.textEncoderDim === model.textEncoderDim;
  return true;
}
