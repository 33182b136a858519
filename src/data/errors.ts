import { UserFileError } from '../util/user-error.js';

/** Every problem with a training dataset; messages name the file (and line, member or record) at fault. */
export class DatasetError extends UserFileError {
  override name = 'DatasetError';
}

/** A tar shard that cannot be read: bad header, truncation; messages name the shard and the byte offset. */
export class TarError extends DatasetError {
  override name = 'TarError';
}

/** An image that sharp cannot decode or convert; messages name the record id. */
export class ImagePrepError extends DatasetError {
  override name = 'ImagePrepError';
}

/** The latent cache or the encoder behind it returned something unusable. */
export class LatentCacheError extends UserFileError {
  override name = 'LatentCacheError';
}

/** Options shared by the dataset openers. */
export interface DatasetOpenOptions {
  /** Images without a caption get an empty one instead of failing the open (unconditional training). */
  allowMissingCaptions?: boolean;
  /** Non-fatal problems (skipped samples); default: process.emitWarning. */
  onWarning?: (message: string) => void;
}

/** "a, b, c and 4 more": lists stay readable when thousands of files are at fault. */
export function listFirst(items: readonly string[], shown = 5): string {
  const head = items.slice(0, shown).join(', ');
  return items.length > shown ? `${head} and ${items.length - shown} more` : head;
}

export function defaultWarning(message: string): void {
  process.emitWarning(message, 'DatasetWarning');
}
