import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertArray, f32, run } from './op-harness.js';
import { concat, createGraph } from '../../src/ops/index.js';
import { hostArray } from '../../src/ir/index.js';
import { data } from '../helpers/ort-check.js';
import { checkOrtGradients, gradcheck } from '../helpers/gradcheck.js';

const x = f32([2, 3], [0, 1, 2, 3, 4, 5]);

describe('reshape', () => {
  it('keeps row-major data and infers one -1', () => {
    assertArray(run('reshape', [x], { shape: [3, 2] }), [3, 2], [0, 1, 2, 3, 4, 5]);
    assertArray(run('reshape', [x], { shape: [-1] }), [6], [0, 1, 2, 3, 4, 5]);
    assertArray(run('reshape', [x], { shape: [1, -1, 2] }), [1, 3, 2], [0, 1, 2, 3, 4, 5]);
  });

  it('rejects bad targets with shapes and path', () => {
    const g = createGraph();
    const v = g.input('v', [2, 3]);
    assert.throws(
      () => v.reshape([4, -1]),
      /reshape: reshape \[2,3\] -> \[4,-1\]: 6 elements not divisible by 4[\s\S]*%0 input "v" float32\[2,3\]/,
    );
    assert.throws(() => v.reshape([-1, -1]), /at most one -1 allowed/);
    assert.throws(() => v.reshape([5]), /6 elements cannot become 5/);
    assert.throws(() => v.reshape([2, -3]), /negative dimension/);
  });
});

describe('transpose', () => {
  it('swaps axes of a matrix', () => {
    // [[0,1,2],[3,4,5]]^T = [[0,3],[1,4],[2,5]]
    assertArray(run('transpose', [x], { perm: [1, 0] }), [3, 2], [0, 3, 1, 4, 2, 5]);
  });

  it('permutes a rank-3 array: out[i,j,k] = x[j,k,i]', () => {
    const y = f32(
      [2, 3, 2],
      Array.from({ length: 12 }, (_, i) => i),
    ); // y[a,b,c] = 6a+2b+c
    const out = run('transpose', [y], { perm: [2, 0, 1] }); // shape [2,2,3], out[c,a,b] = y[a,b,c]
    const expected: number[] = [];
    for (let c = 0; c < 2; c++) for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) expected.push(6 * a + 2 * b + c);
    assertArray(out, [2, 2, 3], expected);
  });

  it('defaults to reversing axes and rejects bad perms', () => {
    const g = createGraph();
    const v = g.input('v', [2, 3, 4]);
    assert.deepEqual(v.transpose().shape, [4, 3, 2]);
    assert.throws(
      () => v.transpose([0, 0, 1]),
      /transpose: perm \[0,0,1\] is not a permutation of 0\.\.2[\s\S]*input "v" float32\[2,3,4\]/,
    );
    assert.throws(() => v.transpose([1, 0]), /not a permutation/);
  });
});

describe('movement gradients', () => {
  test('reshape and transpose pass the cotangent back through their inverses', async () => {
    const g = createGraph();
    const v = g.input('v', [2, 3, 4]);
    const c = { graph: g, output: v.transpose([2, 0, 1]).reshape([4, 6]).transpose(), wrt: [v], feeds: { v: data([2, 3, 4]) } };
    gradcheck(c);
    await checkOrtGradients(c);
  });

  test('a chain of every movement op (embedding → pad → split → concat → slice → expand)', async () => {
    const g = createGraph();
    const emb = g.param('emb', [5, 3]);
    const ids = g.input('ids', [2, 4], 'int64');
    const h = emb.gather(ids).pad([0, 1, 0, 0, 0, 2], 0.25); // [2,5,5]
    const [a, b] = h.split([2, 3], 1);
    const joined = concat([b, a.mul(a)], 1).slice([1, 0], [5, 5], [1, 2], [2, 2]); // [2,2,3]
    const output = joined.reshape([2, 1, 2, 3]).expand([3, 2, 2, 2, 3]);
    const c = { graph: g, output, wrt: [emb], feeds: { emb: data([5, 3]), ids: hostArray([2, 4], 'int64', [0, 4, -1, 2, 2, 3, 1, 0]) } };
    gradcheck(c);
    await checkOrtGradients(c);
  });
});
