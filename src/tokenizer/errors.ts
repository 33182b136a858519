import { UserFileError } from '../util/user-error.js';

/** Every tokenizer problem: unreadable or malformed files (the message names the file), bad options. */
export class TokenizerError extends UserFileError {
  override name = 'TokenizerError';
}
