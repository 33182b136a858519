import { hostArray, InferError, isInt, numel, type Attrs, type Shape, type TensorType, type Value } from '../ir/index.js';
import { defineOp, type OpDef, type VjpArgs } from './op-def.js';
import { axisAttr } from './strided.js';
import { expectArity } from './util.js';

export interface GatherAttrs extends Attrs {
  readonly axis: number;
}

/** table.shape = pre + [size] + post; the output is pre + indices.shape + post (ONNX Gather). */
interface GatherPlan {
  axis: number;
  outer: number;
  size: number;
  inner: number;
  shape: number[];
}

function planGather(table: Shape, indices: Shape, attrs: Attrs): GatherPlan {
  if (table.length === 0) throw new InferError('cannot gather from a scalar table (rank 0)', 0);
  const axis = axisAttr(attrs, 'axis', table.length);
  return {
    axis,
    outer: numel(table.slice(0, axis)),
    size: table[axis],
    inner: numel(table.slice(axis + 1)),
    shape: [...table.slice(0, axis), ...indices, ...table.slice(axis + 1)],
  };
}

function checkIndices(t: TensorType): void {
  if (!isInt(t.dtype)) throw new InferError(`indices (operand 1) must be int64 or int32, got ${t.dtype}`, 1);
}

/** Negative indices count from the end; anything outside [-size, size) is a runtime error naming it. */
function wrapIndex(v: number, size: number, position: number, axis: number): number {
  if (v < -size || v >= size) {
    throw new Error(`gather: index ${v} at position ${position} of indices is out of range [-${size}, ${size}) for axis ${axis}`);
  }
  return v < 0 ? v + size : v;
}

/**
 * Scatter-add of the cotangent into the table's rows, written as a one-hot matmul so it needs only
 * primitive ops (exact: every product is by 0 or 1). The one-hot is [size, n_indices] in the cotangent's
 * dtype, e.g. 49408 × 154 float32 ≈ 30 MB for a CLIP vocabulary and two 77-token prompts.
 */
function gatherVjp({ inputs: [table, indices], attrs, cotangents: [g] }: VjpArgs): (Value | null)[] {
  const { outer, size, inner } = planGather(table.shape, indices.shape, attrs);
  const n = numel(indices.shape);
  const graph = table.graph;
  // (i + size) mod size via truncating integer division, valid because i + size >= 0.
  const shifted = indices.reshape([1, n]).add(size);
  const wrapped = shifted.sub(shifted.div(size).mul(size));
  const rows = graph.constant(
    hostArray(
      [size, 1],
      indices.dtype,
      Array.from({ length: size }, (_, v) => v),
    ),
  );
  const oneHot = graph.apply('equal', [rows, wrapped]).cast(g!.dtype); // [size, n]: row v was read at position j
  const dTable = oneHot.matmul(g!.reshape([outer, n, inner])); // [outer, size, inner]
  return [dTable.reshape(table.shape), null];
}

export const gather = defineOp<GatherAttrs>({
  name: 'gather',
  infer(inputs, attrs) {
    expectArity(inputs, 2);
    checkIndices(inputs[1]);
    return [{ shape: planGather(inputs[0].shape, inputs[1].shape, attrs).shape, dtype: inputs[0].dtype }];
  },
  evaluate([table, indices], attrs) {
    const { axis, outer, size, inner, shape } = planGather(table.shape, indices.shape, attrs);
    const n = indices.data.length;
    const rows = Array.from(indices.data, (v, j) => wrapIndex(v, size, j, axis));
    const out = new Float64Array(numel(shape));
    for (let p = 0; p < outer; p++) {
      for (let j = 0; j < n; j++) {
        const src = (p * size + rows[j]) * inner;
        out.set(table.data.subarray(src, src + inner), (p * n + j) * inner);
      }
    }
    return [hostArray(shape, table.dtype, out)];
  },
  vjp: gatherVjp,
  lower: (ctx, node, attrs) => {
    const { axis } = planGather(node.inputs[0].shape, node.inputs[1].shape, attrs);
    ctx.emit('Gather', ctx.inputs, { axis }, { outputs: ctx.outputs });
  },
});

export const indexingOps: readonly OpDef[] = [gather];
