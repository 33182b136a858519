/**
 * Emoji images as training pixels: RGB composited over white (the generated emoji are shown on white, and a
 * transparent border must not become black), CHW float32 in [−1, 1], and the augmentation. The augmentation
 * only moves and shrinks the emoji: flips and rotations would change what many emoji mean (arrows, flags,
 * keycaps, text, hands), so they are not offered.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type OutputInfo } from 'sharp';
import type { TorchGenerator } from '../../util/torch-generator.js';
import { EmojiDataError, type EmojiEntry } from './catalog.js';

export interface EmojiImageOptions {
  /** Side length in pixels (default 64, the packages' size; other sizes are resampled with Lanczos). */
  size?: number;
}

/** White in [−1, 1]: the background and the padding of shifted images. */
const WHITE = 1;

function checkSize(size: number, what: string): void {
  if (!Number.isInteger(size) || size < 1) throw new EmojiDataError(`${what}: size must be a positive integer, got ${size}`);
}

/** Decodes an emoji PNG (any size, alpha or not) into size×size RGB over white, CHW in [−1, 1]. */
export async function emojiPngToPixels(
  png: Uint8Array,
  { size = 64 }: EmojiImageOptions = {},
  label = 'emoji image',
): Promise<Float32Array> {
  checkSize(size, label);
  let raw: { data: Buffer; info: OutputInfo };
  try {
    let image = sharp(png);
    const meta = await image.metadata();
    if (meta.width !== size || meta.height !== size) image = image.resize(size, size, { fit: 'fill', kernel: 'lanczos3' });
    raw = await image.flatten({ background: '#ffffff' }).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new EmojiDataError(`${label}: cannot decode the image (${(e as Error).message})`);
  }
  const { data, info } = raw;
  if (info.channels !== 3 || info.width !== size || info.height !== size) {
    throw new EmojiDataError(`${label}: decoded to ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×3`);
  }
  const plane = size * size;
  const chw = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) chw[c * plane + i] = data[i * 3 + c] / 127.5 - 1;
  return chw;
}

/** Reads an entry's PNG and decodes it as emojiPngToPixels does. */
export async function loadEmojiImage(entry: Pick<EmojiEntry, 'id' | 'imagePath'>, options: EmojiImageOptions = {}): Promise<Float32Array> {
  let png: Buffer;
  try {
    png = await readFile(entry.imagePath);
  } catch (e) {
    throw new EmojiDataError(`${entry.id}: cannot read ${entry.imagePath} (${(e as Error).message})`);
  }
  return emojiPngToPixels(png, options, `${entry.id} (${entry.imagePath})`);
}

export interface EmojiAugmentOptions {
  /** Largest translation in pixels along each axis (default 3); uniform integer in [−maxShift, maxShift]. */
  maxShift?: number;
  /** Smallest scale (default 0.9); uniform in [minScale, 1), about the centre. 1 turns scaling off. */
  minScale?: number;
}

export interface EmojiAugmentation {
  dx: number;
  dy: number;
  scale: number;
}

/**
 * Draws the augmentation parameters: one `rand` for the scale, then one `randint` of two for (dx, dy).
 * Always the same draws whatever the options, so a run's generator stream does not depend on them.
 */
export function drawEmojiAugmentation(
  generator: TorchGenerator,
  { maxShift = 3, minScale = 0.9 }: EmojiAugmentOptions = {},
): EmojiAugmentation {
  if (!Number.isInteger(maxShift) || maxShift < 0)
    throw new EmojiDataError(`augmentEmoji: maxShift must be a non-negative integer, got ${maxShift}`);
  if (!(minScale > 0 && minScale <= 1)) throw new EmojiDataError(`augmentEmoji: minScale must be in (0, 1], got ${minScale}`);
  const u = generator.rand([1])[0];
  const [dx, dy] = generator.randint(-maxShift, maxShift + 1, [2]);
  return { dx, dy, scale: minScale === 1 ? 1 : minScale + (1 - minScale) * u };
}

/**
 * Augments one CHW image (3×size×size in [−1, 1]): scaled by `scale` about the centre, then moved by
 * (dx, dy) pixels (positive = right/down); uncovered pixels are white. A new array; the input is unchanged.
 */
export function applyEmojiAugmentation(chw: Float32Array, size: number, { dx, dy, scale }: EmojiAugmentation): Float32Array {
  checkSize(size, 'augmentEmoji');
  if (chw.length !== 3 * size * size)
    throw new EmojiDataError(`augmentEmoji: expected 3×${size}×${size} = ${3 * size * size} values, got ${chw.length}`);
  return scale === 1 ? shiftImage(chw, size, dx, dy) : resampleImage(chw, size, dx, dy, scale);
}

/** drawEmojiAugmentation then applyEmojiAugmentation: the training-time augmentation of one image. */
export function augmentEmoji(chw: Float32Array, size: number, generator: TorchGenerator, options: EmojiAugmentOptions = {}): Float32Array {
  return applyEmojiAugmentation(chw, size, drawEmojiAugmentation(generator, options));
}

/** Exact integer translation (no resampling, so the pixels stay bit-identical). */
function shiftImage(chw: Float32Array, size: number, dx: number, dy: number): Float32Array {
  const out = new Float32Array(chw.length).fill(WHITE);
  const plane = size * size;
  for (let c = 0; c < 3; c++) {
    for (let y = Math.max(0, dy); y < Math.min(size, size + dy); y++) {
      const from = c * plane + (y - dy) * size;
      const x0 = Math.max(0, dx);
      const x1 = Math.min(size, size + dx);
      if (x1 > x0) out.set(chw.subarray(from + x0 - dx, from + x1 - dx), c * plane + y * size + x0);
    }
  }
  return out;
}

/** Bilinear resampling of the scaled and shifted image; samples outside the source read white. */
function resampleImage(chw: Float32Array, size: number, dx: number, dy: number, scale: number): Float32Array {
  const out = new Float32Array(chw.length);
  const plane = size * size;
  const centre = size / 2;
  const at = (c: number, x: number, y: number): number =>
    x < 0 || y < 0 || x >= size || y >= size ? WHITE : chw[c * plane + y * size + x];
  for (let y = 0; y < size; y++) {
    const sy = (y + 0.5 - dy - centre) / scale + centre - 0.5;
    const y0 = Math.floor(sy);
    const fy = sy - y0;
    for (let x = 0; x < size; x++) {
      const sx = (x + 0.5 - dx - centre) / scale + centre - 0.5;
      const x0 = Math.floor(sx);
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const top = at(c, x0, y0) * (1 - fx) + at(c, x0 + 1, y0) * fx;
        const bottom = at(c, x0, y0 + 1) * (1 - fx) + at(c, x0 + 1, y0 + 1) * fx;
        out[c * plane + y * size + x] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return out;
}
