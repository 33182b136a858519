/**
 * How wide text will be, without a font engine: per-character advances (in em) that are the larger of DejaVu Sans
 * and Liberation Sans (Arial's metrics), the fonts FONT_FAMILY asks for, so estimates err on the wide side and
 * labels sized by them are not cut. Line wrapping on top of it never drops characters.
 */
import { PlotError } from './color.js';

/** The charts' font: the two measured families, then the generic family (fontconfig picks one that exists). */
export const FONT_FAMILY = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif";

/** Line pitch and where the baseline sits in a line box, as multiples of the font size. */
export const LINE_HEIGHT = 1.25;
export const BASELINE = 0.95;

/** Advances of ' ' (U+0020) to '~' (U+007E) in hundredths of an em. */
const ASCII_ADVANCE = [
  32, 41, 46, 84, 64, 96, 78, 28, 40, 40, 50, 84, 32, 37, 32, 34, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 34, 34, 84, 84, 84, 56, 102, 69,
  69, 73, 78, 67, 62, 78, 76, 30, 50, 67, 56, 87, 75, 79, 67, 79, 73, 67, 62, 74, 69, 99, 69, 67, 69, 40, 34, 40, 84, 56, 50, 62, 64, 55,
  64, 62, 36, 64, 64, 28, 28, 58, 28, 98, 64, 62, 64, 64, 42, 53, 40, 64, 60, 82, 60, 60, 53, 64, 34, 64, 84,
];

const WIDE = /[\p{Extended_Pictographic}\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u;

/** The advance of one code point in em. */
function advance(char: string): number {
  const code = char.codePointAt(0)!;
  if (code >= 0x20 && code <= 0x7e) return ASCII_ADVANCE[code - 0x20] / 100;
  if (/\p{M}|[\u200b-\u200f\ufe0f]/u.test(char)) return 0; // combining marks, zero-width characters
  const base = char.normalize('NFD')[0];
  if (base !== char && base.codePointAt(0)! <= 0x7e) return advance(base); // é → e
  return WIDE.test(char) ? 1.3 : 1; // other scripts and symbols: a full em (CJK, emoji a bit more)
}

/** The estimated width in pixels of one line of text at `fontSize` px. */
export function textWidth(text: string, fontSize: number): number {
  let em = 0;
  for (const char of text) em += advance(char);
  return em * fontSize;
}

/** Splits a word after '-', '/', '_' or ',' (where a line may break inside it), keeping those characters. */
function softPieces(word: string): string[] {
  return word.match(/[^\-/_,]*[\-/_,]+|[^\-/_,]+/g) ?? [word];
}

/** Cuts a piece that is wider than the line by characters, as few lines as possible. */
function hardBreak(piece: string, maxWidth: number, fontSize: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const char of piece) {
    if (line && textWidth(line + char, fontSize) > maxWidth) {
      lines.push(line);
      line = '';
    }
    line += char;
  }
  return line ? [...lines, line] : lines;
}

/**
 * Greedy word wrap to lines of at most maxWidth px: breaks at spaces, then after '-', '/', '_', ',', and only
 * inside a word that is wider than a line by itself. Every non-space character of the text is kept, in order;
 * '\n' starts a new line.
 */
export function wrapText(text: string, maxWidth: number, fontSize: number): string[] {
  if (!(maxWidth > 0) || !(fontSize > 0))
    throw new PlotError(`wrapText needs a positive width and font size, got ${maxWidth}, ${fontSize}`);
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    const lines: string[] = [];
    let line = '';
    const fits = (s: string) => textWidth(s, fontSize) <= maxWidth;
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      const joined = line ? `${line} ${word}` : word;
      if (fits(joined)) {
        line = joined;
        continue;
      }
      if (line) lines.push(line);
      line = '';
      if (fits(word)) {
        line = word;
        continue;
      }
      // a word wider than a line by itself: its pieces fill lines, and a piece too wide is cut by characters
      for (const piece of softPieces(word)) {
        if (fits(line + piece)) {
          line += piece;
          continue;
        }
        if (line) lines.push(line);
        const broken = fits(piece) ? [piece] : hardBreak(piece, maxWidth, fontSize);
        lines.push(...broken.slice(0, -1));
        line = broken[broken.length - 1];
      }
    }
    out.push(...lines, ...(line || lines.length === 0 ? [line] : []));
  }
  return out;
}

/** The widest of some lines, in px. */
export function linesWidth(lines: readonly string[], fontSize: number): number {
  return Math.max(0, ...lines.map((l) => textWidth(l, fontSize)));
}
