/**
 * Lazy safetensors reader: `open` reads and validates only the header; each
 * tensor is read on demand with positional reads, so loading one tensor of a
 * multi-gigabyte checkpoint touches only its bytes.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { bytesToFloat16Bits, bytesToFloat32, bytesToInt64, isFloatDType, isIntDType, type FloatDType } from './dtype-convert.js';
import { SafetensorsError } from './errors.js';
import { headerLength, parseHeader, type TensorInfo } from './header.js';
import { pickleContent, pickleRefusal } from './pickle-refusal.js';
import { closestNames } from './suggest.js';

export type { SafetensorsDType } from './dtype-convert.js';
export type { TensorInfo } from './header.js';
export { SafetensorsError } from './errors.js';

/** readSync takes at most 2 GiB per call. */
const MAX_READ_CHUNK = 1 << 30;

export class SafetensorsFile {
  readonly path: string;
  readonly metadata: Record<string, string>;
  /** In data-section order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** Legal oddities found in the header (unused bytes); the reference writer produces none. */
  readonly warnings: readonly string[];
  private fd: number;

  private constructor(path: string, fd: number, header: ReturnType<typeof parseHeader>) {
    this.path = path;
    this.fd = fd;
    this.metadata = header.metadata;
    this.tensors = new Map(header.tensors.map((t) => [t.name, t]));
    this.warnings = header.warnings;
  }

  static open(path: string): SafetensorsFile {
    // Typed-array views of the raw bytes assume the file's little-endian layout.
    if (endianness() !== 'LE') throw new SafetensorsError(`${path}: reading safetensors needs a little-endian host`);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new SafetensorsError(`${path}: cannot open (${(err as Error).message})`, { cause: err });
    }
    try {
      const fileSize = fstatSync(fd).size;
      const prefix = readAt(fd, 0, Math.min(fileSize, 9), path);
      const pickle = pickleContent(prefix, fileSize);
      if (pickle) throw pickleRefusal(path, `it starts with ${pickle}`);
      const jsonLength = headerLength(prefix, fileSize, path);
      const header = parseHeader(readAt(fd, 8, jsonLength, path), fileSize - 8 - jsonLength, path);
      return new SafetensorsFile(path, fd, header);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (info) return info;
    const near = closestNames(name, this.tensors.keys());
    const hint = near.length ? `; did you mean ${near.map((n) => JSON.stringify(n)).join(', ')}?` : '';
    throw new SafetensorsError(`${this.path}: no tensor ${JSON.stringify(name)} (the file has ${this.tensors.size})${hint}`);
  }

  /** Any float dtype, converted (F64 rounded) to a new Float32Array. */
  float32(name: string): Float32Array {
    const info = this.info(name);
    return bytesToFloat32(this.readTensor(info), this.floatDType(info, 'float32'));
  }

  /** float16 bit patterns: F16 as stored, other float dtypes rounded to nearest even. */
  float16Bits(name: string): Uint16Array {
    const info = this.info(name);
    return bytesToFloat16Bits(this.readTensor(info), this.floatDType(info, 'float16Bits'));
  }

  /** Integer or BOOL tensors, widened to int64. */
  int64(name: string): BigInt64Array {
    const info = this.info(name);
    if (!isIntDType(info.dtype)) throw this.dtypeError(info, 'int64', 'an integer or BOOL');
    return bytesToInt64(this.readTensor(info), info.dtype);
  }

  /** The tensor's exact bytes (little-endian), in a new buffer. */
  raw(name: string): Uint8Array {
    return this.readTensor(this.info(name));
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private readTensor(info: TensorInfo): Uint8Array {
    if (this.fd < 0) throw new SafetensorsError(`${this.path}: tensor ${JSON.stringify(info.name)}: file is closed`);
    return readAt(this.fd, info.byteOffset, info.byteLength, `${this.path}: tensor ${JSON.stringify(info.name)}`);
  }

  private floatDType(info: TensorInfo, method: string): FloatDType {
    if (!isFloatDType(info.dtype)) throw this.dtypeError(info, method, 'a float (F32/F16/BF16/F64)');
    return info.dtype;
  }

  private dtypeError(info: TensorInfo, method: string, wanted: string): SafetensorsError {
    return new SafetensorsError(`${this.path}: tensor ${JSON.stringify(info.name)} is ${info.dtype}; ${method}() needs ${wanted} tensor`);
  }
}

/** Reads exactly `length` bytes at `position` into a new (aligned) buffer. */
function readAt(fd: number, position: number, length: number, where: string): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, Math.min(length - done, MAX_READ_CHUNK), position + done);
    if (n === 0)
      throw new SafetensorsError(`${where}: file ended after ${position + done} bytes (truncated or changed since it was opened?)`);
    done += n;
  }
  return out;
}
