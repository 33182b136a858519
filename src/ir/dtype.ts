/** Element types of IR values. Names follow ONNX/numpy spelling. */
export type DType = 'float32' | 'float16' | 'int64' | 'int32' | 'bool';

export const DTYPES: readonly DType[] = ['float32', 'float16', 'int64', 'int32', 'bool'];

const BYTE_SIZE: Readonly<Record<DType, number>> = {
  float32: 4,
  float16: 2,
  int64: 8,
  int32: 4,
  bool: 1,
};

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16';
}

export function isInt(dtype: DType): boolean {
  return dtype === 'int64' || dtype === 'int32';
}

/** Bytes per element in the runtime representation (ONNX tensor storage). */
export function byteSize(dtype: DType): number {
  return BYTE_SIZE[dtype];
}

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}
