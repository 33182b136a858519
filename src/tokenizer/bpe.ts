/**
 * Byte-pair encoding of one pre-tokenized word as CLIP does it: the last symbol carries the end-of-word
 * marker `</w>`, and the adjacent pair with the lowest merge rank is merged (every occurrence, left to right)
 * until no ranked pair is left.
 */

export const END_OF_WORD = '</w>';

/** Symbols never contain spaces (byte-level alphabet), so "a b" is an unambiguous pair key. */
const pairKey = (a: string, b: string): string => `${a} ${b}`;

/** Merged words are cached; the cache is dropped when it grows past this many words (prompts repeat words). */
const CACHE_LIMIT = 50_000;

export class BytePairEncoder {
  private readonly ranks = new Map<string, number>();
  private readonly passThrough: ReadonlySet<string>;
  private cache = new Map<string, readonly string[]>();

  /**
   * `merges` in file order: rank 0 is merged first; a repeated pair keeps its last rank, as a Python dict
   * does. `passThrough` words are returned whole (transformers seeds its BPE cache with the two CLIP
   * special tokens, so "<|endoftext|>" typed in a prompt stays one token).
   */
  constructor(merges: readonly (readonly [string, string])[], passThrough: readonly string[] = []) {
    merges.forEach(([a, b], rank) => this.ranks.set(pairKey(a, b), rank));
    this.passThrough = new Set(passThrough);
  }

  get mergeCount(): number {
    return this.ranks.size;
  }

  /** BPE symbols of a byte-character word; words listed in `passThrough` come back unchanged (no `</w>`). */
  encode(word: string): readonly string[] {
    if (this.passThrough.has(word)) return [word];
    const cached = this.cache.get(word);
    if (cached) return cached;
    const symbols = this.merge(word);
    if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
    this.cache.set(word, symbols);
    return symbols;
  }

  private merge(word: string): string[] {
    const chars = [...word];
    let symbols = [...chars.slice(0, -1), chars[chars.length - 1] + END_OF_WORD];
    while (symbols.length > 1) {
      const best = this.lowestRankedPair(symbols);
      if (best < 0) break;
      symbols = mergeEvery(symbols, symbols[best], symbols[best + 1]);
    }
    return symbols;
  }

  /** Index of the first symbol of the lowest-ranked adjacent pair, or −1 when no pair is ranked. */
  private lowestRankedPair(symbols: readonly string[]): number {
    let bestRank = Infinity;
    let best = -1;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const rank = this.ranks.get(pairKey(symbols[i], symbols[i + 1]));
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    return best;
  }
}

/** Replaces every non-overlapping occurrence of the pair (first, second), scanning left to right. */
function mergeEvery(symbols: readonly string[], first: string, second: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (symbols[i] === first && i + 1 < symbols.length && symbols[i + 1] === second) {
      out.push(first + second);
      i++;
    } else {
      out.push(symbols[i]);
    }
  }
  return out;
}
