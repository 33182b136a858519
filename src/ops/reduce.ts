import { hostArray, InferError, type Node, normalizeAxis, numel, stridesOf, type Attrs, type Shape, type TensorType } from '../ir/index.js';
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
      const shape = reducedShape(x.shape, axes, attrs.keepdims);
      // Output strides in input-axis space: reduced axes contribute 0.
      const keptStrides = stridesOf(reducedShape(x.shape, axes, true));
      const strides = x.shape.map((_, i) => (axes.includes(i) ? 0 : keptStrides[i]));
      const out = new Float64Array(numel(shape));
      const idx = new Array<number>(x.shape.length).fill(0);
      let o = 0;
      for (let k = 0; k < x.data.length; k++) {
        out[o] += x.data[k];
        for (let ax = x.shape.length - 1; ax >= 0; ax--) {
          idx[ax]++;
          o += strides[ax];
          if (idx[ax] < x.shape[ax]) break;
          o -= strides[ax] * idx[ax];
          idx[ax] = 0;
        }
      }
      if (isMean) {
        const count = axes.reduce((n, a) => n * x.shape[a], 1);
        for (let i = 0; i < out.length; i++) out[i] /= count;
      }
      return [hostArray(shape, x.dtype, out)];
    },
    lower: (ctx, node: Node, attrs) => lowerReduce(ctx, node, attrs, isMean),
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

export const reduceOps: readonly OpDef[] = [sum, mean];
