/**
 * Activation functions that are composites: each has a float64 reference kernel, a `decompose` into
 * primitive ops (what autodiff differentiates through, and what tests check the kernel against), and a
 * lowering to the form ORT CPU runs fastest.
 */
import { hostArray, InferError, type Attrs, type HostArray, type TensorType } from '../ir/index.js';
import { erf } from '../util/erf.js';
import { sigmoid } from './elementwise.js';
import { defineOp, type OpDef } from './op-def.js';
import { expectArity, expectFloat } from './util.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_TANH_CUBIC = 0.044715;
const QUICK_GELU_ALPHA = 1.702;

function inferFloatUnary(inputs: readonly TensorType[]): TensorType[] {
  expectArity(inputs, 1);
  expectFloat(inputs[0], 0);
  return [{ shape: inputs[0].shape, dtype: inputs[0].dtype }];
}

const mapArray = (x: HostArray, fn: (v: number) => number): HostArray => hostArray(x.shape, x.dtype, x.data.map(fn));

/** x·sigmoid(x) (a.k.a. swish). Lowered as Sigmoid+Mul, which ORT fuses (QuickGeluFusion, alpha 1). */
export const silu = defineOp({
  name: 'silu',
  infer: inferFloatUnary,
  evaluate: ([x]) => [mapArray(x, (v) => v * sigmoid(v))],
  decompose: ([x]) => [x.mul(x.sigmoid())],
  lower: (ctx) => {
    const [s] = ctx.emit('Sigmoid', [ctx.inputs[0]]);
    ctx.emit('Mul', [ctx.inputs[0], s], {}, { outputs: ctx.outputs });
  },
});

export type GeluApproximation = 'none' | 'tanh';

export interface GeluAttrs extends Attrs {
  readonly approximate: GeluApproximation;
}

function approximation(attrs: Attrs): GeluApproximation {
  const a = attrs.approximate ?? 'none';
  if (a !== 'none' && a !== 'tanh') throw new InferError(`attribute 'approximate' must be 'none' or 'tanh', got ${JSON.stringify(a)}`);
  return a;
}

const geluErf = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));
const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_CUBIC * x * x * x)));

/** torch.nn.functional.gelu: x·Φ(x) exactly, or 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) for 'tanh'. */
export const gelu = defineOp<GeluAttrs>({
  name: 'gelu',
  infer(inputs, attrs) {
    approximation(attrs);
    return inferFloatUnary(inputs);
  },
  evaluate: ([x], attrs) => [mapArray(x, approximation(attrs) === 'tanh' ? geluTanh : geluErf)],
  decompose: ([x], attrs) => {
    const inner =
      approximation(attrs) === 'tanh' ? x.mul(x).mul(x).mul(GELU_TANH_CUBIC).add(x).mul(SQRT_2_OVER_PI).tanh() : x.mul(Math.SQRT1_2).erf();
    return [x.mul(0.5).mul(inner.add(1))];
  },
  // com.microsoft Gelu / FastGelu are ORT's fused kernels for exactly these two formulas (opset 17 has no Gelu).
  lower: (ctx, _node, attrs) => {
    const op = approximation(attrs) === 'tanh' ? 'FastGelu' : 'Gelu';
    ctx.emit(op, ctx.inputs, {}, { outputs: ctx.outputs, domain: 'com.microsoft' });
  },
});

/** x·sigmoid(1.702x), the GELU approximation used by OpenAI CLIP. */
export const quickGelu = defineOp({
  name: 'quick_gelu',
  infer: inferFloatUnary,
  evaluate: ([x]) => [mapArray(x, (v) => v * sigmoid(QUICK_GELU_ALPHA * v))],
  decompose: ([x]) => [x.mul(x.mul(QUICK_GELU_ALPHA).sigmoid())],
  lower: (ctx) => {
    ctx.emit('QuickGelu', ctx.inputs, { alpha: QUICK_GELU_ALPHA }, { outputs: ctx.outputs, domain: 'com.microsoft' });
  },
});

export const activationOps: readonly OpDef[] = [silu, gelu, quickGelu];
