/**
 * Parsing and full validation of a safetensors header: an 8-byte little-endian
 * length, that many bytes of UTF-8 JSON, then the data section the JSON indexes.
 */
import { DTYPE_BYTE_SIZE, isSafetensorsDType, type SafetensorsDType } from './dtype-convert.js';
import { SafetensorsError } from './errors.js';

/** Where one tensor lives; byteOffset is absolute in the file. */
export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  byteOffset: number;
  byteLength: number;
}

export interface ParsedHeader {
  metadata: Record<string, string>;
  /** Ordered by position in the data section. */
  tensors: TensorInfo[];
  /** Legal oddities worth knowing about (unused bytes in the data section). */
  warnings: string[];
}

/** The reference implementation's limit; a larger header is corrupt or hostile. */
export const MAX_HEADER_BYTES = 100_000_000;
export const METADATA_KEY = '__metadata__';

/** Validates the 8-byte length prefix against the file size; returns the JSON length. */
export function headerLength(prefix: Uint8Array, fileSize: number, path: string): number {
  if (fileSize < 8) throw new SafetensorsError(`${path}: file is ${fileSize} bytes, too short for the 8-byte header length`);
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      `${path}: header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`,
    );
  }
  if (length > BigInt(fileSize - 8)) {
    throw new SafetensorsError(
      `${path}: header length ${length} is larger than the ${fileSize - 8} bytes after the length prefix (truncated file?)`,
    );
  }
  return Number(length);
}

/** Parses and validates the header JSON; `dataBytes` is the size of the data section that follows it. */
export function parseHeader(json: Uint8Array, dataBytes: number, path: string): ParsedHeader {
  const root = decodeJson(json, path);
  const dataStart = 8 + json.length;
  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [key, value] of Object.entries(root)) {
    if (key === METADATA_KEY) metadata = parseMetadata(value, path);
    else tensors.push(parseEntry(key, value, dataBytes, dataStart, path));
  }
  tensors.sort((a, b) => a.byteOffset - b.byteOffset); // stable: ties keep JSON order
  return { metadata, tensors, warnings: checkLayout(tensors, dataStart, dataBytes, path) };
}

function decodeJson(bytes: Uint8Array, path: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SafetensorsError(`${path}: header is not valid UTF-8`);
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(`${path}: header is not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(root)) {
    throw new SafetensorsError(`${path}: header JSON must be an object of tensor entries, got ${describe(root)}`);
  }
  return root;
}

function parseMetadata(value: unknown, path: string): Record<string, string> {
  if (!isPlainObject(value)) throw new SafetensorsError(`${path}: "${METADATA_KEY}" must be an object of strings, got ${describe(value)}`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new SafetensorsError(`${path}: "${METADATA_KEY}" key ${JSON.stringify(k)} must map to a string, got ${describe(v)}`);
    }
  }
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

function parseEntry(name: string, value: unknown, dataBytes: number, dataStart: number, path: string): TensorInfo {
  const fail = (why: string): never => {
    throw new SafetensorsError(`${path}: tensor ${JSON.stringify(name)}: ${why}`);
  };
  if (!isPlainObject(value)) return fail(`entry must be an object with dtype, shape and data_offsets, got ${describe(value)}`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isSafetensorsDType(dtype)) {
    return fail(`unknown or unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_BYTE_SIZE).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount))
    return fail(`shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    return fail(`data_offsets must be [begin, end] with integers 0 <= begin <= end, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = shape.reduce((n: number, d: number) => n * d, DTYPE_BYTE_SIZE[dtype]);
  if (end - begin !== expected) {
    return fail(`data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} shape [${shape.join(', ')}] needs ${expected}`);
  }
  if (end > dataBytes) return fail(`data_offsets [${begin}, ${end}] lie outside the ${dataBytes}-byte data section`);
  return { name, dtype, shape: [...shape], byteOffset: dataStart + begin, byteLength: end - begin };
}

/** Rejects overlaps; reports unused bytes (legal, but the reference writer never leaves any). */
function checkLayout(sorted: TensorInfo[], dataStart: number, dataBytes: number, path: string): string[] {
  let cursor = dataStart;
  let holeBytes = 0;
  let previous: TensorInfo | undefined;
  for (const t of sorted) {
    if (t.byteLength === 0) continue; // empty tensors occupy no bytes, so they cannot overlap
    if (previous && t.byteOffset < cursor) {
      throw new SafetensorsError(
        `${path}: tensor ${JSON.stringify(t.name)} overlaps tensor ${JSON.stringify(previous.name)} in the data section`,
      );
    }
    holeBytes += t.byteOffset - cursor;
    cursor = t.byteOffset + t.byteLength;
    previous = t;
  }
  const warnings: string[] = [];
  if (holeBytes > 0) warnings.push(`${path}: ${holeBytes} unused bytes between tensors in the data section`);
  const trailing = dataStart + dataBytes - cursor;
  if (trailing > 0) warnings.push(`${path}: ${trailing} unused bytes after the last tensor`);
  return warnings;
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'object' ? 'an object' : `${typeof x} ${JSON.stringify(x)}`;
}
