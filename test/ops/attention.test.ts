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
  const feeds = {
    q: data([b, sq, width], 'float32', -2, 2, 1),
    k: data([b, sk, width], 'float32', -2, 2, 2),
    v: data([b, sk, vWidth], 'float32', -1, 1, 3),
  };
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

  test('causal hand case: query 0 sees only key 0, query 1 sees keys 0 and 1', () => {
    // q=k=[[1,0],[0,1]], v=[3,5], scale 1: query 0 → v₀ = 3 (key 1 masked); query 1 scores [0, 1]:
    // p₁ = e/(1+e), out = 3·(1−p₁) + 5·p₁
    const { g, q, k, v } = qkv(1, 2, 2, 2, 1);
    const out = evaluate(g, [attention(q, k, v, { heads: 1, scale: 1, causal: true })], {
      q: hostArray([1, 2, 2], 'float32', [1, 0, 0, 1]),
      k: hostArray([1, 2, 2], 'float32', [1, 0, 0, 1]),
      v: hostArray([1, 2, 1], 'float32', [3, 5]),
    })[0];
    const p1 = Math.E / (1 + Math.E);
    assertAllClose(out.data, [3, 3 * (1 - p1) + 5 * p1], { atol: 1e-14 }, 'out');
  });

  test('causal: decomposition (additive finfo.min mask) equals the reference kernel, and the mask matters', () => {
    const { g, q, k, v, feeds } = qkv(2, 6, 6, 12, 8);
    const fused = attention(q, k, v, { heads: 4, causal: true });
    const [dec] = registry.get('attention')!.decompose!([q, k, v], { heads: 4, scale: null, causal: true });
    const [a, b, full] = evaluate(g, [fused, dec, attention(q, k, v, { heads: 4 })], feeds);
    assertAllClose(a.data, b.data, { atol: 1e-12 }, 'decompose');
    // The last query sees every key, so only its row is unchanged by the mask.
    const row = 6 * 8;
    assertAllClose(a.data.slice(5 * 8, row), full.data.slice(5 * 8, row), { atol: 1e-12 }, 'last query');
    assert.ok(Math.abs(a.data[0] - full.data[0]) > 1e-3, 'the first query must differ from unmasked attention');
  });

  test('causal: ORT MultiHeadAttention (unidirectional) matches the interpreter, CLIP shape included', async () => {
    for (const [b, s, width, heads] of [
      [2, 5, 12, 3],
      [2, 77, 32, 4],
    ]) {
      const c = qkv(b, s, s, width);
      await checkOrtMatchesInterp(c.g, [attention(c.q, c.k, c.v, { heads, causal: true })], c.feeds);
    }
  });

  test('causal: gradients through the decomposition, finite differences and ORT', async () => {
    const { g, q, k, v, feeds } = qkv(2, 4, 4, 6);
    const c = { graph: g, output: attention(q, k, v, { heads: 2, causal: true }), wrt: [q, k, v], feeds };
    gradcheck(c);
    await checkOrtGradients(c);
  });

  test('causal errors: non-square attention, non-boolean attribute', () => {
    const { g, q, k, v } = qkv(1, 3, 4, 6);
    assert.throws(() => attention(q, k, v, { heads: 2, causal: true }), /'causal' needs as many queries as keys, got 3 queries and 4 keys/);
    const k3 = g.input('k3', [1, 3, 6]);
    assert.throws(
      () => g.apply('attention', [q, k3, g.input('v3', [1, 3, 6])], { heads: 2, scale: null, causal: 1 }),
      /'causal' must be a boolean, got 1/,
    );
  });

  test('shape errors name the operand', () => {
    const { q, k, v } = qkv(1, 3, 4, 6);
    assert.throws(() => attention(q, k, v, { heads: 4 }), /last dim 6 is not divisible by heads=4/);
    const g = q.graph;
    assert.throws(() => attention(q, g.input('k2', [1, 4, 8]), v, { heads: 2 }), /key width 8 differs from query width 6/);
    assert.throws(() => attention(q, k, g.input('v2', [1, 5, 6]), { heads: 2 }), /value has 5 tokens, key has 4/);
  });
});
