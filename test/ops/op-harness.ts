import assert from 'node:assert/strict';
import { hostArray, type DType, type HostArray, type Shape } from '../../src/ir/index.js';
import { registry } from '../../src/ops/index.js';
import type { Attrs } from '../../src/ir/index.js';

export const f32 = (shape: Shape, data: number[]): HostArray => hostArray(shape, 'float32', data);
export const arr = (shape: Shape, dtype: DType, data: number[]): HostArray => hostArray(shape, dtype, data);

/** Runs one op's reference kernel after checking its inferred type agrees with the kernel's result. */
export function run(op: string, inputs: HostArray[], attrs: Attrs = {}): HostArray {
  const def = registry.get(op);
  assert.ok(def, `op ${op}`);
  const [t] = def.infer(inputs, attrs);
  const [out] = def.evaluate(inputs, attrs);
  assert.deepEqual([...out.shape], [...t.shape], `${op}: kernel shape vs inferred`);
  assert.equal(out.dtype, t.dtype);
  return out;
}

export function assertArray(actual: HostArray, shape: Shape, data: number[], tol = 1e-12): void {
  assert.deepEqual([...actual.shape], [...shape]);
  assert.equal(actual.data.length, data.length);
  data.forEach((e, i) => {
    const a = actual.data[i];
    assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `element ${i}: ${a} != ${e}`);
  });
}
