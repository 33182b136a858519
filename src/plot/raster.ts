/**
 * A plain RGB raster and the few drawing primitives the charts need. No anti-aliasing on purpose: pixel-exact
 * output keeps the charts reproducible and testable. Coordinates are rounded to the nearest pixel; everything
 * drawn is clipped to the raster (and to an optional clip rectangle).
 */
import { encodePng } from '../util/png.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import { PlotError, WHITE, parseColor, type Color, type Rgb } from './color.js';

export interface Raster {
  readonly width: number;
  readonly height: number;
  /** Row-major RGB, 3 bytes per pixel. */
  readonly rgb: Uint8Array;
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface LineStyle {
  /** Pen size in pixels, 1–3 (a square pen). */
  thickness?: number;
  /** Dash pattern in pixel steps along the line: [on, off]. */
  dash?: readonly [on: number, off: number];
  /** Steps into the dash pattern at which the line starts (polylines carry it across segments). */
  dashOffset?: number;
  /** Only pixels inside this rectangle are drawn. */
  clip?: Rect;
}

const MAX_SIDE = 16384;

export function createRaster(width: number, height: number, background: Color = WHITE): Raster {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_SIDE) throw new PlotError(`raster ${name} must be an integer 1–${MAX_SIDE}, got ${v}`);
  }
  const raster: Raster = { width, height, rgb: new Uint8Array(width * height * 3) };
  fillRaster(raster, background);
  return raster;
}

export function fillRaster(raster: Raster, color: Color): void {
  const [r, g, b] = parseColor(color);
  const { rgb } = raster;
  for (let i = 0; i < rgb.length; i += 3) {
    rgb[i] = r;
    rgb[i + 1] = g;
    rgb[i + 2] = b;
  }
}

export function getPixel(raster: Raster, x: number, y: number): Rgb {
  if (x < 0 || y < 0 || x >= raster.width || y >= raster.height)
    throw new PlotError(`pixel (${x}, ${y}) is outside the ${raster.width}×${raster.height} raster`);
  const i = (y * raster.width + x) * 3;
  return [raster.rgb[i], raster.rgb[i + 1], raster.rgb[i + 2]];
}

/** The raster bounds intersected with `clip`, as half-open integer ranges. */
function clipBounds(raster: Raster, clip?: Rect): { x0: number; y0: number; x1: number; y1: number } {
  let x0 = 0,
    y0 = 0,
    x1 = raster.width,
    y1 = raster.height;
  if (clip) {
    x0 = Math.max(x0, Math.round(clip.x));
    y0 = Math.max(y0, Math.round(clip.y));
    x1 = Math.min(x1, Math.round(clip.x + clip.width));
    y1 = Math.min(y1, Math.round(clip.y + clip.height));
  }
  return { x0, y0, x1, y1 };
}

export function setPixel(raster: Raster, x: number, y: number, color: Color): void {
  fillRect(raster, x, y, 1, 1, color);
}

/** Fills the w×h rectangle whose top-left pixel is (x, y); parts outside the raster or `clip` are skipped. */
export function fillRect(raster: Raster, x: number, y: number, w: number, h: number, color: Color, clip?: Rect): void {
  if (![x, y, w, h].every(Number.isFinite)) return;
  const [r, g, b] = parseColor(color);
  const bounds = clipBounds(raster, clip);
  const left = Math.max(bounds.x0, Math.round(x)),
    right = Math.min(bounds.x1, Math.round(x) + Math.round(w));
  const top = Math.max(bounds.y0, Math.round(y)),
    bottom = Math.min(bounds.y1, Math.round(y) + Math.round(h));
  const { rgb, width } = raster;
  for (let py = top; py < bottom; py++) {
    for (let px = left; px < right; px++) {
      const i = (py * width + px) * 3;
      rgb[i] = r;
      rgb[i + 1] = g;
      rgb[i + 2] = b;
    }
  }
}

/** A rectangle outline drawn inside `rect`. */
export function strokeRect(raster: Raster, rect: Rect, color: Color, thickness = 1): void {
  const { x, y, width: w, height: h } = rect;
  const t = Math.min(thickness, Math.ceil(w / 2), Math.ceil(h / 2));
  fillRect(raster, x, y, w, t, color);
  fillRect(raster, x, y + h - t, w, t, color);
  fillRect(raster, x, y + t, t, h - 2 * t, color);
  fillRect(raster, x + w - t, y + t, t, h - 2 * t, color);
}

function validateStyle(style: LineStyle): { thickness: number; dash?: readonly [number, number]; offset: number } {
  const thickness = style.thickness ?? 1;
  if (!Number.isInteger(thickness) || thickness < 1 || thickness > 3)
    throw new PlotError(`line thickness must be 1, 2 or 3, got ${thickness}`);
  const dash = style.dash;
  if (dash && !(dash.length === 2 && dash.every((d) => Number.isInteger(d) && d >= 1))) {
    throw new PlotError(`line dash must be [on, off] with positive integers, got ${JSON.stringify(dash)}`);
  }
  return { thickness, dash, offset: style.dashOffset ?? 0 };
}

/**
 * The parameter range [t0, t1] ⊂ [0, 1] of the segment p0 + t·d that lies inside [lo, hi] on both axes
 * (Liang–Barsky), or undefined when the segment misses the box. Lets far-off endpoints cost nothing.
 */
function clipSegment(
  p0: readonly [number, number],
  d: readonly [number, number],
  lo: readonly [number, number],
  hi: readonly [number, number],
): [number, number] | undefined {
  let t0 = 0,
    t1 = 1;
  for (let axis = 0; axis < 2; axis++) {
    if (d[axis] === 0) {
      if (p0[axis] < lo[axis] || p0[axis] > hi[axis]) return undefined;
      continue;
    }
    let a = (lo[axis] - p0[axis]) / d[axis],
      b = (hi[axis] - p0[axis]) / d[axis];
    if (a > b) [a, b] = [b, a];
    t0 = Math.max(t0, a);
    t1 = Math.min(t1, b);
    if (t0 > t1) return undefined;
  }
  return [t0, t1];
}

/**
 * A straight line by DDA on rounded endpoints: step i of n = max(|dx|, |dy|) is at p0 + round(d·i/n), so every
 * column (or row) of the major axis gets exactly one pen stamp. Returns the number of steps (for dash phase).
 */
export function drawLine(raster: Raster, x0: number, y0: number, x1: number, y1: number, color: Color, style: LineStyle = {}): number {
  const { thickness, dash, offset } = validateStyle(style);
  if (![x0, y0, x1, y1].every(Number.isFinite)) return 0;
  const rgb = parseColor(color);
  const ax = Math.round(x0),
    ay = Math.round(y0),
    dx = Math.round(x1) - ax,
    dy = Math.round(y1) - ay;
  const steps = Math.max(Math.abs(dx), Math.abs(dy));
  const penOffset = -Math.floor((thickness - 1) / 2);
  const bounds = clipBounds(raster, style.clip);
  // pen stamps whose origin lies in this box can touch the visible area; one more pixel of slack because the
  // rounded DDA points stray up to half a pixel from the exact segment that Liang–Barsky clips
  const lo = [bounds.x0 - penOffset - thickness, bounds.y0 - penOffset - thickness] as const;
  const hi = [bounds.x1 - penOffset, bounds.y1 - penOffset] as const;
  const range = clipSegment([ax, ay], [dx, dy], lo, hi);
  if (!range) return steps;
  const first = steps === 0 ? 0 : Math.max(0, Math.floor(range[0] * steps) - 1);
  const last = steps === 0 ? 0 : Math.min(steps, Math.ceil(range[1] * steps) + 1);
  for (let i = first; i <= last; i++) {
    if (dash && (i + offset) % (dash[0] + dash[1]) >= dash[0]) continue;
    const px = steps === 0 ? ax : ax + Math.round((dx * i) / steps);
    const py = steps === 0 ? ay : ay + Math.round((dy * i) / steps);
    fillRect(raster, px + penOffset, py + penOffset, thickness, thickness, rgb, style.clip);
  }
  return steps;
}

/** Connected segments; the dash pattern continues across vertices. Non-finite points split the line. */
export function drawPolyline(raster: Raster, points: readonly (readonly [number, number])[], color: Color, style: LineStyle = {}): void {
  let phase = style.dashOffset ?? 0;
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    phase += drawLine(raster, a[0], a[1], b[0], b[1], color, { ...style, dashOffset: phase });
  }
  if (points.length === 1) drawLine(raster, points[0][0], points[0][1], points[0][0], points[0][1], color, style);
}

/** An image given as { rgb, width, height }: 3 (RGB) or 4 (RGBA, alpha ignored) bytes per pixel. */
export interface ImageLike {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Bytes per pixel of an ImageLike (3 or 4), checked against its size; `what` names it in errors. */
export function channelsOf(image: ImageLike, what: string): 3 | 4 {
  const { width, height, rgb } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new PlotError(`${what}: width and height must be positive integers, got ${width}×${height}`);
  if (!(rgb instanceof Uint8Array)) throw new PlotError(`${what}: rgb must be a Uint8Array`);
  if (rgb.length === width * height * 3) return 3;
  if (rgb.length === width * height * 4) return 4;
  throw new PlotError(
    `${what}: ${rgb.length} bytes do not match ${width}×${height} RGB (${width * height * 3}) or RGBA (${width * height * 4})`,
  );
}

/** Copies `image` with its top-left corner at (x, y), clipped to the raster. */
export function blit(raster: Raster, image: ImageLike, x: number, y: number, what = 'image'): void {
  const channels = channelsOf(image, what);
  const left = Math.max(0, x),
    top = Math.max(0, y);
  const right = Math.min(raster.width, x + image.width),
    bottom = Math.min(raster.height, y + image.height);
  for (let py = top; py < bottom; py++) {
    for (let px = left; px < right; px++) {
      const src = ((py - y) * image.width + (px - x)) * channels,
        dst = (py * raster.width + px) * 3;
      raster.rgb[dst] = image.rgb[src];
      raster.rgb[dst + 1] = image.rgb[src + 1];
      raster.rgb[dst + 2] = image.rgb[src + 2];
    }
  }
}

/** PNG bytes, with optional tEXt/iTXt chunks (e.g. { Software: 'tdd-diffusion' }). */
export function toPng(raster: Raster, text?: Record<string, string>): Promise<Uint8Array> {
  return encodePng(raster.rgb, raster.width, raster.height, text);
}

/** Writes the raster as a PNG file atomically (readers never see half a chart). */
export async function savePng(raster: Raster, path: string, text?: Record<string, string>): Promise<void> {
  writeFileAtomically(path, await toPng(raster, text));
}
