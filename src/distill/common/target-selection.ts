/**
 * TDD's target timestep selection. The targets a K-step sampler visits, for every K in [kMin, kMax], are
 * merged into one ascending list; for a source timestep t, a target is drawn uniformly among the merged
 * timesteps in the window [ub − 260, ub] (ub = the largest merged timestep ≤ t), then moved earlier by the
 * γ-sampling offset: s = ⌊(1 − u·sRatio)·c⌋ with u ~ U[0, 1), in float32 as the reference computes it.
 */
import { DistillConfigError } from '../errors.js';
import type { DdimSolver } from './ddim-solver.js';

/** Width of the candidate window below the upper bound, in training timesteps (the reference's constant). */
export const TARGET_WINDOW = 260;

/** The timesteps K-step equidistant sampling on the solver grid visits, merged over K ∈ [kMin, kMax]. */
export function mergedTimesteps(solver: DdimSolver, kMin: number, kMax: number): number[] {
  if (!(Number.isInteger(kMin) && Number.isInteger(kMax) && kMin >= 1 && kMax >= kMin)) {
    throw new DistillConfigError(
      `target selection: need integers 1 ≤ num_inference_steps_min ≤ num_inference_steps_max (got ${kMin}, ${kMax})`,
    );
  }
  const n = solver.count;
  const descending = [...solver.timesteps].reverse();
  const merged = new Set<number>();
  for (let k = kMin; k <= kMax; k++) {
    // numpy linspace(0, n, k, endpoint=False) computes j·(n/k) in float64, then the reference floors it.
    for (let j = 0; j < k; j++) merged.add(descending[Math.floor(j * (n / k))]);
  }
  // The reference prepends 0 (the clean end) and drops the largest: no target above the last source.
  const sorted = [...merged].sort((a, b) => a - b);
  return [0, ...sorted].slice(0, -1);
}

export interface TargetWindow {
  upperBound: number;
  lowerBound: number;
  candidates: number[];
}

/** The merged timesteps a source timestep may target. */
export function targetWindow(merged: readonly number[], timestep: number): TargetWindow {
  let upperBound = merged[0];
  for (const m of merged) if (m <= timestep) upperBound = Math.max(upperBound, m);
  const lowerBound = Math.max(upperBound - TARGET_WINDOW, 0);
  return { upperBound, lowerBound, candidates: merged.filter((m) => m >= lowerBound && m <= upperBound) };
}

const f = Math.fround;

/** The γ offset applied to a chosen candidate: ⌊(1 − u·sRatio)·c⌋ in float32 arithmetic. */
export function offsetTarget(candidate: number, u: number, sRatio: number): number {
  return Math.floor(f(f(1 - f(f(u) * f(sRatio))) * candidate));
}

/** Random draws target selection needs (TorchGenerator provides both, as torch's global generator). */
export interface SelectionRandom {
  randint(low: number, high: number, shape: readonly number[]): number[] | Int32Array | BigInt64Array | Float64Array;
  rand(shape: readonly number[]): Float32Array;
}

/**
 * Targets for a batch of source timesteps, drawing as the reference does: one randint per element (its
 * candidate), then one rand over the batch (the offsets).
 */
export function selectTargets(merged: readonly number[], timesteps: readonly number[], sRatio: number, random: SelectionRandom): number[] {
  const picks = timesteps.map((t) => {
    const { candidates } = targetWindow(merged, t);
    return candidates[Number(random.randint(0, candidates.length, [1])[0])];
  });
  const u = random.rand([timesteps.length]);
  return picks.map((c, i) => offsetTarget(c, u[i], sRatio));
}
