/**
 * Which position CLIP pools (transformers CLIPTextTransformer): configs with eos_token_id 2 (the original
 * SD-1.x/2.x files, written before transformers PR #24773) take argmax(input_ids), where `<|endoftext|>`
 * sits because it is the largest id; other configs take the first position equal to eos_token_id (position 0
 * when there is none, as argmax of all-false does). Ties go to the first position in both rules.
 *
 * The IR has no argmax, so the graph builds the same choice as a one-hot row from comparisons: candidate
 * positions j score S − j (the first one scores highest), position 0 gets +0.5 so that a row without
 * candidates picks it, and the one-hot is score == max(score). Pooling is then one-hot · hidden states, which
 * copies the row exactly.
 */
import { hostArray, type Value } from '../../ir/index.js';
import type { ClipTextConfig } from './config.js';

type PoolingRule = Pick<ClipTextConfig, 'eos_token_id'>;

const LEGACY_EOS_TOKEN_ID = 2;

/** Host-side pooling positions, one per row of token ids. */
export function clipPoolingIndex(inputIds: readonly (readonly number[])[], config: PoolingRule): number[] {
  return inputIds.map((row) => {
    if (config.eos_token_id === LEGACY_EOS_TOKEN_ID) return row.indexOf(Math.max(...row));
    const first = row.indexOf(config.eos_token_id);
    return first < 0 ? 0 : first;
  });
}

/** [B,S] bool, true at the pooled position of each row. Ids are compared as float32 (exact below 2^24). */
export function poolingOneHot(inputIds: Value, config: PoolingRule): Value {
  const [, tokens] = inputIds.shape;
  const ids = inputIds.cast('float32');
  const candidates = config.eos_token_id === LEGACY_EOS_TOKEN_ID ? ids.equal(ids.max(1, true)) : ids.equal(config.eos_token_id);
  const graph = inputIds.graph;
  const firstScoresHighest = graph.constant(hostArray([tokens], 'float32', Array.from({ length: tokens }, (_, j) => tokens - j)));
  const fallbackToZero = graph.constant(hostArray([tokens], 'float32', Array.from({ length: tokens }, (_, j) => (j === 0 ? 0.5 : 0))));
  const score = candidates.where(firstScoresHighest, 0).add(fallbackToZero);
  return score.equal(score.max(1, true));
}

/** One-hot [B,S] positions → picked hidden rows [B,D] (a batched matmul; exact for finite states). */
export function gatherRows(hidden: Value, oneHot: Value): Value {
  const [batch, tokens, width] = hidden.shape;
  return oneHot.cast(hidden.dtype).reshape([batch, 1, tokens]).matmul(hidden).reshape([batch, width]);
}
