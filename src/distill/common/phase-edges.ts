/**
 * Phased consistency (PCM): the trajectory on the solver grid split into M sub-trajectories. Phase j starts at
 * grid index ⌊j·N/M⌋ (numpy's floor(linspace(0, N, M, endpoint=False)), j·(N/M) computed in float64 as there); a
 * sample at grid index i belongs to the phase with the largest start ≤ i, and that phase ends at the grid's
 * predecessor of its start (timestepsPrev: 0 for the first phase). The student is consistent within a phase: its
 * output is moved to the phase's end, not to x0, so M deterministic steps land on the M phase ends.
 */
import { DistillConfigError } from '../errors.js';
import type { DdimSolver } from './ddim-solver.js';

/** First grid index of each phase, ascending (always starting at 0). */
export function phaseStarts(count: number, phases: number): number[] {
  if (!Number.isInteger(phases) || phases < 1 || phases > count)
    throw new DistillConfigError(`phased consistency: the number of phases must be an integer in [1, ${count}] (got ${phases})`);
  return Array.from({ length: phases }, (_, j) => Math.floor(j * (count / phases)));
}

/** The start of the phase that holds grid index `index`. */
export function phaseStartOf(starts: readonly number[], index: number): number {
  let start = starts[0];
  for (const s of starts) if (s <= index) start = s;
  return start;
}

/** The timesteps a sampler visits to land on every phase end: the grid's last timestep, then each phase's end above 0. */
export function phaseSamplingTimesteps(solver: DdimSolver, phases: number): number[] {
  const starts = phaseStarts(solver.count, phases);
  const ends = starts.slice(1).map((s) => solver.timestepsPrev[s]);
  return [solver.timesteps[solver.count - 1], ...ends.reverse()];
}
