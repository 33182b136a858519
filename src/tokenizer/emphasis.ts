/**
 * AUTOMATIC1111's prompt emphasis ("attention") syntax, parsed by the same rules as its web UI:
 * `(text)` ×1.1, `[text]` ÷1.1, `(text:1.3)` ×1.3, nesting multiplies, `\(` `\)` `\[` `\]` `\\` are literal,
 * and `BREAK` (a whole word, upper case) ends the current 75-token chunk. Quirks kept on purpose, since
 * prompts are shared between tools: an unclosed bracket applies to the end of the prompt, a closer with no
 * opener is text, a `:` outside `( … :w)` is text, a lone backslash is dropped, adjacent pieces of equal
 * weight merge, and a `BREAK` inside parentheses gets multiplied like any piece (and is then plain text).
 *
 * Then tokenization as A1111's text-encoder wrapper does it: every piece is tokenized on its own, the ids
 * are cut into chunks of 75 (`BREAK` pads the current chunk and starts a new one), and every id carries the
 * weight of its piece; BOS, EOS and padding weigh 1.
 */
import type { ClipTokenizer } from './clip-tokenizer.js';
import { TokenizerError } from './errors.js';

/** A piece of prompt text and its weight; `['BREAK', -1]` is a chunk break. */
export type WeightedText = [text: string, weight: number];

export const BREAK_WEIGHT = -1;

const ROUND = 1.1;
const SQUARE = 1 / 1.1;

/**
 * One token of the syntax at a time, in A1111's order of alternatives (the first that matches wins): escapes,
 * a lone backslash, openers, `:weight)`, closers, a run of plain text, a lone colon. Every character matches one.
 */
const ATTENTION = /\\\(|\\\)|\\\[|\\\]|\\\\|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|\]|[^\\()[\]:]+|:/g;
/** `BREAK` as a whole word (Unicode word characters, as Python's `\b`), swallowing the spaces around it. */
const BREAK = /\s*(?<![\p{L}\p{N}_])BREAK(?![\p{L}\p{N}_])\s*/u;

/** A1111's `parse_prompt_attention`: the prompt as [text, weight] pieces; never empty (`[['', 1]]`). */
export function parsePromptAttention(prompt: string): WeightedText[] {
  const res: WeightedText[] = [];
  const round: number[] = [];
  const square: number[] = [];
  const multiplyFrom = (start: number, factor: number) => {
    for (let i = start; i < res.length; i++) res[i][1] *= factor;
  };
  for (const m of prompt.matchAll(ATTENTION)) {
    const text = m[0];
    const weight = m[1] === undefined ? NaN : Number(m[1]);
    if (text.startsWith('\\')) res.push([text.slice(1), 1]);
    else if (text === '(') round.push(res.length);
    else if (text === '[') square.push(res.length);
    // A weight that is not a number ("1.2.3", ".") crashes A1111; here the `:…)` is plain text.
    else if (!Number.isNaN(weight) && round.length > 0) multiplyFrom(round.pop()!, weight);
    else if (text === ')' && round.length > 0) multiplyFrom(round.pop()!, ROUND);
    else if (text === ']' && square.length > 0) multiplyFrom(square.pop()!, SQUARE);
    else
      text.split(BREAK).forEach((part, i) => {
        if (i > 0) res.push(['BREAK', BREAK_WEIGHT]);
        res.push([part, 1]);
      });
  }
  for (const start of round) multiplyFrom(start, ROUND);
  for (const start of square) multiplyFrom(start, SQUARE);
  if (res.length === 0) res.push(['', 1]);
  for (let i = 0; i + 1 < res.length;) {
    if (res[i][1] === res[i + 1][1]) {
      res[i][0] += res[i + 1][0];
      res.splice(i + 1, 1);
    } else i++;
  }
  return res;
}

/** Whether the prompt has no emphasis syntax at all: it parses to itself at weight 1. */
export function isPlainPrompt(prompt: string): boolean {
  const parsed = parsePromptAttention(prompt);
  return parsed.length === 1 && parsed[0][1] === 1 && parsed[0][0] === prompt;
}

export interface WeightedChunks {
  /** Rows of chunkLength + 2 ids: BOS, up to chunkLength ids, EOS, padding. */
  chunks: number[][];
  /** One weight per id of `chunks` (1 for BOS, EOS and padding). */
  weights: number[][];
  /** Whether ids were dropped (only with `truncate`). */
  truncated: boolean;
}

export interface WeightedChunkOptions {
  /** Ids per chunk between BOS and EOS (default 75). */
  chunkLength?: number;
  /**
   * Keep only the first chunkLength ids of each BREAK-separated section (the `longPrompts: 'truncate'`
   * behaviour) instead of starting a new chunk when one is full (A1111's, the default).
   */
  truncate?: boolean;
}

/**
 * A1111's `tokenize_line` without textual inversion or comma back-tracking: each piece is tokenized on its
 * own, a full chunk (or `['BREAK', -1]`) pads the chunk and starts the next, and a trailing BREAK adds no
 * empty chunk (a leading one does). At least one chunk.
 */
export function encodeWeightedChunks(
  tokenizer: ClipTokenizer,
  pieces: readonly WeightedText[],
  { chunkLength = 75, truncate = false }: WeightedChunkOptions = {},
): WeightedChunks {
  if (!Number.isInteger(chunkLength) || chunkLength < 1)
    throw new TokenizerError(`chunkLength must be a positive integer, got ${chunkLength}`);
  const out: WeightedChunks = { chunks: [], weights: [], truncated: false };
  let ids: number[] = [];
  let weights: number[] = [];
  let dropping = false;
  // Padding ids as the unweighted chunks get them (encodeChunks), so an all-1 chunk is the same row.
  const empty = tokenizer.encodeChunks('', { chunkLength })[0];
  const nextChunk = () => {
    out.chunks.push([tokenizer.bosTokenId, ...ids, tokenizer.eosTokenId, ...empty.slice(ids.length + 2)]);
    out.weights.push([1, ...weights, 1, ...Array<number>(chunkLength - ids.length).fill(1)]);
    ids = [];
    weights = [];
    dropping = false;
  };
  for (const [text, weight] of pieces) {
    if (text === 'BREAK' && weight === BREAK_WEIGHT) {
      nextChunk();
      continue;
    }
    for (const id of tokenizer.encode(text)) {
      if (ids.length === chunkLength) {
        if (truncate) {
          dropping = true;
          out.truncated = true;
        } else nextChunk();
      }
      if (dropping) continue;
      ids.push(id);
      weights.push(weight);
    }
  }
  if (ids.length > 0 || out.chunks.length === 0) nextChunk();
  return out;
}
