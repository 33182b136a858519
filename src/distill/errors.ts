import { UserError } from '../util/user-error.js';

/** A distillation setting that cannot work (range, combination, a teacher that does not fit); names the option. */
export class DistillConfigError extends UserError {
  override name = 'DistillConfigError';
}
