/**
 * GPT-2/CLIP byte-level alphabet: every byte 0–255 stands for one printable character, so BPE symbols are
 * plain strings with no whitespace or control characters in them. Printable Latin-1 bytes map to themselves;
 * the other 68 bytes map to U+0100.. in byte order.
 */

function buildByteTable(): string[] {
  const isPrintable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array(256);
  let next = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(isPrintable(b) ? b : 256 + next++);
  return table;
}

/** Byte → its character (transformers' `bytes_to_unicode`). */
export const BYTE_TO_CHAR: readonly string[] = buildByteTable();

/** The 256 byte characters in the order CLIP's vocabulary lists them: printable bytes first, then the rest. */
export function byteCharsInVocabOrder(): string[] {
  return [...BYTE_TO_CHAR].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
}

const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** A text piece as byte characters: its UTF-8 bytes, each replaced by its character. */
export function toByteChars(piece: string): string {
  let out = '';
  for (const b of utf8.encode(piece)) out += BYTE_TO_CHAR[b];
  return out;
}

/** Inverse of toByteChars; characters outside the alphabet are skipped, invalid UTF-8 becomes U+FFFD. */
export function fromByteChars(chars: string): string {
  const bytes: number[] = [];
  for (const c of chars) {
    const b = CHAR_TO_BYTE.get(c);
    if (b !== undefined) bytes.push(b);
  }
  return utf8Decoder.decode(Uint8Array.from(bytes));
}
