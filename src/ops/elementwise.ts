import {
  broadcastShapes,
  formatShape,
  hostArray,
  InferError,
  isDType,
  isInt,
  type Attrs,
  type DType,
  type HostArray,
} from '../ir/index.js';
import { defineOp, lowerTo, type OpDef } from './op-def.js';
import { broadcastOffsets, expectArity, expectFloat, expectNumeric, expectSameDType } from './util.js';

/** Integer results are truncated toward zero (C/ONNX integer division), floats stay float64. */
function fixInt(x: number, dtype: DType): number {
  return isInt(dtype) ? Math.trunc(x) : x;
}

function binary(name: string, onnxOp: string, fn: (a: number, b: number) => number): OpDef {
  return defineOp({
    name,
    lower: lowerTo(onnxOp),
    infer(inputs) {
      expectArity(inputs, 2);
      expectNumeric(inputs[0], 0);
      expectNumeric(inputs[1], 1);
      const dtype = expectSameDType(inputs);
      const shape = broadcastShapes(inputs[0].shape, inputs[1].shape);
      if (!shape) {
        const [a, b] = inputs.map((t) => formatShape(t.shape));
        throw new InferError(`cannot broadcast shapes ${a} and ${b}`);
      }
      return [{ shape, dtype }];
    },
    evaluate([a, b]) {
      const shape = broadcastShapes(a.shape, b.shape)!;
      const ia = broadcastOffsets(a.shape, shape);
      const ib = broadcastOffsets(b.shape, shape);
      const out = new Float64Array(ia.length);
      for (let k = 0; k < out.length; k++) out[k] = fixInt(fn(a.data[ia[k]], b.data[ib[k]]), a.dtype);
      return [hostArray(shape, a.dtype, out)];
    },
  });
}

function unary(name: string, onnxOp: string, fn: (x: number) => number, floatOnly: boolean): OpDef {
  return defineOp({
    name,
    lower: lowerTo(onnxOp),
    infer(inputs) {
      expectArity(inputs, 1);
      (floatOnly ? expectFloat : expectNumeric)(inputs[0], 0);
      return [{ shape: inputs[0].shape, dtype: inputs[0].dtype }];
    },
    evaluate([x]) {
      return [hostArray(x.shape, x.dtype, x.data.map(fn))];
    },
  });
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export const add = binary('add', 'Add', (a, b) => a + b);
export const sub = binary('sub', 'Sub', (a, b) => a - b);
export const mul = binary('mul', 'Mul', (a, b) => a * b);
export const div = binary('div', 'Div', (a, b) => a / b);
export const pow = binary('pow', 'Pow', (a, b) => a ** b);

export const neg = unary('neg', 'Neg', (x) => -x, false);
export const relu = unary('relu', 'Relu', (x) => (x > 0 ? x : 0), false);
export const exp = unary('exp', 'Exp', Math.exp, true);
export const log = unary('log', 'Log', Math.log, true);
export const sqrt = unary('sqrt', 'Sqrt', Math.sqrt, true);
export const tanh = unary('tanh', 'Tanh', Math.tanh, true);
export const sigmoidOp = unary('sigmoid', 'Sigmoid', sigmoid, true);

interface CastAttrs extends Attrs {
  readonly dtype: DType;
}

/** Converts element type: to ints truncates toward zero, to bool is `x != 0`, floats stay float64. */
export const cast = defineOp<CastAttrs>({
  name: 'cast',
  infer(inputs, attrs) {
    expectArity(inputs, 1);
    if (!isDType(attrs.dtype)) throw new InferError(`attribute 'dtype' must be a DType, got ${JSON.stringify(attrs.dtype)}`);
    return [{ shape: inputs[0].shape, dtype: attrs.dtype }];
  },
  evaluate([x], { dtype }): HostArray[] {
    const conv = dtype === 'bool' ? (v: number) => (v !== 0 ? 1 : 0) : isInt(dtype) ? Math.trunc : (v: number) => v;
    return [hostArray(x.shape, dtype, x.data.map(conv))];
  },
  lower: (ctx, _node, { dtype }) => {
    ctx.emit('Cast', ctx.inputs, { to: ctx.dataType(dtype) }, { outputs: ctx.outputs });
  },
});

export const elementwiseOps: readonly OpDef[] = [add, sub, mul, div, pow, neg, relu, exp, log, sqrt, tanh, sigmoidOp, cast];

