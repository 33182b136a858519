/**
 * diffusers ControlNetConditioningEmbedding: the small encoder that brings the control image to latent
 * resolution. conv_in (3×3) → SiLU, then per width step a 3×3 conv keeping the width and a strided 3×3 conv
 * to the next width (each followed by SiLU), then conv_out (3×3, zero-initialised in diffusers) to the
 * UNet's first block width. Parameters: `conv_in`, `blocks.N` (two per step), `conv_out`.
 */
import type { Value } from '../../ir/index.js';
import { conv, type Scope } from '../../nn/index.js';

export interface ConditioningEmbeddingOptions {
  /** conditioning_embedding_out_channels; the resolution halves len − 1 times. */
  blockOutChannels: readonly number[];
  /** Output width: the UNet's block_out_channels[0]. */
  embeddingChannels: number;
}

/** Control image [B, C, H, W] → embedding [B, embeddingChannels, H / 2^(len−1), W / 2^(len−1)]. */
export function controlNetConditioningEmbedding(scope: Scope, image: Value, { blockOutChannels, embeddingChannels }: ConditioningEmbeddingOptions): Value {
  let h = conv(scope.sub('conv_in'), image, blockOutChannels[0], { kernel: 3, padding: 1 }).silu();
  const blocks = scope.sub('blocks');
  for (let i = 0; i < blockOutChannels.length - 1; i++) {
    h = conv(blocks.sub(2 * i), h, blockOutChannels[i], { kernel: 3, padding: 1 }).silu();
    h = conv(blocks.sub(2 * i + 1), h, blockOutChannels[i + 1], { kernel: 3, padding: 1, stride: 2 }).silu();
  }
  return conv(scope.sub('conv_out'), h, embeddingChannels, { kernel: 3, padding: 1 });
}
