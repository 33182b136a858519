/**
 * Learning-rate multipliers as in diffusers' `get_scheduler` (LambdaLR): the factor for optimizer step
 * `step` (0-based, i.e. before `step` updates have been applied). With warmup, the first update therefore
 * uses factor 0, exactly as the reference training scripts do.
 */
import { UserError } from '../util/user-error.js';
export type LrScheduleName = 'constant' | 'constant_with_warmup' | 'linear' | 'cosine';

export const lrScheduleNames: readonly LrScheduleName[] = ['constant', 'constant_with_warmup', 'linear', 'cosine'];

export interface LrSchedule {
  readonly name: LrScheduleName;
  readonly warmupSteps?: number;
  /** Needed by 'linear' and 'cosine'. */
  readonly totalSteps?: number;
  /** Cosine half-periods × 2 (diffusers' num_cycles, default 0.5 = one half cosine to 0). */
  readonly numCycles?: number;
}

export class LrScheduleError extends UserError {
  override name = 'LrScheduleError';
}

/** Validates a schedule once, so per-step evaluation cannot fail. */
export function checkLrSchedule(s: LrSchedule): void {
  if (!lrScheduleNames.includes(s.name)) {
    throw new LrScheduleError(`unknown lr schedule '${s.name}' (expected one of ${lrScheduleNames.join(', ')})`);
  }
  const warmup = s.warmupSteps ?? 0;
  if (!Number.isInteger(warmup) || warmup < 0) throw new LrScheduleError(`lr schedule: warmupSteps must be an integer >= 0, got ${warmup}`);
  if (s.name === 'linear' || s.name === 'cosine') {
    const total = s.totalSteps;
    if (total === undefined || !Number.isInteger(total) || total <= 0) {
      throw new LrScheduleError(`lr schedule '${s.name}' needs totalSteps (an integer > 0), got ${total}`);
    }
  }
}

export function lrFactor(s: LrSchedule, step: number): number {
  const warmup = s.warmupSteps ?? 0;
  if (s.name === 'constant') return 1;
  if (step < warmup) return step / Math.max(1, warmup);
  if (s.name === 'constant_with_warmup') return 1;
  const total = s.totalSteps!;
  if (s.name === 'linear') return Math.max(0, (total - step) / Math.max(1, total - warmup));
  const progress = (step - warmup) / Math.max(1, total - warmup);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * (s.numCycles ?? 0.5) * 2 * progress)));
}
