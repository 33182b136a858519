/**
 * The text clean-up of transformers' slow CLIPTokenizer when ftfy is not installed (its BasicTokenizer with
 * strip_accents=False and no punctuation split):
 * 1. drop U+0000, U+FFFD and every category-C character except \t \n \r (so U+200B vanishes);
 *    map \t \n \r, space and category Zs (NBSP, em space, ...) to a space;
 * 2. put spaces around CJK ideographs; 3. NFC; 4. split on whitespace, lower-case each word, join with one space.
 *
 * Lower-casing: JavaScript's toLowerCase and Python's str.lower both apply Unicode's full lower-case mappings
 * (İ → i̇, final sigma Σ → ς) without locale rules, so they agree up to the Unicode version of the runtime.
 */

const CONTROL = /^\p{C}$/u;
const SPACE_SEPARATOR = /^\p{Zs}$/u;

/** CJK ideograph blocks, as BasicTokenizer._is_chinese_char lists them (not kana or hangul). */
const CJK_RANGES: readonly (readonly [number, number])[] = [
  [0x4e00, 0x9fff],
  [0x3400, 0x4dbf],
  [0x20000, 0x2a6df],
  [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f],
  [0x2b820, 0x2ceaf],
  [0xf900, 0xfaff],
  [0x2f800, 0x2fa1f],
];

export function isCjkIdeograph(codePoint: number): boolean {
  return CJK_RANGES.some(([lo, hi]) => codePoint >= lo && codePoint <= hi);
}

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || SPACE_SEPARATOR.test(ch);
}

function isDropped(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if (cp === 0 || cp === 0xfffd) return true;
  return ch !== '\t' && ch !== '\n' && ch !== '\r' && CONTROL.test(ch);
}

/** Steps 1 and 2, one code point at a time (lone surrogates are category Cs, so they are dropped). */
function cleanAndSpaceCjk(text: string): string {
  let out = '';
  for (const ch of text) {
    if (isDropped(ch)) continue;
    if (isWhitespace(ch)) out += ' ';
    else if (isCjkIdeograph(ch.codePointAt(0)!)) out += ` ${ch} `;
    else out += ch;
  }
  return out;
}

/**
 * The cleaned, lower-cased words of `text` joined by single spaces. After this the only whitespace left
 * is the single separating space, so the pre-tokenizer regex sees the same text in JavaScript and Python.
 */
export function basicClean(text: string): string {
  const words = cleanAndSpaceCjk(text)
    .normalize('NFC')
    .split(/\s+/u)
    .filter((w) => w.length > 0);
  return words.map((w) => w.toLowerCase()).join(' ');
}

/**
 * CLIP's pre-tokenizer: the special tokens, the English contractions, runs of letters, single digits, runs of
 * other non-space characters. Case-insensitive as in transformers (the text is already lower-cased).
 */
const PIECE_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

export function preTokenize(cleaned: string): string[] {
  return Array.from(cleaned.matchAll(PIECE_PATTERN), (m) => m[0]);
}
