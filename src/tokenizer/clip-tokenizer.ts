/**
 * transformers' slow CLIPTokenizer (the path taken without ftfy, which diffusers' SD pipelines load):
 * special tokens split out first, then the BasicTokenizer clean-up, CLIP's pre-tokenizer regex, byte-level
 * characters and BPE. Model inputs are `<|startoftext|> ids <|endoftext|>` padded with the pad token.
 */
import { join } from 'node:path';
import { BytePairEncoder, END_OF_WORD } from './bpe.js';
import { fromByteChars, toByteChars } from './byte-level.js';
import { TokenizerError } from './errors.js';
import { CLIP_DEFAULT_TOKENS, readMerges, readSpecialTokens, readVocab, type SpecialTokenRole } from './files.js';
import { basicClean, preTokenize } from './normalize.js';

export interface ClipTokenizerData {
  vocab: ReadonlyMap<string, number>;
  /** Merge pairs in rank order (merges.txt without its header line). */
  merges: readonly (readonly [string, string])[];
  /** Special tokens (null = none) and added tokens; CLIPTokenizer's defaults for what is omitted. */
  special?: {
    tokens?: Partial<Record<SpecialTokenRole, string | null>>;
    modelMaxLength?: number | null;
    addedTokens?: ReadonlyMap<string, number>;
  };
}

export interface EncodeForModelOptions {
  /** Length of the result, BOS and EOS included (default 77, CLIP's position count). */
  maxLength?: number;
  /** Cut the ids to maxLength − 2 before adding BOS/EOS (default true). */
  truncation?: boolean;
  /** 'max_length' pads with the pad token up to maxLength (default); false leaves the ids unpadded. */
  padding?: 'max_length' | false;
}

export interface ModelInput {
  /** BOS + ids + EOS (+ padding): what the text encoder takes. */
  inputIds: number[];
  /** Whether ids were cut off to fit maxLength. */
  truncated: boolean;
  /** Number of ids before truncation, BOS/EOS not counted. */
  tokenCount: number;
}

/** The texts as equal-length rows, ready for a [batch, maxLength] int64 input. */
export interface ModelInputBatch {
  inputIds: number[][];
  truncated: boolean[];
  tokenCounts: number[];
}

/** The two CLIP special tokens that transformers' BPE cache passes through whole. */
const CLIP_PASS_THROUGH = ['<|startoftext|>', '<|endoftext|>'];

export class ClipTokenizer {
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly unkTokenId: number;
  /** null when the tokenizer has no pad token (then padding is an error). */
  readonly padTokenId: number | null;
  /** tokenizer_config.json `model_max_length`, null when absent. */
  readonly modelMaxLength: number | null;
  private readonly vocab: ReadonlyMap<string, number>;
  /** Added tokens (the special tokens among them): split out of the text before anything else. */
  private readonly addedTokens = new Map<string, number>();
  private readonly bpe: BytePairEncoder;
  private idToByteChars?: Map<number, string>;

  constructor({ vocab, merges, special = {} }: ClipTokenizerData) {
    this.vocab = vocab;
    this.bpe = new BytePairEncoder(merges, CLIP_PASS_THROUGH);
    this.modelMaxLength = special.modelMaxLength ?? null;
    for (const [content, id] of special.addedTokens ?? []) this.addedTokens.set(content, id);
    const tokens: Record<SpecialTokenRole, string | null> = { ...CLIP_DEFAULT_TOKENS, ...special.tokens };
    // Registered in transformers' order (bos, eos, unk, pad), which decides the ids of tokens new to the vocab.
    const idOf = (role: SpecialTokenRole): number | null => (tokens[role] === null ? null : this.addSpecialToken(tokens[role]));
    const required = (role: SpecialTokenRole): number => {
      const id = idOf(role);
      if (id === null) throw new TokenizerError(`\`${role}\` is null; a CLIP tokenizer needs one`);
      return id;
    };
    this.bosTokenId = required('bos_token');
    this.eosTokenId = required('eos_token');
    this.unkTokenId = required('unk_token');
    this.padTokenId = idOf('pad_token');
  }

  /** Reads vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json from a folder. */
  static fromDirectory(dir: string): ClipTokenizer {
    const data = {
      vocab: readVocab(join(dir, 'vocab.json')),
      merges: readMerges(join(dir, 'merges.txt')),
      special: readSpecialTokens(dir),
    };
    try {
      return new ClipTokenizer(data);
    } catch (e) {
      throw e instanceof TokenizerError ? new TokenizerError(`${dir}: ${e.message}`) : e;
    }
  }

  /**
   * As transformers registers special tokens: the id of an added token or of the vocabulary entry, else
   * the next free id (the model then needs a bigger embedding table; CLIP's files never do this).
   */
  private addSpecialToken(content: string): number {
    const known = this.addedTokens.get(content) ?? this.vocab.get(content);
    if (known !== undefined) {
      this.addedTokens.set(content, known);
      return known;
    }
    // transformers: len(vocab ∪ added tokens), i.e. the first id after both.
    const id = this.vocab.size + [...this.addedTokens.keys()].filter((t) => !this.vocab.has(t)).length;
    this.addedTokens.set(content, id);
    return id;
  }

  /** Number of vocabulary entries (added tokens not counted), as transformers' `vocab_size`. */
  get vocabSize(): number {
    return this.vocab.size;
  }

  /** The BPE tokens of `text` (special tokens written in the text stay whole). */
  tokenize(text: string): string[] {
    const tokens: string[] = [];
    for (const piece of this.splitAddedTokens(text)) {
      if (this.addedTokens.has(piece)) tokens.push(piece);
      else for (const word of preTokenize(basicClean(piece))) tokens.push(...this.bpe.encode(toByteChars(word)));
    }
    return tokens;
  }

  /** Token ids of `text`, without BOS/EOS, padding or truncation. */
  encode(text: string): number[] {
    return this.tokenize(text).map((t) => this.tokenToId(t));
  }

  tokenToId(token: string): number {
    return this.addedTokens.get(token) ?? this.vocab.get(token) ?? this.unkTokenId;
  }

  /** `tokenizer(text, max_length=77, truncation=True, padding="max_length").input_ids`, with truncation info. */
  encodeForModel(text: string, { maxLength = 77, truncation = true, padding = 'max_length' }: EncodeForModelOptions = {}): ModelInput {
    if (!Number.isInteger(maxLength) || maxLength < 2)
      throw new TokenizerError(`maxLength must be an integer >= 2 (room for BOS and EOS), got ${maxLength}`);
    const ids = this.encode(text);
    const room = maxLength - 2;
    const truncated = truncation && ids.length > room;
    const inputIds = [this.bosTokenId, ...(truncated ? ids.slice(0, room) : ids), this.eosTokenId];
    return { inputIds: padding === 'max_length' ? this.pad(inputIds, maxLength) : inputIds, truncated, tokenCount: ids.length };
  }

  /** encodeForModel over several texts (all rows have maxLength ids when padding, the default). */
  encodeBatchForModel(texts: readonly string[], options: EncodeForModelOptions = {}): ModelInputBatch {
    const rows = texts.map((t) => this.encodeForModel(t, options));
    return { inputIds: rows.map((r) => r.inputIds), truncated: rows.map((r) => r.truncated), tokenCounts: rows.map((r) => r.tokenCount) };
  }

  /**
   * Long prompts as AUTOMATIC1111 feeds them: the ids cut into chunks of `chunkLength` (75), each encoded
   * as BOS + chunk + EOS + padding to chunkLength + 2 (77); the text encoder runs on every chunk and the
   * caller concatenates the hidden states. An empty prompt gives one chunk.
   */
  encodeChunks(text: string, { chunkLength = 75 }: { chunkLength?: number } = {}): number[][] {
    if (!Number.isInteger(chunkLength) || chunkLength < 1)
      throw new TokenizerError(`chunkLength must be a positive integer, got ${chunkLength}`);
    const ids = this.encode(text);
    const chunks: number[][] = [];
    for (let start = 0; start === 0 || start < ids.length; start += chunkLength) {
      chunks.push(this.pad([this.bosTokenId, ...ids.slice(start, start + chunkLength), this.eosTokenId], chunkLength + 2));
    }
    return chunks;
  }

  /** Text of `ids`: byte characters back to UTF-8, `</w>` as a space; special tokens kept unless skipped. */
  decode(ids: readonly number[], { skipSpecialTokens = false }: { skipSpecialTokens?: boolean } = {}): string {
    const special = new Set(this.addedTokens.values());
    let byteChars = '';
    for (const id of ids) {
      if (!skipSpecialTokens || !special.has(id)) byteChars += this.byteCharsOf(id);
    }
    return fromByteChars(byteChars).replaceAll(END_OF_WORD, ' ').trim();
  }

  /** A vocabulary token is already byte characters; an added token is plain text. */
  private byteCharsOf(id: number): string {
    if (!this.idToByteChars) {
      this.idToByteChars = new Map<number, string>();
      for (const [token, i] of this.vocab) this.idToByteChars.set(i, token);
      for (const [token, i] of this.addedTokens) this.idToByteChars.set(i, toByteChars(token));
    }
    const chars = this.idToByteChars.get(id);
    if (chars === undefined) throw new TokenizerError(`decode: id ${id} is not in the vocabulary`);
    return chars;
  }

  private pad(ids: number[], length: number): number[] {
    if (ids.length >= length) return ids;
    if (this.padTokenId === null) throw new TokenizerError('padding needs a pad token, and this tokenizer has none (pad_token is null)');
    return ids.concat(new Array<number>(length - ids.length).fill(this.padTokenId));
  }

  /** Splits out added tokens, leftmost first and longest among those starting at the same place. */
  private splitAddedTokens(text: string): string[] {
    const candidates = [...this.addedTokens.keys()].filter((t) => t.length > 0 && text.includes(t)).sort((a, b) => b.length - a.length);
    if (candidates.length === 0) return [text];
    const pieces: string[] = [];
    let plainStart = 0;
    for (let i = 0; i < text.length;) {
      const hit = candidates.find((t) => text.startsWith(t, i));
      if (hit === undefined) {
        i++;
        continue;
      }
      if (i > plainStart) pieces.push(text.slice(plainStart, i));
      pieces.push(hit);
      i += hit.length;
      plainStart = i;
    }
    if (plainStart < text.length) pieces.push(text.slice(plainStart));
    return pieces;
  }
}
