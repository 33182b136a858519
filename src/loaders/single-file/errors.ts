import { LoaderError } from '../errors.js';

/** A single-file checkpoint that cannot be read or converted as given; the message names the file. */
export class SingleFileError extends LoaderError {
  override name = 'SingleFileError';
}
