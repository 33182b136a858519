/**
 * The teacher's coarse DDIM grid of TDD/LCM distillation (the reference's DDIMSolver): N of the
 * `numTrainTimesteps` training timesteps, every `numTrainTimesteps / N`-th one, `round((1..N)·ratio) − 1`, with
 * each one's predecessor on the grid (0 before the first) and their ᾱ values. A training sample starts at
 * grid index i; the teacher's one-step DDIM target moves it to `timestepsPrev[i]`.
 */
import { DistillConfigError } from '../errors.js';
import type { NoiseSchedule } from '../../schedulers/noise-schedule.js';
import { ddimGridTimesteps } from '../../schedulers/phase-grid.js';

export class DdimSolver {
  /** Grid spacing in training timesteps (also the reference's `topk`). */
  readonly stepRatio: number;
  readonly timesteps: Int32Array;
  readonly timestepsPrev: Int32Array;
  readonly alphaCumprods: Float32Array;
  readonly alphaCumprodsPrev: Float32Array;

  constructor(
    schedule: NoiseSchedule,
    readonly count = 50,
  ) {
    const total = schedule.numTrainTimesteps;
    if (!Number.isInteger(count) || count < 1 || count > total)
      throw new DistillConfigError(`DDIM solver: num_ddim_timesteps must be an integer in [1, ${total}] (got ${count})`);
    this.stepRatio = Math.floor(total / count);
    this.timesteps = Int32Array.from(ddimGridTimesteps(total, count));
    this.timestepsPrev = Int32Array.from({ length: count }, (_, i) => (i === 0 ? 0 : this.timesteps[i - 1]));
    const abar = schedule.alphasCumprod;
    this.alphaCumprods = Float32Array.from(this.timesteps, (t) => abar[t]);
    // The reference starts the "previous" list with ᾱ[0], the cleanest training timestep.
    this.alphaCumprodsPrev = Float32Array.from({ length: count }, (_, i) => (i === 0 ? abar[0] : abar[this.timesteps[i - 1]]));
  }

  /** The start timestep of a sample at grid index i, as training feeds it: max(t_i − topk, 0). */
  sourceTimestep(index: number): number {
    return Math.max(this.timesteps[index] - this.stepRatio, 0);
  }
}
