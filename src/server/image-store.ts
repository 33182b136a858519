/**
 * Finished images, served at /api/images/:id.png. Kept in memory, newest `maxImages` (a few MB for the
 * usual sizes); with an output folder every PNG is also written there atomically, so nothing is lost when
 * the memory copy is dropped or the server stops. An output folder that cannot be written is refused at
 * start-up (ServeError); a write that fails later (a full disk) keeps the image in memory, served as usual,
 * and logs one warning per kind of failure until a write succeeds again.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
}

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

  constructor(options: ImageStoreOptions = {}) {
    this.maxImages = options.maxImages ?? 256;
    this.outDir = options.outDir;
    this.writeFile = options.writeFile ?? writeFileAtomically;
    this.warn = options.warn ?? ((m) => process.stderr.write(`warning: ${m}\n`));
    if (this.outDir) checkWritable(this.outDir);
  }

  get size(): number {
    return this.images.size;
  }

  /** Stores a PNG; `fileStem` names its copy in the output folder. */
  add(png: Uint8Array, info: { jobId: string; width: number; height: number; fileStem: string }): StoredImage {
    const id = randomUUID();
    const image: StoredImage = { id, jobId: info.jobId, png, width: info.width, height: info.height };
    if (this.outDir) {
      const file = join(this.outDir, `${info.fileStem}.png`);
      try {
        this.writeFile(file, png);
        image.file = file;
        this.lastWriteFailure = undefined;
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

  get(id: string): StoredImage | undefined {
    return this.images.get(id);
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
