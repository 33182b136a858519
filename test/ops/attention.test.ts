import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluate } from '../../src/interp/index.js';
import { hostArray } from '../../src/ir/index.js';
import { attention, createGraph, registry } from '../../src/ops/index.js';
import { assertAllClose } from '../helpers/assert-close.js';
import { checkOrtGradients, gradcheck } from '../helpers/gradcheck.js';
import { checkOrtMatchesInterp, data } from '../helpers/ort-check.js';

function qkv(b: number, sq: number, sk: number, width: number, vWidth = width) {
  const g = createGraph();
  const q = g.input('q', [b, sq, width]);
  const k = g.input('k', [b, sk, width]);
  const v = g.input('v', [b, sk, vWidth]);
  const feeds = { q: data([b, sq, width], 'float32', -2, 2, 1), k: data([b, sk, width], 'float32', -2, 2, 2), v: data([b, sk, vWidth], 'float32', -1, 1, 3) };
  return { g, q, k, v, feeds };
}

describe('attention', () => {
  test('hand case: one head, two keys', () => {
    // q=[1,0], k=[[1,0],[0,1]], scale 1/√2: scores [1/√2, 0]; p₀ = 1/(1+e^(−1/√2)); out = p₀·v₀ + (1−p₀)·v₁
    const { g, q, k, v } = qkv(1, 1, 2, 2, 1);
    const out = evaluate(g, [attention(q, k, v, { heads: 1 })], {
      q: hostArray([1, 1, 2], 'float32', [1, 0]),
      k: hostArray([1, 2, 2], 'float32', [1, 0, 0, 1]),
      v: hostArray([1, 2, 1], 'float32', [3, 5]),
    })[0];
    const p0 = 1 / (1 + Math.exp(-1 / Math.SQRT2));
    assertAllClose(out.data, [3 * p0 + 5 * (1 - p0)], { atol: 1e-14 }, 'out');
  });

  test('decomposition equals the reference kernel (several heads, cross-attention, value width ≠ key width)', () => {
    const { g, q, k, v, feeds } = qkv(2, 5, 7, 12, 8);
    const fused = attention(q, k, v, { heads: 4, scale: 0.3 });
    const [dec] = registry.get('attention')!.decompose!([q, k, v], { heads: 4, scale: 0.3 });
    const [a, b] = evaluate(g, [fused, dec], feeds);
    assertAllClose(a.data, b.data, { atol: 1e-12 }, 'decompose');
  });

  test('ORT MultiHeadAttention matches the interpreter (self and cross attention)', async () => {
    const self = qkv(2, 16, 16, 32);
    await checkOrtMatchesInterp(self.g, [attention(self.q, self.k, self.v, { heads: 8 })], self.feeds);
    const cross = qkv(2, 16, 7, 32);
    await checkOrtMatchesInterp(cross.g, [attention(cross.q, cross.k, cross.v, { heads: 2, scale: 0.5 })], cross.feeds);
  });

  test('gradients through the decomposition: finite differences and ORT', async () => {
    const { g, q, k, v, feeds } = qkv(2, 3, 4, 6);
    const c = { graph: g, output: attention(q, k, v, { heads: 2 }), wrt: [q, k, v], feeds };
    gradcheck(c);
    await checkOrtGradients(c);
  });

  test('shape errors name the operand', () => {
    const { q, k, v } = qkv(1, 3, 4, 6);
    assert.throws(() => attention(q, k, v, { heads: 4 }), /last dim 6 is not divisible by heads=4/);
    const g = q.graph;
    assert.throws(() => attention(q, g.input('k2', [1, 4, 8]), v, { heads: 2 }), /key width 8 differs from query width 6/);
    assert.throws(() => attention(q, k, g.input('v2', [1, 5, 6]), { heads: 2 }), /value has 5 tokens, key has 4/);
  });
});
