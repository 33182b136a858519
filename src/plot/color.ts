/** Colours for the charts: RGB triples, '#rrggbb' strings, and the chart palette. */

/** Errors from src/plot (bad chart options, malformed images, out-of-range drawing arguments). */
export class PlotError extends RangeError {
  override name = 'PlotError';
}

export type Rgb = readonly [r: number, g: number, b: number];
/** An RGB triple (0–255 each) or a '#rrggbb' / '#rgb' string. */
export type Color = Rgb | string;

export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];

/** Distinct, colour-blind-friendlier series colours (Okabe–Ito order, then a few extras). */
export const PALETTE: readonly Rgb[] = [
  [0, 114, 178],
  [213, 94, 0],
  [0, 158, 115],
  [204, 121, 167],
  [230, 159, 0],
  [86, 180, 233],
  [120, 60, 160],
  [90, 90, 90],
];

export function paletteColor(index: number): Rgb {
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

/** Normalises a Color; `what` names the option at fault in the error. */
export function parseColor(color: Color, what = 'color'): Rgb {
  if (typeof color === 'string') {
    const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color.trim())?.[1];
    if (!hex) throw new PlotError(`${what}: expected '#rrggbb' or '#rgb', got ${JSON.stringify(color)}`);
    const full = hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex;
    return [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16)) as unknown as Rgb;
  }
  if (!Array.isArray(color) || color.length !== 3 || !color.every((c) => Number.isInteger(c) && c >= 0 && c <= 255)) {
    throw new PlotError(`${what}: expected [r, g, b] with integers 0–255, got ${JSON.stringify(color)}`);
  }
  return color;
}

/** Linear mix: t = 0 gives `a`, t = 1 gives `b` (used to draw raw series lighter behind their smoothed line). */
export function mixColors(a: Rgb, b: Rgb, t: number): Rgb {
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t)) as unknown as Rgb;
}

export function sameColor(a: Rgb, b: Rgb): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}
