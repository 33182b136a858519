/**
 * CLIP text-encoder config (transformers CLIPTextConfig fields) from the converted, diffusers-named
 * tensors of either layout. Head count, activation and special-token ids follow the family rules.
 */
import type { TensorSource } from '../../weights/tensor-source.js';
import { SingleFileError } from './errors.js';
import type { InferredConfig } from './infer-unet.js';
import { TEXT_ENCODER_RULES } from './keymaps/checkpoint.js';

const need = (source: TensorSource, key: string, what: string): readonly number[] => {
  if (!source.has(key)) throw new SingleFileError(`${source.origin}: no ${JSON.stringify(key)} after conversion (needed for ${what})`);
  return source.shape(key);
};

export function inferTextEncoderConfig(source: TensorSource, layout: 'clip' | 'open-clip'): InferredConfig {
  const rules = TEXT_ENCODER_RULES[layout];
  const [vocab, hidden] = need(source, 'text_model.embeddings.token_embedding.weight', 'vocab_size and hidden_size');
  const layers = new Set(
    source
      .keys()
      .map((k) => /^text_model\.encoder\.layers\.(\d+)\./.exec(k)?.[1])
      .filter((x) => x !== undefined),
  ).size;
  const projection = source.has('text_projection.weight') ? source.shape('text_projection.weight')[0] : hidden;
  const unresolved: Record<string, string> = {};
  if (hidden % rules.headWidth !== 0)
    unresolved.num_attention_heads = `CLIP heads are ${rules.headWidth} wide, but hidden_size is ${hidden}`;
  const config: Record<string, unknown> = {
    architectures: [source.has('text_projection.weight') ? 'CLIPTextModelWithProjection' : 'CLIPTextModel'],
    model_type: 'clip_text_model',
    vocab_size: vocab,
    hidden_size: hidden,
    intermediate_size: need(source, 'text_model.encoder.layers.0.mlp.fc1.weight', 'intermediate_size')[0],
    num_hidden_layers: layers,
    num_attention_heads: hidden % rules.headWidth === 0 ? hidden / rules.headWidth : null,
    max_position_embeddings: need(source, 'text_model.embeddings.position_embedding.weight', 'max_position_embeddings')[0],
    hidden_act: rules.hiddenAct,
    layer_norm_eps: 1e-5,
    projection_dim: projection,
    // CLIP's vocabulary ends with <|startoftext|>, <|endoftext|>; pooling reads the first <|endoftext|>.
    bos_token_id: vocab - 2,
    eos_token_id: vocab - 1,
    pad_token_id: 1,
    attention_dropout: 0,
    dropout: 0,
  };
  const assumed = ['num_attention_heads', 'hidden_act', 'layer_norm_eps', 'bos_token_id', 'eos_token_id', 'pad_token_id'];
  return { config, assumed, unresolved };
}
