import { UserFileError } from '../util/user-error.js';

/** Every problem with a weights file; messages name the file and, where one is at fault, the tensor key. */
export class SafetensorsError extends UserFileError {
  override name = 'SafetensorsError';
}

/** A pickle-based checkpoint (.ckpt/.bin/.pt/.pth) that we refuse to load. */
export class PickleRefusedError extends SafetensorsError {
  override name = 'PickleRefusedError';
}
