// The Fréchet distance against closed forms: identical sets, commuting covariances (diagonal and a shared
// rotation), the 2×2 identity tr√M = √(tr M + 2√det M), and the statistics themselves by hand.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EvalError } from '../../src/eval/errors.js';
import {
  featureStatistics,
  frechetDistance,
  frechetDistanceFromStatistics,
  symmetricEigen,
  type FeatureStatistics,
} from '../../src/eval/frechet.js';
import { prng } from '../helpers/prng.js';

function randomFeatures(count: number, dim: number, seed: number, shift = 0): Float32Array[] {
  const rand = prng(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: dim }, (_, j) => (rand() - 0.5) * (1 + j) + shift));
}

function stats(mean: number[], covariance: number[][]): FeatureStatistics {
  return { dim: mean.length, count: 10, mean: Float64Array.from(mean), covariance: Float64Array.from(covariance.flat()) };
}

/** A random orthogonal matrix (Gram–Schmidt of a seeded random matrix), row-major. */
function randomRotation(n: number, seed: number): number[][] {
  const rand = prng(seed);
  const q: number[][] = [];
  for (let i = 0; i < n; i++) {
    let v = Array.from({ length: n }, () => rand() - 0.5);
    for (const u of q) {
      const d = v.reduce((s, x, k) => s + x * u[k], 0);
      v = v.map((x, k) => x - d * u[k]);
    }
    const norm = Math.hypot(...v);
    q.push(v.map((x) => x / norm));
  }
  return q;
}

/** Q·diag(d)·Qᵀ. */
function rotated(q: number[][], d: number[]): number[][] {
  const n = d.length;
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => d.reduce((s, dk, k) => s + q[k][i] * dk * q[k][j], 0)));
}

describe('Fréchet distance', () => {
  test('a set against itself is 0', () => {
    const a = randomFeatures(60, 12, 1);
    assert.ok(Math.abs(frechetDistance(a, a)) < 1e-9, String(frechetDistance(a, a)));
  });

  test('diagonal covariances: ‖Δμ‖² + Σ(√a − √b)²', () => {
    const a = [4, 1, 0.25, 9];
    const b = [1, 1, 1, 16];
    const s1 = stats(
      [0, 1, 2, 3],
      a.map((v, i) => a.map((_, j) => (i === j ? v : 0))),
    );
    const s2 = stats(
      [1, 1, 0, 3],
      b.map((v, i) => b.map((_, j) => (i === j ? v : 0))),
    );
    const expected = 1 + 0 + 4 + 0 + a.reduce((s, v, i) => s + (Math.sqrt(v) - Math.sqrt(b[i])) ** 2, 0);
    assert.ok(Math.abs(frechetDistanceFromStatistics(s1, s2) - expected) < 1e-10);
  });

  test('covariances sharing a random rotation give the same closed form (exercises the eigensolver)', () => {
    const q = randomRotation(7, 3);
    const a = [5, 3, 2, 1, 0.5, 0.1, 0];
    const b = [1, 4, 2, 0.3, 2, 0.2, 1];
    const s1 = stats(Array(7).fill(0), rotated(q, a));
    const s2 = stats(Array(7).fill(0), rotated(q, b));
    const expected = a.reduce((s, v, i) => s + (Math.sqrt(v) - Math.sqrt(b[i])) ** 2, 0);
    assert.ok(Math.abs(frechetDistanceFromStatistics(s1, s2) - expected) < 1e-9, `${frechetDistanceFromStatistics(s1, s2)} vs ${expected}`);
  });

  test('2×2 non-commuting covariances: tr√(Σ₁^½Σ₂Σ₁^½) = √(tr Σ₁Σ₂ + 2√(det Σ₁ det Σ₂))', () => {
    const c1 = [
      [2, 0.7],
      [0.7, 1],
    ];
    const c2 = [
      [1, -0.4],
      [-0.4, 3],
    ];
    const trProduct = c1[0][0] * c2[0][0] + c1[0][1] * c2[1][0] + c1[1][0] * c2[0][1] + c1[1][1] * c2[1][1];
    const det = (m: number[][]) => m[0][0] * m[1][1] - m[0][1] * m[1][0];
    const trRoot = Math.sqrt(trProduct + 2 * Math.sqrt(det(c1) * det(c2)));
    const expected = (1 - 0) ** 2 + (2 - 0) ** 2 + 2 + 1 + 1 + 3 - 2 * trRoot;
    const got = frechetDistanceFromStatistics(stats([1, 2], c1), stats([0, 0], c2));
    assert.ok(Math.abs(got - expected) < 1e-12, `${got} vs ${expected}`);
  });

  test('statistics by hand: mean and unbiased covariance of three 2-d vectors', () => {
    const s = featureStatistics([
      [1, 2],
      [3, 2],
      [5, 8],
    ]);
    assert.deepEqual([...s.mean], [3, 4]);
    // Centred: (−2,−2), (0,−2), (2,4); sums of products / (3 − 1).
    assert.deepEqual([...s.covariance], [4, 6, 6, 12]);
  });

  test('distance grows with a mean shift by exactly ‖shift‖² (covariances equal)', () => {
    const a = randomFeatures(40, 5, 7);
    const b = a.map((f) => f.map((x) => x + 0.5));
    assert.ok(Math.abs(frechetDistance(a, b) - 5 * 0.25) < 1e-6);
  });

  test('eigendecomposition reconstructs a random symmetric matrix', () => {
    const n = 9;
    const rand = prng(11);
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) m[i * n + j] = m[j * n + i] = rand() - 0.5;
    const { values, vectors } = symmetricEigen(m, n);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let v = 0;
        for (let k = 0; k < n; k++) v += vectors[i * n + k] * values[k] * vectors[j * n + k];
        worst = Math.max(worst, Math.abs(v - m[i * n + j]));
      }
    }
    assert.ok(worst < 1e-12, `max reconstruction error ${worst}`);
  });

  test('too few vectors or unequal sizes are errors naming the problem', () => {
    assert.throws(
      () =>
        frechetDistance(
          [[1, 2]],
          [
            [1, 2],
            [3, 4],
          ],
        ),
      (e: Error) => e instanceof EvalError && /at least 2/.test(e.message),
    );
    assert.throws(() => featureStatistics([[1, 2], [3]]), /vector 1 has 1 values/);
    assert.throws(
      () =>
        frechetDistance(
          [[1], [2]],
          [
            [1, 2],
            [3, 4],
          ],
        ),
      /feature sizes differ/,
    );
  });
});
