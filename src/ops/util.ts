import { InferError, isFloat, stridesOf, type Attrs, type DType, type Shape, type TensorType } from '../ir/index.js';

/** Checks the operand count. */
export function expectArity(inputs: readonly TensorType[], n: number): void {
  if (inputs.length !== n) throw new InferError(`expected ${n} operand(s), got ${inputs.length}`);
}

export function expectFloat(t: TensorType, operand: number): void {
  if (!isFloat(t.dtype)) throw new InferError(`operand ${operand} must be float32/float16, got ${t.dtype}`, operand);
}

/** Numeric = anything but bool. */
export function expectNumeric(t: TensorType, operand: number): void {
  if (t.dtype === 'bool') throw new InferError(`operand ${operand} must be numeric, got bool`, operand);
}

export function expectSameDType(inputs: readonly TensorType[]): DType {
  const d = inputs[0].dtype;
  for (let i = 1; i < inputs.length; i++) {
    if (inputs[i].dtype !== d) {
      throw new InferError(`dtype mismatch: ${inputs.map((t) => t.dtype).join(' vs ')} (insert a cast)`, i);
    }
  }
  return d;
}

/** Reads an integer-array attribute, or throws InferError naming it. */
export function intArrayAttr(attrs: Attrs, key: string): number[] {
  const v = attrs[key];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) {
    throw new InferError(`attribute '${key}' must be an array of integers, got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

export function boolAttr(attrs: Attrs, key: string, fallback: boolean): boolean {
  const v = attrs[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new InferError(`attribute '${key}' must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * For each flat index of `outShape`, the flat index of the element of `inShape` (numpy-broadcast to
 * `outShape`) that it reads. Broadcast dimensions get stride 0.
 */
export function broadcastOffsets(inShape: Shape, outShape: Shape): Uint32Array {
  const rank = outShape.length;
  const inStrides = stridesOf(inShape);
  const strides = outShape.map((_, i) => {
    const j = i - (rank - inShape.length);
    return j < 0 || inShape[j] === 1 ? 0 : inStrides[j];
  });
  let total = 1;
  for (const d of outShape) total *= d;
  const out = new Uint32Array(total);
  const idx = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let k = 0; k < total; k++) {
    out[k] = offset;
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax]++;
      offset += strides[ax];
      if (idx[ax] < outShape[ax]) break;
      offset -= strides[ax] * idx[ax];
      idx[ax] = 0;
    }
  }
  return out;
}
