/**
 * Caption embeddings for training. The text encoder is frozen, so each distinct caption is encoded once and
 * kept (up to `capacity` captions, least recently used dropped first); a batch's missing captions are encoded
 * together.
 */
import type { PromptEncoder } from '../pipelines/prompt-encoding.js';

export interface CaptionEmbedding {
  /** [tokens, width]. */
  readonly states: Float32Array;
  /** SDXL pooled embedding [projection_dim]. */
  readonly pooled?: Float32Array;
}

export interface BatchEmbeddings {
  /** [B, tokens, width]. */
  readonly states: Float32Array;
  readonly pooled?: Float32Array;
  readonly tokens: number;
  readonly width: number;
  readonly pooledWidth?: number;
}

export class PromptCache {
  private readonly entries = new Map<string, CaptionEmbedding>();
  private shape?: { tokens: number; width: number; pooledWidth?: number };

  constructor(
    private readonly encoder: PromptEncoder,
    private readonly capacity = 4096,
  ) {}

  async embed(captions: readonly string[]): Promise<BatchEmbeddings> {
    const missing = [...new Set(captions.filter((c) => !this.entries.has(c)))];
    if (missing.length > 0) {
      const e = await this.encoder.encode(missing);
      const [, tokens, width] = e.dims;
      const pooledWidth = e.pooledDims?.[1];
      this.shape = { tokens, width, pooledWidth };
      missing.forEach((caption, i) => {
        this.entries.set(caption, {
          states: e.embeds.slice(i * tokens * width, (i + 1) * tokens * width),
          pooled: e.pooled && pooledWidth ? e.pooled.slice(i * pooledWidth, (i + 1) * pooledWidth) : undefined,
        });
      });
    }
    const { tokens, width, pooledWidth } = this.shape!;
    const states = new Float32Array(captions.length * tokens * width);
    const pooled = pooledWidth ? new Float32Array(captions.length * pooledWidth) : undefined;
    captions.forEach((caption, i) => {
      const entry = this.entries.get(caption)!;
      // Re-insert: Map order is the LRU order.
      this.entries.delete(caption);
      this.entries.set(caption, entry);
      states.set(entry.states, i * tokens * width);
      if (pooled && entry.pooled) pooled.set(entry.pooled, i * pooledWidth!);
    });
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return { states, pooled, tokens, width, pooledWidth };
  }
}
