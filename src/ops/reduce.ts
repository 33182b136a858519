import {
  hostArray,
  InferError,
  type HostArray,
  type Node,
  normalizeAxis,
  numel,
  stridesOf,
  type Attrs,
  type Shape,
  type TensorType,
} from '../ir/index.js';
import { defineOp, type LowerContext, type OpDef } from './op-def.js';
import { boolAttr, expectArity, expectFloat, expectNumeric } from './util.js';

/** `axes: null` reduces every axis; negative axes count from the end. */
export interface ReduceAttrs extends Attrs {
  readonly axes: readonly number[] | null;
  readonly keepdims: boolean;
}

/** Validated, sorted, non-negative axes. */
export function resolveAxes(attrs: Attrs, rank: number): number[] {
  const raw = attrs.axes ?? null;
  if (raw === null) return Array.from({ length: rank }, (_, i) => i);
  if (!Array.isArray(raw)) throw new InferError(`attribute 'axes' must be an integer array or null, got ${JSON.stringify(raw)}`);
  const axes = raw.map((a) => {
    const n = typeof a === 'number' ? normalizeAxis(a, rank) : null;
    if (n === null) throw new InferError(`axis ${JSON.stringify(a)} out of range for rank ${rank}`, 0);
    return n;
  });
  if (new Set(axes).size !== axes.length) throw new InferError(`duplicate axes ${JSON.stringify(raw)}`, 0);
  return axes.sort((a, b) => a - b);
}

function reducedShape(shape: Shape, axes: readonly number[], keepdims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** Folds `combine` over `axes` of x, starting every output element at `init`. */
function foldAxes(
  x: HostArray,
  axes: readonly number[],
  keepdims: boolean,
  init: number,
  combine: (acc: number, v: number) => number,
): HostArray {
  const shape = reducedShape(x.shape, axes, keepdims);
  // Output strides in input-axis space: reduced axes contribute 0.
  const keptStrides = stridesOf(reducedShape(x.shape, axes, true));
  const strides = x.shape.map((_, i) => (axes.includes(i) ? 0 : keptStrides[i]));
  const out = new Float64Array(numel(shape)).fill(init);
  const idx = new Array<number>(x.shape.length).fill(0);
  let o = 0;
  for (let k = 0; k < x.data.length; k++) {
    out[o] = combine(out[o], x.data[k]);
    for (let ax = x.shape.length - 1; ax >= 0; ax--) {
      idx[ax]++;
      o += strides[ax];
      if (idx[ax] < x.shape[ax]) break;
      o -= strides[ax] * idx[ax];
      idx[ax] = 0;
    }
  }
  return hostArray(shape, x.dtype, out);
}

function reduceOp(name: string, isMean: boolean): OpDef {
  return defineOp<ReduceAttrs>({
    name,
    infer(inputs: readonly TensorType[], attrs) {
      expectArity(inputs, 1);
      (isMean ? expectFloat : expectNumeric)(inputs[0], 0);
      const axes = resolveAxes(attrs, inputs[0].shape.length);
      const keepdims = boolAttr(attrs, 'keepdims', false);
      return [{ shape: reducedShape(inputs[0].shape, axes, keepdims), dtype: inputs[0].dtype }];
    },
    evaluate([x], attrs) {
      const axes = resolveAxes(attrs, x.shape.length);
      const out = foldAxes(x, axes, attrs.keepdims, 0, (acc, v) => acc + v);
      if (isMean) {
        const count = axes.reduce((n, a) => n * x.shape[a], 1);
        for (let i = 0; i < out.data.length; i++) out.data[i] /= count;
      }
      return [out];
    },
    lower: (ctx, node: Node, attrs) => lowerReduce(ctx, node, attrs, isMean),
    // Each input element receives its output's cotangent (÷ count for mean).
    vjp: ({ inputs: [x], cotangents: [g], attrs }) => {
      const axes = resolveAxes(attrs, x.rank);
      const spread = x.graph.apply('expand', [g!.reshape(reducedShape(x.shape, axes, true))], { shape: [...x.shape] });
      return [isMean ? spread.div(axes.reduce((n, a) => n * x.shape[a], 1)) : spread];
    },
  });
}

/**
 * ReduceSum takes axes as an int64 input (opset 13+), ReduceMean still as an attribute (opset 17).
 * Empty axes reduce nothing in the IR but everything in ONNX, hence Identity.
 */
function lowerReduce(ctx: LowerContext, node: Node, attrs: ReduceAttrs, isMean: boolean): void {
  const rank = node.inputs[0].rank;
  const axes = resolveAxes(attrs, rank);
  const keepdims = attrs.keepdims ? 1 : 0;
  const outputs = { outputs: ctx.outputs };
  if (axes.length === 0) ctx.emit('Identity', ctx.inputs, {}, outputs);
  else if (isMean) ctx.emit('ReduceMean', ctx.inputs, { axes, keepdims }, outputs);
  else ctx.emit('ReduceSum', [ctx.inputs[0], ctx.constant(hostArray([axes.length], 'int64', axes))], { keepdims }, outputs);
}

export const sum = reduceOp('sum', false);
export const mean = reduceOp('mean', true);

/**
 * Maximum over axes (torch.amax). Its VJP shares each output's cotangent equally among the input
 * elements equal to the maximum (torch.amax's rule; torch.max(dim) instead picks one index).
 */
export const reduceMax = defineOp<ReduceAttrs>({
  name: 'reduce_max',
  infer(inputs, attrs) {
    expectArity(inputs, 1);
    expectNumeric(inputs[0], 0);
    const { shape, dtype } = inputs[0];
    const axes = resolveAxes(attrs, shape.length);
    const empty = axes.find((a) => shape[a] === 0);
    if (empty !== undefined) throw new InferError(`cannot take the max over axis ${empty}: it has size 0`, 0);
    return [{ shape: reducedShape(shape, axes, boolAttr(attrs, 'keepdims', false)), dtype }];
  },
  evaluate: ([x], attrs) => [foldAxes(x, resolveAxes(attrs, x.shape.length), attrs.keepdims, -Infinity, Math.max)],
  // Opset 17 ReduceMax takes axes as an attribute; empty axes mean "all" there, hence Identity.
  lower: (ctx, node, attrs) => {
    const axes = resolveAxes(attrs, node.inputs[0].rank);
    const outputs = { outputs: ctx.outputs };
    if (axes.length === 0) ctx.emit('Identity', ctx.inputs, {}, outputs);
    else ctx.emit('ReduceMax', ctx.inputs, { axes, keepdims: attrs.keepdims ? 1 : 0 }, outputs);
  },
  vjp: ({ inputs: [x], outputs: [y], cotangents: [g], attrs }) => {
    const axes = resolveAxes(attrs, x.rank);
    const kept = reducedShape(x.shape, axes, true);
    const isMax = x.equal(y.reshape(kept)).cast(x.dtype);
    return [isMax.div(isMax.sum(axes, true)).mul(g!.reshape(kept))];
  },
});

export const reduceOps: readonly OpDef[] = [sum, mean, reduceMax];
