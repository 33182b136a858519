/**
 * Shared plumbing of the model parity tests: run a graph on ORT CPU with weights baked in, and compare with
 * a reference tensor under the fixtures README tolerance for single forward passes.
 */
import assert from 'node:assert/strict';
import type { Graph, Value } from '../../src/ir/index.js';
import { compileGraph } from '../../src/runtime/compile-graph.js';
import type { HostTensor } from '../../src/runtime/tensors.js';
import type { SafetensorsFile } from '../../src/weights/index.js';
import { sharedPath } from './shared.js';

export const fixture = (...parts: string[]): string => sharedPath('fixtures', ...parts);

export const f32 = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

/** Every graph parameter read from the file as float32, by its name. */
export function loadWeights(file: SafetensorsFile, params: readonly Value[]): Map<string, Float32Array> {
  return new Map(params.map((p) => [p.name!, file.float32(p.name!)]));
}

/** Emits the graph with `weights` as initializers, runs it once on ORT CPU, returns the outputs in order. */
export async function runOrt(
  graph: Graph,
  outputs: Value[],
  weights: ReadonlyMap<string, Float32Array>,
  feeds: Record<string, HostTensor>,
): Promise<Float32Array[]> {
  const { session, outputNames } = await compileGraph(graph, outputs, { weights });
  try {
    const result = await session.run(feeds);
    return outputNames.map((n) => result[n].data as Float32Array);
  } finally {
    await session.release();
  }
}

/** README tolerance for single forward passes and intermediates: max|a−b| ≤ 1e-4 + 1e-4·max|ref|. */
export function compare(name: string, actual: Float32Array, expected: Float32Array): { maxAbs: number; bound: number } {
  assert.equal(actual.length, expected.length, `${name}: ${actual.length} values, reference has ${expected.length}`);
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(actual[i] - expected[i]));
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  const bound = 1e-4 + 1e-4 * maxRef;
  console.log(`  ${name}: max|diff| ${maxAbs.toExponential(2)} (bound ${bound.toExponential(2)}, max|ref| ${maxRef.toFixed(3)})`);
  assert.ok(maxAbs <= bound, `${name}: max |diff| ${maxAbs} exceeds ${bound}`);
  return { maxAbs, bound };
}

/** Every weight of the file is a graph parameter and every parameter is in the file, with equal shapes. */
export function assertWeightsMatch(file: SafetensorsFile, params: readonly Value[], expectedCount: number): void {
  const names = new Set(params.map((p) => p.name!));
  const unused = [...file.tensors.keys()].filter((k) => !names.has(k));
  const missing = [...names].filter((k) => !file.has(k));
  assert.deepEqual(unused, [], 'weights in the file that the graph does not use');
  assert.deepEqual(missing, [], 'graph parameters absent from the file');
  assert.equal(params.length, expectedCount);
  for (const p of params) assert.deepEqual([...p.shape], file.info(p.name!).shape, `shape of ${p.name}`);
}

/** e2e tolerance of the fixtures README: max|a−b| ≤ tol·max|ref| (default 1e-4), for values that grow over steps. */
export function compareRelative(name: string, actual: Float32Array, expected: Float32Array, tol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${name}: length`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  console.log(`  ${name}: max|diff| ${maxDiff.toExponential(2)} (${(maxDiff / maxRef).toExponential(2)} of max ${maxRef.toFixed(2)})`);
  assert.ok(maxDiff <= tol * maxRef, `${name}: max|diff| ${maxDiff} > ${tol}·${maxRef}`);
}
