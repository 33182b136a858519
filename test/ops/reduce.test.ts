import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertArray, f32, run } from './op-harness.js';
import { createGraph } from '../../src/ops/index.js';

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
