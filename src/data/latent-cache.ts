/**
 * VAE latents cached on disk so the VAE encoder runs once per training image, not once per epoch. An entry is
 * keyed by sha256(image bytes) under a folder per (encoder identity, resolution, background):
 * `<dir>/<identity-hash>/<first 2 hex>/<sha256>.bin` (format in latent-file.ts). The distribution (mean and
 * std) is stored rather than one sample, so every epoch draws fresh latents as diffusers' training does.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomically } from '../util/atomic-write.js';
import type { TorchGenerator } from '../util/torch-generator.js';
import { LatentCacheError } from './errors.js';
import { prepareTrainingImage, WHITE, type RgbColor } from './image-prep.js';
import { decodeLatentFile, encodeLatentFile, LATENT_HEADER_PEEK, LATENT_MAGIC, readLatentHeader, type LatentEntry } from './latent-file.js';
import type { ImageCaptionRecord, LatentEncoder } from './types.js';

export type { LatentEntry } from './latent-file.js';

export interface LatentCacheOptions {
  width: number;
  height: number;
  /** Images per encoder call (default 8). */
  batchSize?: number;
  /** Behind transparent pixels (default white); part of the cache key. */
  background?: RgbColor;
  /** Channels of the latent (default 4; SD3/Flux VAEs have 16): the encoder returns flat arrays, this gives them a shape. */
  latentChannels?: number;
}

interface Pending {
  sha: string;
  record: ImageCaptionRecord;
  bytes: Buffer;
}

/** Bump when prepareTrainingImage changes its output, so older cached latents are not reused. */
const IMAGE_PREP_VERSION = 'cover-resize-lanczos3-center-crop/1';

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function checkPositiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`LatentCache: ${name} must be a positive integer, got ${value}`);
  return value;
}

export class LatentCache {
  /** The folder of this encoder/resolution/background: `<dir>/<identity-hash>`. */
  readonly directory: string;
  private readonly width: number;
  private readonly height: number;
  private readonly batchSize: number;
  private readonly background: RgbColor;
  private readonly latentChannels: number;
  /** record.id → sha256 of its bytes: each image is hashed once per process. */
  private readonly shaById = new Map<string, string>();
  private infoWritten = false;

  constructor(
    dir: string,
    private readonly encoder: LatentEncoder,
    options: LatentCacheOptions,
  ) {
    this.width = checkPositiveInt(options.width, 'width');
    this.height = checkPositiveInt(options.height, 'height');
    this.batchSize = checkPositiveInt(options.batchSize ?? 8, 'batchSize');
    this.latentChannels = checkPositiveInt(options.latentChannels ?? 4, 'latentChannels');
    this.background = options.background ?? WHITE;
    const key = JSON.stringify(this.describe());
    this.directory = join(dir, sha256Hex(Buffer.from(key)).slice(0, 16));
  }

  private describe(): Record<string, unknown> {
    const { r, g, b } = this.background;
    return {
      format: LATENT_MAGIC,
      prep: IMAGE_PREP_VERSION,
      encoder: this.encoder.identity,
      width: this.width,
      height: this.height,
      background: [r, g, b],
      latentChannels: this.latentChannels,
    };
  }

  /** Where the entry of an image with this sha256 lives. */
  pathFor(sha: string): string {
    return join(this.directory, sha.slice(0, 2), `${sha}.bin`);
  }

  /** Encodes every record that has no valid entry yet, batchSize images per encoder call. */
  async ensure(records: readonly ImageCaptionRecord[], onProgress?: (done: number, total: number) => void): Promise<void> {
    const total = records.length;
    let done = 0;
    let batch: Pending[] = [];
    let batchRecords = 0; // duplicates of a queued image count as done when their batch is
    const queued = new Set<string>();
    const flush = async (): Promise<void> => {
      if (batch.length > 0) await this.encodeBatch(batch);
      done += batchRecords;
      batch = [];
      batchRecords = 0;
      queued.clear();
      onProgress?.(done, total);
    };
    for (const record of records) {
      const { sha, bytes } = await this.hashRecord(record);
      if (queued.has(sha)) batchRecords++;
      else if (await this.hasValidEntry(sha)) {
        done++;
        onProgress?.(done, total);
      } else {
        batch.push({ sha, record, bytes: bytes ?? (await record.readBytes()) });
        queued.add(sha);
        batchRecords++;
        if (batch.length === this.batchSize) await flush();
      }
    }
    if (batchRecords > 0) await flush();
  }

  /** The record's latent distribution from disk; encoded now (and cached) when missing or damaged. */
  async get(record: ImageCaptionRecord): Promise<LatentEntry> {
    const { sha, bytes } = await this.hashRecord(record);
    const entry = await this.readEntry(sha);
    if (entry) return entry;
    const [encoded] = await this.encodeBatch([{ sha, record, bytes: bytes ?? (await record.readBytes()) }]);
    return encoded;
  }

  /** bytes is returned only when it had to be read for hashing (so ensure does not read it twice). */
  private async hashRecord(record: ImageCaptionRecord): Promise<{ sha: string; bytes?: Buffer }> {
    const known = this.shaById.get(record.id);
    if (known !== undefined) return { sha: known };
    const bytes = await record.readBytes();
    const sha = sha256Hex(bytes);
    this.shaById.set(record.id, sha);
    return { sha, bytes };
  }

  /** Magic, header and exact length, without reading the floats (checked on every call: files may be damaged between runs). */
  private async hasValidEntry(sha: string): Promise<boolean> {
    let file;
    try {
      file = await open(this.pathFor(sha), 'r');
    } catch {
      return false;
    }
    try {
      const head = Buffer.alloc(LATENT_HEADER_PEEK);
      const { bytesRead } = await file.read(head, 0, head.length, 0);
      const header = readLatentHeader(head.subarray(0, bytesRead));
      return header !== undefined && header.fileLength === (await file.stat()).size;
    } finally {
      await file.close();
    }
  }

  private async readEntry(sha: string): Promise<LatentEntry | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathFor(sha));
    } catch {
      return undefined;
    }
    return decodeLatentFile(bytes);
  }

  private async encodeBatch(batch: readonly Pending[]): Promise<LatentEntry[]> {
    const { width, height } = this;
    const n = batch.length;
    const plane = 3 * width * height;
    const pixels = new Float32Array(n * plane);
    for (let i = 0; i < n; i++) {
      const { record, bytes } = batch[i];
      pixels.set(await prepareTrainingImage(bytes, { width, height, background: this.background, id: record.id }), i * plane);
    }
    const { mean, std } = await this.encoder.encodeImages(pixels, n, height, width);
    const shape = this.latentShape(mean.length, std.length, n);
    const per = mean.length / n;
    const entries = batch.map((_, i): LatentEntry => ({
      mean: mean.slice(i * per, (i + 1) * per),
      std: std.slice(i * per, (i + 1) * per),
      shape,
    }));
    this.writeInfoOnce();
    batch.forEach(({ sha }, i) => {
      const path = this.pathFor(sha);
      mkdirSync(dirname(path), { recursive: true });
      writeFileAtomically(path, encodeLatentFile(entries[i]));
    });
    return entries;
  }

  /** [C, h, w] from the flat encoder output: h = height/f, w = width/f for an integer downscale f. */
  private latentShape(meanLength: number, stdLength: number, n: number): number[] {
    const where = `latent encoder "${this.encoder.identity}"`;
    if (meanLength !== stdLength || meanLength % n !== 0) {
      throw new LatentCacheError(`${where} returned mean/std of ${meanLength}/${stdLength} values for ${n} image(s)`);
    }
    const spatial = meanLength / n / this.latentChannels;
    const factor = Math.round(Math.sqrt((this.width * this.height) / spatial));
    const h = this.height / factor;
    const w = this.width / factor;
    if (!Number.isInteger(h) || !Number.isInteger(w) || this.latentChannels * h * w * n !== meanLength) {
      throw new LatentCacheError(
        `${where} returned ${meanLength / n} values per ${this.width}×${this.height} image, not ${this.latentChannels}×(h/f)×(w/f) for an integer f (check latentChannels)`,
      );
    }
    return [this.latentChannels, h, w];
  }

  private writeInfoOnce(): void {
    if (this.infoWritten) return;
    mkdirSync(this.directory, { recursive: true });
    writeFileAtomically(join(this.directory, 'cache-info.json'), Buffer.from(`${JSON.stringify(this.describe(), null, 1)}\n`));
    this.infoWritten = true;
  }
}

/**
 * Draws training latents from cached distributions, as diffusers' `vae.encode(x).latent_dist.sample()` then
 * `(latents − shift) · scaling` does for one batch. Draw order: ONE `generator.randn([B, C, h, w])` call for
 * the whole batch (row-major, so entry b uses the b-th C·h·w block), then per element in float32:
 * `((mean + std·noise) − shift) · scaling`, each operation rounded to float32 as torch does.
 */
export function sampleLatents(
  entries: readonly LatentEntry[],
  generator: TorchGenerator,
  scalingFactor: number,
  shiftFactor = 0,
): Float32Array {
  if (entries.length === 0) throw new RangeError('sampleLatents: no entries');
  const shape = entries[0].shape;
  const per = entries[0].mean.length;
  entries.forEach((e, b) => {
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
      throw new RangeError(`sampleLatents: entry ${b} has shape [${e.shape.join(', ')}], entry 0 has [${shape.join(', ')}]`);
    }
  });
  const noise = generator.randn([entries.length, ...shape]);
  const f = Math.fround;
  const scale = f(scalingFactor);
  const shift = f(shiftFactor);
  const out = new Float32Array(noise.length);
  entries.forEach(({ mean, std }, b) => {
    for (let i = 0, j = b * per; i < per; i++, j++) {
      const sample = f(mean[i] + f(std[i] * noise[j]));
      out[j] = f((shift === 0 ? sample : f(sample - shift)) * scale);
    }
  });
  return out;
}
