/**
 * The coarse DDIM grid consistency distillation trains on, and its split into phases (PCM). Training
 * (distill/common) and sampling (the pcm preset) both read it from here, so a LoRA distilled for M phases is sampled
 * exactly at the M phase ends it was trained to land on.
 *   grid: N of the T training timesteps, round((i + 1)·⌊T/N⌋) − 1 for i = 0..N−1 (the reference DDIMSolver)
 *   phase j starts at grid index ⌊j·N/M⌋ (numpy's floor(linspace(0, N, M, endpoint=False)), j·(N/M) in float64)
 *   a phase ends at its start's predecessor on the grid (0 for the first phase)
 */
import { SchedulerOptionError } from './config.js';

/** The grid's timesteps, ascending. */
export function ddimGridTimesteps(numTrainTimesteps: number, count: number): number[] {
  const ratio = Math.floor(numTrainTimesteps / count);
  return Array.from({ length: count }, (_, i) => Math.round((i + 1) * ratio) - 1);
}

/** First grid index of each phase, ascending (always starting at 0). */
export function phaseStarts(count: number, phases: number): number[] {
  if (!Number.isInteger(phases) || phases < 1 || phases > count)
    throw new SchedulerOptionError(`phased consistency: the number of phases must be an integer in [1, ${count}] (got ${phases})`);
  return Array.from({ length: phases }, (_, j) => Math.floor(j * (count / phases)));
}

/**
 * The timesteps a deterministic sampler visits to land on every phase end, largest first: the grid's last
 * timestep, then the end of each phase above the first (the first phase ends at 0, where sampling stops).
 */
export function phaseSamplingTimesteps(grid: ArrayLike<number>, phases: number): number[] {
  const ends = phaseStarts(grid.length, phases)
    .slice(1)
    .map((start) => grid[start - 1]);
  return [grid[grid.length - 1], ...ends.reverse()];
}
