/**
 * transformers CLIPTextConfig (text_encoder/config.json) → typed config. Absent keys take CLIPTextConfig's
 * defaults (the CLIP ViT-B/32 text tower), unknown keys (`architectures`, `torch_dtype`, `model_type`, ...)
 * are ignored. Errors name the field.
 */
import { UserFileError } from '../../util/user-error.js';

/** transformers ACT2FN names this port builds (gelu_new and gelu_pytorch_tanh are both the tanh GELU). */
export const CLIP_ACTIVATIONS = ['quick_gelu', 'gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu', 'silu', 'swish'] as const;
export type ClipActivation = (typeof CLIP_ACTIVATIONS)[number];

export interface ClipTextConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  /** Width of text_projection (CLIPTextModelWithProjection only). */
  projection_dim: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  max_position_embeddings: number;
  hidden_act: ClipActivation;
  layer_norm_eps: number;
  /** Dropout is not applied (the graph is the eval-mode forward). */
  attention_dropout: number;
  pad_token_id: number;
  bos_token_id: number;
  /** 2 selects the legacy pooling rule argmax(input_ids) (see clipPoolingIndex). */
  eos_token_id: number;
}

export class ClipConfigError extends UserFileError {
  override name = 'ClipConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`CLIP text config: \`${field}\` ${message}`);
  }
}

type Raw = Readonly<Record<string, unknown>>;

const show = (v: unknown): string => JSON.stringify(v);

function integer(raw: Raw, field: string, fallback: number, min: number): number {
  const v = raw[field] ?? fallback;
  if (!Number.isInteger(v) || (v as number) < min) throw new ClipConfigError(field, `must be an integer >= ${min}, got ${show(v)}`);
  return v as number;
}

function nonNegative(raw: Raw, field: string, fallback: number, { positive = false } = {}): number {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (positive && v === 0)) {
    throw new ClipConfigError(field, `must be a ${positive ? 'positive' : 'non-negative'} finite number, got ${show(v)}`);
  }
  return v;
}

function activationField(raw: Raw): ClipActivation {
  const v = raw.hidden_act ?? 'quick_gelu';
  if (typeof v !== 'string' || !(CLIP_ACTIVATIONS as readonly string[]).includes(v)) {
    throw new ClipConfigError('hidden_act', `activation ${show(v)} is not supported (supported: ${CLIP_ACTIVATIONS.join(', ')})`);
  }
  return v as ClipActivation;
}

/** Parses a transformers CLIPTextConfig object (text_encoder/config.json). */
export function parseClipTextConfig(json: unknown): ClipTextConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ClipConfigError('(root)', 'must be a JSON object');
  const raw = json as Raw;
  const config: ClipTextConfig = {
    vocab_size: integer(raw, 'vocab_size', 49408, 1),
    hidden_size: integer(raw, 'hidden_size', 512, 1),
    intermediate_size: integer(raw, 'intermediate_size', 2048, 1),
    projection_dim: integer(raw, 'projection_dim', 512, 1),
    num_hidden_layers: integer(raw, 'num_hidden_layers', 12, 1),
    num_attention_heads: integer(raw, 'num_attention_heads', 8, 1),
    max_position_embeddings: integer(raw, 'max_position_embeddings', 77, 1),
    hidden_act: activationField(raw),
    layer_norm_eps: nonNegative(raw, 'layer_norm_eps', 1e-5, { positive: true }),
    attention_dropout: nonNegative(raw, 'attention_dropout', 0),
    pad_token_id: integer(raw, 'pad_token_id', 1, 0),
    bos_token_id: integer(raw, 'bos_token_id', 49406, 0),
    eos_token_id: integer(raw, 'eos_token_id', 49407, 0),
  };
  if (config.hidden_size % config.num_attention_heads !== 0) {
    throw new ClipConfigError('num_attention_heads', `must divide hidden_size ${config.hidden_size}, got ${config.num_attention_heads}`);
  }
  return config;
}
