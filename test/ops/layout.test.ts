import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { arr, assertArray, f32, run } from './op-harness.js';
import { concat, createGraph, registry } from '../../src/ops/index.js';
import { checkOrtMatchesInterp, data } from '../helpers/ort-check.js';
import { checkOrtGradients, gradcheck } from '../helpers/gradcheck.js';

const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const m34 = f32([3, 4], iota(12)); // m34[r, c] = 4r + c

describe('slice', () => {
  test('rows, negative bounds, steps and clamping', () => {
    // rows 1..2 → values 4..11
    assertArray(
      run('slice', [m34], { starts: [1], ends: [3], axes: null, steps: null }),
      [2, 4],
      iota(8).map((i) => i + 4),
    );
    // columns -3..-1 → columns 1, 2: [1,2, 5,6, 9,10]
    assertArray(run('slice', [m34], { starts: [-3], ends: [-1], axes: [1], steps: null }), [3, 2], [1, 2, 5, 6, 9, 10]);
    // every other column from 0, end clamped from 100 to 4: columns 0, 2
    assertArray(run('slice', [m34], { starts: [0], ends: [100], axes: [-1], steps: [2] }), [3, 2], [0, 2, 4, 6, 8, 10]);
    // rows from -100 (clamped to 0) step 2 → rows 0, 2; columns 1..4 step 3 → columns 1
    assertArray(run('slice', [m34], { starts: [-100, 1], ends: [3, 4], axes: [0, 1], steps: [2, 3] }), [2, 1], [1, 9]);
  });

  test('empty ranges give zero-length axes', () => {
    assertArray(run('slice', [m34], { starts: [3], ends: [1], axes: [1], steps: null }), [3, 0], []);
    assertArray(run('slice', [m34], { starts: [5], ends: [9], axes: [0], steps: null }), [0, 4], []);
  });

  test('fluent sliceAxis', () => {
    const g = createGraph();
    assert.deepEqual(g.input('x', [2, 7, 3]).sliceAxis(1, -6, 7, 3).shape, [2, 2, 3]); // 1, 4
  });

  test('rejects bad attributes, naming them', () => {
    const g = createGraph();
    const x = g.input('x', [3, 4]);
    assert.throws(() => x.sliceAxis(1, 0, 4, 0), /slice: attribute 'steps' must be positive, got 0 for axis 1/);
    assert.throws(() => x.sliceAxis(0, 3, 0, -1), /attribute 'steps' must be positive, got -1/);
    assert.throws(() => x.slice([0, 0], [1]), /attribute 'ends' has 1 entries but 'starts' has 2/);
    assert.throws(() => x.slice([0], [1], [0], [1, 1]), /attribute 'steps' has 2 entries/);
    assert.throws(() => x.slice([0, 0], [1, 1], [1, -1]), /attribute 'axes' has duplicates/);
    assert.throws(() => x.slice([0], [1], [2]), /attribute 'axes': axis 2 out of range for rank 2/);
    assert.throws(() => x.slice([0.5], [1]), /attribute 'starts' must be an array of integers/);
    assert.throws(() => x.slice([0, 0, 0], [1, 1, 1]), /axis 2 out of range for rank 2/);
  });

  test('ORT matches the interpreter', async () => {
    const g = createGraph();
    const x = g.input('x', [2, 7, 5]);
    const outs = [
      x.sliceAxis(1, 2, 5),
      x.sliceAxis(-1, -4, -1),
      x.sliceAxis(1, -6, 100, 3),
      x.slice([1, -100, 0], [2, 7, 5], [0, 1, 2], [1, 2, 2]),
      x.slice([0, 3], [1, 4]),
    ];
    await checkOrtMatchesInterp(g, outs, { x: data([2, 7, 5]) });
  });

  test('gradient: unit and strided steps on several axes', async () => {
    for (const [starts, ends, axes, steps] of [
      [[1], [6], [1], [1]],
      [
        [-6, 1],
        [7, 5],
        [1, 2],
        [3, 2],
      ],
      [
        [0, 0, 0],
        [2, 7, 5],
        [0, 1, 2],
        [2, 2, 4],
      ],
    ]) {
      const g = createGraph();
      const x = g.input('x', [2, 7, 5]);
      const c = { graph: g, output: x.slice(starts, ends, axes, steps), wrt: [x], feeds: { x: data([2, 7, 5]) } };
      gradcheck(c);
      await checkOrtGradients(c);
    }
  });
});

describe('concat', () => {
  test('joins along an axis', () => {
    const a = f32([2, 1], [1, 2]);
    const b = f32([2, 2], [3, 4, 5, 6]);
    // [[1],[2]] ++ [[3,4],[5,6]] along columns = [[1,3,4],[2,5,6]]
    assertArray(run('concat', [a, b], { axis: 1 }), [2, 3], [1, 3, 4, 2, 5, 6]);
    // along rows (axis -2): [[1,2]] then [[3,4],[5,6]]
    assertArray(run('concat', [f32([1, 2], [1, 2]), b], { axis: -2 }), [3, 2], [1, 2, 3, 4, 5, 6]);
  });

  test('rejects mismatched operands, naming the culprit', () => {
    const g = createGraph();
    const a = g.input('a', [2, 3]);
    assert.throws(
      () => concat([a, g.input('b', [3, 3])], 1),
      /concat: operand 1 \[3,3\] does not match operand 0 \[2,3\] outside axis 1[\s\S]*offending operand 1: %\d+ input "b"/,
    );
    assert.throws(() => concat([a, g.input('c', [2, 3, 1])], 0), /operand 1 \[2,3,1\] does not match/);
    assert.throws(() => concat([a, g.input('i', [2, 3], 'int64')], 0), /dtype mismatch: float32 vs int64/);
    assert.throws(() => concat([a], 2), /attribute 'axis' = 2 is not an axis of a rank-2 operand/);
    assert.throws(() => concat([g.input('s', [])], 0), /cannot concatenate scalars/);
    assert.throws(() => concat([], 0), /needs at least one value/);
  });

  test('ORT matches the interpreter; gradient splits the cotangent', async () => {
    const g = createGraph();
    const a = g.input('a', [2, 3, 4]);
    const b = g.input('b', [2, 1, 4]);
    const c = g.input('c', [2, 5, 4]);
    const feeds = { a: data([2, 3, 4]), b: data([2, 1, 4], 'float32', -1, 1, 2), c: data([2, 5, 4], 'float32', -1, 1, 3) };
    const joined = concat([a, b, c, a], -2);
    await checkOrtMatchesInterp(g, [joined, concat([a, a], 2), concat([b], 0)], feeds);
    const gc = { graph: g, output: joined, wrt: [a, b, c], feeds };
    gradcheck(gc);
    await checkOrtGradients(gc);
  });
});

describe('split', () => {
  const evalSplit = (x: ReturnType<typeof f32>, attrs: { axis: number; sizes: number[] }) => registry.get('split')!.evaluate([x], attrs);

  test('cuts along an axis into the given sizes', () => {
    // columns [0] | [1,2,3] of m34
    const [left, right] = evalSplit(m34, { axis: 1, sizes: [1, 3] });
    assertArray(left, [3, 1], [0, 4, 8]);
    assertArray(right, [3, 3], [1, 2, 3, 5, 6, 7, 9, 10, 11]);
    const rows = evalSplit(m34, { axis: -2, sizes: [2, 0, 1] });
    assert.deepEqual(
      rows.map((r) => r.shape),
      [
        [2, 4],
        [0, 4],
        [1, 4],
      ],
    );
    assertArray(rows[2], [1, 4], [8, 9, 10, 11]);
  });

  test('infers one output per size and rejects bad sizes', () => {
    const g = createGraph();
    const x = g.input('x', [2, 6]);
    assert.deepEqual(
      x.split([2, 4], 1).map((v) => v.shape),
      [
        [2, 2],
        [2, 4],
      ],
    );
    assert.throws(() => x.split([2, 3], 1), /split: attribute 'sizes' \[2,3\] must be non-negative and sum to dim 1 of \[2,6\] \(6\)/);
    assert.throws(() => x.split([7, -1], 1), /attribute 'sizes'/);
    assert.throws(() => x.split([2], 2), /attribute 'axis' = 2/);
  });

  test('ORT matches the interpreter; gradients with unused pieces', async () => {
    const g = createGraph();
    const x = g.input('x', [3, 7, 2]);
    const feeds = { x: data([3, 7, 2]) };
    const [p, q, r] = x.split([2, 4, 1], -2);
    await checkOrtMatchesInterp(g, [p, q, r, ...x.split([1, 2], 0)], feeds);
    for (const output of [q, p.sum(1).mul(r.sum(1)), r]) {
      // q alone / r alone leave the other pieces' cotangents null (zeros).
      const c = { graph: g, output, wrt: [x], feeds };
      gradcheck(c);
      await checkOrtGradients(c);
    }
  });
});

describe('pad', () => {
  test('constant padding with begins then ends', () => {
    // [[1,2]] padded 1 row above, 1 column left, 2 columns right with 9:
    // [[9,9,9,9,9],[9,1,2,9,9]]
    assertArray(run('pad', [f32([1, 2], [1, 2])], { pads: [1, 1, 0, 2], value: 9 }), [2, 5], [9, 9, 9, 9, 9, 9, 1, 2, 9, 9]);
    assertArray(run('pad', [arr([2], 'int64', [5, 6])], { pads: [0, 1], value: 0 }), [3], [5, 6, 0]);
  });

  test('rejects bad pads and values', () => {
    const g = createGraph();
    const x = g.input('x', [2, 3]);
    assert.throws(() => x.pad([1, 1]), /pad: attribute 'pads' needs 4 entries \(begins then ends\) for rank 2, got 2/);
    assert.throws(() => x.pad([0, -1, 0, 0]), /attribute 'pads' must be non-negative \(use slice to crop\)/);
    assert.throws(() => g.input('i', [2], 'int64').pad([1, 0], 0.5), /attribute 'value' 0.5 is not representable as int64/);
    assert.throws(() => g.input('b', [2], 'bool').pad([1, 0], 2), /must be 0 or 1 for bool/);
  });

  test('ORT matches the interpreter (float, int, bool)', async () => {
    const g = createGraph();
    const x = g.input('x', [2, 3, 4]);
    const i = g.input('i', [3], 'int64');
    const b = g.input('b', [2, 2], 'bool');
    const outs = [
      x.pad([0, 1, 2, 0, 3, 1]),
      x.pad([1, 0, 0, 1, 0, 0], -1.5),
      x.pad([0, 0, 0, 0, 0, 0]),
      i.pad([2, 1], 7),
      b.pad([1, 0, 0, 1], 1),
    ];
    await checkOrtMatchesInterp(g, outs, { x: data([2, 3, 4]), i: data([3], 'int64', -5, 5), b: data([2, 2], 'bool') });
  });

  test('float16 pads through a float32 constant cast to float16', async () => {
    const g = createGraph();
    const x = g.input('x', [2, 3]);
    const out = x.cast('float16').pad([1, 0, 0, 2], 2.5).cast('float32');
    // ORT rounds to float16 (11-bit mantissa) where the interpreter keeps float64: |x| < 1 → error < 5e-4.
    await checkOrtMatchesInterp(g, [out], { x: data([2, 3]) }, { tol: { atol: 1e-3 } });
  });

  test('gradient is the cropped cotangent', async () => {
    const g = createGraph();
    const x = g.input('x', [2, 3, 4]);
    const c = { graph: g, output: x.pad([0, 1, 2, 1, 3, 0], 0.5), wrt: [x], feeds: { x: data([2, 3, 4]) } };
    gradcheck(c);
    await checkOrtGradients(c);
  });
});

describe('expand', () => {
  test('broadcasts like numpy.broadcast_to', () => {
    // [2,1] → [2,2,3]: each row value repeated 3 times, the whole block twice
    assertArray(run('expand', [f32([2, 1], [1, 2])], { shape: [2, 2, 3] }), [2, 2, 3], [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2]);
    assertArray(run('expand', [f32([], [7])], { shape: [2] }), [2], [7, 7]);
    assertArray(run('expand', [f32([3], [1, 2, 3])], { shape: [3] }), [3], [1, 2, 3]);
  });

  test('rejects shapes it cannot broadcast to', () => {
    const g = createGraph();
    const x = g.input('x', [3, 4]);
    assert.throws(() => x.expand([3, 5]), /expand: cannot broadcast \[3,4\] to attribute 'shape' \[3,5\]/);
    assert.throws(() => x.expand([4]), /cannot broadcast \[3,4\] to attribute 'shape' \[4\]/);
    // ONNX Expand would broadcast this bidirectionally; numpy.broadcast_to (and we) refuse.
    assert.throws(() => g.input('y', [3]).expand([1]), /cannot broadcast \[3\] to attribute 'shape' \[1\]/);
  });

  test('ORT matches the interpreter; gradient sums over broadcast axes', async () => {
    const g = createGraph();
    const x = g.input('x', [3, 1]);
    const s = g.input('s', []);
    const feeds = { x: data([3, 1]), s: data([], 'float32', -1, 1, 5) };
    await checkOrtMatchesInterp(g, [x.expand([2, 3, 4]), x.expand([3, 1]), s.expand([2, 2])], feeds);
    for (const [v, shape] of [
      [x, [2, 3, 4]],
      [s, [5]],
    ] as const) {
      const c = { graph: g, output: v.expand(shape), wrt: [v], feeds };
      gradcheck(c);
      await checkOrtGradients(c);
    }
  });
});
