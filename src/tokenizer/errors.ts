/** Every tokenizer problem: unreadable or malformed files (the message names the file), bad options. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
}
