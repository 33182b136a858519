/**
 * Fréchet distance between two feature sets, as FID computes it but over any features:
 *   ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}
 * (the last trace equals tr (Σ₁Σ₂)^{1/2}; the symmetric form keeps every matrix symmetric, so a Jacobi
 * eigendecomposition suffices and no complex square root can appear). Covariances are unbiased (n − 1), as
 * numpy's cov in the FID reference code. Everything is float64; tiny negative eigenvalues from rounding are
 * treated as 0.
 */
import { EvalError } from './errors.js';

export interface FeatureStatistics {
  readonly dim: number;
  readonly count: number;
  readonly mean: Float64Array;
  /** dim × dim, row-major. */
  readonly covariance: Float64Array;
}

/** Mean and unbiased covariance of `features` (each of the same length). */
export function featureStatistics(features: readonly ArrayLike<number>[], label = 'features'): FeatureStatistics {
  const count = features.length;
  if (count < 2) throw new EvalError(`${label}: the Fréchet distance needs at least 2 feature vectors, got ${count}`);
  const dim = features[0].length;
  const mean = new Float64Array(dim);
  for (const [i, f] of features.entries()) {
    if (f.length !== dim) throw new EvalError(`${label}: vector ${i} has ${f.length} values, the first has ${dim}`);
    for (let j = 0; j < dim; j++) mean[j] += f[j] / count;
  }
  const covariance = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (const f of features) {
    for (let j = 0; j < dim; j++) centred[j] = f[j] - mean[j];
    for (let a = 0; a < dim; a++) {
      const ca = centred[a];
      if (ca === 0) continue;
      for (let b = a; b < dim; b++) covariance[a * dim + b] += ca * centred[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = covariance[a * dim + b] / (count - 1);
      covariance[a * dim + b] = v;
      covariance[b * dim + a] = v;
    }
  }
  return { dim, count, mean, covariance };
}

/** Eigenvalues and eigenvectors (columns of `vectors`, row-major n×n) of a symmetric matrix, by cyclic Jacobi. */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  if (matrix.length !== n * n) throw new EvalError(`symmetricEigen: ${matrix.length} values for a ${n}×${n} matrix`);
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const scale = Math.max(1e-300, frobenius(a));
  for (let sweep = 0; sweep < 100; sweep++) {
    if (offDiagonal(a, n) <= 1e-15 * scale) break;
    for (let p = 0; p < n - 1; p++) for (let q = p + 1; q < n; q++) rotate(a, v, n, p, q);
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

function frobenius(a: Float64Array): number {
  let s = 0;
  for (const x of a) s += x * x;
  return Math.sqrt(s);
}

function offDiagonal(a: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) s += a[i * n + j] ** 2;
  return Math.sqrt(s);
}

/** One Jacobi rotation zeroing a[p][q] (Numerical Recipes' stable form); accumulates the rotation into v. */
function rotate(a: Float64Array, v: Float64Array, n: number, p: number, q: number): void {
  const apq = a[p * n + q];
  if (apq === 0) return;
  const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
  const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  for (let k = 0; k < n; k++) {
    const akp = a[k * n + p],
      akq = a[k * n + q];
    a[k * n + p] = c * akp - s * akq;
    a[k * n + q] = s * akp + c * akq;
  }
  for (let k = 0; k < n; k++) {
    const apk = a[p * n + k],
      aqk = a[q * n + k];
    a[p * n + k] = c * apk - s * aqk;
    a[q * n + k] = s * apk + c * aqk;
  }
  a[p * n + q] = a[q * n + p] = 0;
  for (let k = 0; k < n; k++) {
    const vkp = v[k * n + p],
      vkq = v[k * n + q];
    v[k * n + p] = c * vkp - s * vkq;
    v[k * n + q] = s * vkp + c * vkq;
  }
}

/** The symmetric positive semi-definite square root V·diag(√max(λ, 0))·Vᵀ. */
export function symmetricSqrt(matrix: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const root = Math.sqrt(Math.max(0, values[k]));
    if (root === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k] * root;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * vectors[j * n + k];
    }
  }
  return out;
}

function multiply(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  }
  return out;
}

/** Fréchet distance between two Gaussians given by their statistics. */
export function frechetDistanceFromStatistics(s1: FeatureStatistics, s2: FeatureStatistics): number {
  if (s1.dim !== s2.dim) throw new EvalError(`Fréchet distance: feature sizes differ (${s1.dim} and ${s2.dim})`);
  const n = s1.dim;
  let meanTerm = 0;
  let traces = 0;
  for (let i = 0; i < n; i++) {
    meanTerm += (s1.mean[i] - s2.mean[i]) ** 2;
    traces += s1.covariance[i * n + i] + s2.covariance[i * n + i];
  }
  const root1 = symmetricSqrt(s1.covariance, n);
  const product = multiply(multiply(root1, s2.covariance, n), root1, n);
  // Symmetrize away rounding so Jacobi sees an exactly symmetric matrix.
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) product[i * n + j] = product[j * n + i] = (product[i * n + j] + product[j * n + i]) / 2;
  let traceRoot = 0;
  for (const lambda of symmetricEigen(product, n).values) traceRoot += Math.sqrt(Math.max(0, lambda));
  return meanTerm + traces - 2 * traceRoot;
}

/** Fréchet distance between two feature sets. */
export function frechetDistance(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  return frechetDistanceFromStatistics(featureStatistics(a, 'first feature set'), featureStatistics(b, 'second feature set'));
}
