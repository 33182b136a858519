/**
 * A read-only set of named tensors, whatever holds them: one safetensors file, the shards of a sharded
 * checkpoint, a renamed view of a single-file checkpoint, or arrays in memory (fused LoRA weights, tests).
 * Model loading only ever asks for keys, shapes and float32 data, so every format plugs in the same way.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { numel } from '../ir/shape.js';
import { SafetensorsError } from './errors.js';
import { SafetensorsFile, type SafetensorsDType } from './safetensors.js';
import { closestNames } from './suggest.js';

export interface TensorSource {
  /** Where the tensors come from (a path), for messages. */
  readonly origin: string;
  keys(): string[];
  has(key: string): boolean;
  shape(key: string): readonly number[];
  /** The stored element type (safetensors spelling: F32, F16, BF16, ...). */
  dtype(key: string): SafetensorsDType;
  /** Any float dtype converted to float32 (a new array the caller may keep). */
  float32(key: string): Float32Array;
  close(): void;
}

/** Every key's shape, from headers only (what LoRA matching needs before any graph exists). */
export function sourceShapes(source: TensorSource): Map<string, readonly number[]> {
  return new Map(source.keys().map((k) => [k, source.shape(k)]));
}

/** The message for a key the source lacks, with close names as suggestions. */
export function missingKeyError(source: TensorSource, key: string): SafetensorsError {
  const near = closestNames(key, source.keys());
  const hint = near.length ? `; did you mean ${near.map((n) => JSON.stringify(n)).join(', ')}?` : '';
  return new SafetensorsError(`${source.origin}: no tensor ${JSON.stringify(key)}${hint}`);
}

/** One safetensors file (opened lazily by SafetensorsFile: only the header is read up front). */
export class FileTensorSource implements TensorSource {
  readonly origin: string;
  constructor(readonly file: SafetensorsFile) {
    this.origin = file.path;
  }
  static open(path: string): FileTensorSource {
    return new FileTensorSource(SafetensorsFile.open(path));
  }
  keys(): string[] {
    return [...this.file.tensors.keys()];
  }
  has(key: string): boolean {
    return this.file.has(key);
  }
  shape(key: string): readonly number[] {
    return this.file.info(key).shape;
  }
  dtype(key: string): SafetensorsDType {
    return this.file.info(key).dtype;
  }
  float32(key: string): Float32Array {
    return this.file.float32(key);
  }
  close(): void {
    this.file.close();
  }
}

/**
 * A checkpoint split over several files by a `*.safetensors.index.json` (`{"weight_map": {key: file}}`),
 * as save_pretrained writes large models. Shards are opened when first read.
 */
export class ShardedTensorSource implements TensorSource {
  private readonly shards = new Map<string, SafetensorsFile>();
  private constructor(
    readonly origin: string,
    private readonly weightMap: ReadonlyMap<string, string>,
  ) {}

  static open(indexPath: string): ShardedTensorSource {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(indexPath, 'utf8'));
    } catch (err) {
      throw new SafetensorsError(`${indexPath}: cannot read the shard index (${(err as Error).message})`, { cause: err });
    }
    const map = (json as { weight_map?: unknown } | null)?.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) {
      throw new SafetensorsError(`${indexPath}: shard index has no "weight_map" object`);
    }
    const weightMap = new Map<string, string>();
    for (const [key, file] of Object.entries(map)) {
      if (typeof file !== 'string' || file.includes('/') || file.includes('\\') || !file.endsWith('.safetensors')) {
        throw new SafetensorsError(
          `${indexPath}: weight_map[${JSON.stringify(key)}] must name a .safetensors file beside the index, got ${JSON.stringify(file)}`,
        );
      }
      weightMap.set(key, join(dirname(indexPath), file));
    }
    return new ShardedTensorSource(indexPath, weightMap);
  }

  keys(): string[] {
    return [...this.weightMap.keys()];
  }
  has(key: string): boolean {
    return this.weightMap.has(key);
  }
  shape(key: string): readonly number[] {
    return this.shardOf(key).info(key).shape;
  }
  dtype(key: string): SafetensorsDType {
    return this.shardOf(key).info(key).dtype;
  }
  float32(key: string): Float32Array {
    return this.shardOf(key).float32(key);
  }
  close(): void {
    for (const file of this.shards.values()) file.close();
    this.shards.clear();
  }

  private shardOf(key: string): SafetensorsFile {
    const path = this.weightMap.get(key);
    if (!path) throw missingKeyError(this, key);
    let file = this.shards.get(path);
    if (!file) {
      file = SafetensorsFile.open(path);
      this.shards.set(path, file);
    }
    if (!file.has(key))
      throw new SafetensorsError(`${this.origin}: the index puts ${JSON.stringify(key)} in ${path}, which does not contain it`);
    return file;
  }
}

export interface MemoryTensor {
  shape: readonly number[];
  data: Float32Array;
}

/** Tensors held in memory; shapes are checked against the data length up front. */
export class MemoryTensorSource implements TensorSource {
  private readonly tensors: ReadonlyMap<string, MemoryTensor>;
  constructor(
    tensors: ReadonlyMap<string, MemoryTensor> | Record<string, MemoryTensor>,
    readonly origin = 'memory',
  ) {
    this.tensors = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
    for (const [key, t] of this.tensors) {
      if (numel(t.shape) !== t.data.length)
        throw new SafetensorsError(
          `${origin}: tensor ${JSON.stringify(key)} has ${t.data.length} values for shape [${t.shape.join(', ')}]`,
        );
    }
  }
  keys(): string[] {
    return [...this.tensors.keys()];
  }
  has(key: string): boolean {
    return this.tensors.has(key);
  }
  shape(key: string): readonly number[] {
    return this.get(key).shape;
  }
  dtype(key: string): SafetensorsDType {
    this.get(key);
    return 'F32';
  }
  float32(key: string): Float32Array {
    return this.get(key).data.slice();
  }
  close(): void {}

  private get(key: string): MemoryTensor {
    const t = this.tensors.get(key);
    if (!t) throw missingKeyError(this, key);
    return t;
  }
}
