/**
 * Text for the charts from the built-in 5×7 bitmap font (font-glyphs.ts), so no font files or native text
 * rendering are needed. Each character advances 6 pixels (times `scale`); a line is 8 pixels tall (7 plus one
 * descender row) and lines are 10 apart. Characters without a glyph are drawn as a hollow box.
 */
import { BLACK, PlotError, parseColor, type Color } from './color.js';
import { fillRect, type Raster, type Rect } from './raster.js';
import { GLYPH_ALIASES, GLYPH_ROWS } from './font-glyphs.js';

export const GLYPH_WIDTH = 5;
export const GLYPH_ADVANCE = 6;
export const GLYPH_HEIGHT = 8;
export const LINE_ADVANCE = 10;

/** A glyph as on-pixels [column, row] in its 5×8 cell. */
type Glyph = readonly (readonly [number, number])[];

function parseGlyph(char: string, rows: string): Glyph {
  const lines = rows.split(' ');
  const ok = (lines.length === 7 || lines.length === 8) && lines.every((l) => /^[.#]{5}$/.test(l));
  if (!ok) throw new PlotError(`font glyph ${JSON.stringify(char)} must be 7 or 8 rows of 5 '.'/'#' cells, got ${JSON.stringify(rows)}`);
  const on: [number, number][] = [];
  lines.forEach((line, row) => [...line].forEach((cell, col) => cell === '#' && on.push([col, row])));
  return on;
}

const GLYPHS = new Map<string, Glyph>(Object.entries(GLYPH_ROWS).map(([c, rows]) => [c, parseGlyph(c, rows)]));

/** The hollow 5×7 box drawn for characters the font lacks. */
const MISSING_GLYPH: Glyph = parseGlyph('missing', '##### #...# #...# #...# #...# #...# #####');

/** Whether `char` has its own glyph (directly or through an alias such as '−' → '-'). */
export function hasGlyph(char: string): boolean {
  return GLYPHS.has(GLYPH_ALIASES[char] ?? char);
}

function glyphFor(char: string): Glyph {
  return GLYPHS.get(GLYPH_ALIASES[char] ?? char) ?? MISSING_GLYPH;
}

export interface TextStyle {
  color?: Color;
  /** Integer pixel magnification, 1–16. */
  scale?: number;
  /** Where x is: the left edge (default), the centre or the right edge of the text box. */
  align?: 'left' | 'center' | 'right';
  /** Only pixels inside this rectangle are drawn. */
  clip?: Rect;
}

function checkScale(scale: number): number {
  if (!Number.isInteger(scale) || scale < 1 || scale > 16) throw new PlotError(`text scale must be an integer 1–16, got ${scale}`);
  return scale;
}

const linesOf = (text: string): string[][] => text.split('\n').map((line) => Array.from(line));

/** The size of the box drawText fills for `text` (every drawn pixel lies inside it). */
export function measureText(text: string, scale = 1): { width: number; height: number } {
  checkScale(scale);
  const lines = linesOf(text);
  const longest = Math.max(...lines.map((l) => l.length));
  if (longest === 0 && lines.length === 1) return { width: 0, height: 0 };
  return {
    width: longest === 0 ? 0 : (longest * GLYPH_ADVANCE - 1) * scale,
    height: ((lines.length - 1) * LINE_ADVANCE + GLYPH_HEIGHT) * scale,
  };
}

/** Calls `plot(x, y)` for each on-pixel of `text` in unscaled text-box coordinates. */
function forEachTextPixel(text: string, plot: (x: number, y: number) => void): void {
  linesOf(text).forEach((chars, line) => {
    chars.forEach((char, i) => {
      for (const [col, row] of glyphFor(char)) plot(i * GLYPH_ADVANCE + col, line * LINE_ADVANCE + row);
    });
  });
}

function alignedLeft(x: number, width: number, align: TextStyle['align']): number {
  if (align === 'center') return Math.round(x - width / 2);
  if (align === 'right') return x - width;
  return x;
}

/** Draws `text` (may contain '\n') with its box's top edge at y; returns the box. */
export function drawText(raster: Raster, text: string, x: number, y: number, style: TextStyle = {}): Rect {
  const scale = checkScale(style.scale ?? 1);
  const color = parseColor(style.color ?? BLACK, 'text color');
  const box = measureText(text, scale);
  const left = alignedLeft(Math.round(x), box.width, style.align);
  const top = Math.round(y);
  forEachTextPixel(text, (gx, gy) => fillRect(raster, left + gx * scale, top + gy * scale, scale, scale, color, style.clip));
  return { x: left, y: top, width: box.width, height: box.height };
}

/**
 * Draws `text` turned 90° anticlockwise (read bottom to top, as for a y-axis label). With align 'center', y is
 * the vertical centre; otherwise it is the top of the box. Returns the box (measureText's size, transposed).
 */
export function drawTextVertical(raster: Raster, text: string, x: number, y: number, style: TextStyle = {}): Rect {
  const scale = checkScale(style.scale ?? 1);
  const color = parseColor(style.color ?? BLACK, 'text color');
  const box = measureText(text, scale);
  const left = Math.round(x);
  const top = style.align === 'center' ? Math.round(y - box.width / 2) : Math.round(y);
  forEachTextPixel(text, (gx, gy) => {
    fillRect(raster, left + gy * scale, top + box.width - (gx + 1) * scale, scale, scale, color, style.clip);
  });
  return { x: left, y: top, width: box.height, height: box.width };
}

/** `text` shortened with '..' so that it fits in maxWidth pixels (unchanged when it already fits). */
export function fitText(text: string, maxWidth: number, scale = 1): string {
  if (measureText(text, scale).width <= maxWidth) return text;
  const chars = Array.from(text);
  for (let keep = chars.length - 1; keep > 0; keep--) {
    const candidate = chars.slice(0, keep).join('').trimEnd() + '..';
    if (measureText(candidate, scale).width <= maxWidth) return candidate;
  }
  return measureText('..', scale).width <= maxWidth ? '..' : '';
}

/** Word-wraps `text` into at most maxLines lines of maxWidth pixels; the last line is shortened if needed. */
export function wrapText(text: string, maxWidth: number, scale = 1, maxLines = 3): string[] {
  const lines: string[] = [];
  let current = '';
  const words = text.split(/\s+/).filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    const candidate = current ? `${current} ${words[i]}` : words[i];
    if (measureText(candidate, scale).width <= maxWidth || !current) {
      current = candidate;
      continue;
    }
    if (lines.length === maxLines - 1) return [...lines, fitText(`${current} ${words.slice(i).join(' ')}`, maxWidth, scale)];
    lines.push(fitText(current, maxWidth, scale));
    current = words[i];
  }
  if (current) lines.push(fitText(current, maxWidth, scale));
  return lines;
}
