/**
 * Reading a transformers CLIPTokenizer folder: vocab.json, merges.txt (required), tokenizer_config.json and
 * special_tokens_map.json (optional, as for transformers; special_tokens_map.json wins where both set a
 * token). Every error names the file at fault.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenizerError } from './errors.js';

/** transformers keeps at most 49152 − 256 − 2 merges (CLIP's vocabulary minus bytes and specials). */
export const MAX_MERGES = 49152 - 256 - 2;

export type SpecialTokenRole = 'bos_token' | 'eos_token' | 'unk_token' | 'pad_token';
export const SPECIAL_TOKEN_ROLES: readonly SpecialTokenRole[] = ['bos_token', 'eos_token', 'unk_token', 'pad_token'];

/** Special tokens by role (null = none, e.g. no pad token), CLIPTokenizer's defaults for absent roles. */
export interface SpecialTokenSettings {
  tokens: Record<SpecialTokenRole, string | null>;
  /** tokenizer_config.json `model_max_length`, null when absent. */
  modelMaxLength: number | null;
  /** tokenizer_config.json `added_tokens_decoder`: content → id. */
  addedTokens: Map<string, number>;
}

export const CLIP_DEFAULT_TOKENS: Readonly<Record<SpecialTokenRole, string>> = {
  bos_token: '<|startoftext|>',
  eos_token: '<|endoftext|>',
  unk_token: '<|endoftext|>',
  pad_token: '<|endoftext|>',
};

const show = (v: unknown): string => JSON.stringify(v);

function readText(path: string): string {
  if (!existsSync(path)) throw new TokenizerError(`${path}: file not found (a CLIP tokenizer folder needs vocab.json and merges.txt)`);
  return readFileSync(path, 'utf8');
}

function readJsonObject(path: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(readText(path));
  } catch (e) {
    if (e instanceof TokenizerError) throw e;
    throw new TokenizerError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TokenizerError(`${path}: must be a JSON object`);
  return json as Record<string, unknown>;
}

/** vocab.json: token → non-negative integer id. */
export function readVocab(path: string): Map<string, number> {
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(readJsonObject(path))) {
    if (!Number.isInteger(id) || (id as number) < 0)
      throw new TokenizerError(`${path}: id of token ${show(token)} must be a non-negative integer, got ${show(id)}`);
    vocab.set(token, id as number);
  }
  return vocab;
}

/** Parses merges.txt text; the first line is a header that transformers' slow tokenizer always skips. */
export function parseMerges(text: string, path = 'merges.txt'): [string, string][] {
  const lines = text
    .trim()
    .split(/\r?\n/)
    .slice(1, MAX_MERGES + 1);
  const merges: [string, string][] = [];
  lines.forEach((line, i) => {
    const parts = line.split(/\s+/).filter((p) => p.length > 0);
    if (parts.length === 0) return;
    if (parts.length !== 2) throw new TokenizerError(`${path}: line ${i + 2} must be two symbols separated by a space, got ${show(line)}`);
    merges.push([parts[0], parts[1]]);
  });
  return merges;
}

export function readMerges(path: string): [string, string][] {
  return parseMerges(readText(path), path);
}

/** A token as transformers writes it: a string or an AddedToken object {content, ...}; null = none. */
function tokenContent(value: unknown, path: string, field: string): string | null {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string')
    return (value as { content: string }).content;
  throw new TokenizerError(`${path}: \`${field}\` must be a string, null or an object with a string "content", got ${show(value)}`);
}

function readAddedTokens(raw: Record<string, unknown>, path: string): Map<string, number> {
  const added = new Map<string, number>();
  const decoder = raw.added_tokens_decoder;
  if (decoder === undefined || decoder === null) return added;
  if (typeof decoder !== 'object' || Array.isArray(decoder))
    throw new TokenizerError(`${path}: \`added_tokens_decoder\` must be an object of id → token`);
  for (const [id, token] of Object.entries(decoder)) {
    const content = tokenContent(token, path, `added_tokens_decoder.${id}`);
    if (!/^\d+$/.test(id) || content === null)
      throw new TokenizerError(`${path}: \`added_tokens_decoder\` entry ${show(id)} must map an integer id to a token`);
    added.set(content, Number(id));
  }
  return added;
}

function readModelMaxLength(raw: Record<string, unknown>, path: string): number | null {
  const v = raw.model_max_length;
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !(v > 0))
    throw new TokenizerError(`${path}: \`model_max_length\` must be a positive number, got ${show(v)}`);
  return v;
}

/** Special tokens from tokenizer_config.json, then special_tokens_map.json (either may be absent). */
export function readSpecialTokens(dir: string): SpecialTokenSettings {
  const tokens: Record<SpecialTokenRole, string | null> = { ...CLIP_DEFAULT_TOKENS };
  let modelMaxLength: number | null = null;
  let addedTokens = new Map<string, number>();
  for (const file of ['tokenizer_config.json', 'special_tokens_map.json']) {
    const path = join(dir, file);
    if (!existsSync(path)) continue;
    const raw = readJsonObject(path);
    for (const role of SPECIAL_TOKEN_ROLES) if (role in raw) tokens[role] = tokenContent(raw[role], path, role);
    if (file === 'tokenizer_config.json') {
      modelMaxLength = readModelMaxLength(raw, path);
      addedTokens = readAddedTokens(raw, path);
    }
  }
  return { tokens, modelMaxLength, addedTokens };
}
