/**
 * Finished images, served at /api/images/:id.png and listed (newest first) at GET /api/images. Kept in memory, newest `maxImages` (a few MB for the
 * usual sizes); with an output folder every PNG is also written there atomically, so nothing is lost when
 * the memory copy is dropped or the server stops. An output folder that cannot be written is refused at
 * start-up (ServeError); a write that fails later (a full disk) keeps the image in memory, served as usual,
 * and logs one warning per kind of failure until a write succeeds again.
 * The history (id, file, size, job, time, `parameters` text) is kept in the output folder's INDEX_FILE,
 * written atomically after every image and read back at start-up (entries whose PNG is gone are dropped), so
 * ids and the list survive a restart; an image no longer in memory is read from its file. Without an
 * output folder the history is the images in memory.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomically } from '../util/atomic-write.js';
import { ServeError } from './errors.js';

export interface StoredImage {
  id: string;
  jobId: string;
  png: Uint8Array;
  width: number;
  height: number;
  /** Where the PNG was written, when the store has an output folder. */
  file?: string;
  /** Why the PNG could not be written to the output folder (it is still served from memory). */
  writeError?: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** The A1111 `parameters` text written into the PNG. */
  parameters?: string;
}

/** One entry of the history (GET /api/images, and the output folder's index). */
export interface ImageRecord {
  id: string;
  jobId: string;
  width: number;
  height: number;
  createdAt: number;
  parameters?: string;
  /** The PNG's name in the output folder. */
  file?: string;
}

/** The history file in the output folder. */
export const INDEX_FILE = 'tdd-images.json';

export interface ImageStoreOptions {
  maxImages?: number;
  outDir?: string;
  /** Writes a PNG into the output folder (default: atomically); tests pass a failing one. */
  writeFile?: (path: string, data: Uint8Array) => void;
  /** Where write warnings go (default: stderr). */
  warn?: (message: string) => void;
}

export const IMAGE_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class ImageStore {
  private readonly images = new Map<string, StoredImage>();
  private readonly maxImages: number;
  private readonly outDir?: string;
  private readonly writeFile: (path: string, data: Uint8Array) => void;
  private readonly warn: (message: string) => void;
  private lastWriteFailure: string | undefined;
  /** Every image with a file in the output folder, oldest first (with an output folder). */
  private readonly history: ImageRecord[] = [];
  private readonly historyById = new Map<string, ImageRecord>();

  constructor(options: ImageStoreOptions = {}) {
    this.maxImages = options.maxImages ?? 256;
    this.outDir = options.outDir;
    this.writeFile = options.writeFile ?? writeFileAtomically;
    this.warn = options.warn ?? ((m) => process.stderr.write(`warning: ${m}\n`));
    if (this.outDir) {
      checkWritable(this.outDir);
      for (const record of readIndex(this.outDir, this.warn)) this.remember(record);
    }
  }

  private remember(record: ImageRecord): void {
    this.history.push(record);
    this.historyById.set(record.id, record);
  }

  private saveIndex(): void {
    if (!this.outDir) return;
    const data = JSON.stringify({ version: 1, images: this.history }, null, 1);
    try {
      this.writeFile(join(this.outDir, INDEX_FILE), new TextEncoder().encode(data));
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      this.warn(`--out: could not write ${INDEX_FILE} (${err.code ?? err.message}); the history will miss this image after a restart`);
    }
  }

  /** The history, newest first: `total` images, `limit` of them from `offset`. */
  list(offset: number, limit: number): { total: number; images: ImageRecord[] } {
    if (!this.outDir) {
      const all = [...this.images.values()].reverse().map(recordOf);
      return { total: all.length, images: all.slice(offset, offset + limit) };
    }
    const total = this.history.length;
    const end = Math.max(0, total - offset);
    return { total, images: this.history.slice(Math.max(0, end - limit), end).reverse() };
  }

  get size(): number {
    return this.images.size;
  }

  /** Stores a PNG; `fileStem` names its copy in the output folder. */
  add(png: Uint8Array, info: { jobId: string; width: number; height: number; fileStem: string; parameters?: string }): StoredImage {
    const id = randomUUID();
    const image: StoredImage = {
      id,
      jobId: info.jobId,
      png,
      width: info.width,
      height: info.height,
      createdAt: Date.now(),
      parameters: info.parameters,
    };
    if (this.outDir) {
      const file = join(this.outDir, `${info.fileStem}.png`);
      try {
        this.writeFile(file, png);
        image.file = file;
        this.lastWriteFailure = undefined;
        this.remember({ ...recordOf(image), file: basename(file) });
        this.saveIndex();
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        image.writeError = `could not write ${file} (${err.code ?? err.message}); the image is kept in memory only`;
        const kind = err.code ?? err.message;
        if (this.lastWriteFailure !== kind) this.warn(`--out: ${image.writeError}${err.code === 'ENOSPC' ? ': the disk is full' : ''}`);
        this.lastWriteFailure = kind;
      }
    }
    this.images.set(id, image);
    for (const oldest of this.images.keys()) {
      if (this.images.size <= this.maxImages) break;
      this.images.delete(oldest);
    }
    return image;
  }

  /** The image from memory, else (with an output folder) from its file. */
  get(id: string): StoredImage | undefined {
    const image = this.images.get(id);
    if (image || !this.outDir) return image;
    const record = this.historyById.get(id);
    if (!record?.file) return undefined;
    try {
      const file = join(this.outDir, record.file);
      return { ...record, png: new Uint8Array(readFileSync(file)), file };
    } catch {
      return undefined;
    }
  }
}

function recordOf(image: StoredImage): ImageRecord {
  const { id, jobId, width, height, createdAt, parameters } = image;
  return { id, jobId, width, height, createdAt, parameters };
}

const isRecord = (r: unknown): r is ImageRecord => {
  const o = r as Partial<ImageRecord> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.id === 'string' &&
    IMAGE_ID_PATTERN.test(o.id) &&
    typeof o.file === 'string' &&
    basename(o.file) === o.file &&
    o.file.endsWith('.png') &&
    typeof o.width === 'number' &&
    typeof o.height === 'number' &&
    typeof o.createdAt === 'number'
  );
};

/** The output folder's history: entries whose PNG still exists, oldest first; a broken index is set aside with a warning. */
function readIndex(dir: string, warn: (message: string) => void): ImageRecord[] {
  const path = join(dir, INDEX_FILE);
  if (!existsSync(path)) return [];
  try {
    const data = JSON.parse(readFileSync(path, 'utf8')) as { images?: unknown };
    const images = Array.isArray(data.images) ? data.images : [];
    return images
      .filter(isRecord)
      .filter((r) => existsSync(join(dir, r.file!)))
      .map((r) => ({ ...r, jobId: typeof r.jobId === 'string' ? r.jobId : '' }))
      .sort((a, b) => a.createdAt - b.createdAt);
  } catch (e) {
    warn(`--out: cannot read ${path} (${(e as Error).message}); the image history starts empty`);
    return [];
  }
}

/** The output folder exists (or is created) and a file can be written in it; else a one-line ServeError. */
function checkWritable(dir: string): void {
  const probe = join(dir, `.tdd-write-check-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'EROFS'
        ? 'the file system is read-only'
        : err.code === 'EACCES' || err.code === 'EPERM'
          ? 'permission denied'
          : err.code === 'ENOSPC'
            ? 'the disk is full'
            : err.code === 'ENOTDIR'
              ? 'a part of the path is a file'
              : (err.code ?? err.message);
    throw new ServeError(`--out ${dir}: cannot write there (${why})`);
  }
}
