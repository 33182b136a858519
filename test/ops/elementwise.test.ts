import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { arr, assertArray, f32, run } from './op-harness.js';
import { createGraph } from '../../src/ops/index.js';
import { GraphError } from '../../src/ir/index.js';

describe('elementwise binary', () => {
  it('adds same-shape arrays', () => {
    assertArray(run('add', [f32([2], [1, 2]), f32([2], [10, 20])]), [2], [11, 22]);
  });

  it('broadcasts a row over a matrix and a column over a row', () => {
    // [2,3] - [3]: each row minus [1,2,3]
    const m = f32([2, 3], [1, 2, 3, 4, 5, 6]);
    assertArray(run('sub', [m, f32([3], [1, 2, 3])]), [2, 3], [0, 0, 0, 3, 3, 3]);
    // [2,1] * [1,3] -> outer product [[1*1,1*2,1*3],[2*1,2*2,2*3]]
    assertArray(run('mul', [f32([2, 1], [1, 2]), f32([1, 3], [1, 2, 3])]), [2, 3], [1, 2, 3, 2, 4, 6]);
  });

  it('broadcasts a scalar and across a middle axis', () => {
    assertArray(run('div', [f32([3], [1, 2, 3]), f32([], [2])]), [3], [0.5, 1, 1.5]);
    // [2,1,2] + [3,1]: out[i,j,k] = a[i,0,k] + b[j,0]
    const a = f32([2, 1, 2], [1, 2, 3, 4]);
    const b = f32([3, 1], [0, 10, 100]);
    assertArray(run('add', [a, b]), [2, 3, 2], [1, 2, 11, 12, 101, 102, 3, 4, 13, 14, 103, 104]);
  });

  it('pow, and integer division truncates toward zero', () => {
    assertArray(run('pow', [f32([3], [2, 3, 4]), f32([], [2])]), [3], [4, 9, 16]);
    assertArray(run('div', [arr([2], 'int64', [7, -7]), arr([], 'int64', [2])]), [2], [3, -3]);
  });
});

describe('elementwise unary', () => {
  const x = f32([4], [-2, -0.5, 0, 1]);
  it('neg, relu, exp, log, sqrt, tanh, sigmoid', () => {
    assertArray(run('neg', [x]), [4], [2, 0.5, -0, -1]);
    assertArray(run('relu', [x]), [4], [0, 0, 0, 1]);
    assertArray(run('exp', [x]), [4], [Math.exp(-2), Math.exp(-0.5), 1, Math.E]);
    assertArray(run('log', [f32([2], [1, Math.E])]), [2], [0, 1]);
    assertArray(run('sqrt', [f32([2], [4, 9])]), [2], [2, 3]);
    assertArray(run('tanh', [x]), [4], [-2, -0.5, 0, 1].map(Math.tanh));
    // sigmoid(x) = 1/(1+e^-x); sigmoid(0) = 0.5; stable for large |x|
    assertArray(run('sigmoid', [f32([3], [0, -1000, 1000])]), [3], [0.5, 0, 1]);
  });

  it('cast truncates to ints and maps nonzero to true', () => {
    assertArray(run('cast', [x], { dtype: 'int64' }), [4], [-2, -0, 0, 1]);
    const b = run('cast', [x], { dtype: 'bool' });
    assert.equal(b.dtype, 'bool');
    assertArray(b, [4], [1, 1, 0, 1]);
  });
});

describe('elementwise inference errors', () => {
  it('shape mismatch names op, shapes and paths', () => {
    const g = createGraph();
    const a = g.input('a', [2, 3]);
    const w = g.param('w', [3, 4]);
    const h = a.matmul(w).named('h');
    assert.throws(
      () => h.add(g.input('b', [5])),
      (e: unknown) => {
        assert.ok(e instanceof GraphError);
        assert.match(e.message, /^add: cannot broadcast shapes \[2,4\] and \[5\]/);
        assert.match(e.message, /operand 0: %\d+ "h" float32\[2,4\] = matmul\(%0 input "a" float32\[2,3\], %1 param "w" float32\[3,4\]\)/);
        assert.match(e.message, /operand 1: %\d+ input "b" float32\[5\]/);
        return true;
      },
    );
  });

  it('dtype mismatch points at the second operand', () => {
    const g = createGraph();
    const x = g.input('x', [2]);
    const i = g.input('i', [2], 'int64');
    assert.throws(() => x.mul(i), /mul: dtype mismatch: float32 vs int64[\s\S]*offending operand 1: %1 input "i" int64\[2\]/);
  });

  it('float-only unary ops reject ints; arithmetic rejects bool', () => {
    const g = createGraph();
    assert.throws(() => g.input('i', [2], 'int32').exp(), /exp: operand 0 must be float32\/float16, got int32/);
    assert.throws(() => g.input('b', [2], 'bool').neg(), /neg: operand 0 must be numeric, got bool/);
    assert.throws(() => g.input('c', [2]).cast('int8' as never), /cast: attribute 'dtype' must be a DType/);
  });

  it('scalar operands take the dtype of the value', () => {
    const g = createGraph();
    const y = g.input('i', [2], 'int32').mul(3);
    assert.equal(y.dtype, 'int32');
    assert.deepEqual(y.shape, [2]);
  });
});
