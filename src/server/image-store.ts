/**
 * Finished images, served at /api/images/:id.png. Kept in memory, newest `maxImages` (a few MB for the
 * usual sizes); with an output folder every PNG is also written there atomically, so nothing is lost when
 * the memory copy is dropped or the server stops.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from '../util/atomic-write.js';

export interface StoredImage {
  id: string;
  jobId: string;
  png: Uint8Array;
  width: number;
  height: number;
  /** Where the PNG was written, when the store has an output folder. */
  file?: string;
}

export interface ImageStoreOptions {
  maxImages?: number;
  outDir?: string;
}

export const IMAGE_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class ImageStore {
  private readonly images = new Map<string, StoredImage>();
  private readonly maxImages: number;
  private readonly outDir?: string;

  constructor(options: ImageStoreOptions = {}) {
    this.maxImages = options.maxImages ?? 256;
    this.outDir = options.outDir;
    if (this.outDir) mkdirSync(this.outDir, { recursive: true });
  }

  get size(): number {
    return this.images.size;
  }

  /** Stores a PNG; `fileStem` names its copy in the output folder. */
  add(png: Uint8Array, info: { jobId: string; width: number; height: number; fileStem: string }): StoredImage {
    const id = randomUUID();
    const image: StoredImage = { id, jobId: info.jobId, png, width: info.width, height: info.height };
    if (this.outDir) {
      image.file = join(this.outDir, `${info.fileStem}.png`);
      writeFileAtomically(image.file, png);
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
