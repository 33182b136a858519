import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { arr, assertArray, f32, run } from './op-harness.js';
import { createGraph } from '../../src/ops/index.js';
import { GraphError, hostArray, type Graph, type HostArray, type Value } from '../../src/ir/index.js';
import { grad } from '../../src/autodiff/index.js';
import { evaluate } from '../../src/interp/index.js';
import { checkOrtGradients, gradcheck } from '../helpers/gradcheck.js';
import { checkOrtMatchesInterp, data } from '../helpers/ort-check.js';

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

// --- extras: sin/cos/abs/erf, maximum/minimum, comparisons, where, clamp ---

const check = (g: Graph, outputs: Value[], feeds: Record<string, HostArray>): Promise<void> => checkOrtMatchesInterp(g, outputs, feeds);
const f32Feed = (shape: number[], values: number[]): HostArray => hostArray(shape, 'float32', values);

describe('sin, cos, abs, erf: reference kernels', () => {
  it('sin and cos at multiples of π/6', () => {
    // sin(π/6) = 0.5, sin(π/2) = 1, cos(π/3) = 0.5, cos(π) = −1
    assertArray(run('sin', [f32([3], [0, Math.PI / 6, Math.PI / 2])]), [3], [0, 0.5, 1]);
    assertArray(run('cos', [f32([3], [0, Math.PI / 3, Math.PI])]), [3], [1, 0.5, -1]);
  });

  it('abs on floats and ints', () => {
    assertArray(run('abs', [f32([4], [-2, -0.5, 0, 1])]), [4], [2, 0.5, 0, 1]);
    const i = run('abs', [arr([2], 'int32', [-3, 4])]);
    assert.equal(i.dtype, 'int32');
    assertArray(i, [2], [3, 4]);
  });

  it('erf matches published values to ~1e-15 on both sides of the series/continued-fraction switch at 3', () => {
    // erf(x) from tables (Abramowitz & Stegun / mpmath), odd in x; erf(5) = 1 − erfc(5) = 1 − 1.5374597944280349e-12
    const xs = [0, 1e-8, 0.5, -1, 2, 3, 4, 5, -6, 30];
    const expected = [
      0, 1.1283791670955126e-8, 0.5204998778130465, -0.8427007929497149, 0.9953222650189527, 0.9999779095030014, 0.9999999845827421,
      0.9999999999984626, -1, 1,
    ];
    assertArray(run('erf', [f32([xs.length], xs)]), [xs.length], expected, 1e-15);
  });

  it('erf is continuous across x = 3 (slope 2/√π·e^−9 ≈ 1.392e-4)', () => {
    const [below, above] = run('erf', [f32([2], [3 - 1e-9, 3 + 1e-9])]).data;
    const slope = (2 / Math.sqrt(Math.PI)) * Math.exp(-9);
    assert.ok(Math.abs((above - below) / 2e-9 - slope) < 1e-6 * 1e4 * slope, `${(above - below) / 2e-9} vs ${slope}`);
  });
});

describe('maximum, minimum, comparisons, where, clamp: reference kernels', () => {
  it('maximum and minimum broadcast and keep int dtypes', () => {
    assertArray(run('maximum', [f32([3], [1, 5, 3]), f32([3], [4, 2, 3])]), [3], [4, 5, 3]);
    // [2,1] vs [3]: rows [1] and [4] against [0,2,5]
    assertArray(run('minimum', [f32([2, 1], [1, 4]), f32([3], [0, 2, 5])]), [2, 3], [0, 1, 1, 0, 2, 4]);
    assertArray(run('maximum', [arr([2], 'int64', [-7, 3]), arr([], 'int64', [0])]), [2], [0, 3]);
  });

  it('less / greater / equal broadcast to bool', () => {
    const x = f32([3], [1, 2, 3]);
    const two = f32([], [2]);
    for (const [op, want] of [
      ['less', [1, 0, 0]],
      ['greater', [0, 0, 1]],
      ['equal', [0, 1, 0]],
    ] as const) {
      const out = run(op, [x, two]);
      assert.equal(out.dtype, 'bool');
      assertArray(out, [3], [...want]);
    }
    assertArray(run('equal', [arr([2], 'bool', [1, 0]), arr([2, 1], 'bool', [1, 0])]), [2, 2], [1, 0, 0, 1]);
  });

  it('where broadcasts condition and both branches', () => {
    // cond [2,1] = [[true],[false]], a [3], b scalar 0 → [[1,2,3],[0,0,0]]
    const out = run('where', [arr([2, 1], 'bool', [1, 0]), f32([3], [1, 2, 3]), f32([], [0])]);
    assertArray(out, [2, 3], [1, 2, 3, 0, 0, 0]);
    assertArray(run('where', [arr([2], 'bool', [0, 1]), arr([2], 'int64', [1, 2]), arr([2], 'int64', [-1, -2])]), [2], [-1, 2]);
  });

  it('clamp with both, one or no bounds; min > max gives max (torch)', () => {
    const x = f32([5], [-2, -0.5, 0, 1, 3]);
    assertArray(run('clamp', [x], { min: -1, max: 2 }), [5], [-1, -0.5, 0, 1, 2]);
    assertArray(run('clamp', [x], { min: 0, max: null }), [5], [0, 0, 0, 1, 3]);
    assertArray(run('clamp', [x], { min: null, max: 0.5 }), [5], [-2, -0.5, 0, 0.5, 0.5]);
    assertArray(run('clamp', [x], { min: null, max: null }), [5], [-2, -0.5, 0, 1, 3]);
    assertArray(run('clamp', [x], { min: 2, max: 1 }), [5], [1, 1, 1, 1, 1]);
    assertArray(run('clamp', [arr([3], 'int32', [-5, 2, 9])], { min: 0, max: 4 }), [3], [0, 2, 4]);
  });
});

describe('extras: inference errors', () => {
  it('float-only sin/cos/erf, numeric abs/maximum/less, bool-friendly equal', () => {
    const g = createGraph();
    const i = g.input('i', [2], 'int32');
    const b = g.input('b', [2], 'bool');
    assert.throws(() => i.sin(), /sin: operand 0 must be float32\/float16, got int32/);
    assert.throws(() => i.erf(), /erf: operand 0 must be float32\/float16, got int32/);
    assert.throws(() => b.abs(), /abs: operand 0 must be numeric, got bool/);
    assert.throws(() => b.less(b), /less: operand 0 must be numeric, got bool/);
    assert.throws(() => b.maximum(b), /maximum: operand 0 must be numeric, got bool/);
    assert.equal(b.equal(b).dtype, 'bool');
    assert.throws(() => i.equal(g.input('l', [2], 'int64')), /equal: dtype mismatch: int32 vs int64[\s\S]*offending operand 1/);
  });

  it('broadcast errors name every shape', () => {
    const g = createGraph();
    const x = g.input('x', [2, 3]);
    assert.throws(() => x.maximum(g.input('y', [2])), /maximum: cannot broadcast shapes \[2,3\] and \[2\]/);
    assert.throws(() => x.greater(g.input('z', [4])), /greater: cannot broadcast shapes \[2,3\] and \[4\]/);
    const c = g.input('c', [5], 'bool');
    assert.throws(() => c.where(x, 0), /where: cannot broadcast shapes \[5\] and \[2,3\] and \[\]/);
  });

  it('where needs a bool condition and branches of one dtype', () => {
    const g = createGraph();
    const x = g.input('x', [2]);
    assert.throws(() => x.where(x, x), /where: condition \(operand 0\) must be bool, got float32[\s\S]*offending operand 0/);
    const c = x.greater(0);
    assert.throws(() => c.where(x, g.input('i', [2], 'int64')), /where: branch dtype mismatch: float32 vs int64[\s\S]*offending operand 2/);
    assert.equal(c.where(x, 1).dtype, 'float32');
    assert.equal(c.where(2, 1).dtype, 'float32');
  });

  it('clamp bounds must be numbers (integers for int tensors) or null', () => {
    const g = createGraph();
    const x = g.input('x', [2]);
    assert.throws(() => g.apply('clamp', [x], { min: 'low', max: null }), /clamp: attribute 'min' must be a number or null, got "low"/);
    assert.throws(() => x.clamp(null, NaN), /clamp: attribute 'max' must be a number or null, got NaN/);
    assert.throws(() => g.input('i', [2], 'int32').clamp(0.5), /clamp: attribute 'min' must be an integer or null, got 0.5/);
    assert.throws(() => g.input('b', [2], 'bool').clamp(0), /clamp: operand 0 must be numeric, got bool/);
  });
});

describe('extras: ORT CPU matches the interpreter', () => {
  it('sin, cos, abs, erf (floats and ints)', async () => {
    const g = createGraph();
    const x = g.input('x', [3, 5]);
    const i = g.input('i', [7], 'int32');
    const l = g.input('l', [2, 3], 'int64');
    await check(g, [x.sin(), x.cos(), x.abs(), x.erf(), i.abs(), l.abs()], {
      x: data([3, 5], 'float32', -4, 4),
      i: data([7], 'int32', -10, 10),
      l: data([2, 3], 'int64', -10, 10, 2),
    });
  });

  it('maximum and minimum with broadcasting and ties', async () => {
    const g = createGraph();
    const a = g.input('a', [2, 3, 4]);
    const b = g.input('b', [3, 1]);
    const i = g.input('i', [4], 'int64');
    const outs = [a.maximum(b), a.minimum(b), b.maximum(a), a.maximum(a), a.minimum(0.25), i.maximum(0), i.minimum(i.neg())];
    await check(g, outs, { a: data([2, 3, 4]), b: data([3, 1], 'float32', -1, 1, 2), i: data([4], 'int64', -5, 5) });
  });

  it('comparisons with broadcasting, ties, ints and bools', async () => {
    const g = createGraph();
    const a = g.input('a', [2, 3]);
    const b = g.input('b', [3]);
    const i = g.input('i', [4], 'int64');
    const c = g.input('c', [2, 1], 'bool');
    const outs = [a.less(b), a.greater(b), a.equal(b), b.less(a), a.greater(0), i.less(2), i.equal(1), c.equal(a.greater(b))];
    await check(g, outs, {
      a: f32Feed([2, 3], [1, 2, 3, -1, 0.5, 2]),
      b: f32Feed([3], [1, 0.5, 2]),
      i: hostArray([4], 'int64', [1, 2, 3, -4]),
      c: hostArray([2, 1], 'bool', [1, 0]),
    });
  });

  it('where with all three operands broadcast, float and int branches', async () => {
    const g = createGraph();
    const cond = g.input('cond', [2, 1, 4], 'bool');
    const a = g.input('a', [3, 1]);
    const b = g.input('b', [4]);
    const i = g.input('i', [3, 4], 'int64');
    const outs = [cond.where(a, b), cond.where(b, 0), cond.where(-1, a), a.greater(b).where(a, b), cond.where(i, 7)];
    await check(g, outs, {
      cond: data([2, 1, 4], 'bool'),
      a: data([3, 1], 'float32', -1, 1, 2),
      b: data([4], 'float32', -1, 1, 3),
      i: data([3, 4], 'int64', -9, 9),
    });
  });

  it('clamp: both, one and no bounds, min > max, int32/int64', async () => {
    const g = createGraph();
    const x = g.input('x', [4, 5]);
    const i = g.input('i', [6], 'int32');
    const l = g.input('l', [6], 'int64');
    const omitted = [g.apply('clamp', [x], { max: 0.3 }), g.apply('clamp', [x], {})]; // missing bound attrs read as null
    const outs = [
      x.clamp(-0.5, 0.5),
      x.clamp(0),
      x.clamp(null, -0.25),
      x.clamp(),
      x.clamp(0.5, -0.5),
      i.clamp(-2, 3),
      l.clamp(null, 0),
      ...omitted,
    ];
    await check(g, outs, { x: data([4, 5]), i: data([6], 'int32', -6, 6), l: data([6], 'int64', -6, 6, 2) });
  });
});

describe('extras: float16 on ORT CPU', () => {
  it('clamp (bounds are float32 constants cast to float16), sin, erf, abs', async () => {
    // The interpreter does not round to float16, ORT does: allow a few float16 ulps (2^-10 relative).
    const g = createGraph();
    const h = g.input('x', [4, 5]).cast('float16');
    const outs = [h.clamp(-0.5, 0.5), h.clamp(null, 0.25), h.sin(), h.erf(), h.abs()].map((v) => v.cast('float32'));
    await checkOrtMatchesInterp(g, outs, { x: data([4, 5]) }, { tol: { atol: 2e-3, rtol: 2e-3 } });
  });
});

describe('extras: gradients', () => {
  const spread = (shape: number[], seed = 1): HostArray => data(shape, 'float32', -2, 2, seed);
  /** Moves values at least `margin` away from each kink (FD must not straddle one). */
  const awayFrom = (a: HostArray, kinks: number[], margin = 0.05): HostArray =>
    hostArray(
      a.shape,
      a.dtype,
      Array.from(a.data, (v) => kinks.reduce((w, k) => (Math.abs(w - k) < margin ? k + (w < k ? -margin : margin) : w), v)),
    );

  for (const op of ['sin', 'cos', 'erf', 'abs'] as const) {
    it(`${op}: finite differences and ORT`, async () => {
      const g = createGraph();
      const x = g.input('x', [2, 4]);
      const c = { graph: g, output: g.apply(op, [x]), wrt: [x], feeds: { x: awayFrom(spread([2, 4]), [0]) } };
      gradcheck(c);
      await checkOrtGradients(c);
    });
  }

  for (const op of ['maximum', 'minimum'] as const) {
    it(`${op} with broadcasting (no ties): finite differences and ORT`, async () => {
      const g = createGraph();
      const a = g.input('a', [2, 3]);
      const b = g.input('b', [3]);
      const c = { graph: g, output: g.apply(op, [a, b]), wrt: [a, b], feeds: { a: spread([2, 3]), b: spread([3], 2) } };
      gradcheck(c);
      await checkOrtGradients(c);
    });
  }

  it('where: gradient flows to the selected branch, with broadcasting', async () => {
    const g = createGraph();
    const cond = g.input('cond', [2, 1], 'bool');
    const a = g.input('a', [2, 3]);
    const b = g.input('b', [3]);
    const feeds = { cond: hostArray([2, 1], 'bool', [1, 0]), a: spread([2, 3]), b: spread([3], 2) };
    const c = { graph: g, output: cond.where(a, b).mul(a), wrt: [a, b], feeds };
    gradcheck(c);
    await checkOrtGradients(c);
  });

  it('clamp away from its bounds: finite differences and ORT', async () => {
    const g = createGraph();
    const x = g.input('x', [3, 4]);
    const out = x.clamp(-0.5, 0.75).add(x.clamp(0.1)).add(x.clamp(null, -1));
    const c = { graph: g, output: out, wrt: [x], feeds: { x: awayFrom(spread([3, 4]), [-1, -0.5, 0.1, 0.75]) } };
    gradcheck(c);
    await checkOrtGradients(c);
  });

  it('kinks by hand: abs′(0) = 0, clamp passes at its bounds, maximum/minimum split ties', () => {
    const g = createGraph();
    const x = g.input('x', [4]);
    const y = g.input('y', [4]);
    const feeds = { x: f32Feed([4], [0, -2, 1, 3]), y: f32Feed([4], [0, 5, 1, -1]) };
    const grads = (out: Value, wrt: Value[]): number[][] => evaluate(g, grad(out.sum(), wrt), feeds).map((h) => [...h.data]);
    assert.deepEqual(grads(x.abs(), [x]), [[0, -1, 1, 1]]); // sign(x), 0 at 0
    // clamp(x, 0, 1): x = 0 and x = 1 sit on the bounds and pass (torch: min ≤ x ≤ max); −2 and 3 are cut
    assert.deepEqual(grads(x.clamp(0, 1), [x]), [[1, 0, 1, 0]]);
    // ties at positions 0 and 2 (x = y): half each; elsewhere all to the winner
    assert.deepEqual(grads(x.maximum(y), [x, y]), [
      [0.5, 0, 0.5, 1],
      [0.5, 1, 0.5, 0],
    ]);
    assert.deepEqual(grads(x.minimum(y), [x, y]), [
      [0.5, 1, 0.5, 0],
      [0.5, 0, 0.5, 1],
    ]);
  });
});
