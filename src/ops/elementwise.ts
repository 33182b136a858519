import {
  broadcastShapes,
  formatShape,
  hostArray,
  InferError,
  isDType,
  isFloat,
  isInt,
  numel,
  scalarArray,
  type Attrs,
  type DType,
  type HostArray,
  type TensorType,
  type Value,
} from '../ir/index.js';
import { erf } from '../util/erf.js';
import { defineOp, lowerTo, type OpDef, type VjpArgs } from './op-def.js';
import { broadcastOffsets, expectArity, expectFloat, expectNumeric, expectSameDType } from './util.js';

/** Integer results are truncated toward zero (C/ONNX integer division), floats stay float64. */
function fixInt(x: number, dtype: DType): number {
  return isInt(dtype) ? Math.trunc(x) : x;
}

/** A VJP rule of an elementwise op: (inputs, output, cotangent) → input cotangents (broadcast shape allowed). */
type ElementwiseVjp = (x: readonly Value[], y: Value, g: Value) => (Value | null)[];
const elementwiseVjp = (rule: ElementwiseVjp) => (a: VjpArgs) => rule(a.inputs, a.outputs[0], a.cotangents[0]!);

function binary(name: string, onnxOp: string, fn: (a: number, b: number) => number, vjp: ElementwiseVjp): OpDef {
  return defineOp({
    name,
    lower: lowerTo(onnxOp),
    vjp: elementwiseVjp(vjp),
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

function unary(name: string, onnxOp: string, fn: (x: number) => number, floatOnly: boolean, vjp: ElementwiseVjp): OpDef {
  return defineOp({
    name,
    lower: lowerTo(onnxOp),
    vjp: elementwiseVjp(vjp),
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

export const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export const add = binary(
  'add',
  'Add',
  (a, b) => a + b,
  (_x, _y, g) => [g, g],
);
export const sub = binary(
  'sub',
  'Sub',
  (a, b) => a - b,
  (_x, _y, g) => [g, g.neg()],
);
export const mul = binary(
  'mul',
  'Mul',
  (a, b) => a * b,
  ([a, b], _y, g) => [g.mul(b), g.mul(a)],
);
// d(a/b) = g/b, −g·a/b² = −(g/b)·y
export const div = binary(
  'div',
  'Div',
  (a, b) => a / b,
  ([, b], y, g) => {
    const gb = g.div(b);
    return [gb, gb.mul(y).neg()];
  },
);
// d(a^b) = g·b·a^(b−1), g·ln(a)·a^b (the exponent's gradient is only finite for a > 0, as in torch)
export const pow = binary(
  'pow',
  'Pow',
  (a, b) => a ** b,
  ([a, b], y, g) => [g.mul(b).mul(a.pow(b.sub(1))), g.mul(y).mul(a.log())],
);

export const neg = unary(
  'neg',
  'Neg',
  (x) => -x,
  false,
  (_x, _y, g) => [g.neg()],
);
// Subgradient 0 at x = 0, as torch.
export const relu = unary(
  'relu',
  'Relu',
  (x) => (x > 0 ? x : 0),
  false,
  ([x], _y, g) => [g.mul(x.graph.apply('greater', [x, x.graph.scalar(0, x.dtype)]).cast(x.dtype))],
);
export const exp = unary('exp', 'Exp', Math.exp, true, (_x, y, g) => [g.mul(y)]);
export const log = unary('log', 'Log', Math.log, true, ([x], _y, g) => [g.div(x)]);
export const sqrt = unary('sqrt', 'Sqrt', Math.sqrt, true, (_x, y, g) => [g.mul(0.5).div(y)]);
export const tanh = unary('tanh', 'Tanh', Math.tanh, true, (_x, y, g) => [g.mul(y.mul(y).neg().add(1))]);
export const sigmoidOp = unary('sigmoid', 'Sigmoid', sigmoid, true, (_x, y, g) => [g.mul(y).mul(y.neg().add(1))]);

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
  // Float → float casts pass the gradient back in the input's precision; casts to/from ints/bools have none.
  vjp: ({ inputs: [x], outputs: [y], cotangents: [g] }) => [isFloat(x.dtype) && isFloat(y.dtype) ? g!.cast(x.dtype) : null],
});

// --- extras: trig/abs/erf, maximum/minimum, comparisons, where, clamp ---

export const sin = unary('sin', 'Sin', Math.sin, true, ([x], _y, g) => [g.mul(x.cos())]);
export const cos = unary('cos', 'Cos', Math.cos, true, ([x], _y, g) => [g.mul(x.sin()).neg()]);
// sign(x)·g, with subgradient 0 at x = 0 (torch).
export const abs = unary('abs', 'Abs', Math.abs, false, ([x], _y, g) => [g.mul(x.greater(0).cast(x.dtype).sub(x.less(0).cast(x.dtype)))]);
// d erf(x)/dx = 2/√π · e^(−x²)
export const erfOp = unary('erf', 'Erf', erf, true, ([x], _y, g) => [
  g.mul(
    x
      .mul(x)
      .neg()
      .exp()
      .mul(2 / Math.sqrt(Math.PI)),
  ),
]);

/**
 * Gradient of maximum/minimum goes to the selected operand; on ties each operand gets half (torch ≥ 1.7's
 * `maximum`/`minimum` rule), so the two cotangents always sum to g.
 */
const selectVjp =
  (wins: (a: Value, b: Value) => Value): ElementwiseVjp =>
  ([a, b], _y, g) => {
    const share = wins(a, b).cast(g.dtype).add(a.equal(b).cast(g.dtype).mul(0.5));
    return [g.mul(share), g.mul(share.neg().add(1))];
  };
export const maximum = binary(
  'maximum',
  'Max',
  Math.max,
  selectVjp((a, b) => a.greater(b)),
);
export const minimum = binary(
  'minimum',
  'Min',
  Math.min,
  selectVjp((a, b) => a.less(b)),
);

/** Numpy broadcast of every operand's shape, or an InferError listing them. */
function broadcastAll(inputs: readonly TensorType[]): number[] {
  let shape: number[] | null = [];
  for (const t of inputs) shape = shape && broadcastShapes(shape, t.shape);
  if (!shape) throw new InferError(`cannot broadcast shapes ${inputs.map((t) => formatShape(t.shape)).join(' and ')}`);
  return shape;
}

/** Applies `fn` across broadcast operands (kernel shared by comparisons and where). */
function broadcastKernel(inputs: readonly HostArray[], dtype: DType, fn: (...v: number[]) => number): HostArray {
  const shape = broadcastAll(inputs);
  const offsets = inputs.map((x) => broadcastOffsets(x.shape, shape));
  const out = new Float64Array(numel(shape));
  const args = new Array<number>(inputs.length);
  for (let k = 0; k < out.length; k++) {
    for (let i = 0; i < inputs.length; i++) args[i] = inputs[i].data[offsets[i][k]];
    out[k] = fn(...args);
  }
  return hostArray(shape, dtype, out);
}

/** Elementwise comparison with broadcasting → bool. Booleans are only ordered by `equal` (as in ONNX). */
function compare(name: string, onnxOp: string, fn: (a: number, b: number) => boolean, allowBool: boolean): OpDef {
  return defineOp({
    name,
    lower: lowerTo(onnxOp),
    vjp: () => [null, null], // piecewise constant
    infer(inputs) {
      expectArity(inputs, 2);
      if (!allowBool) inputs.forEach(expectNumeric);
      expectSameDType(inputs);
      return [{ shape: broadcastAll(inputs), dtype: 'bool' }];
    },
    evaluate: (inputs) => [broadcastKernel(inputs, 'bool', (a, b) => (fn(a, b) ? 1 : 0))],
  });
}
export const less = compare('less', 'Less', (a, b) => a < b, false);
export const greater = compare('greater', 'Greater', (a, b) => a > b, false);
export const equal = compare('equal', 'Equal', (a, b) => a === b, true);

/** where(cond, a, b): a where cond is true, else b; all three broadcast (numpy.where / ONNX Where). */
export const where = defineOp({
  name: 'where',
  lower: lowerTo('Where'),
  infer(inputs) {
    expectArity(inputs, 3);
    if (inputs[0].dtype !== 'bool') throw new InferError(`condition (operand 0) must be bool, got ${inputs[0].dtype}`, 0);
    if (inputs[1].dtype !== inputs[2].dtype) {
      throw new InferError(`branch dtype mismatch: ${inputs[1].dtype} vs ${inputs[2].dtype} (insert a cast)`, 2);
    }
    return [{ shape: broadcastAll(inputs), dtype: inputs[1].dtype }];
  },
  evaluate: ([c, a, b]) => [broadcastKernel([c, a, b], a.dtype, (cv, av, bv) => (cv !== 0 ? av : bv))],
  vjp: ({ inputs: [c], cotangents: [g] }) => {
    const zero = g!.graph.scalar(0, g!.dtype);
    return [null, c.where(g!, zero), c.where(zero, g!)];
  },
});

export interface ClampAttrs extends Attrs {
  readonly min: number | null;
  readonly max: number | null;
}

function boundAttr(attrs: Attrs, key: 'min' | 'max', dtype: DType): number | null {
  const v = attrs[key] ?? null;
  const ok = v === null || (typeof v === 'number' && !Number.isNaN(v) && (!isInt(dtype) || Number.isInteger(v)));
  if (!ok) {
    const got = typeof v === 'number' ? String(v) : JSON.stringify(v);
    throw new InferError(`attribute '${key}' must be ${isInt(dtype) ? 'an integer' : 'a number'} or null, got ${got}`);
  }
  return v as number | null;
}

/** Bounds with an omitted attribute read as null (absent). */
const clampBounds = (attrs: Attrs): ClampAttrs => ({
  min: (attrs.min ?? null) as number | null,
  max: (attrs.max ?? null) as number | null,
});

/**
 * clamp(x, min, max) = min(max(x, min), max); a null bound is absent. As in torch, min > max yields max
 * everywhere, and the gradient passes where min ≤ x ≤ max (bounds included).
 */
export const clamp = defineOp<ClampAttrs>({
  name: 'clamp',
  infer(inputs, attrs) {
    expectArity(inputs, 1);
    expectNumeric(inputs[0], 0);
    boundAttr(attrs, 'min', inputs[0].dtype);
    boundAttr(attrs, 'max', inputs[0].dtype);
    return [{ shape: inputs[0].shape, dtype: inputs[0].dtype }];
  },
  evaluate([x], attrs) {
    const lo = attrs.min ?? -Infinity;
    const hi = attrs.max ?? Infinity;
    return [
      hostArray(
        x.shape,
        x.dtype,
        x.data.map((v) => Math.min(Math.max(v, lo), hi)),
      ),
    ];
  },
  // Clip (opset 11+) takes the bounds as optional scalar inputs of x's dtype; '' skips one.
  lower: (ctx, node, attrs) => {
    const { min, max } = clampBounds(attrs);
    const dtype = node.inputs[0].dtype;
    const bound = (v: number | null): string => (v === null ? '' : ctx.constant(scalarArray(v, dtype)));
    const bounds = max === null ? (min === null ? [] : [bound(min)]) : [bound(min), bound(max)];
    ctx.emit(bounds.length === 0 ? 'Identity' : 'Clip', [ctx.inputs[0], ...bounds], {}, { outputs: ctx.outputs });
  },
  vjp: ({ inputs: [x], cotangents: [g], attrs }) => {
    const { min, max } = clampBounds(attrs);
    let gx = g!;
    if (min !== null) gx = x.less(min).where(0, gx);
    if (max !== null) gx = x.greater(max).where(0, gx);
    return [gx];
  },
});

export const elementwiseOps: readonly OpDef[] = [
  ...[add, sub, mul, div, pow, neg, relu, exp, log, sqrt, tanh, sigmoidOp, cast],
  ...[sin, cos, abs, erfOp, maximum, minimum, less, greater, equal, where, clamp],
];
