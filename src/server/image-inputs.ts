/**
 * Images sent in requests (img2img's init image, inpainting's mask): base64 PNG, JPEG or WebP, optionally
 * as a data URL. Each is checked before any pipeline sees it: its encoded size (MAX_IMAGE_BYTES), its format
 * and its pixel count (MAX_IMAGE_PIXELS, read from the header, so a decompression bomb is refused without
 * being decoded). Every refusal is a 400 naming the field.
 */
import sharp, { type Metadata } from 'sharp';
import { cannyEdges } from '../pipelines/canny.js';
import { fieldError } from './errors.js';
import type { LoraEntry } from './model-registry.js';
import { MAX_IMAGE_BYTES, MAX_SIZE, type ControlNetPreprocessor, type ControlPreprocessing, type JobSpec } from './request-schema.js';

/** Pixels of one image (a 2048×2048 image; larger ones are refused before decoding). */
export const MAX_IMAGE_PIXELS = MAX_SIZE * MAX_SIZE;
const FORMATS = new Set(['png', 'jpeg', 'webp']);

export interface DecodedImage {
  bytes: Uint8Array;
  width: number;
  height: number;
}

/** A base64 (or data URL) image field → its bytes and size; a 400 naming `field` when it is not an image we take. */
export async function decodeImageField(value: string, field: string): Promise<DecodedImage> {
  let text = value.trim();
  const dataUrl = /^data:([\w/+.-]*)(;[\w=.-]+)*?;base64,/i.exec(text);
  if (dataUrl) text = text.slice(dataUrl[0].length);
  else if (text.startsWith('data:')) throw fieldError(field, 'a data URL must be base64 (data:image/png;base64,...)');
  text = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text) || text.length === 0) throw fieldError(field, 'must be a base64 PNG, JPEG or WebP image');
  if (Math.floor((text.length * 3) / 4) > MAX_IMAGE_BYTES + 2)
    throw fieldError(field, `the image exceeds ${MAX_IMAGE_BYTES} bytes (${MAX_IMAGE_BYTES / 2 ** 20} MiB)`);
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (bytes.byteLength > MAX_IMAGE_BYTES) throw fieldError(field, `the image exceeds ${MAX_IMAGE_BYTES} bytes`);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw fieldError(field, 'cannot decode the image (send a base64 PNG, JPEG or WebP)');
  }
  if (!meta.format || !FORMATS.has(meta.format))
    throw fieldError(field, `${meta.format ?? 'unknown'} images are not accepted (send PNG, JPEG or WebP)`);
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) throw fieldError(field, 'the image has no size');
  if (width * height > MAX_IMAGE_PIXELS)
    throw fieldError(field, `the image is ${width}×${height}; at most ${MAX_IMAGE_PIXELS} pixels (${MAX_SIZE}×${MAX_SIZE}) are accepted`);
  // The header can lie about the rest of the file: decode once now so a broken image is this request's 400.
  try {
    await sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS }).raw().toBuffer();
  } catch (e) {
    throw fieldError(field, `cannot decode the image: ${(e as Error).message}`);
  }
  return { bytes, width, height };
}

/** The image fields of a request, by the names the request's API uses (for error messages). */
export interface ImageFields {
  initImage?: { value: string; field: string };
  mask?: { value: string; field: string };
  strength?: number;
  maskBlur?: number;
  /** A ControlNet's hint image (text-to-image only). */
  control?: {
    value: string;
    field: string;
    entry: LoraEntry;
    scale: number;
    preprocessor?: ControlNetPreprocessor;
    low?: number;
    high?: number;
  };
}

/**
 * Decodes a request's image inputs into the job spec. Without an explicit width and height, the job runs
 * at the init image's size rounded down to the model's size multiple (VAE factor × UNet downsampling; 64,
 * SD 1.x's, when unknown), and memory admission counts that size.
 */
export async function attachImages(spec: JobSpec, fields: ImageFields): Promise<JobSpec> {
  if (fields.control) return attachControl(spec, fields.control);
  if (!fields.initImage) {
    if (fields.mask) throw fieldError(fields.mask.field, 'a mask needs an init image');
    return spec;
  }
  const image = await decodeImageField(fields.initImage.value, fields.initImage.field);
  const mask = fields.mask ? await decodeImageField(fields.mask.value, fields.mask.field) : undefined;
  const { width, height } = sizeFrom(spec, image, fields.initImage.field);
  return {
    ...spec,
    width,
    height,
    init: {
      image: image.bytes,
      imageWidth: image.width,
      imageHeight: image.height,
      strength: fields.strength ?? (mask ? 1 : 0.75),
      mask: mask?.bytes,
      maskBlur: fields.maskBlur,
    },
  };
}

/** The request's size, else the image's rounded down to the model's size multiple. */
function sizeFrom(spec: JobSpec, image: DecodedImage, field: string): { width: number; height: number } {
  const factor = spec.model.sizeMultiple ?? 64;
  const width = spec.width ?? Math.floor(Math.min(image.width, MAX_SIZE) / factor) * factor;
  const height = spec.height ?? Math.floor(Math.min(image.height, MAX_SIZE) / factor) * factor;
  if (width === 0 || height === 0)
    throw fieldError(field, `the image is ${image.width}×${image.height}; it must be at least ${factor} pixels each way`);
  return { width, height };
}

async function attachControl(spec: JobSpec, control: NonNullable<ImageFields['control']>): Promise<JobSpec> {
  const image = await decodeImageField(control.value, control.field);
  const size = sizeFrom(spec, image, control.field);
  if (!control.preprocessor || control.preprocessor === 'none')
    return { ...spec, ...size, control: { entry: control.entry, scale: control.scale, image: image.bytes } };
  const preprocessor: ControlPreprocessing = { module: control.preprocessor, low: control.low ?? 100, high: control.high ?? 200 };
  return {
    ...spec,
    ...size,
    control: { entry: control.entry, scale: control.scale, image: await cannyHint(image, preprocessor), preprocessor },
  };
}

/** The hint's canny edges (OpenCV's algorithm, pipelines/canny.ts) as a PNG, white on black, at the image's size. */
async function cannyHint(image: DecodedImage, options: ControlPreprocessing): Promise<Uint8Array> {
  const { data, info } = await sharp(image.bytes, { limitInputPixels: MAX_IMAGE_PIXELS })
    .rotate()
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const edges = cannyEdges({ width: info.width, height: info.height, channels: 3, pixels: new Uint8Array(data) }, options);
  const png = await sharp(edges.pixels, { raw: { width: edges.width, height: edges.height, channels: 3 } })
    .png()
    .toBuffer();
  return new Uint8Array(png);
}
