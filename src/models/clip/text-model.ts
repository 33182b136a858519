/**
 * transformers CLIPTextModel / CLIPTextModelWithProjection (the SD text encoders) over a Scope whose keys are
 * transformers' state-dict names (`text_model.encoder.layers.0.self_attn.q_proj.weight`, `text_projection.weight`).
 * Pre-LN encoder layers with a causal self-attention mask and no padding mask, as diffusers' pipelines call
 * the encoder (padding tokens sit after the pooled `<|endoftext|>`, so the causal mask already hides them).
 */
import { UserError } from '../../util/user-error.js';
import type { Value } from '../../ir/index.js';
import { embedding, layerNormLayer, linear, type Scope } from '../../nn/index.js';
import { attention } from '../../ops/index.js';
import { activation } from '../unet/embeddings.js';
import type { ClipActivation, ClipTextConfig } from './config.js';
import { gatherRows, poolingOneHot } from './pooling.js';

export interface ClipTextOutputs {
  /** [B,S,D] after final_layer_norm. */
  lastHiddenState: Value;
  /** [B,D] lastHiddenState at the pooled position (pooler_output). */
  pooled: Value;
  /**
   * [B,S,D] each: the embeddings, then the output of every encoder layer (no final LayerNorm), as
   * transformers' `hidden_states`; SD-2.x and SDXL use `hiddenStates[hiddenStates.length - 2]`.
   */
  hiddenStates: Value[];
}

export interface ClipTextProjectionOutputs extends ClipTextOutputs {
  /** [B, projection_dim] text_projection(pooled) (SDXL's pooled text embeddings). */
  textEmbeds: Value;
}

export interface ClipTextModelOptions {
  /**
   * [B] int64 pooled positions (e.g. clipPoolingIndex computed on the host); by default the graph picks them
   * from the ids by transformers' rule.
   */
  poolingIndex?: Value;
}

export class ClipInputError extends UserError {
  override name = 'ClipInputError';
}

function clipActivation(x: Value, name: ClipActivation): Value {
  switch (name) {
    case 'quick_gelu':
      return x.quickGelu();
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return x.gelu('tanh');
    default:
      return activation(x, name);
  }
}

function checkInputIds(inputIds: Value, config: ClipTextConfig): void {
  if (inputIds.rank !== 2 || (inputIds.dtype !== 'int64' && inputIds.dtype !== 'int32')) {
    throw new ClipInputError(`CLIP text model: input_ids must be int64 or int32 [batch, tokens], got ${inputIds.dtype} [${inputIds.shape.join(', ')}]`);
  }
  if (inputIds.shape[1] > config.max_position_embeddings) {
    throw new ClipInputError(`CLIP text model: ${inputIds.shape[1]} tokens exceed max_position_embeddings ${config.max_position_embeddings}`);
  }
}

/** CLIPTextEmbeddings: token embedding + the first S position embeddings (position_ids = 0..S−1). */
function clipEmbeddings(scope: Scope, inputIds: Value, config: ClipTextConfig): Value {
  const width = config.hidden_size;
  const tokens = embedding(scope.sub('token_embedding'), inputIds, config.vocab_size, width);
  const positions = scope.sub('position_embedding').param('weight', [config.max_position_embeddings, width]);
  return tokens.add(positions.sliceAxis(0, 0, inputIds.shape[1]));
}

/** CLIPAttention: q/k/v projections with bias, causal multi-head attention, out_proj. */
function clipSelfAttention(scope: Scope, x: Value, config: ClipTextConfig): Value {
  const width = config.hidden_size;
  const [q, k, v] = ['q_proj', 'k_proj', 'v_proj'].map((name) => linear(scope.sub(name), x, width));
  return linear(scope.sub('out_proj'), attention(q, k, v, { heads: config.num_attention_heads, causal: true }), width);
}

/** CLIPEncoderLayer: x + attn(LN1(x)), then h + fc2(act(fc1(LN2(h)))). */
function clipEncoderLayer(scope: Scope, x: Value, config: ClipTextConfig): Value {
  const eps = config.layer_norm_eps;
  const h = x.add(clipSelfAttention(scope.sub('self_attn'), layerNormLayer(scope.sub('layer_norm1'), x, { eps }), config));
  const mlp = scope.sub('mlp');
  const inner = clipActivation(linear(mlp.sub('fc1'), layerNormLayer(scope.sub('layer_norm2'), h, { eps }), config.intermediate_size), config.hidden_act);
  return h.add(linear(mlp.sub('fc2'), inner, config.hidden_size));
}

function pooledRows(lastHiddenState: Value, inputIds: Value, config: ClipTextConfig, poolingIndex?: Value): Value {
  if (!poolingIndex) return gatherRows(lastHiddenState, poolingOneHot(inputIds, config));
  const [batch, tokens] = inputIds.shape;
  if (poolingIndex.rank !== 1 || poolingIndex.shape[0] !== batch) throw new ClipInputError(`CLIP text model: poolingIndex must be [${batch}], got [${poolingIndex.shape.join(', ')}]`);
  const positions = inputIds.graph.constant({ shape: [1, tokens], dtype: poolingIndex.dtype, data: Float64Array.from({ length: tokens }, (_, j) => j) });
  return gatherRows(lastHiddenState, positions.equal(poolingIndex.reshape([batch, 1])));
}

/** CLIPTextModel on `inputIds` [B,S] (int64), parameters under `scope.sub('text_model')`. */
export function clipTextModel(scope: Scope, config: ClipTextConfig, inputIds: Value, options: ClipTextModelOptions = {}): ClipTextOutputs {
  checkInputIds(inputIds, config);
  const model = scope.sub('text_model');
  const hiddenStates = [clipEmbeddings(model.sub('embeddings'), inputIds, config)];
  const layers = model.sub('encoder').sub('layers');
  for (let i = 0; i < config.num_hidden_layers; i++) hiddenStates.push(clipEncoderLayer(layers.sub(i), hiddenStates[i], config));
  const lastHiddenState = layerNormLayer(model.sub('final_layer_norm'), hiddenStates[hiddenStates.length - 1], { eps: config.layer_norm_eps });
  return { lastHiddenState, pooled: pooledRows(lastHiddenState, inputIds, config, options.poolingIndex), hiddenStates };
}

/** CLIPTextModelWithProjection: clipTextModel plus `text_projection` (no bias) of the pooled state. */
export function clipTextModelWithProjection(scope: Scope, config: ClipTextConfig, inputIds: Value, options: ClipTextModelOptions = {}): ClipTextProjectionOutputs {
  const outputs = clipTextModel(scope, config, inputIds, options);
  return { ...outputs, textEmbeds: linear(scope.sub('text_projection'), outputs.pooled, config.projection_dim, { bias: false }) };
}
