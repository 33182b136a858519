/**
 * The tensor transforms the key-map tables may name (keymaps/types.ts TransformName), in both directions.
 * A derived tensor is computed from one or more input tensors of the underlying source; shapes are
 * derived without reading data, so a converted view can list shapes from the file header alone.
 */
import { formatShape, numel } from '../../ir/index.js';
import type { TransformName } from './keymaps/types.js';
import { concatFloat32 } from '../../util/float32.js';

export type Shape = readonly number[];

export interface Derivation {
  /** Throws an Error whose message says what is wrong with the input shapes. */
  shape(inputs: readonly Shape[]): number[];
  data(inputs: readonly Float32Array[], shapes: readonly Shape[]): Float32Array;
}

const identity: Derivation = {
  shape: ([s]) => [...s],
  data: ([d]) => d,
};

function matrixShape(s: Shape): [number, number] {
  if (s.length < 2 || s.slice(2).some((d) => d !== 1))
    throw new Error(`expected a [out, in] matrix or a 1×1 conv weight, got ${formatShape(s)}`);
  return [s[0], s[1]];
}

const convToLinear: Derivation = {
  shape: ([s]) => matrixShape(s),
  data: ([d]) => d, // same element order: only the trailing 1s go
};

const linearToConv: Derivation = {
  shape: ([s]) => [...matrixShape(s), 1, 1],
  data: ([d]) => d,
};

const transpose: Derivation = {
  shape: ([s]) => {
    if (s.length !== 2) throw new Error(`expected a 2-D matrix to transpose, got ${formatShape(s)}`);
    return [s[1], s[0]];
  },
  data: ([d], [[rows, cols]]) => {
    const out = new Float32Array(d.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = d[r * cols + c];
    return out;
  },
};

/** Rows [part·n, (part+1)·n) of a tensor whose first axis is `parts`·n long. */
function splitRows(part: number, parts: number): Derivation {
  const rowsOf = (s: Shape): number => {
    if (s.length < 1 || s[0] % parts !== 0)
      throw new Error(`expected a first axis divisible by ${parts} (fused projection), got ${formatShape(s)}`);
    return s[0] / parts;
  };
  return {
    shape: ([s]) => [rowsOf(s), ...s.slice(1)],
    data: ([d], [s]) => {
      const size = numel(s) / parts;
      return d.slice(part * size, (part + 1) * size);
    },
  };
}

/** The inverse of splitRows: inputs concatenated along the first axis. */
function concatRows(parts: number): Derivation {
  return {
    shape: (shapes) => {
      if (shapes.length !== parts) throw new Error(`expected ${parts} tensors to fuse, got ${shapes.length}`);
      const rest = shapes[0].slice(1);
      if (shapes.some((s) => formatShape(s.slice(1)) !== formatShape(rest) || s[0] !== shapes[0][0])) {
        throw new Error(`tensors to fuse must have equal shapes, got ${shapes.map(formatShape).join(', ')}`);
      }
      return [shapes[0][0] * parts, ...rest];
    },
    data: (inputs) => concatFloat32(inputs),
  };
}

/** Single-file tensor → diffusers tensor (`part` of `parts` for splitting transforms). */
export function forwardDerivation(name: TransformName, part = 0, parts = 1): Derivation {
  switch (name) {
    case 'identity':
      return identity;
    case 'conv1x1ToLinear':
      return convToLinear;
    case 'transpose':
      return transpose;
    case 'splitRows':
      return splitRows(part, parts);
  }
}

/** Diffusers tensor(s) → single-file tensor: `parts` inputs for splitting transforms, else one. */
export function inverseDerivation(name: TransformName, parts = 1): Derivation {
  switch (name) {
    case 'identity':
      return identity;
    case 'conv1x1ToLinear':
      return linearToConv;
    case 'transpose':
      return transpose;
    case 'splitRows':
      return concatRows(parts);
  }
}
