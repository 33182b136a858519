/**
 * The caption conditioning every distillation graph takes: prompt and empty-prompt states per sample, and for SDXL
 * the pooled embeddings and micro-conditioning time ids. One owner for the graph inputs and the host feeds, so each
 * method's graph asks for the rows it needs (`added('cond', 'uncond')` for a batched CFG pass) without repeating them.
 */
import type { Graph, Value } from '../../ir/index.js';
import type { UNetInputs } from '../../models/unet/index.js';
import { concat } from '../../ops/index.js';
import type { HostTensor } from '../../runtime/tensors.js';
import type { BatchEmbeddings } from '../prompt-cache.js';

export const textInputNames = {
  cond: 'cond',
  uncond: 'uncond',
  condPooled: 'cond_pooled',
  uncondPooled: 'uncond_pooled',
  timeIds: 'time_ids',
} as const;

export type TextRow = 'cond' | 'uncond';

export interface TextInputs {
  readonly cond: Value;
  readonly uncond: Value;
  /** States for a pass over the given rows, stacked on the batch axis. */
  states(...rows: TextRow[]): Value;
  /** SDXL's added conditioning for the same rows (nothing for SD). */
  added(...rows: TextRow[]): Pick<UNetInputs, 'textEmbeds' | 'timeIds'>;
}

export function textInputs(graph: Graph, n: number, [tokens, width]: readonly [number, number], pooledWidth?: number): TextInputs {
  const names = textInputNames;
  const cond = graph.input(names.cond, [n, tokens, width]);
  const uncond = graph.input(names.uncond, [n, tokens, width]);
  const pooled =
    pooledWidth === undefined
      ? undefined
      : {
          cond: graph.input(names.condPooled, [n, pooledWidth]),
          uncond: graph.input(names.uncondPooled, [n, pooledWidth]),
          timeIds: graph.input(names.timeIds, [n, 6]),
        };
  const stack = (values: Value[]) => (values.length === 1 ? values[0] : concat(values, 0));
  return {
    cond,
    uncond,
    states: (...rows) => stack(rows.map((r) => (r === 'cond' ? cond : uncond))),
    added: (...rows) => (pooled ? { textEmbeds: stack(rows.map((r) => pooled[r])), timeIds: stack(rows.map(() => pooled.timeIds)) } : {}),
  };
}

const tensor = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

/** The feeds for `textInputs`: embeddings of the captions and of the empty prompt, and SDXL's time ids per sample. */
export function textFeeds(
  cond: BatchEmbeddings,
  uncond: BatchEmbeddings,
  n: number,
  timeIds?: readonly number[],
): Record<string, HostTensor> {
  const names = textInputNames;
  const feeds: Record<string, HostTensor> = {
    [names.cond]: tensor([n, cond.tokens, cond.width], cond.states),
    [names.uncond]: tensor([n, uncond.tokens, uncond.width], uncond.states),
  };
  if (cond.pooled && uncond.pooled && cond.pooledWidth) {
    feeds[names.condPooled] = tensor([n, cond.pooledWidth], cond.pooled);
    feeds[names.uncondPooled] = tensor([n, cond.pooledWidth], uncond.pooled);
    if (!timeIds) throw new Error('SDXL distillation needs time ids');
    feeds[names.timeIds] = tensor(
      [n, 6],
      Float32Array.from({ length: n * 6 }, (_, i) => timeIds[i % 6]),
    );
  }
  return feeds;
}
