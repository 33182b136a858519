/**
 * A1111's "original" emphasis on text-encoder output: every token's hidden state is multiplied by its
 * weight, then the whole chunk is scaled so its mean is what it was (`z *= w; z *= mean_before / mean_after`).
 * Done per prompt and per 77-token chunk here (A1111 takes the mean over its whole batch of one chunk, which
 * makes a prompt's embedding depend on the prompts batched with it; for one prompt the two agree).
 */

/**
 * Weights `chunk` ([tokens, width] row-major, one weight per token) in place, float32 as torch computes it.
 * A chunk whose weights are all 1 is left untouched (A1111's arithmetic is then the identity).
 */
export function emphasizeChunk(chunk: Float32Array, weights: readonly number[]): void {
  const width = chunk.length / weights.length;
  if (!Number.isInteger(width)) throw new Error(`emphasizeChunk: ${chunk.length} values do not split into ${weights.length} tokens`);
  if (weights.every((w) => w === 1)) return;
  const before = mean(chunk);
  for (let t = 0; t < weights.length; t++) {
    const w = Math.fround(weights[t]);
    if (w === 1) continue;
    for (let j = t * width; j < (t + 1) * width; j++) chunk[j] *= w;
  }
  const after = mean(chunk);
  // A zero mean (all-zero output) has nothing to restore; A1111 would produce NaN.
  if (after === 0) return;
  const scale = Math.fround(before / after);
  for (let j = 0; j < chunk.length; j++) chunk[j] *= scale;
}

/** Float32 mean, summed in float64. */
function mean(values: Float32Array): number {
  let s = 0;
  for (const v of values) s += v;
  return Math.fround(s / values.length);
}

/**
 * Weights a batch of encoder output [prompts, chunks·tokens, width] in place: `weights[p]` holds prompt p's
 * chunks (undefined = unweighted prompt; missing chunks, the empty-prompt padding, are unweighted).
 */
export function emphasizeBatch(
  hidden: Float32Array,
  dims: readonly number[],
  weights: readonly (readonly (readonly number[])[] | undefined)[],
): void {
  const [prompts, tokens, width] = dims;
  for (let p = 0; p < prompts; p++) {
    const chunks = weights[p];
    if (!chunks) continue;
    let start = p * tokens * width;
    for (const w of chunks) {
      emphasizeChunk(hidden.subarray(start, start + w.length * width), w);
      start += w.length * width;
    }
  }
}
