import { UserError } from '../util/user-error.js';

/** Any problem of the evaluation: a bad option or row name, an unreadable classifier, a missing reference set. */
export class EvalError extends UserError {
  override name = 'EvalError';
}
