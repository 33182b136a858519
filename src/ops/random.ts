/**
 * Random tensors. ONNX RandomNormal has no specified generator and ORT's cannot be reproduced here, so the
 * two sides agree only in distribution:
 * - the interpreter draws `torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale + mean`
 *   (bit-exact torch CPU stream, see src/util/torch-generator.ts), which makes reference runs deterministic;
 * - ORT seeds its kernel's engine with `seed` when the session is created and advances it on every run,
 *   so one session yields fresh noise per run while new sessions repeat the same sequence.
 * A seed is required: unseeded graphs could not be evaluated reproducibly.
 */
import {
  hostArray,
  InferError,
  isFloat,
  isValidShape,
  type Attrs,
  type DType,
  type Graph,
  type HostArray,
  type Shape,
  type Value,
} from '../ir/index.js';
import { TorchGenerator } from '../util/torch-generator.js';
import { defineOp, type LowerContext, type OpDef } from './op-def.js';
import { expectArity, expectFloat } from './util.js';

/** Seeds go into a float attribute in ONNX: keep them exact in float32. */
const MAX_SEED = 2 ** 24;

export interface RandomNormalOptions {
  readonly mean?: number;
  readonly scale?: number;
  readonly seed: number;
}

export interface RandomNormalAttrs extends Attrs {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly mean: number;
  readonly scale: number;
  readonly seed: number;
}

/** JSON, except that NaN and ±Infinity stay readable. */
const show = (v: unknown): string => (typeof v === 'number' ? String(v) : JSON.stringify(v));

function checkDistribution(attrs: Attrs): void {
  for (const key of ['mean', 'scale'] as const) {
    const v = attrs[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InferError(`attribute '${key}' must be a finite number, got ${show(v)}`);
  }
  const seed = attrs.seed;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new InferError(`attribute 'seed' must be an integer in [0, 2^24], got ${show(seed)}`);
  }
}

function sample(shape: Shape, dtype: DType, { mean, scale, seed }: Attrs): HostArray {
  const normals = new TorchGenerator(seed as number).randn(shape);
  return hostArray(
    shape,
    dtype,
    Float64Array.from(normals, (z) => z * (scale as number) + (mean as number)),
  );
}

/** Emits the ONNX op producing float32 normals, then casts for float16 (ORT CPU samples float/double only). */
function lowerRandom(ctx: LowerContext, opType: string, inputs: readonly string[], dtype: DType, attrs: Record<string, unknown>): void {
  // Explicit FLOAT attributes: the emitter would write integral numbers such as mean 0 as INT.
  const float = (key: string) => ({ kind: 'float', value: attrs[key] as number });
  const all = { ...attrs, dtype: ctx.dataType('float32'), mean: float('mean'), scale: float('scale'), seed: float('seed') };
  if (dtype === 'float32') {
    ctx.emit(opType, inputs, all, { outputs: ctx.outputs });
    return;
  }
  const [f32] = ctx.emit(opType, inputs, all);
  ctx.emit('Cast', [f32], { to: ctx.dataType(dtype) }, { outputs: ctx.outputs });
}

/** Normal samples of a static shape (no inputs). */
export const randomNormalOp = defineOp<RandomNormalAttrs>({
  name: 'random_normal',
  infer(inputs, attrs) {
    expectArity(inputs, 0);
    const shape = attrs.shape;
    if (!Array.isArray(shape) || !isValidShape(shape as number[])) {
      throw new InferError(`attribute 'shape' must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!isFloat(attrs.dtype)) throw new InferError(`attribute 'dtype' must be float32 or float16, got ${JSON.stringify(attrs.dtype)}`);
    checkDistribution(attrs);
    return [{ shape, dtype: attrs.dtype }];
  },
  evaluate: (_inputs, attrs) => [sample(attrs.shape, attrs.dtype, attrs)],
  // `kind` keeps an empty (scalar) shape INTS rather than an ambiguous empty list.
  lower: (ctx, _node, { shape, dtype, mean, scale, seed }) =>
    lowerRandom(ctx, 'RandomNormal', [], dtype, { shape: { kind: 'ints', value: [...shape] }, mean, scale, seed }),
  vjp: () => [],
});

export type RandomNormalLikeAttrs = Omit<RandomNormalAttrs, 'shape' | 'dtype'>;

/** Normal samples with the shape and dtype of x (whose values are ignored, so it gets no gradient). */
export const randomNormalLikeOp = defineOp<RandomNormalLikeAttrs>({
  name: 'random_normal_like',
  infer(inputs, attrs) {
    expectArity(inputs, 1);
    expectFloat(inputs[0], 0);
    checkDistribution(attrs);
    return [{ shape: inputs[0].shape, dtype: inputs[0].dtype }];
  },
  evaluate: ([x], attrs) => [sample(x.shape, x.dtype, attrs)],
  lower: (ctx, node, { mean, scale, seed }) =>
    lowerRandom(ctx, 'RandomNormalLike', ctx.inputs, node.inputs[0].dtype, { mean, scale, seed }),
  vjp: () => [null],
});

/** `graph` gains a random_normal node: N(mean, scale²) samples of `shape` (float32 unless `dtype` says otherwise). */
export function randomNormal(
  graph: Graph,
  shape: Shape,
  { mean = 0, scale = 1, seed }: RandomNormalOptions,
  dtype: DType = 'float32',
): Value {
  return graph.apply('random_normal', [], { shape: [...shape], dtype, mean, scale, seed });
}

/** N(mean, scale²) samples with the shape and dtype of `x`. */
export function randomNormalLike(x: Value, { mean = 0, scale = 1, seed }: RandomNormalOptions): Value {
  return x.graph.apply('random_normal_like', [x], { mean, scale, seed });
}

export const randomOps: readonly OpDef[] = [randomNormalOp, randomNormalLikeOp];
