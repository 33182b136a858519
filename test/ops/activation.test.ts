import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertArray, f32, run } from './op-harness.js';
import { evaluate } from '../../src/interp/index.js';
import type { Attrs } from '../../src/ir/index.js';
import { emitModel } from '../../src/onnx/emit.js';
import { createGraph, registry } from '../../src/ops/index.js';
import { assertAllClose } from '../helpers/assert-close.js';
import { checkOrtGradients, gradcheck } from '../helpers/gradcheck.js';
import { checkOrtMatchesInterp, data } from '../helpers/ort-check.js';

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const cases: { op: string; attrs: Attrs }[] = [
  { op: 'silu', attrs: {} },
  { op: 'gelu', attrs: { approximate: 'none' } },
  { op: 'gelu', attrs: { approximate: 'tanh' } },
  { op: 'quick_gelu', attrs: {} },
];
const label = ({ op, attrs }: { op: string; attrs: Attrs }): string => (attrs.approximate ? `${op}(${attrs.approximate})` : op);

describe('activations: reference kernels', () => {
  it('silu(x) = x·sigmoid(x)', () => {
    // silu(1) = 1/(1+e^−1) = 0.7310585786300049; silu(−1) = −1/(1+e) = −0.2689414213699951
    const out = run('silu', [f32([3], [-1, 0, 1])]);
    assertArray(out, [3], [-0.2689414213699951, 0, 0.7310585786300049]);
  });

  it('exact gelu(x) = x·Φ(x)', () => {
    // Φ(1) = 0.8413447460685429, Φ(2) = 0.9772498680518208, Φ(−1) = 1 − Φ(1)
    const out = run('gelu', [f32([4], [-1, 0, 1, 2])], { approximate: 'none' });
    assertArray(out, [4], [-0.15865525393145707, 0, 0.8413447460685429, 1.9544997361036416]);
    assertArray(run('gelu', [f32([1], [1])]), [1], [0.8413447460685429]); // approximate defaults to 'none'
  });

  it('tanh gelu(x) = 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))), within 1e-3 of the exact one', () => {
    // x = 1: inner = 0.7978845608028654 · 1.044715 = 0.8335623...; 0.5·(1 + tanh(inner))
    const inner = 0.7978845608028654 * 1.044715;
    assertArray(run('gelu', [f32([2], [0, 1])], { approximate: 'tanh' }), [2], [0, 0.5 * (1 + Math.tanh(inner))]);
    const grid = f32(
      [81],
      Array.from({ length: 81 }, (_, i) => -8 + i / 5),
    );
    const exact = run('gelu', [grid], { approximate: 'none' });
    assertAllClose(run('gelu', [grid], { approximate: 'tanh' }).data, exact.data, { atol: 1e-3 }, 'tanh vs erf gelu');
  });

  it('quick_gelu(x) = x·sigmoid(1.702x)', () => {
    // quick_gelu(1) = 1/(1+e^−1.702); quick_gelu(−2) = −2/(1+e^3.404)
    assertArray(run('quick_gelu', [f32([3], [-2, 0, 1])]), [3], [-2 * sigmoid(-3.404), 0, sigmoid(1.702)]);
  });
});

describe('activations: decomposition into primitives matches the kernel', () => {
  for (const c of cases) {
    it(label(c), () => {
      const g = createGraph();
      const x = g.input('x', [4, 25]);
      const [decomposed] = registry.get(c.op)!.decompose!([x], c.attrs);
      const fused = g.apply(c.op, [x], c.attrs);
      const feeds = { x: data([4, 25], 'float32', -8, 8) };
      const [a, b] = evaluate(g, [decomposed, fused], feeds);
      assertAllClose(a.data, b.data, { atol: 1e-10, rtol: 1e-10 }, label(c));
    });
  }
});

describe('activations: inference errors', () => {
  it('float inputs only; approximate must be none or tanh', () => {
    const g = createGraph();
    const i = g.input('i', [2], 'int32');
    assert.throws(() => i.silu(), /silu: operand 0 must be float32\/float16, got int32/);
    assert.throws(() => i.quickGelu(), /quick_gelu: operand 0 must be float32\/float16, got int32/);
    const x = g.input('x', [2]);
    assert.throws(() => x.gelu('fast' as never), /gelu: attribute 'approximate' must be 'none' or 'tanh', got "fast"/);
    assert.throws(() => i.gelu(), /gelu: operand 0 must be float32\/float16/);
  });
});

describe('activations: ONNX lowering', () => {
  it('silu → Sigmoid+Mul (ORT fuses it), gelu → com.microsoft Gelu/FastGelu, quick_gelu → QuickGelu(alpha 1.702)', () => {
    const g = createGraph();
    const x = g.input('x', [2]);
    const { model } = emitModel(g, [x.silu(), x.gelu(), x.gelu('tanh'), x.quickGelu()]);
    const ops = model.graph.nodes.map((n) => `${n.domain ?? ''}:${n.opType}`);
    assert.deepEqual(ops, [':Sigmoid', ':Mul', 'com.microsoft:Gelu', 'com.microsoft:FastGelu', 'com.microsoft:QuickGelu']);
    assert.deepEqual(model.graph.nodes[4].attributes?.alpha, { kind: 'float', value: 1.702 });
  });

  it('ORT CPU matches the interpreter on [2,8,16,16] over [−8, 8]', async () => {
    // Measured worst |ORT − float64| over [−10, 10]: gelu 4.5e-7, tanh gelu 7e-7, quick_gelu 1.2e-6, silu 1.4e-6.
    const g = createGraph();
    const x = g.input('x', [2, 8, 16, 16]);
    const outs = cases.map((c) => g.apply(c.op, [x], c.attrs));
    await checkOrtMatchesInterp(g, outs, { x: data([2, 8, 16, 16], 'float32', -8, 8) });
  });
});

describe('activations: float16 on ORT CPU', () => {
  it('every activation runs in float16', async () => {
    // The interpreter does not round to float16, ORT does: allow a few float16 ulps (2^-10 relative).
    const g = createGraph();
    const h = g.input('x', [4, 16]).cast('float16');
    const outs = cases.map((c) => g.apply(c.op, [h], c.attrs).cast('float32'));
    await checkOrtMatchesInterp(g, outs, { x: data([4, 16], 'float32', -4, 4) }, { tol: { atol: 4e-3, rtol: 4e-3 } });
  });
});

describe('activations: gradients through the decomposition', () => {
  for (const c of cases) {
    it(`${label(c)}: finite differences and ORT`, async () => {
      const g = createGraph();
      const x = g.input('x', [3, 4]);
      const gc = { graph: g, output: g.apply(c.op, [x], c.attrs), wrt: [x], feeds: { x: data([3, 4], 'float32', -3, 3) } };
      gradcheck(gc);
      await checkOrtGradients(gc);
    });
  }
});
