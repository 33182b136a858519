import { UserFileError } from '../util/user-error.js';

/** A model folder or file that cannot be loaded as given; the message names the path at fault. */
export class LoaderError extends UserFileError {
  override name = 'LoaderError';
}
