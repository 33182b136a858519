/**
 * Reads the weights a graph's parameters need from a TensorSource, checking that every parameter is there
 * with the same shape. Keys the graph does not use are returned, not ignored silently: callers report them
 * (an unexpected key usually means a wrong config or the wrong component).
 */
import { formatShape, shapesEqual, type Value } from '../ir/index.js';
import { SafetensorsError } from './errors.js';
import { missingKeyError, type TensorSource } from './tensor-source.js';

export interface LoadedParams {
  /** float32 data by parameter name, ready for emitModel's `weights`. */
  weights: Map<string, Float32Array>;
  /** Keys of the source that no parameter asked for. */
  unused: string[];
}

/** How many missing keys a message lists before summarising. */
const LIST_LIMIT = 5;

/** Every parameter is in the source with its shape (headers only; nothing is read). Returns the unused keys. */
export function checkParams(source: TensorSource, params: readonly Value[], what = 'model'): string[] {
  const missing = params.filter((p) => !source.has(p.name!));
  if (missing.length > 0) {
    const first = missingKeyError(source, missing[0].name!).message;
    const others = missing.slice(1, LIST_LIMIT).map((p) => p.name!);
    const more = missing.length > LIST_LIMIT ? ` and ${missing.length - LIST_LIMIT} more` : '';
    throw new SafetensorsError(
      `${first}\n  the ${what} needs ${missing.length} tensor(s) the file lacks${others.length ? `, also: ${others.join(', ')}` : ''}${more} (wrong config or another model's weights?)`,
    );
  }
  for (const p of params) {
    const key = p.name!;
    const shape = source.shape(key);
    if (!shapesEqual(shape, p.shape)) {
      throw new SafetensorsError(
        `${source.origin}: tensor ${JSON.stringify(key)} is ${formatShape(shape)}, the ${what} config needs ${formatShape(p.shape)}`,
      );
    }
  }
  const used = new Set(params.map((p) => p.name!));
  return source.keys().filter((k) => !used.has(k));
}

export function loadParams(source: TensorSource, params: readonly Value[], what = 'model'): LoadedParams {
  const unused = checkParams(source, params, what);
  return { weights: new Map(params.map((p) => [p.name!, source.float32(p.name!)])), unused };
}
