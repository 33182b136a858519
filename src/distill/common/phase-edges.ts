/**
 * Phased consistency (PCM) in training: the trajectory on the solver grid split into M sub-trajectories (the split
 * itself lives in schedulers/phase-grid.ts, shared with the pcm sampling preset). A sample at grid index i belongs to
 * the phase with the largest start ≤ i, and that phase ends at the grid's predecessor of its start (timestepsPrev: 0
 * for the first phase). The student is consistent within a phase: its output is moved to the phase's end, not to
 * x0, so M deterministic steps land on the M phase ends.
 */
export { phaseStarts } from '../../schedulers/phase-grid.js';

/** The start of the phase that holds grid index `index`. */
export function phaseStartOf(starts: readonly number[], index: number): number {
  let start = starts[0];
  for (const s of starts) if (s <= index) start = s;
  return start;
}
