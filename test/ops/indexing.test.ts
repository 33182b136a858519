import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { arr, assertArray, f32, run } from './op-harness.js';
import { createGraph } from '../../src/ops/index.js';
import { evaluate } from '../../src/interp/index.js';
import { hostArray } from '../../src/ir/index.js';
import { checkOrtMatchesInterp, data } from '../helpers/ort-check.js';
import { checkOrtGradients, gradcheck } from '../helpers/gradcheck.js';

const table = f32([3, 2], [0, 1, 10, 11, 20, 21]); // row r = [10r, 10r+1]

describe('gather', () => {
  test('embedding lookup: rows by token id, negative ids wrap', () => {
    // ids [[2,0],[-1,1]] → rows 2,0,2,1
    const ids = arr([2, 2], 'int64', [2, 0, -1, 1]);
    assertArray(run('gather', [table, ids], { axis: 0 }), [2, 2, 2], [20, 21, 0, 1, 20, 21, 10, 11]);
  });

  test('axis 1, int32 indices, and scalar indices drop the axis', () => {
    // columns [1,1,0] of each row
    assertArray(run('gather', [table, arr([3], 'int32', [1, 1, 0])], { axis: -1 }), [3, 3], [1, 1, 0, 11, 11, 10, 21, 21, 20]);
    // per-sample timestep coefficient lookup: a 1-D table and a scalar index
    assertArray(run('gather', [f32([4], [0.1, 0.2, 0.3, 0.4]), arr([], 'int64', [-2])], { axis: 0 }), [], [0.3]);
  });

  test('out-of-range indices are a runtime error naming the index', () => {
    const g = createGraph();
    const t = g.input('t', [3, 2]);
    const ids = g.input('ids', [3], 'int64');
    const out = t.gather(ids);
    assert.throws(
      () => evaluate(g, [out], { t: table, ids: hostArray([3], 'int64', [0, 3, 1]) }),
      /gather: index 3 at position 1 of indices is out of range \[-3, 3\) for axis 0/,
    );
    assert.throws(() => evaluate(g, [out], { t: table, ids: hostArray([3], 'int64', [0, 1, -4]) }), /index -4 at position 2/);
  });

  test('rejects float indices, scalar tables and bad axes', () => {
    const g = createGraph();
    const t = g.input('t', [5, 4]);
    assert.deepEqual(t.gather(g.input('i', [2, 3], 'int64'), 1).shape, [5, 2, 3]);
    assert.throws(
      () => t.gather(g.input('f', [2])),
      /gather: indices \(operand 1\) must be int64 or int32, got float32[\s\S]*offending operand 1/,
    );
    assert.throws(() => g.input('s', []).gather(g.input('j', [1], 'int64')), /cannot gather from a scalar table/);
    assert.throws(() => t.gather(g.input('k', [1], 'int64'), 2), /attribute 'axis' = 2 is not an axis of a rank-2 operand/);
  });

  test('ORT matches the interpreter (int64/int32 indices, every axis)', async () => {
    const g = createGraph();
    const t = g.input('t', [6, 3, 4]);
    const i64 = g.input('i64', [2, 5], 'int64');
    const i32 = g.input('i32', [4], 'int32');
    const s = g.input('s', [], 'int64');
    const outs = [t.gather(i64), t.gather(i32, 1), t.gather(i32, -1), t.gather(s, 2), t.cast('int64').gather(i64)];
    const feeds = {
      t: data([6, 3, 4]),
      i64: data([2, 5], 'int64', -3, 3),
      i32: data([4], 'int32', -3, 3, 2),
      s: hostArray([], 'int64', [-1]),
    };
    await checkOrtMatchesInterp(g, outs, feeds);
  });

  test('gradient scatter-adds into the gathered rows (repeats and negative indices)', async () => {
    for (const axis of [0, 1, -1]) {
      const g = createGraph();
      const t = g.input('t', [4, 3, 5]);
      const ids = g.input('ids', [2, 3], 'int64');
      // -1 and 2 select the same row for axis 1 (size 3): their cotangents add up
      const feeds = { t: data([4, 3, 5]), ids: hostArray([2, 3], 'int64', [0, 2, -1, 2, 2, 1]) };
      const c = { graph: g, output: t.gather(ids, axis), wrt: [t], feeds };
      gradcheck(c);
      await checkOrtGradients(c);
    }
  });

  test('gradient of an embedding lookup with int32 ids and a scalar index', async () => {
    const g = createGraph();
    const emb = g.param('emb', [7, 4]);
    const ids = g.input('ids', [5], 'int32');
    const coef = g.param('coef', [6]);
    const step = g.input('step', [], 'int64');
    const output = emb.gather(ids).mul(coef.gather(step));
    const feeds = {
      emb: data([7, 4]),
      ids: hostArray([5], 'int32', [3, -7, 6, 3, 0]),
      coef: data([6], 'float32', 0, 1, 2),
      step: hostArray([], 'int64', [4]),
    };
    const c = { graph: g, output, wrt: [emb, coef], feeds };
    gradcheck(c);
    await checkOrtGradients(c);
  });
});
