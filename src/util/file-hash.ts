/**
 * sha256 of model files, streamed (checkpoints are gigabytes) and cached by path + size + mtime, in memory
 * and in a JSON file under the user's cache directory, so a model is hashed once, not on every run.
 * Two kinds, as A1111 computes them: the whole file (checkpoints: "Model hash"), and a safetensors file's
 * tensor data after its header (LoRAs: kohya/additional-networks' hash, which ignores metadata edits).
 */
import { UserFileError } from './user-error.js';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomically } from './atomic-write.js';

export type FileHashKind = 'file' | 'safetensors-data';

interface CacheEntry {
  size: number;
  mtimeMs: number;
  sha256: string;
}

/** Streams bytes [start, end) of a file through sha256; hex digest. */
export function sha256File(path: string, start = 0): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { start, highWaterMark: 1 << 20 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}

/** Where a safetensors file's tensor data begins: 8 length bytes + the JSON header. */
export function safetensorsDataOffset(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const prefix = Buffer.alloc(8);
    if (readSync(fd, prefix, 0, 8, 0) !== 8) throw new UserFileError(`${path}: too short for a safetensors file`);
    const headerLength = prefix.readBigUInt64LE(0);
    if (headerLength > BigInt(statSync(path).size - 8))
      throw new UserFileError(`${path}: safetensors header length ${headerLength} exceeds the file`);
    return 8 + Number(headerLength);
  } finally {
    closeSync(fd);
  }
}

/** `$XDG_CACHE_HOME/tdd-diffusion/file-hashes.json` (default ~/.cache/...). */
export function defaultHashCacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'tdd-diffusion', 'file-hashes.json');
}

export class FileHashCache {
  private entries: Record<string, CacheEntry> | undefined;

  /** `cacheFile` undefined: memory only. */
  constructor(readonly cacheFile?: string) {}

  /** sha256 hex of the file (or of its safetensors data), recomputed only when size or mtime changed. */
  async hash(path: string, kind: FileHashKind = 'file'): Promise<string> {
    const full = resolve(path);
    const { size, mtimeMs } = statSync(full);
    const key = `${kind}:${full}`;
    const entries = this.load();
    const cached = entries[key];
    if (cached && cached.size === size && cached.mtimeMs === mtimeMs) return cached.sha256;
    const sha256 = await sha256File(full, kind === 'safetensors-data' ? safetensorsDataOffset(full) : 0);
    entries[key] = { size, mtimeMs, sha256 };
    this.save();
    return sha256;
  }

  private load(): Record<string, CacheEntry> {
    if (this.entries) return this.entries;
    this.entries = {};
    if (!this.cacheFile) return this.entries;
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.cacheFile, 'utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) this.entries = parsed as Record<string, CacheEntry>;
    } catch {
      // No cache yet, or a damaged one: start afresh (it is only a cache).
    }
    return this.entries;
  }

  private save(): void {
    if (!this.cacheFile) return;
    try {
      mkdirSync(dirname(this.cacheFile), { recursive: true });
      writeFileAtomically(this.cacheFile, Buffer.from(JSON.stringify(this.entries, null, 1)));
    } catch {
      // A read-only home must not stop generation; the hash is simply recomputed next time.
    }
  }
}
