import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { arr, assertArray, f32, run } from './op-harness.js';
import { createGraph } from '../../src/ops/index.js';
import { grad } from '../../src/autodiff/index.js';
import { evaluate } from '../../src/interp/index.js';
import type { Graph, Value } from '../../src/ir/index.js';
import { checkOrtGradients, gradcheck } from '../helpers/gradcheck.js';
import { checkOrtMatchesInterp, data } from '../helpers/ort-check.js';

const f32Const = (g: Graph, shape: number[], values: number[]): Value => g.constant(f32(shape, values));

// x = [[[1,2],[3,4],[5,6]], [[7,8],[9,10],[11,12]]], shape [2,3,2]
const x = f32([2, 3, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

describe('sum', () => {
  it('over all axes (axes: null)', () => {
    assertArray(run('sum', [x], { axes: null, keepdims: false }), [], [78]); // 12*13/2
    assertArray(run('sum', [x], { axes: null, keepdims: true }), [1, 1, 1], [78]);
  });

  it('over one middle axis, with and without keepdims', () => {
    // sum over axis 1: [[1+3+5, 2+4+6], [7+9+11, 8+10+12]]
    assertArray(run('sum', [x], { axes: [1], keepdims: false }), [2, 2], [9, 12, 27, 30]);
    assertArray(run('sum', [x], { axes: [1], keepdims: true }), [2, 1, 2], [9, 12, 27, 30]);
  });

  it('over several axes, negative axes allowed', () => {
    // sum over axes 0 and 2: per middle index j: (x[0,j,0]+x[0,j,1]+x[1,j,0]+x[1,j,1])
    // j=0: 1+2+7+8=18, j=1: 3+4+9+10=26, j=2: 5+6+11+12=34
    assertArray(run('sum', [x], { axes: [-1, 0], keepdims: false }), [3], [18, 26, 34]);
    assertArray(run('sum', [x], { axes: [0, 2], keepdims: true }), [1, 3, 1], [18, 26, 34]);
  });

  it('over an empty axes list is the identity', () => {
    assertArray(run('sum', [x], { axes: [], keepdims: false }), [2, 3, 2], [...x.data]);
  });
});

describe('mean', () => {
  it('divides by the reduced element count', () => {
    // mean over last axis: pairs averaged
    assertArray(run('mean', [x], { axes: [2], keepdims: false }), [2, 3], [1.5, 3.5, 5.5, 7.5, 9.5, 11.5]);
    assertArray(run('mean', [x], { axes: [0, 1], keepdims: true }), [1, 1, 2], [6, 7]); // (1+3+5+7+9+11)/6
  });
});

describe('reduce inference errors', () => {
  it('reports bad axes with the value path', () => {
    const g = createGraph();
    const h = g.input('x', [2, 3]).exp();
    assert.throws(() => h.sum(2), /sum: axis 2 out of range for rank 2[\s\S]*offending operand 0: exp\(%0 input "x" float32\[2,3\]\)/);
    assert.throws(() => h.sum([0, -2]), /sum: duplicate axes \[0,-2\]/);
    assert.throws(() => g.input('i', [2], 'int64').mean(), /mean: operand 0 must be float32\/float16, got int64/);
  });

  it('infers keepdims shapes', () => {
    const g = createGraph();
    const x = g.input('x', [2, 3, 4]);
    assert.deepEqual(x.mean([1], true).shape, [2, 1, 4]);
    assert.deepEqual(x.sum([0, 2]).shape, [3]);
    assert.deepEqual(x.sum().shape, []);
  });
});

describe('reduce_max', () => {
  it('over all axes, one axis, several (negative) axes, keepdims and empty axes', () => {
    assertArray(run('reduce_max', [x], { axes: null, keepdims: false }), [], [12]);
    // max over axis 1: [[max(1,3,5), max(2,4,6)], [max(7,9,11), max(8,10,12)]]
    assertArray(run('reduce_max', [x], { axes: [1], keepdims: true }), [2, 1, 2], [5, 6, 11, 12]);
    // over axes 0 and 2 per middle index j: max(x[0,j,:], x[1,j,:]) = 8, 10, 12
    assertArray(run('reduce_max', [x], { axes: [-1, 0], keepdims: false }), [3], [8, 10, 12]);
    assertArray(run('reduce_max', [x], { axes: [], keepdims: false }), [2, 3, 2], [...x.data]);
  });

  it('handles negatives and ints (the fold starts at −∞, not 0)', () => {
    assertArray(run('reduce_max', [f32([2, 2], [-3, -1, -5, -4])], { axes: [1], keepdims: false }), [2], [-1, -4]);
    const i = run('reduce_max', [arr([3], 'int64', [-7, 2, -1])], { axes: null, keepdims: false });
    assert.equal(i.dtype, 'int64');
    assertArray(i, [], [2]);
  });

  it('inference errors: bool, bad axes, empty reduced axis', () => {
    const g = createGraph();
    const h = g.input('x', [2, 0, 3]);
    assert.throws(() => g.input('b', [2], 'bool').max(), /reduce_max: operand 0 must be numeric, got bool/);
    assert.throws(() => h.max(3), /reduce_max: axis 3 out of range for rank 3/);
    assert.throws(() => h.max([0, 0]), /reduce_max: duplicate axes \[0,0\]/);
    assert.throws(() => h.max(-2), /reduce_max: cannot take the max over axis 1: it has size 0/);
    assert.deepEqual(h.max([0, 2], true).shape, [1, 0, 1]);
  });

  it('ORT ReduceMax matches: axes, negative axes, all axes, keepdims, empty axes, ints', async () => {
    const g = createGraph();
    const v = g.input('x', [2, 3, 4]);
    const i = g.input('i', [3, 5], 'int64');
    const outs = [v.max(1), v.max([0, -1], true), v.max(), v.max(undefined, true), v.max([]), i.max(-1), i.max()];
    const feeds = { x: data([2, 3, 4]), i: data([3, 5], 'int64', -50, 50) };
    await checkOrtMatchesInterp(g, outs, feeds);
    // float16: ORT rounds x to float16 (the interpreter does not), so the max is off by up to half an ulp.
    await checkOrtMatchesInterp(g, [v.cast('float16').max(-1).cast('float32')], feeds, { tol: { atol: 1e-3, rtol: 1e-3 } });
  });

  it('gradient (distinct values): finite differences and ORT', async () => {
    const g = createGraph();
    const v = g.input('x', [2, 3, 4]);
    const out = v
      .max(1)
      .add(v.max([0, -2], true).reshape([4]))
      .add(v.max().mul(v.max(-1, true).sum()));
    const c = { graph: g, output: out, wrt: [v], feeds: { x: data([2, 3, 4]) } };
    gradcheck(c);
    await checkOrtGradients(c);
  });

  it('gradient with ties is shared equally among the maxima (torch.amax)', () => {
    const g = createGraph();
    const v = g.input('x', [2, 3]);
    // row 0 = [1,3,3]: two maxima share its cotangent; row 1 = [2,0,1]: one maximum takes it
    const feeds = { x: f32([2, 3], [1, 3, 3, 2, 0, 1]) };
    const [dx] = grad(
      v
        .max(1)
        .mul(f32Const(g, [2], [1, 10]))
        .sum(),
      [v],
    );
    assertArray(evaluate(g, [dx], feeds)[0], [2, 3], [0, 0.5, 0.5, 10, 0, 0]);
  });
});
