/**
 * Safetensors dtypes and conversions between their raw little-endian bytes and
 * the typed arrays the rest of the project uses (float32 for math, float16 bits
 * for ORT). Conversions round to nearest even. When no conversion is needed the
 * result is a view of `bytes` (the reader passes buffers it just allocated).
 */
import { float16ToFloat32, float32BitsToFloat16Bits, float32ToFloat16 } from '../util/half.js';

export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
export type FloatDType = 'F32' | 'F16' | 'BF16' | 'F64';

export const DTYPE_BYTE_SIZE: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isSafetensorsDType(x: unknown): x is SafetensorsDType {
  return typeof x === 'string' && Object.hasOwn(DTYPE_BYTE_SIZE, x);
}

export function isFloatDType(d: SafetensorsDType): d is FloatDType {
  return d === 'F32' || d === 'F16' || d === 'BF16' || d === 'F64';
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bfloat16 is the top half of a float32, so widening is exact (NaN payloads included). */
export function bfloat16BitsToFloat32(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

/** Round-to-nearest-even float32 -> bfloat16 bits (overflow -> inf, NaN stays a quiet NaN). */
export function float32ToBfloat16Bits(value: number): number {
  f32[0] = value;
  return float32BitsToBfloat16Bits(u32[0]);
}

function float32BitsToBfloat16Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x0040;
  // Adding 0x7fff plus the kept LSB rounds ties to even; a carry into the exponent is correct (up to inf).
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bfloat16ToFloat32(src: Uint16Array): Float32Array {
  const out = new Uint32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
  return new Float32Array(out.buffer);
}

export function float32ToBfloat16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < bits.length; i++) out[i] = float32BitsToBfloat16Bits(bits[i]);
  return out;
}

/**
 * float64 -> float16 with a single rounding: round to float32 *to odd* first
 * (float32 keeps more than two extra bits), so the final nearest-even step
 * cannot double-round.
 */
export function float64ToFloat16Bits(value: number): number {
  f32[0] = value;
  const rounded = f32[0];
  if (rounded !== value && !Number.isNaN(value) && (u32[0] & 1) === 0) {
    // Inexact and even: step one ulp toward the exact value (also turns overflow-to-inf into max, underflow-to-0 into min).
    if (Math.abs(rounded) > Math.abs(value)) u32[0]--;
    else u32[0]++;
  }
  return float32BitsToFloat16Bits(u32[0]);
}

/** Views `bytes` as a typed array, copying only when its offset is misaligned for the element size. */
function view<T>(bytes: Uint8Array, ctor: new (b: ArrayBufferLike, o: number, n: number) => T, size: number): T {
  if (bytes.byteOffset % size !== 0) bytes = bytes.slice();
  return new ctor(bytes.buffer, bytes.byteOffset, bytes.byteLength / size);
}

/** Raw bytes of a float tensor -> a new Float32Array. */
export function bytesToFloat32(bytes: Uint8Array, dtype: FloatDType): Float32Array {
  switch (dtype) {
    case 'F32':
      return view(bytes, Float32Array, 4);
    case 'F16':
      return float16ToFloat32(view(bytes, Uint16Array, 2));
    case 'BF16':
      return bfloat16ToFloat32(view(bytes, Uint16Array, 2));
    case 'F64':
      return Float32Array.from(view(bytes, Float64Array, 8));
  }
}

/** Raw bytes of a float tensor -> new float16 bit patterns, each rounded once. */
export function bytesToFloat16Bits(bytes: Uint8Array, dtype: FloatDType): Uint16Array {
  switch (dtype) {
    case 'F16':
      return view(bytes, Uint16Array, 2);
    case 'F32':
      return float32ToFloat16(view(bytes, Float32Array, 4));
    case 'BF16':
      return float32ToFloat16(bfloat16ToFloat32(view(bytes, Uint16Array, 2))); // bf16 -> f32 is exact
    case 'F64':
      return Uint16Array.from(view(bytes, Float64Array, 8), float64ToFloat16Bits);
  }
}

const INT_VIEWS = {
  I64: [BigInt64Array, 8],
  I32: [Int32Array, 4],
  I16: [Int16Array, 2],
  I8: [Int8Array, 1],
  U8: [Uint8Array, 1],
  BOOL: [Uint8Array, 1],
} as const;
export type IntDType = keyof typeof INT_VIEWS;

export function isIntDType(d: SafetensorsDType): d is IntDType {
  return Object.hasOwn(INT_VIEWS, d);
}

/** Raw bytes of an integer/bool tensor -> a new BigInt64Array (narrower ints are sign- or zero-extended). */
export function bytesToInt64(bytes: Uint8Array, dtype: IntDType): BigInt64Array {
  if (dtype === 'I64') return view(bytes, BigInt64Array, 8);
  const [ctor, size] = INT_VIEWS[dtype];
  const src = view(bytes, ctor as new (b: ArrayBufferLike, o: number, n: number) => Int32Array, size);
  const out = new BigInt64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i]);
  return out;
}

/** Float32 values -> the typed array to write as `dtype` (for saving, e.g. LoRA weights in F16/BF16). */
export function float32ToDType(src: Float32Array, dtype: FloatDType): Float32Array | Uint16Array | Float64Array {
  switch (dtype) {
    case 'F32':
      return src;
    case 'F16':
      return float32ToFloat16(src);
    case 'BF16':
      return float32ToBfloat16(src);
    case 'F64':
      return Float64Array.from(src);
  }
}
