/**
 * A CLIP-compatible BPE vocabulary for a small caption corpus: every caption word (as the CLIP tokenizer
 * pre-tokenizes it: runs of letters, single digits, runs of punctuation) is one token, and any other word
 * falls back to smaller pieces, down to single bytes. The files load into the project's ClipTokenizer (and
 * transformers' CLIPTokenizer) unchanged, so the embedded model's text encoder needs no special tokenizer.
 *
 * Merges are made word by word, most frequent word first: run the BPE with the merges so far; while the word
 * is still several symbols, append the merge of its first two symbols and run again. An appended merge has the
 * highest rank, so it only fires once nothing older applies, which leaves every earlier word's encoding as it
 * was (still one token). The result is checked with the project's BytePairEncoder.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BytePairEncoder, END_OF_WORD } from '../../tokenizer/bpe.js';
import { byteCharsInVocabOrder, toByteChars } from '../../tokenizer/byte-level.js';
import { MAX_MERGES } from '../../tokenizer/files.js';
import { basicClean, preTokenize } from '../../tokenizer/normalize.js';
import { writeFileAtomically } from '../../util/atomic-write.js';
import { EmojiDataError } from './catalog.js';

export const START_OF_TEXT = '<|startoftext|>';
export const END_OF_TEXT = '<|endoftext|>';

export interface CaptionVocabulary {
  /** token → id: bytes (0–255), bytes + `</w>` (256–511), merge results in merge order, then BOS and EOS. */
  readonly vocab: ReadonlyMap<string, number>;
  /** Merge pairs in rank order (merges.txt without its header). */
  readonly merges: readonly (readonly [string, string])[];
  /** The distinct words, as byte characters, most frequent first: each encodes to one token. */
  readonly words: readonly string[];
}

/** The CLIP words of a caption as byte characters (what the BPE sees), special tokens left out. */
export function captionBpeWords(caption: string): string[] {
  return preTokenize(basicClean(caption))
    .filter((w) => w !== START_OF_TEXT && w !== END_OF_TEXT)
    .map(toByteChars);
}

function wordsByFrequency(captions: Iterable<string>): string[] {
  const counts = new Map<string, number>();
  for (const caption of captions) for (const word of captionBpeWords(caption)) counts.set(word, (counts.get(word) ?? 0) + 1);
  // Ties broken by code-unit order, so the files are the same for the same captions in any order.
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([w]) => w);
}

/** CLIP's BPE of one word against a growing rank table (bpe.ts's algorithm; the result is re-checked with it). */
function encodeWord(word: string, ranks: ReadonlyMap<string, number>): string[] {
  const chars = [...word];
  let symbols = [...chars.slice(0, -1), chars[chars.length - 1] + END_OF_WORD];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const rank = ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
      if (rank !== undefined && rank < bestRank) [best, bestRank] = [i, rank];
    }
    if (best < 0) return symbols;
    const [first, second] = [symbols[best], symbols[best + 1]];
    const merged: string[] = [];
    for (let i = 0; i < symbols.length; i++) {
      if (symbols[i] === first && symbols[i + 1] === second && i + 1 < symbols.length) merged.push(first + symbols[++i]);
      else merged.push(symbols[i]);
    }
    symbols = merged;
  }
}

function buildMerges(words: readonly string[]): [string, string][] {
  const merges: [string, string][] = [];
  const ranks = new Map<string, number>();
  for (const word of words) {
    for (let symbols = encodeWord(word, ranks); symbols.length > 1; symbols = encodeWord(word, ranks)) {
      const key = `${symbols[0]} ${symbols[1]}`;
      // Cannot happen (the BPE stops only when no adjacent pair is ranked); guards against an endless loop.
      if (ranks.has(key)) throw new EmojiDataError(`caption vocabulary: merge ${JSON.stringify(key)} did not apply`);
      ranks.set(key, merges.length);
      merges.push([symbols[0], symbols[1]]);
    }
  }
  return merges;
}

/** Builds the vocabulary and merges for `captions` (see the module comment), verified word by word. */
export function buildCaptionVocabulary(captions: Iterable<string>): CaptionVocabulary {
  const words = wordsByFrequency(captions);
  const merges = buildMerges(words);
  if (merges.length > MAX_MERGES)
    throw new EmojiDataError(`caption vocabulary: ${merges.length} merges, more than a CLIP tokenizer reads (${MAX_MERGES})`);
  const tokens = [
    ...byteCharsInVocabOrder(),
    ...byteCharsInVocabOrder().map((c) => c + END_OF_WORD),
    ...merges.map(([a, b]) => a + b),
    START_OF_TEXT,
    END_OF_TEXT,
  ];
  const vocab = new Map<string, number>();
  for (const token of tokens) if (!vocab.has(token)) vocab.set(token, vocab.size);
  const check = new BytePairEncoder(merges);
  for (const word of words) {
    const symbols = check.encode(word);
    if (symbols.length !== 1)
      throw new EmojiDataError(
        `caption vocabulary: word ${JSON.stringify(word)} encodes to ${symbols.length} tokens (${symbols.join(' ')}), expected 1`,
      );
  }
  return { vocab, merges, words };
}

export interface WriteVocabularyOptions {
  /** tokenizer_config.json `model_max_length` (default 77, CLIP's context). */
  modelMaxLength?: number;
}

/**
 * Writes a CLIPTokenizer folder: vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json
 * (BOS `<|startoftext|>`, EOS = UNK = PAD `<|endoftext|>`, as SD's tokenizers). Each file is written atomically.
 */
export function writeCaptionVocabulary(
  vocabulary: CaptionVocabulary,
  dir: string,
  { modelMaxLength = 77 }: WriteVocabularyOptions = {},
): void {
  mkdirSync(dir, { recursive: true });
  const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
  const specials = { bos_token: START_OF_TEXT, eos_token: END_OF_TEXT, unk_token: END_OF_TEXT, pad_token: END_OF_TEXT };
  const config = {
    ...specials,
    add_prefix_space: false,
    do_lower_case: true,
    errors: 'replace',
    model_max_length: modelMaxLength,
    tokenizer_class: 'CLIPTokenizer',
  };
  writeFileAtomically(join(dir, 'vocab.json'), utf8(JSON.stringify(Object.fromEntries(vocabulary.vocab))));
  writeFileAtomically(
    join(dir, 'merges.txt'),
    utf8(['#version: 0.2', ...vocabulary.merges.map(([a, b]) => `${a} ${b}`)].join('\n') + '\n'),
  );
  writeFileAtomically(join(dir, 'tokenizer_config.json'), utf8(JSON.stringify(config, null, 2) + '\n'));
  writeFileAtomically(join(dir, 'special_tokens_map.json'), utf8(JSON.stringify(specials, null, 2) + '\n'));
}
