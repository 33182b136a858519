/**
 * One cached latent distribution per file: "TDDLAT01", uint32 rank, uint32 dims, then the mean and the std
 * as float32, all little-endian. The length must match the header exactly, so a cut-off file is rejected.
 */
export const LATENT_MAGIC = 'TDDLAT01';

export interface LatentEntry {
  /** The latent distribution's mean, [C, h, w]. */
  readonly mean: Float32Array;
  readonly std: Float32Array;
  readonly shape: readonly number[];
}

const MAX_RANK = 8;

export function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function encodeLatentFile(entry: LatentEntry): Buffer {
  const numel = numelOf(entry.shape);
  if (entry.mean.length !== numel || entry.std.length !== numel) throw new RangeError(`latent entry: mean/std length must be ${numel}`);
  const headerLength = 8 + 4 + 4 * entry.shape.length;
  const out = Buffer.alloc(headerLength + 8 * numel);
  out.write(LATENT_MAGIC, 0, 'latin1');
  out.writeUInt32LE(entry.shape.length, 8);
  entry.shape.forEach((d, i) => out.writeUInt32LE(d, 12 + 4 * i));
  for (let i = 0; i < numel; i++) {
    out.writeFloatLE(entry.mean[i], headerLength + 4 * i);
    out.writeFloatLE(entry.std[i], headerLength + 4 * (numel + i));
  }
  return out;
}

/** The shape a file's header announces and the exact length it implies; undefined: not a latent file. */
export function readLatentHeader(head: Buffer): { shape: number[]; fileLength: number } | undefined {
  if (head.length < 12 || head.toString('latin1', 0, 8) !== LATENT_MAGIC) return undefined;
  const rank = head.readUInt32LE(8);
  if (rank < 1 || rank > MAX_RANK || head.length < 12 + 4 * rank) return undefined;
  const shape = Array.from({ length: rank }, (_, i) => head.readUInt32LE(12 + 4 * i));
  if (shape.some((d) => d === 0)) return undefined;
  return { shape, fileLength: 12 + 4 * rank + 8 * numelOf(shape) };
}

/** Parses a whole file; undefined when the magic, header or length is wrong (the caller re-encodes). */
export function decodeLatentFile(bytes: Buffer): LatentEntry | undefined {
  const header = readLatentHeader(bytes);
  if (!header || bytes.length !== header.fileLength) return undefined;
  const numel = numelOf(header.shape);
  const start = header.fileLength - 8 * numel;
  const mean = new Float32Array(numel);
  const std = new Float32Array(numel);
  for (let i = 0; i < numel; i++) {
    mean[i] = bytes.readFloatLE(start + 4 * i);
    std[i] = bytes.readFloatLE(start + 4 * (numel + i));
  }
  return { mean, std, shape: header.shape };
}

/** Header bytes to read for a validity check without loading the floats. */
export const LATENT_HEADER_PEEK = 12 + 4 * MAX_RANK;
