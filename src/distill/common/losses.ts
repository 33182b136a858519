/**
 * The distillation losses as graph values (means over every element, as the reference's F.mse_loss and its
 * pseudo-Huber): L2 = mean((a − b)²); Huber = mean(√((a − b)² + c²) − c), which is ~L2/2c near zero and
 * ~|a − b| far from it, so a few large errors do not dominate a step (the reference's default c is 0.001).
 */
import { DistillConfigError } from '../errors.js';
import type { Value } from '../../ir/index.js';

export type DistillLossType = 'l2' | 'huber';

export interface DistillLossOptions {
  type: DistillLossType;
  /** Pseudo-Huber c (default 0.001, the reference's `huber_c`). */
  huberC?: number;
}

export function distillLoss(prediction: Value, target: Value, { type, huberC = 0.001 }: DistillLossOptions): Value {
  const diff = prediction.sub(target);
  const squared = diff.mul(diff);
  if (type === 'l2') return squared.mean();
  if (!(huberC > 0 && Number.isFinite(huberC))) throw new DistillConfigError(`huber_c must be a positive number (got ${huberC})`);
  return squared
    .add(huberC * huberC)
    .sqrt()
    .sub(huberC)
    .mean();
}
