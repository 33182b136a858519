/**
 * Training images as the VAE wants them: decoded, alpha composited over a background, resized so the
 * target is covered (the shorter side meets it, lanczos3) and center-cropped like torchvision's
 * Resize + CenterCrop, then CHW float32 in [−1, 1] with 3 channels.
 */
import sharp from 'sharp';
import { ImagePrepError } from './errors.js';

export interface RgbColor {
  readonly r: number;
  readonly g: number;
  readonly b: number;
}

export const WHITE: RgbColor = Object.freeze({ r: 255, g: 255, b: 255 });

export interface ImagePrepOptions {
  /** Square target side; or give width and height. */
  size?: number;
  width?: number;
  height?: number;
  /** What transparent pixels become (default white: emoji and logos are drawn for light backgrounds). */
  background?: RgbColor;
  /** Names the image in error messages (a record id). */
  id?: string;
}

function positiveInt(value: number | undefined, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0)
    throw new RangeError(`prepareTrainingImage: ${name} must be a positive integer, got ${String(value)}`);
  return value as number;
}

/** Target width and height from { size } or { width, height }. */
export function targetSize(options: ImagePrepOptions): { width: number; height: number } {
  if (options.size !== undefined) {
    if (options.width !== undefined || options.height !== undefined)
      throw new RangeError('prepareTrainingImage: give size or width+height, not both');
    const size = positiveInt(options.size, 'size');
    return { width: size, height: size };
  }
  return { width: positiveInt(options.width, 'width'), height: positiveInt(options.height, 'height') };
}

/** Python's round(): halves go to the even neighbour (torchvision's center-crop offsets use it). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface CoverCrop {
  resizedWidth: number;
  resizedHeight: number;
  left: number;
  top: number;
}

/**
 * The resize that covers width×height keeping the aspect ratio (the limiting side becomes exact, the other
 * is truncated like torchvision's Resize), and the centered crop offsets.
 */
export function coverCrop(sourceWidth: number, sourceHeight: number, width: number, height: number): CoverCrop {
  let resizedWidth: number;
  let resizedHeight: number;
  if (width * sourceHeight >= height * sourceWidth) {
    resizedWidth = width;
    resizedHeight = Math.max(height, Math.floor((sourceHeight * width) / sourceWidth));
  } else {
    resizedHeight = height;
    resizedWidth = Math.max(width, Math.floor((sourceWidth * height) / sourceHeight));
  }
  return {
    resizedWidth,
    resizedHeight,
    left: roundHalfEven((resizedWidth - width) / 2),
    top: roundHalfEven((resizedHeight - height) / 2),
  };
}

async function decodeRgb(bytes: Uint8Array, background: RgbColor): Promise<{ data: Buffer; width: number; height: number }> {
  // rotate(): apply the EXIF orientation, as viewers show the photo.
  const { data, info } = await sharp(bytes, { failOn: 'error' })
    .rotate()
    .flatten({ background })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  return { data, width: info.width, height: info.height };
}

/** Decodes and prepares one image; CHW float32, value = byte / 127.5 − 1. */
export async function prepareTrainingImage(bytes: Uint8Array, options: ImagePrepOptions): Promise<Float32Array> {
  const { width, height } = targetSize(options);
  const name = options.id ?? 'image';
  let rgb: Buffer;
  try {
    const decoded = await decodeRgb(bytes, options.background ?? WHITE);
    const crop = coverCrop(decoded.width, decoded.height, width, height);
    let pipeline = sharp(decoded.data, { raw: { width: decoded.width, height: decoded.height, channels: 3 } });
    if (crop.resizedWidth !== decoded.width || crop.resizedHeight !== decoded.height) {
      pipeline = pipeline.resize(crop.resizedWidth, crop.resizedHeight, { fit: 'fill', kernel: 'lanczos3' });
    }
    rgb = await pipeline.extract({ left: crop.left, top: crop.top, width, height }).raw().toBuffer();
  } catch (err) {
    throw new ImagePrepError(`${name}: cannot decode or prepare the image (${(err as Error).message})`);
  }
  return toChwSigned(rgb, width, height);
}

/** HWC bytes → CHW floats in [−1, 1]. */
function toChwSigned(rgb: Uint8Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    out[p] = rgb[3 * p] / 127.5 - 1;
    out[plane + p] = rgb[3 * p + 1] / 127.5 - 1;
    out[2 * plane + p] = rgb[3 * p + 2] / 127.5 - 1;
  }
  return out;
}
