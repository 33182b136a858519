import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertArray, f32, run } from './op-harness.js';
import { createGraph } from '../../src/ops/index.js';

describe('matmul', () => {
  it('multiplies matrices', () => {
    // [[1,2],[3,4]] @ [[5,6],[7,8]] = [[1*5+2*7, 1*6+2*8], [3*5+4*7, 3*6+4*8]] = [[19,22],[43,50]]
    assertArray(run('matmul', [f32([2, 2], [1, 2, 3, 4]), f32([2, 2], [5, 6, 7, 8])]), [2, 2], [19, 22, 43, 50]);
  });

  it('promotes 1-D operands like numpy', () => {
    const m = f32([2, 3], [1, 2, 3, 4, 5, 6]);
    // [1,1] @ [[1,2,3],[4,5,6]] = [5,7,9]
    assertArray(run('matmul', [f32([2], [1, 1]), m]), [3], [5, 7, 9]);
    // [[1,2,3],[4,5,6]] @ [1,0,1] = [4,10]
    assertArray(run('matmul', [m, f32([3], [1, 0, 1])]), [2], [4, 10]);
    // dot product -> scalar
    assertArray(run('matmul', [f32([3], [1, 2, 3]), f32([3], [4, 5, 6])]), [], [32]);
  });

  it('broadcasts batch dimensions', () => {
    // a: [2,1,1,2] batch [2,1]; b: [3,2,1] batch [3] -> out [2,3,1,1]
    // out[i,j] = a[i] . b[j]; a0=[1,2], a1=[3,4]; b0=[1,0], b1=[0,1], b2=[1,1]
    const a = f32([2, 1, 1, 2], [1, 2, 3, 4]);
    const b = f32([3, 2, 1], [1, 0, 0, 1, 1, 1]);
    assertArray(run('matmul', [a, b]), [2, 3, 1, 1], [1, 2, 3, 3, 4, 7]);
  });

  it('a batched left operand times a shared matrix', () => {
    // two batches of [1,2] times [[1,2],[3,4]]: [1,0]->[1,2], [0,1]->[3,4]
    const a = f32([2, 1, 2], [1, 0, 0, 1]);
    assertArray(run('matmul', [a, f32([2, 2], [1, 2, 3, 4])]), [2, 1, 2], [1, 2, 3, 4]);
  });

  it('reports contraction and batch mismatches with paths', () => {
    const g = createGraph();
    const x = g.input('x', [4, 2, 3]);
    assert.throws(
      () => x.matmul(g.param('w', [4, 5])),
      /matmul: contraction dims differ: \[4,2,3\] @ \[4,5\] \(3 vs 4\)[\s\S]*offending operand 1: %1 param "w" float32\[4,5\]/,
    );
    assert.throws(() => x.matmul(g.param('v', [3, 3, 1])), /matmul: cannot broadcast batch dims \[4\] and \[3\]/);
    assert.throws(() => x.matmul(g.scalar(1)), /operands must have rank >= 1/);
  });
});
