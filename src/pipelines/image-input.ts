/**
 * Input images and masks for image-to-image and inpainting, turned into the float layouts the VAE and the
 * mask blending use, as diffusers' VaeImageProcessor does: images → 2·(u8/255) − 1, NCHW; masks → grayscale
 * (PIL's "L" weights), /255, binarised at 0.5 (white = repaint). Files and PNG/JPEG/WebP bytes are decoded,
 * and sizes changed (Lanczos, like PIL's default resample), with sharp.
 */
import sharp, { type Sharp } from 'sharp';
import { GenerationError } from './generation-error.js';

/** 8-bit pixels, row-major, interleaved channels (1 gray, 3 RGB, 4 RGBA). GeneratedImage fits (RGB). */
export interface RawImage {
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Interleaved channels per pixel (default 3). */
  channels?: 1 | 3 | 4;
}

/** A file path, encoded image bytes (PNG, JPEG, WebP ...), or raw pixels (e.g. a GeneratedImage). */
export type ImageInput = string | Uint8Array | RawImage;

interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export class ImageInputError extends GenerationError {
  override name = 'ImageInputError';
}

/** Raw pixels out of sharp; gray stays one channel (sharp would otherwise widen it to sRGB). */
async function toPixels(image: Sharp, gray: boolean): Promise<Pixels> {
  const { data, info } = await (gray ? image.toColourspace('b-w') : image).raw().toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    channels: info.channels,
  };
}

const fromPixels = (p: Pixels): Sharp => sharp(p.data, { raw: { width: p.width, height: p.height, channels: p.channels as 1 | 3 | 4 } });

/** Decodes or checks an input, keeping its channels (alpha dropped, as PIL's convert("RGB") does). */
async function readPixels(input: ImageInput, what: string): Promise<Pixels> {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const source = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    try {
      return await toPixels(sharp(source).removeAlpha(), false);
    } catch (error) {
      const name = typeof input === 'string' ? input : `${input.byteLength} bytes`;
      throw new ImageInputError(`${what}: cannot decode ${name}: ${(error as Error).message}`);
    }
  }
  if (typeof input !== 'object' || input === null || !(input.pixels instanceof Uint8Array)) {
    throw new ImageInputError(`${what}: expected a path, encoded image bytes or { pixels: Uint8Array, width, height }`);
  }
  const channels = input.channels ?? 3;
  const { width, height, pixels } = input;
  if (![1, 3, 4].includes(channels)) throw new ImageInputError(`${what}: channels must be 1, 3 or 4 (got ${channels})`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageInputError(`${what}: width and height must be positive integers (got ${width}×${height})`);
  }
  if (pixels.length !== width * height * channels) {
    throw new ImageInputError(`${what}: ${pixels.length} bytes for ${width}×${height} with ${channels} channels`);
  }
  return { data: pixels, width, height, channels };
}

/** RGB from gray (repeated) or RGBA (alpha dropped). */
function toRgb(p: Pixels): Pixels {
  if (p.channels === 3) return p;
  const n = p.width * p.height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = p.data[i * p.channels + (p.channels === 1 ? 0 : c)];
  }
  return { ...p, data: rgb, channels: 3 };
}

/** Luma as PIL's convert("L"): (R·19595 + G·38470 + B·7471 + 2¹⁵) >> 16. */
function toGray(p: Pixels): Pixels {
  if (p.channels === 1) return p;
  const n = p.width * p.height;
  const gray = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = [p.data[i * p.channels], p.data[i * p.channels + 1], p.data[i * p.channels + 2]];
    gray[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
  }
  return { ...p, data: gray, channels: 1 };
}

async function resize(p: Pixels, width: number, height: number): Promise<Pixels> {
  if (p.width === width && p.height === height) return p;
  return toPixels(fromPixels(p).resize(width, height, { fit: 'fill', kernel: 'lanczos3' }), p.channels === 1);
}

/** Gaussian blur (σ in pixels), as PIL's GaussianBlur(radius) that diffusers' mask_processor.blur applies. */
async function blur(p: Pixels, sigma: number): Promise<Pixels> {
  return sigma > 0 ? toPixels(fromPixels(p).blur(sigma), p.channels === 1) : p;
}

export interface TargetSize {
  /** Output size; default: the input's size rounded down to a multiple of `factor`. */
  width?: number;
  height?: number;
  /** The VAE's downsampling factor (sizes must be multiples of it). */
  factor: number;
}

/** diffusers' get_default_height_width: the requested size, else the image's, rounded down to the factor. */
function outputSize(p: Pixels, size: TargetSize, what: string): { width: number; height: number } {
  const width = size.width ?? p.width - (p.width % size.factor);
  const height = size.height ?? p.height - (p.height % size.factor);
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0 || v % size.factor !== 0) {
      throw new ImageInputError(`${what}: ${name} must be a positive multiple of ${size.factor} (got ${v})`);
    }
  }
  return { width, height };
}

export interface ImageTensor {
  /** [1, C, height, width] row-major. */
  data: Float32Array;
  width: number;
  height: number;
}

/** An image as the VAE encoder takes it: RGB, resized to the target size, 2·(u8/255) − 1, [1,3,H,W]. */
export async function loadImageTensor(input: ImageInput, size: TargetSize, what = 'image'): Promise<ImageTensor> {
  const source = toRgb(await readPixels(input, what));
  const { width, height } = outputSize(source, size, what);
  const rgb = await resize(source, width, height);
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) data[c * plane + i] = 2 * Math.fround(rgb.data[i * 3 + c] / 255) - 1;
  }
  return { data, width, height };
}

export interface MaskTensor extends ImageTensor {
  /** The grayscale mask /255 before binarising (blurred when asked): the weights of a soft overlay. */
  soft: Float32Array;
}

/** A mask as diffusers' mask processor gives it: grayscale, resized, /255, binarised at 0.5, [1,1,H,W]. */
export async function loadMaskTensor(input: ImageInput, size: TargetSize & { blur?: number }, what = 'mask'): Promise<MaskTensor> {
  const sigma = size.blur ?? 0;
  if (!(sigma === 0 || (sigma >= 0.3 && sigma <= 1000)))
    throw new ImageInputError(`${what}: maskBlur must be 0 or in [0.3, 1000] (got ${sigma})`);
  const source = toGray(await readPixels(input, what));
  const { width, height } = outputSize(source, size, what);
  // Blurred at the input's size: diffusers' mask_processor.blur is applied to the mask before preprocess.
  const gray = await resize(await blur(source, sigma), width, height);
  const soft = new Float32Array(width * height);
  for (let i = 0; i < soft.length; i++) soft[i] = gray.data[i] / 255;
  return { data: soft.map((v) => (v >= 0.5 ? 1 : 0)), soft, width, height };
}

/** torch.nn.functional.interpolate(mask, size) in its default nearest mode: source index ⌊dst·in/out⌋. */
export function resizeMaskNearest(mask: Float32Array, height: number, width: number, outHeight: number, outWidth: number): Float32Array {
  const out = new Float32Array(outHeight * outWidth);
  const [sy, sx] = [height / outHeight, width / outWidth];
  for (let y = 0; y < outHeight; y++) {
    const from = Math.min(Math.floor(y * sy), height - 1) * width;
    for (let x = 0; x < outWidth; x++) out[y * outWidth + x] = mask[from + Math.min(Math.floor(x * sx), width - 1)];
  }
  return out;
}
