import { InferError, normalizeAxis, type Attrs, type Shape } from '../ir/index.js';

/**
 * Copies a `shape`-shaped block between two flat buffers, each addressed by an element offset plus one
 * stride per block axis. Slice, split, concat, pad and expand are all this copy with different strides
 * (a stride of 0 re-reads an element, which is how broadcasting works).
 */
export function copyStrided(
  shape: Shape,
  src: Float64Array,
  srcOffset: number,
  srcStrides: readonly number[],
  dst: Float64Array,
  dstOffset: number,
  dstStrides: readonly number[],
): void {
  const rank = shape.length;
  if (shape.some((d) => d === 0)) return;
  const idx = new Array<number>(rank).fill(0);
  let s = srcOffset;
  let d = dstOffset;
  for (;;) {
    dst[d] = src[s];
    let ax = rank - 1;
    for (; ax >= 0; ax--) {
      idx[ax]++;
      s += srcStrides[ax];
      d += dstStrides[ax];
      if (idx[ax] < shape[ax]) break;
      s -= srcStrides[ax] * idx[ax];
      d -= dstStrides[ax] * idx[ax];
      idx[ax] = 0;
    }
    if (ax < 0) return;
  }
}

/** Reads an integer axis attribute in [-rank, rank) and returns it non-negative, or throws naming it. */
export function axisAttr(attrs: Attrs, key: string, rank: number): number {
  const raw = attrs[key];
  const axis = typeof raw === 'number' ? normalizeAxis(raw, rank) : null;
  if (axis === null) throw new InferError(`attribute '${key}' = ${JSON.stringify(raw)} is not an axis of a rank-${rank} operand`, 0);
  return axis;
}
