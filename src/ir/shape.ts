/** Static shapes: every dimension is a known non-negative integer. */
export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Row-major (C-contiguous) strides, in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function isValidShape(shape: Shape): boolean {
  return shape.every((d) => Number.isInteger(d) && d >= 0);
}

/** Numpy broadcasting of two shapes; `null` when they are incompatible. */
export function broadcastShapes(a: Shape, b: Shape): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Normalizes a possibly negative axis; `null` when out of range. */
export function normalizeAxis(axis: number, rank: number): number | null {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) return null;
  return axis < 0 ? axis + rank : axis;
}
