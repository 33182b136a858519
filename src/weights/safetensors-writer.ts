/**
 * Safetensors writer following the fixtures' conventions (which match the
 * reference Python writer up to tensor order): tensors sorted by name, data
 * packed contiguously in that order, header JSON compact and padded with
 * spaces to a multiple of 8 bytes, `__metadata__` last.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { DTYPE_BYTE_SIZE, isSafetensorsDType, type SafetensorsDType } from './dtype-convert.js';
import { SafetensorsError } from './errors.js';
import { METADATA_KEY } from './header.js';

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Little-endian element bytes, e.g. a Float32Array for F32 or Uint16Array bits for F16/BF16. */
  data: ArrayBufferView;
}

/** A tensor's header entry, before its data exists (what the streamed writer is given). */
export interface TensorSpec {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
}

interface PreparedTensor extends TensorSpec {
  sortKey: Buffer;
  byteLength: number;
  bytes?: Uint8Array;
}

/** writeSync takes at most 2 GiB per call. */
const MAX_WRITE_CHUNK = 1 << 30;

/** Validates everything first, then writes a temporary file and renames it over `path`. */
export function writeSafetensors(path: string, tensors: Iterable<TensorToWrite>, metadata?: Record<string, string>): void {
  const prepared = prepareTensors(path, tensors, true);
  const header = encodeHeader(path, prepared, metadata ?? {});
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(header.length), true);
  writeAtomically(path, (write) => {
    for (const chunk of [prefix, header, ...prepared.map((t) => t.bytes!)]) write(chunk);
  });
}

/**
 * Writes tensors whose data is made one at a time by `produce` (in file order), so a file of many
 * gigabytes never needs all of its data in memory. Same layout and atomicity as writeSafetensors.
 */
export function writeSafetensorsStreamed(
  path: string,
  specs: Iterable<TensorSpec>,
  produce: (spec: TensorSpec) => ArrayBufferView,
  metadata?: Record<string, string>,
): void {
  const prepared = prepareTensors(path, specs, false);
  const header = encodeHeader(path, prepared, metadata ?? {});
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(header.length), true);
  writeAtomically(path, (write) => {
    write(prefix);
    write(header);
    for (const t of prepared) {
      const data = produce(t);
      if (data.byteLength !== t.byteLength)
        throw new SafetensorsError(
          `${path}: tensor ${JSON.stringify(t.name)}: produced ${data.byteLength} bytes, its header says ${t.byteLength}`,
        );
      write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  });
}

/** Checks names, dtypes, shapes and (when given) data sizes; sorted in file order. */
function prepareTensors(path: string, tensors: Iterable<TensorSpec & { data?: ArrayBufferView }>, withData: boolean): PreparedTensor[] {
  const seen = new Set<string>();
  const prepared: PreparedTensor[] = [];
  for (const t of tensors) {
    const fail = (why: string): never => {
      throw new SafetensorsError(`${path}: tensor ${JSON.stringify(t.name)}: ${why}`);
    };
    if (typeof t.name !== 'string') fail('name must be a string');
    if (t.name === METADATA_KEY) fail(`"${METADATA_KEY}" is reserved for the metadata`);
    if (seen.has(t.name)) fail('duplicate name');
    seen.add(t.name);
    if (!isSafetensorsDType(t.dtype)) fail(`unknown dtype ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`shape must be an array of non-negative integers, got ${JSON.stringify(t.shape)}`);
    }
    const needed = t.shape.reduce((n, d) => n * d, DTYPE_BYTE_SIZE[t.dtype]);
    let bytes: Uint8Array | undefined;
    if (withData) {
      if (!ArrayBuffer.isView(t.data)) fail('data must be a typed array or DataView');
      const data = t.data!;
      if (data.byteLength !== needed) {
        fail(`data has ${data.byteLength} bytes but ${t.dtype} shape [${t.shape.join(', ')}] needs ${needed}`);
      }
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    prepared.push({ name: t.name, sortKey: Buffer.from(t.name, 'utf8'), dtype: t.dtype, shape: [...t.shape], byteLength: needed, bytes });
  }
  // UTF-8 byte order is code point order: the order Python's sorted() gives.
  return prepared.sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
}

/** Built by hand so that integer-like tensor names keep their sorted position (JS objects hoist them). */
function encodeHeader(path: string, tensors: PreparedTensor[], metadata: Record<string, string>): Uint8Array {
  const entries: string[] = [];
  let offset = 0;
  for (const t of tensors) {
    const end = offset + t.byteLength;
    entries.push(`${JSON.stringify(t.name)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] })}`);
    offset = end;
  }
  const metaEntries = Object.entries(metadata);
  for (const [k, v] of metaEntries) {
    if (typeof v !== 'string')
      throw new SafetensorsError(`${path}: metadata key ${JSON.stringify(k)} must map to a string, got ${typeof v}`);
  }
  if (metaEntries.length > 0) entries.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  const json = Buffer.from(`{${entries.join(',')}}`, 'utf8');
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, 0x20);
  json.copy(padded);
  return padded;
}

function writeAtomically(path: string, writeAll: (write: (bytes: Uint8Array) => void) => void): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fd: number;
  try {
    fd = openSync(tmp, 'wx');
  } catch (err) {
    throw new SafetensorsError(`${path}: cannot create temporary file ${tmp} (${(err as Error).message})`, { cause: err });
  }
  let open = true;
  try {
    writeAll((bytes) => writeFully(fd, bytes));
    fsyncSync(fd); // the rename must not expose a file whose data is still in flight
    open = false;
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    if (open) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new SafetensorsError(`${path}: write failed, target left untouched (${(err as Error).message})`, { cause: err });
  }
}

function writeFully(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    done += writeSync(fd, bytes, done, Math.min(bytes.length - done, MAX_WRITE_CHUNK));
  }
}
