/**
 * On-disk cache of ORT-optimized models. Graph optimization is most of the cost of creating a session
 * for a real UNet (10–20 s for SD1.5): the first session saves ORT's optimized model, later ones load
 * it with optimization off. Entries are keyed by the model bytes (or a caller-supplied identity, e.g.
 * graph hash + weight file identity, to avoid hashing gigabytes) plus everything that changes ORT's
 * output: EP, optimization level, ORT version and CPU, since 'all'-level models are hardware-specific.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { createSession, type Session, type SessionOptions } from './session.js';

/** ~/.cache/tdd-diffusion (or $XDG_CACHE_HOME/tdd-diffusion, or $TDD_DIFFUSION_CACHE). */
export function defaultCacheDir(): string {
  if (process.env.TDD_DIFFUSION_CACHE) return process.env.TDD_DIFFUSION_CACHE;
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'tdd-diffusion');
}

export interface CachedSessionOptions extends SessionOptions {
  /** Cache directory (default: defaultCacheDir()); sessions go under `<dir>/sessions`. */
  cacheDir?: string;
  /** Identity of the model used instead of hashing its bytes (must change whenever the model does). */
  cacheKey?: string;
}

export interface CachedSession extends Session {
  /** True when the optimized model came from the cache. */
  readonly cacheHit: boolean;
  readonly cachePath: string;
}

/** ORT refuses to write optimized models over protobuf's 2 GB limit without external data. */
const MAX_CACHED_BYTES = 1.9e9;

export async function createCachedSession(modelBytes: Uint8Array, options: CachedSessionOptions = {}): Promise<CachedSession> {
  const { cacheDir = defaultCacheDir(), cacheKey, ...sessionOptions } = options;
  const level = sessionOptions.graphOptimizationLevel ?? 'all';
  const identity = cacheKey ?? createHash('sha256').update(modelBytes).digest('hex');
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        identity,
        sessionOptions.executionProvider ?? 'cpu',
        level,
        ort.env.versions.node,
        os.arch(),
        os.cpus()[0]?.model ?? '',
      ]),
    )
    .digest('hex')
    .slice(0, 32);
  const dir = path.join(cacheDir, 'sessions');
  const file = path.join(dir, `${key}.onnx`);
  if (existsSync(file)) {
    const session = await createSession(file, { ...sessionOptions, graphOptimizationLevel: 'disabled' });
    return Object.assign(session, { cacheHit: true, cachePath: file });
  }
  if (modelBytes.byteLength > MAX_CACHED_BYTES) {
    const session = await createSession(modelBytes, sessionOptions);
    return Object.assign(session, { cacheHit: false, cachePath: '' });
  }
  mkdirSync(dir, { recursive: true });
  // ORT writes the file while creating the session: write under a unique name, then rename atomically.
  const tmp = path.join(dir, `${key}.${process.pid}.${randomBytes(4).toString('hex')}.tmp.onnx`);
  try {
    const session = await createSession(modelBytes, { ...sessionOptions, optimizedModelFilePath: tmp });
    renameSync(tmp, file);
    return Object.assign(session, { cacheHit: false, cachePath: file });
  } finally {
    rmSync(tmp, { force: true });
  }
}
