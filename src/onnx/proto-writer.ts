/**
 * Minimal protobuf wire-format writer. Only what the ONNX encoder needs:
 * varints, fixed32/64, and length-delimited payloads.
 *
 * Output is kept as a list of chunks rather than one contiguous buffer so that
 * (a) growing never re-copies what was already written, (b) embedded messages
 * are spliced in by reference, and (c) large payloads (tensor bytes, possibly
 * hundreds of MB) are referenced, not copied, until `finish()` concatenates
 * everything exactly once.
 */

export const WireType = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

const textEncoder = new TextEncoder();
const TWO_64 = 1n << 64n;
/** Payloads at least this big are referenced instead of copied into scratch. */
const REF_THRESHOLD = 1024;
const MAX_SCRATCH = 1 << 20;

export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  /** Total bytes written so far. */
  get length(): number {
    return this.chunkBytes + this.pos;
  }

  /** Concatenate everything into one fresh buffer (the single copy of big payloads). */
  finish(): Uint8Array {
    if (this.chunks.length === 0) return this.buf.slice(0, this.pos);
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    out.set(this.buf.subarray(0, this.pos), off);
    return out;
  }

  /** Move scratch bytes into the chunk list; the sealed scratch is never written again. */
  private seal(nextCapacity: number): void {
    if (this.pos > 0) {
      this.chunks.push(this.buf.subarray(0, this.pos));
      this.chunkBytes += this.pos;
    } else if (this.buf.length >= nextCapacity) {
      return;
    }
    this.buf = new Uint8Array(nextCapacity);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    this.seal(Math.max(extra, Math.min(this.buf.length * 2, MAX_SCRATCH)));
  }

  /** Push a chunk by reference. */
  private pushRef(bytes: Uint8Array): void {
    this.seal(Math.min(this.buf.length, 4096));
    this.chunks.push(bytes);
    this.chunkBytes += bytes.length;
  }

  tag(field: number, wire: WireType): this {
    return this.varint(field * 8 + wire);
  }

  /**
   * Unsigned varint of a non-negative safe integer. Uses arithmetic rather than
   * bitwise ops so values >= 2^31 are not truncated to 32 bits.
   */
  varint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) {
      if (Number.isInteger(value)) return this.varint64(BigInt(value));
      throw new RangeError(`varint: expected a non-negative integer, got ${value}`);
    }
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** int64/uint64 varint; negatives become 10-byte two's complement. */
  varint64(value: bigint | number): this {
    let v = typeof value === 'bigint' ? value : BigInt(value);
    if (v < 0n) v += TWO_64;
    if (v < 0n || v >= TWO_64) throw new RangeError(`varint64: ${value} out of 64-bit range`);
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
    return this;
  }

  /** Signed int64 from a JS number (fast path for small non-negatives). */
  int64(value: number | bigint): this {
    if (typeof value === 'number' && value >= 0 && Number.isSafeInteger(value)) return this.varint(value);
    return this.varint64(value);
  }

  fixed32(value: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, value >>> 0, true);
    this.pos += 4;
    return this;
  }

  float(value: number): this {
    this.ensure(4);
    this.view.setFloat32(this.pos, value, true);
    this.pos += 4;
    return this;
  }

  fixed64(value: bigint): this {
    this.ensure(8);
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, value), true);
    this.pos += 8;
    return this;
  }

  double(value: number): this {
    this.ensure(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
    return this;
  }

  /**
   * Raw bytes with no tag or length prefix. Large inputs are kept by reference:
   * the caller must not mutate them before `finish()`.
   */
  raw(bytes: Uint8Array): this {
    if (bytes.length >= REF_THRESHOLD) {
      this.pushRef(bytes);
      return this;
    }
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** Splice another writer's output in (small: copied, big: referenced); `other` is done after this. */
  append(other: ProtoWriter): this {
    if (other.length < REF_THRESHOLD) return this.raw(other.finish());
    for (const c of other.chunks) this.pushRef(c);
    if (other.pos > 0) this.pushRef(other.buf.subarray(0, other.pos));
    return this;
  }

  // ---- field helpers ------------------------------------------------------

  uintField(field: number, value: number): this {
    return this.tag(field, WireType.VARINT).varint(value);
  }

  int64Field(field: number, value: number | bigint): this {
    return this.tag(field, WireType.VARINT).int64(value);
  }

  floatField(field: number, value: number): this {
    return this.tag(field, WireType.I32).float(value);
  }

  doubleField(field: number, value: number): this {
    return this.tag(field, WireType.I64).double(value);
  }

  bytesField(field: number, bytes: Uint8Array): this {
    this.tag(field, WireType.LEN).varint(bytes.length);
    return this.raw(bytes);
  }

  stringField(field: number, value: string): this {
    return this.bytesField(field, textEncoder.encode(value));
  }

  /** Embedded message: `build` writes into a fresh writer that is then framed and spliced in. */
  messageField(field: number, build: (w: ProtoWriter) => void, sizeHint = 64): this {
    const inner = new ProtoWriter(sizeHint);
    build(inner);
    this.tag(field, WireType.LEN).varint(inner.length);
    return this.append(inner);
  }

  /** Packed repeated int64 (accepted by proto2 parsers as well as proto3). */
  packedInt64(field: number, values: ReadonlyArray<number | bigint>): this {
    if (values.length === 0) return this;
    const inner = new ProtoWriter(values.length * 2 + 8);
    for (const v of values) inner.int64(v);
    return this.bytesField(field, inner.finish());
  }

  /** Packed repeated float32. */
  packedFloat(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const bytes = new Uint8Array(values.length * 4);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true);
    return this.bytesField(field, bytes);
  }
}

/** Decoded-length helper for tests/debugging: varint byte count of a value. */
export function varintSize(value: number | bigint): number {
  return new ProtoWriter(16).varint64(value).length;
}
