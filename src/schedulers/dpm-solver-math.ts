// DPM-Solver++ (data-prediction) updates in σ-space, as coefficient sets. Shared by the multistep and
// singlestep DPM-Solver++ schedulers and by TDD, which runs the first/second-order singlestep update
// towards its own target sigma.
import { levelFromSigma } from './prediction.js';

export type SolverType = 'midpoint' | 'heun';

/** First order: x_t = (σ_t/σ_s)·x_s − α_t(e^{−h} − 1)·x0. Coefficients of (sample, x0). */
export function dpmFirstOrder(sigmaFrom: number, sigmaTo: number): { sample: number; x0: number } {
  const s = levelFromSigma(sigmaFrom);
  const t = levelFromSigma(sigmaTo);
  const h = t.lambda - s.lambda;
  // σ_to = 0 gives λ = +∞, e^{−h} = 0 and x_t = x0, which plain float arithmetic reproduces.
  return { sample: t.sigmaT / s.sigmaT, x0: -t.alpha * Math.expm1(-h) };
}

/**
 * Second order from two data predictions: `current` (x0 at σ_cur) and `previous` (x0 at σ_prev).
 * - multistep: the sample sits at σ_cur and D0 = current;
 * - singlestep: the sample sits at σ_prev (the start of the pair) and D0 = previous.
 * Coefficients of (sample, current, previous).
 */
export function dpmSecondOrder(
  variant: 'multistep' | 'singlestep',
  solverType: SolverType,
  sigmaPrev: number,
  sigmaCur: number,
  sigmaTo: number,
): { sample: number; current: number; previous: number } {
  const p = levelFromSigma(sigmaPrev);
  const c = levelFromSigma(sigmaCur);
  const t = levelFromSigma(sigmaTo);
  const start = variant === 'multistep' ? c : p;
  const h = t.lambda - start.lambda;
  const r0 = (c.lambda - p.lambda) / h;
  // D1 = (current − previous)/r0 in both variants.
  // x_t = (σ_t/σ_start)·sample + A·D0 + B·D1
  const A = -t.alpha * Math.expm1(-h);
  const B = solverType === 'midpoint' ? 0.5 * A : t.alpha * (Math.expm1(-h) / h + 1);
  const d1 = B / r0;
  const base = { sample: t.sigmaT / start.sigmaT, current: d1, previous: -d1 };
  if (variant === 'multistep') base.current += A;
  else base.previous += A;
  return base;
}
