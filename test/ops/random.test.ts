import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { grad } from '../../src/autodiff/index.js';
import { evaluate } from '../../src/interp/index.js';
import type { Graph, Value } from '../../src/ir/index.js';
import { emitModel } from '../../src/onnx/emit.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { createGraph, randomNormal, randomNormalLike } from '../../src/ops/index.js';
import { float16ToFloat32 } from '../../src/runtime/float16.js';
import { createSession, type Session } from '../../src/runtime/session.js';
import type { HostTensor } from '../../src/runtime/tensors.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';
import { assertAllClose } from '../helpers/assert-close.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { data, toHost } from '../helpers/ort-check.js';

const N = 65536;

/** Opens an ORT CPU session for `outputs`; feeds are given per run. */
async function ortSession(g: Graph, outputs: Value[]): Promise<{ session: Session; names: string[] }> {
  const { model, outputNames } = emitModel(g, outputs);
  return { session: await createSession(encodeModel(model), { graphOptimizationLevel: 'all' }), names: outputNames };
}

const floats = (t: HostTensor): number[] =>
  Array.from(t.dtype === 'float16' ? float16ToFloat32(t.data as Uint16Array) : (t.data as Float32Array));

/**
 * Sample mean, std and share within one std of the mean must match N(mean, scale²) to 5 standard errors
 * (σ/√n for the mean, ≈ σ/√(2n) for the std, √(p(1−p)/n) for the 68.27% share).
 */
function assertNormal(v: readonly number[], mean: number, scale: number, label: string): void {
  const n = v.length;
  const m = v.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1));
  const within = v.filter((x) => Math.abs(x - mean) < scale).length / n;
  assert.ok(Math.abs(m - mean) < (5 * scale) / Math.sqrt(n), `${label}: mean ${m}, expected ${mean}`);
  assert.ok(Math.abs(sd - scale) < (5 * scale) / Math.sqrt(2 * n), `${label}: std ${sd}, expected ${scale}`);
  assert.ok(Math.abs(within - 0.6827) < 5 * Math.sqrt((0.6827 * 0.3173) / n), `${label}: ${within} within 1σ, expected 0.6827`);
}

describe('random_normal: reference kernel (torch.randn stream)', () => {
  it('is torch.randn(shape, generator=manual_seed(seed)) · scale + mean', () => {
    // torch.manual_seed(0); torch.randn(3) → [1.5410, -0.2934, -2.1788]
    const g = createGraph();
    const [z] = evaluate(g, [randomNormal(g, [3], { seed: 0 })], {});
    assertAllClose(z.data, [1.541, -0.2934, -2.1788], { atol: 1e-4 }, 'randn(3), seed 0');
    const [y] = evaluate(g, [randomNormal(g, [2, 40], { seed: 7, mean: 3, scale: 0.5 })], {});
    const expected = Array.from(new TorchGenerator(7).randn([2, 40]), (v) => v * 0.5 + 3);
    assertAllClose(y.data, expected, { atol: 1e-12 }, 'scaled');
  });

  it('same seed repeats, different seeds differ, float16 has the same values', () => {
    const g = createGraph();
    const outs = [
      randomNormal(g, [64], { seed: 1 }),
      randomNormal(g, [64], { seed: 1 }),
      randomNormal(g, [64], { seed: 2 }),
      randomNormal(g, [64], { seed: 1 }, 'float16'),
    ];
    const [a, b, c, h] = evaluate(g, outs, {});
    assert.deepEqual([...a.data], [...b.data]);
    assert.notDeepEqual([...a.data], [...c.data]);
    assert.equal(h.dtype, 'float16');
    assert.deepEqual([...h.data], [...a.data]);
  });

  it('is normally distributed', () => {
    const g = createGraph();
    const [z] = evaluate(g, [randomNormal(g, [N], { seed: 3, mean: -1, scale: 2 })], {});
    assertNormal([...z.data], -1, 2, 'interpreter');
  });
});

describe('random_normal: inference errors', () => {
  it('names the bad attribute', () => {
    const g = createGraph();
    assert.throws(
      () => randomNormal(g, [2, -1], { seed: 0 }),
      /random_normal: attribute 'shape' must be an array of non-negative integers, got \[2,-1\]/,
    );
    assert.throws(
      () => randomNormal(g, [2], { seed: 0 }, 'int64'),
      /random_normal: attribute 'dtype' must be float32 or float16, got "int64"/,
    );
    assert.throws(() => randomNormal(g, [2], { seed: 0.5 }), /random_normal: attribute 'seed' must be an integer in \[0, 2\^24\], got 0.5/);
    assert.throws(() => randomNormal(g, [2], { seed: 2 ** 25 }), /attribute 'seed' must be an integer/);
    assert.throws(
      () => g.apply('random_normal', [], { shape: [2], dtype: 'float32', mean: 0, scale: 1 }),
      /attribute 'seed' must be an integer in \[0, 2\^24\], got undefined/,
    );
    assert.throws(
      () => randomNormal(g, [2], { seed: 1, scale: Infinity }),
      /random_normal: attribute 'scale' must be a finite number, got Infinity/,
    );
    assert.throws(() => randomNormal(g, [2], { seed: 1, mean: NaN }), /attribute 'mean' must be a finite number, got NaN/);
    assert.throws(
      () => g.apply('random_normal', [g.input('x', [2])], { shape: [2], dtype: 'float32', mean: 0, scale: 1, seed: 0 }),
      /expected 0 operand\(s\), got 1/,
    );
    assert.throws(
      () => randomNormalLike(g.input('i', [2], 'int32'), { seed: 0 }),
      /random_normal_like: operand 0 must be float32\/float16, got int32/,
    );
  });
});

describe('random_normal: ORT RandomNormal (statistics only: ORT has its own engine)', () => {
  it('shape, dtype and N(mean, scale²) statistics over 65536 samples, float32 and float16', async () => {
    const g = createGraph();
    const outs = [randomNormal(g, [16, 64, 64], { seed: 11, mean: 0.5, scale: 2 }), randomNormal(g, [N], { seed: 12 }, 'float16')];
    const { session, names } = await ortSession(g, outs);
    try {
      const got = await session.run({});
      assert.deepEqual(got[names[0]].dims, [16, 64, 64]);
      assert.equal(got[names[0]].dtype, 'float32');
      assertNormal(floats(got[names[0]]), 0.5, 2, 'ORT float32');
      assert.equal(got[names[1]].dtype, 'float16');
      assertNormal(floats(got[names[1]]), 0, 1, 'ORT float16');
    } finally {
      await session.release();
    }
  });

  it('scalar and empty shapes, and a float16 random_normal_like', async () => {
    const g = createGraph();
    const h = g.input('h', [3, 5], 'float16');
    const outs = [randomNormal(g, [], { seed: 1 }), randomNormal(g, [0, 3], { seed: 1 }), randomNormalLike(h, { seed: 2 })];
    const { session, names } = await ortSession(g, outs);
    try {
      const got = await session.run({ h: { dtype: 'float16', dims: [3, 5], data: new Uint16Array(15) } });
      assert.deepEqual(
        names.map((n) => [got[n].dims, got[n].dtype]),
        [
          [[], 'float32'],
          [[0, 3], 'float32'],
          [[3, 5], 'float16'],
        ],
      );
      assert.ok(floats(got[names[2]]).every(Number.isFinite));
    } finally {
      await session.release();
    }
  });

  it('a seed repeats across sessions, seeds differ, and each run of one session draws fresh samples', async () => {
    const g = createGraph();
    const outs = [randomNormal(g, [256], { seed: 5 }), randomNormal(g, [256], { seed: 6 })];
    const first = await ortSession(g, outs);
    const second = await ortSession(g, outs);
    try {
      const run1 = await first.session.run({});
      const run2 = await first.session.run({});
      const other = await second.session.run({});
      const [a, b] = first.names.map((n) => floats(run1[n]));
      assert.deepEqual(floats(other[second.names[0]]), a, 'same seed, new session');
      assert.notDeepEqual(a, b, 'different seeds');
      assert.notDeepEqual(floats(run2[first.names[0]]), a, 'second run of a session');
    } finally {
      await first.session.release();
      await second.session.release();
    }
  });

  it('random_normal_like takes the shape and dtype of its input', async () => {
    const g = createGraph();
    const x = g.input('x', [4, 128, 128]);
    const noise = randomNormalLike(x, { seed: 9, mean: -2, scale: 0.25 });
    assert.deepEqual([noise.shape, noise.dtype], [[4, 128, 128], 'float32']);
    const { session, names } = await ortSession(g, [noise]);
    try {
      const got = await session.run({ x: toHost(data([4, 128, 128])) });
      assert.deepEqual(got[names[0]].dims, [4, 128, 128]);
      assertNormal(floats(got[names[0]]), -2, 0.25, 'ORT like');
    } finally {
      await session.release();
    }
  });
});

describe('random_normal_like: gradients', () => {
  it('its input gets none; other uses of the input still do (d/dx sum(x·ε) = ε)', () => {
    const g = createGraph();
    const x = g.input('x', [3, 4]);
    const eps = randomNormalLike(x, { seed: 4 });
    const feeds = { x: data([3, 4]) };
    const [dx, e] = evaluate(g, [...grad(x.mul(eps).sum(), [x]), eps], feeds);
    assert.deepEqual([...dx.data], [...e.data]);
    gradcheck({ graph: g, output: x.mul(eps).tanh(), wrt: [x], feeds });
  });
});
