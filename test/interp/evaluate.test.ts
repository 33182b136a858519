import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostArray, InferError, type HostArray } from '../../src/ir/index.js';
import { allOps, createGraph, defineOp, makeRegistry } from '../../src/ops/index.js';
import { evaluate } from '../../src/interp/index.js';

function seq(n: number, scale: number, shift: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(i * scale + shift));
}

/** Direct TS computation: y = tanh(x @ w1 + b1) @ w2. */
function mlpDirect(x: number[], w1: number[], b1: number[], w2: number[], n: number, d: number, h: number, o: number): number[] {
  const hid = new Array<number>(n * h).fill(0);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < h; j++) {
      let s = b1[j];
      for (let k = 0; k < d; k++) s += x[i * d + k] * w1[k * h + j];
      hid[i * h + j] = Math.tanh(s);
    }
  const y = new Array<number>(n * o).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < o; j++) for (let k = 0; k < h; k++) y[i * o + j] += hid[i * h + k] * w2[k * o + j];
  return y;
}

describe('evaluate', () => {
  const [n, d, h, o] = [3, 4, 5, 2];
  const data = { x: seq(n * d, 0.7, 0), w1: seq(d * h, 0.3, 1), b1: seq(h, 1.1, 2), w2: seq(h * o, 0.5, 3) };

  function mlp() {
    const g = createGraph();
    const x = g.input('x', [n, d]);
    const w1 = g.param('w1', [d, h]);
    const b1 = g.param('b1', [h]);
    const w2 = g.param('w2', [h, o]);
    const y = x.matmul(w1).add(b1).tanh().matmul(w2);
    return { g, y };
  }
  const feeds = {
    x: hostArray([n, d], 'float32', data.x),
    w1: hostArray([d, h], 'float32', data.w1),
    b1: hostArray([h], 'float32', data.b1),
    w2: hostArray([h, o], 'float32', data.w2),
  };

  it('evaluates a 2-layer MLP equal to a direct computation', () => {
    const { g, y } = mlp();
    const [out] = evaluate(g, [y], feeds);
    assert.deepEqual([...out.shape], [n, o]);
    const expected = mlpDirect(data.x, data.w1, data.b1, data.w2, n, d, h, o);
    expected.forEach((e, i) => assert.ok(Math.abs(out.data[i] - e) < 1e-12, `y[${i}] ${out.data[i]} != ${e}`));
  });

  it('accepts a Map of feeds and returns several outputs', () => {
    const { g, y } = mlp();
    const s = y.sum();
    const [a, b] = evaluate(g, [y, s], new Map(Object.entries(feeds)));
    const total = a.data.reduce((p, q) => p + q, 0);
    assert.ok(Math.abs(b.data[0] - total) < 1e-12);
  });

  it('executes only what the outputs need', () => {
    let calls = 0;
    const spy = defineOp({
      name: 'spy',
      infer: (inputs) => {
        if (inputs.length !== 1) throw new InferError('one operand');
        return [inputs[0]];
      },
      evaluate: ([x]: readonly HostArray[]) => {
        calls++;
        return [x];
      },
    });
    const ops = makeRegistry([...allOps, spy]);
    const g = createGraph(ops);
    const x = g.input('x', [2]);
    const unused = g.input('unused', [2]);
    const used = g.apply('spy', [x]).mul(2);
    g.apply('spy', [unused.add(x)]); // dead branch: needs a feed we do not give
    const [out] = evaluate(g, [used], { x: hostArray([2], 'float32', [1, 2]) }, { ops });
    assert.deepEqual([...out.data], [2, 4]);
    assert.equal(calls, 1);
  });

  it('reports missing and mismatched feeds', () => {
    const { g, y } = mlp();
    assert.throws(
      () => evaluate(g, [y], { x: feeds.x, w1: feeds.w1 }),
      /missing feeds for .*param "w2" float32\[5,2\].*param "b1" float32\[5\]|missing feeds for .*param "b1".*param "w2"/,
    );
    assert.throws(
      () => evaluate(g, [y], { ...feeds, x: hostArray([1, d], 'float32', data.x.slice(0, d)) }),
      /feed "x" is float32\[1,4\], expected %0 input "x" float32\[3,4\]/,
    );
    assert.throws(() => evaluate(g, [y], { ...feeds, typo: feeds.x }), /feed "typo" matches no input or parameter/);
    assert.throws(() => evaluate(g, [createGraph().scalar(1)], feeds), /belongs to another graph/);
  });

  it('evaluates constants, int ops and casts without feeds', () => {
    const g = createGraph();
    const c = g.constant(hostArray([2, 2], 'int64', [1, 2, 3, 4]));
    const y = c.transpose().reshape([-1]).mul(3).cast('float32').div(2);
    const [out] = evaluate(g, [y], {});
    assert.equal(out.dtype, 'float32');
    assert.deepEqual([...out.data], [1.5, 4.5, 3, 6]); // [1,3,2,4]*3/2
  });
});
