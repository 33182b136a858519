import { UserError } from '../util/user-error.js';

/** A request the pipeline cannot run (bad size, steps, seeds, images): the caller's input, reported in one line. */
export class GenerationError extends UserError {
  override name = 'GenerationError';
}
