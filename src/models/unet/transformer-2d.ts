/**
 * diffusers Transformer2DModel over continuous inputs, as the SD-1.x/2.x/SDXL UNets use it: GroupNorm
 * (eps 1e-6) → proj_in (1×1 conv, or Linear after flattening when use_linear_projection) → BasicTransformerBlocks
 * (LayerNorm → self-attention, LayerNorm → cross-attention, LayerNorm → GEGLU feed-forward, each residual)
 * → proj_out → + input.
 */
import type { Value } from '../../ir/index.js';
import { conv, groupNormLayer, layerNormLayer, linear, type Scope } from '../../nn/index.js';
import { attention } from '../../ops/index.js';

export interface Transformer2DOptions {
  heads: number;
  /** Width of the encoder states the cross-attention keys/values are projected from. */
  crossAttentionDim: number;
  /** Number of BasicTransformerBlocks. */
  depth: number;
  groups: number;
  useLinearProjection: boolean;
  /** attn1 attends to the encoder states too (diffusers' only_cross_attention). */
  onlyCrossAttention?: boolean;
}

/** diffusers Attention with the default processor: to_q/to_k/to_v (no bias) → SDPA → to_out.0. */
export function attentionLayer(scope: Scope, x: Value, context: Value, heads: number, innerDim: number): Value {
  const q = linear(scope.sub('to_q'), x, innerDim, { bias: false });
  const k = linear(scope.sub('to_k'), context, innerDim, { bias: false });
  const v = linear(scope.sub('to_v'), context, innerDim, { bias: false });
  const o = attention(q, k, v, { heads });
  return linear(scope.sub('to_out').sub(0), o, x.shape[x.rank - 1]);
}

/** FeedForward with GEGLU: net.0.proj → halves (hidden, gate) → hidden·gelu(gate) → net.2. */
export function gegluFeedForward(scope: Scope, x: Value, mult = 4): Value {
  const dim = x.shape[x.rank - 1];
  const inner = dim * mult;
  const projected = linear(scope.sub('net').sub(0).sub('proj'), x, 2 * inner);
  const [hidden, gate] = projected.split([inner, inner], x.rank - 1);
  return linear(scope.sub('net').sub(2), hidden.mul(gate.gelu()), dim);
}

/** BasicTransformerBlock (norm_type "layer_norm", activation "geglu") over tokens [B, N, inner]. */
export function basicTransformerBlock(scope: Scope, x: Value, context: Value, options: Transformer2DOptions): Value {
  const inner = x.shape[2];
  const selfContext = (norm: Value): Value => (options.onlyCrossAttention ? context : norm);
  const n1 = layerNormLayer(scope.sub('norm1'), x);
  let h = attentionLayer(scope.sub('attn1'), n1, selfContext(n1), options.heads, inner).add(x);
  const n2 = layerNormLayer(scope.sub('norm2'), h);
  h = attentionLayer(scope.sub('attn2'), n2, context, options.heads, inner).add(h);
  const n3 = layerNormLayer(scope.sub('norm3'), h);
  return gegluFeedForward(scope.sub('ff'), n3).add(h);
}

/** Transformer2DModel: x [B,C,H,W], context [B,S,crossAttentionDim] → [B,C,H,W]. */
export function transformer2D(scope: Scope, x: Value, context: Value, options: Transformer2DOptions): Value {
  const [b, c, height, width] = x.shape;
  // diffusers: inner = heads · (C // heads), which equals C whenever heads divides C.
  const inner = options.heads * Math.floor(c / options.heads);
  const normed = groupNormLayer(scope.sub('norm'), x, { groups: options.groups, eps: 1e-6 });
  const toTokens = (v: Value): Value => v.transpose([0, 2, 3, 1]).reshape([b, height * width, v.shape[1]]);
  const toImage = (v: Value): Value => v.reshape([b, height, width, v.shape[2]]).transpose([0, 3, 1, 2]);
  let tokens = options.useLinearProjection
    ? linear(scope.sub('proj_in'), toTokens(normed), inner)
    : toTokens(conv(scope.sub('proj_in'), normed, inner, { kernel: 1 }));
  for (let i = 0; i < options.depth; i++) {
    tokens = basicTransformerBlock(scope.sub('transformer_blocks').sub(i), tokens, context, options);
  }
  const out = options.useLinearProjection
    ? toImage(linear(scope.sub('proj_out'), tokens, c))
    : conv(scope.sub('proj_out'), toImage(tokens), c, { kernel: 1 });
  return out.add(x);
}
