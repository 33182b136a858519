/**
 * Host-side tensors (plain typed arrays) and their conversion to/from
 * ort.Tensor. Keeping ORT types out of the public surface lets the rest of the
 * project stay independent of onnxruntime-node.
 */
import * as ort from 'onnxruntime-node';

export { float16BitsToFloat32, float16ToFloat32, float32ToFloat16, float32ToFloat16Bits } from './float16.js';

export interface HostDataMap {
  float32: Float32Array;
  float16: Uint16Array; // raw binary16 bit patterns
  int64: BigInt64Array;
  int32: Int32Array;
  bool: Uint8Array; // 0 / 1
  float64: Float64Array;
}
export type HostDType = keyof HostDataMap;
export const HOST_DTYPES: readonly HostDType[] = ['float32', 'float16', 'int64', 'int32', 'bool', 'float64'];

/** Discriminated on `dtype`, so `data` narrows to the matching typed array. */
export type HostTensor<D extends HostDType = HostDType> = {
  [K in D]: { dtype: K; dims: number[]; data: HostDataMap[K] };
}[D];

const ARRAY_CTORS: { [K in HostDType]: new (n: number) => HostDataMap[K] } = {
  float32: Float32Array,
  float16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  bool: Uint8Array,
  float64: Float64Array,
};

export function isHostDType(x: string): x is HostDType {
  return (HOST_DTYPES as readonly string[]).includes(x);
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

function checkDims(dims: readonly number[], label: string): void {
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`${label}: invalid dim ${d} in [${dims.join(', ')}]`);
  }
}

/** Checks dims are non-negative integers, the array type fits dtype, and length = product(dims). */
export function checkHostTensor(t: HostTensor, label = 'tensor'): void {
  if (!isHostDType(t.dtype)) throw new TypeError(`${label}: unsupported dtype '${String(t.dtype)}'`);
  checkDims(t.dims, label);
  const ctor = ARRAY_CTORS[t.dtype];
  if (!(t.data instanceof ctor)) {
    throw new TypeError(`${label}: dtype '${t.dtype}' needs a ${ctor.name}, got ${t.data?.constructor?.name}`);
  }
  const n = elementCount(t.dims);
  if (t.data.length !== n) {
    throw new RangeError(`${label}: data has ${t.data.length} elements but dims [${t.dims.join(', ')}] need ${n}`);
  }
}

/** Build a host tensor; `data` defaults to zeros. */
export function hostTensor<D extends HostDType>(dtype: D, dims: number[], data?: HostDataMap[D]): HostTensor<D> {
  checkDims(dims, 'tensor');
  const t = { dtype, dims: [...dims], data: data ?? new ARRAY_CTORS[dtype](elementCount(dims)) } as HostTensor<D>;
  checkHostTensor(t as HostTensor);
  return t;
}

/** Wraps (no copy) host data in an ort.Tensor. */
export function toOrtTensor(t: HostTensor, label = 'tensor'): ort.Tensor {
  checkHostTensor(t, label);
  return new ort.Tensor(t.dtype, t.data, t.dims);
}

/** Wraps (no copy) a CPU ort.Tensor's data as a host tensor. */
export function fromOrtTensor(t: ort.Tensor, label = 'tensor'): HostTensor {
  if (!isHostDType(t.type)) throw new TypeError(`${label}: unsupported ORT tensor type '${t.type}'`);
  if (t.location !== 'cpu') throw new Error(`${label}: tensor is on '${t.location}', expected 'cpu'`);
  let data: unknown = t.data;
  // ORT may hand float16 back as Float16Array where the runtime has one; keep the bits.
  if (t.type === 'float16' && !(data instanceof Uint16Array)) {
    const v = data as ArrayBufferView;
    data = new Uint16Array(v.buffer, v.byteOffset, v.byteLength / 2);
  }
  const host = { dtype: t.type, dims: [...t.dims], data } as HostTensor;
  checkHostTensor(host, label);
  return host;
}
