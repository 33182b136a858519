/** Test helper: emit a graph, run it on ORT CPU (optimization 'all') and compare with the float64 interpreter. */
import assert from 'node:assert/strict';
import { evaluate } from '../../src/interp/index.js';
import { hostArray, isInt, type DType, type Graph, type HostArray, type Value } from '../../src/ir/index.js';
import { emitModel } from '../../src/onnx/emit.js';
import { encodeModel } from '../../src/onnx/encode.js';
import type { OpRegistry } from '../../src/ops/index.js';
import { createSession } from '../../src/runtime/session.js';
import type { HostTensor } from '../../src/runtime/tensors.js';
import { assertAllClose, type Tolerance } from './assert-close.js';

export const ORT_TOL: Tolerance = { atol: 1e-5, rtol: 1e-5 };

/** Worst |ORT − interpreter| seen over float outputs in this process (reported by tests). */
export const ortErrors = { max: 0 };

/** Deterministic pseudo-random data in [lo, hi) (integers for int dtypes). */
export function data(shape: readonly number[], dtype: DType = 'float32', lo = -1, hi = 1, seed = 1): HostArray {
  let s = seed * 7919 + shape.reduce((a, b) => a * 31 + b, 17);
  const n = shape.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    const u = lo + (s / 2147483648) * (hi - lo);
    return isInt(dtype) ? Math.floor(u) : dtype === 'bool' ? (u > (lo + hi) / 2 ? 1 : 0) : Math.fround(u);
  });
  return hostArray(shape, dtype, vals);
}

export function toHost(a: HostArray): HostTensor {
  const dims = [...a.shape];
  switch (a.dtype) {
    case 'float32':
      return { dtype: 'float32', dims, data: Float32Array.from(a.data) };
    case 'int64':
      return { dtype: 'int64', dims, data: BigInt64Array.from(a.data, (x) => BigInt(x)) };
    case 'int32':
      return { dtype: 'int32', dims, data: Int32Array.from(a.data) };
    case 'bool':
      return { dtype: 'bool', dims, data: Uint8Array.from(a.data) };
    default:
      throw new Error(`test feeds: unsupported dtype ${a.dtype}`);
  }
}

export interface CheckOptions {
  inputs?: Value[];
  ops?: OpRegistry;
  tol?: Tolerance;
}

/** Emits `outputs`, runs them on ORT CPU and asserts they match the interpreter (ints/bools exactly). */
export async function checkOrtMatchesInterp(
  graph: Graph,
  outputs: Value[],
  feeds: Record<string, HostArray>,
  { inputs, ops, tol = ORT_TOL }: CheckOptions = {},
): Promise<void> {
  const { model, inputNames, outputNames } = emitModel(graph, outputs, { inputs, ops });
  const expected = evaluate(graph, outputs, feeds);
  const session = await createSession(encodeModel(model), { graphOptimizationLevel: 'all' });
  try {
    const ortFeeds = Object.fromEntries(inputNames.map((n) => [n, toHost(feeds[n])]));
    const got = await session.run(ortFeeds);
    outputNames.forEach((name, i) => {
      const out = got[name];
      const exp = expected[i];
      assert.deepEqual(out.dims, [...exp.shape], `${name}: dims`);
      assert.equal(out.dtype, exp.dtype, `${name}: dtype`);
      const actual = out.dtype === 'int64' ? Array.from(out.data as BigInt64Array, Number) : Array.from(out.data as ArrayLike<number>);
      if (isInt(exp.dtype) || exp.dtype === 'bool') {
        // + 0 folds -0 (the interpreter's truncation of -0.5 to an int) into 0.
        assert.deepEqual(
          actual,
          Array.from(exp.data, (x) => x + 0),
          `${name}: exact`,
        );
      } else {
        assertAllClose(actual, exp.data, tol, name);
        actual.forEach((a, k) => (ortErrors.max = Math.max(ortErrors.max, Math.abs(a - exp.data[k]))));
      }
    });
  } finally {
    await session.release();
  }
}
