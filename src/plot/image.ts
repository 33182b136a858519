/** Pixel images in and out of src/plot: the RGB rasters it returns and the RGB or RGBA images it accepts. */
import { PlotError } from './color.js';

/** Row-major RGB pixels, 3 bytes each. */
export interface Raster {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

/** An image given as { rgb, width, height }: 3 (RGB) or 4 (RGBA, alpha ignored) bytes per pixel. */
export interface ImageLike {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The largest chart or grid side, in pixels. */
export const MAX_SIDE = 16384;

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

/** The image's RGB bytes (alpha dropped, not blended). */
export function rgbBytes(image: ImageLike, what: string): Uint8Array {
  if (channelsOf(image, what) === 3) return image.rgb;
  const out = new Uint8Array(image.width * image.height * 3);
  for (let i = 0, j = 0; j < out.length; i += 4, j += 3) {
    out[j] = image.rgb[i];
    out[j + 1] = image.rgb[i + 1];
    out[j + 2] = image.rgb[i + 2];
  }
  return out;
}

/** Checks a requested chart or grid size. */
export function checkSize(width: number, height: number, what: string): void {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_SIDE) throw new PlotError(`${what} ${name} must be an integer 1–${MAX_SIDE}, got ${v}`);
  }
}
