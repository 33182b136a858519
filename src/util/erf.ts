/**
 * The error function in float64, accurate to a few ulps (the reference kernel for the `erf` op and GELU).
 *
 * - |x| < 3: erf(x) = 2/√π · e^(−x²) · Σₙ 2ⁿ x^(2n+1) / (1·3·5···(2n+1)). Every term is positive, so
 *   unlike the plain Taylor series there is no cancellation; terms shrink once n > x² (≤ ~60 terms).
 * - |x| ≥ 3: erf(x) = 1 − erfc(x) with erfc from its continued fraction
 *   erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated by modified Lentz.
 *   There erfc(x) < 2.3e-5, so its relative error barely touches erf.
 */
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const SERIES_LIMIT = 3;
const EPS = 1e-17;

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  const y = ax < SERIES_LIMIT ? erfSeries(ax) : 1 - erfcContinuedFraction(ax);
  return x < 0 ? -y : y;
}

/** erf(x) for 0 ≤ x < 3. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 0; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 3);
    sum += term;
    if (term < EPS * sum) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** erfc(x) for x ≥ 3 (x = +∞ gives 0). */
function erfcContinuedFraction(x: number): number {
  if (x === Infinity) return 0;
  // f = x + a₁/(x + a₂/(x + ...)) with aₖ = k/2.
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}
