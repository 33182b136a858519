import {
  formatShape,
  hostArray,
  InferError,
  isFloat,
  normalizeAxis,
  numel,
  stridesOf,
  type Attrs,
  type DType,
  type Shape,
  type Value,
} from '../ir/index.js';
import { defineOp, type OpDef, type VjpArgs } from './op-def.js';
import { axisAttr, copyStrided } from './strided.js';
import { expectArity, expectSameDType, intArrayAttr } from './util.js';

/** `axes: null` means 0..starts.length-1, `steps: null` means all 1 (numpy `x[a:b:c]` per listed axis). */
export interface SliceAttrs extends Attrs {
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  readonly axes: readonly number[] | null;
  readonly steps: readonly number[] | null;
}

/** A slice resolved against a shape: per-axis start and step (every axis), and the result shape. */
interface SlicePlan {
  starts: number[];
  steps: number[];
  shape: number[];
}

function optionalIntArray(attrs: Attrs, key: string, fallback: number[]): number[] {
  return attrs[key] === undefined || attrs[key] === null ? fallback : intArrayAttr(attrs, key);
}

function sliceAxes(attrs: Attrs, count: number, rank: number): number[] {
  const raw = optionalIntArray(
    attrs,
    'axes',
    Array.from({ length: count }, (_, i) => i),
  );
  if (raw.length !== count) throw new InferError(`attribute 'axes' has ${raw.length} entries but 'starts' has ${count}`);
  const axes = raw.map((a) => {
    const n = normalizeAxis(a, rank);
    if (n === null) throw new InferError(`attribute 'axes': axis ${a} out of range for rank ${rank}`, 0);
    return n;
  });
  if (new Set(axes).size !== axes.length) throw new InferError(`attribute 'axes' has duplicates: ${formatShape(raw)}`, 0);
  return axes;
}

/** Numpy semantics for positive steps: negative bounds count from the end, then clamp to [0, dim]. */
export function planSlice(shape: Shape, attrs: Attrs): SlicePlan {
  const starts = intArrayAttr(attrs, 'starts');
  const ends = intArrayAttr(attrs, 'ends');
  if (ends.length !== starts.length) throw new InferError(`attribute 'ends' has ${ends.length} entries but 'starts' has ${starts.length}`);
  const axes = sliceAxes(attrs, starts.length, shape.length);
  const steps = optionalIntArray(
    attrs,
    'steps',
    starts.map(() => 1),
  );
  if (steps.length !== starts.length)
    throw new InferError(`attribute 'steps' has ${steps.length} entries but 'starts' has ${starts.length}`);
  const plan: SlicePlan = { starts: shape.map(() => 0), steps: shape.map(() => 1), shape: [...shape] };
  axes.forEach((axis, i) => {
    if (steps[i] <= 0)
      throw new InferError(`attribute 'steps' must be positive, got ${steps[i]} for axis ${axis} (zero/negative steps are unsupported)`);
    const dim = shape[axis];
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const start = clamp(starts[i]);
    plan.starts[axis] = start;
    plan.steps[axis] = steps[i];
    plan.shape[axis] = Math.max(0, Math.ceil((clamp(ends[i]) - start) / steps[i]));
  });
  return plan;
}

/** Length along `axis` of the input range a slice covers, from its first to its last element. */
const span = (plan: SlicePlan, axis: number): number => (plan.shape[axis] === 0 ? 0 : (plan.shape[axis] - 1) * plan.steps[axis] + 1);

/** Places g[i] at position i*step along `axis` with zeros between: length n becomes (n-1)*step+1. */
function interleaveZeros(g: Value, axis: number, step: number): Value {
  const n = g.shape[axis];
  const withSlot = [...g.shape.slice(0, axis + 1), 1, ...g.shape.slice(axis + 1)];
  const pads = new Array<number>(2 * withSlot.length).fill(0);
  pads[withSlot.length + axis + 1] = step - 1;
  const spreadShape = g.shape.map((d, i) => (i === axis ? d * step : d));
  return g
    .reshape(withSlot)
    .pad(pads)
    .reshape(spreadShape)
    .sliceAxis(axis, 0, (n - 1) * step + 1);
}

/** The cotangent goes back where the slice read from; zeros elsewhere (strided axes interleave zeros first). */
function sliceVjp({ inputs: [x], attrs, cotangents: [g] }: VjpArgs): (Value | null)[] {
  const plan = planSlice(x.shape, attrs);
  let spread = g!;
  plan.steps.forEach((step, axis) => {
    if (step > 1 && plan.shape[axis] > 1) spread = interleaveZeros(spread, axis, step);
  });
  const ends = x.shape.map((d, axis) => d - plan.starts[axis] - span(plan, axis));
  return [padOrSame(spread, [...plan.starts, ...ends])];
}

const padOrSame = (g: Value, pads: number[]): Value => (pads.every((p) => p === 0) ? g : g.pad(pads));

export const slice = defineOp<SliceAttrs>({
  name: 'slice',
  infer(inputs, attrs) {
    expectArity(inputs, 1);
    return [{ shape: planSlice(inputs[0].shape, attrs).shape, dtype: inputs[0].dtype }];
  },
  evaluate([x], attrs) {
    const plan = planSlice(x.shape, attrs);
    const strides = stridesOf(x.shape);
    const offset = plan.starts.reduce((o, s, a) => o + s * strides[a], 0);
    const out = new Float64Array(numel(plan.shape));
    copyStrided(
      plan.shape,
      x.data,
      offset,
      strides.map((s, a) => s * plan.steps[a]),
      out,
      0,
      stridesOf(plan.shape),
    );
    return [hostArray(plan.shape, x.dtype, out)];
  },
  vjp: sliceVjp,
  // Bounds are emitted already resolved (non-negative, clamped), so ONNX's own clamping rules never matter.
  lower: (ctx, node, attrs) => {
    const plan = planSlice(node.inputs[0].shape, attrs);
    const axes = sliceAxes(attrs, attrs.starts.length, node.inputs[0].rank);
    const int64 = (v: number[]): string => ctx.constant(hostArray([v.length], 'int64', v));
    const starts = axes.map((a) => plan.starts[a]);
    const ends = axes.map((a) => plan.starts[a] + span(plan, a));
    const steps = axes.map((a) => plan.steps[a]);
    ctx.emit('Slice', [ctx.inputs[0], int64(starts), int64(ends), int64(axes), int64(steps)], {}, { outputs: ctx.outputs });
  },
});

/** Constant padding; `pads` = [begin_0..begin_{r-1}, end_0..end_{r-1}] like ONNX Pad. */
export interface PadAttrs extends Attrs {
  readonly pads: readonly number[];
  readonly value: number;
}

function checkPad(shape: Shape, dtype: DType, attrs: Attrs): { pads: number[]; value: number; shape: number[] } {
  const pads = intArrayAttr(attrs, 'pads');
  const rank = shape.length;
  if (pads.length !== 2 * rank)
    throw new InferError(`attribute 'pads' needs ${2 * rank} entries (begins then ends) for rank ${rank}, got ${pads.length}`, 0);
  if (pads.some((p) => p < 0)) throw new InferError(`attribute 'pads' must be non-negative (use slice to crop), got ${formatShape(pads)}`);
  const value = attrs.value ?? 0;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new InferError(`attribute 'value' must be a finite number, got ${JSON.stringify(value)}`);
  if (!isFloat(dtype) && !Number.isInteger(value)) throw new InferError(`attribute 'value' ${value} is not representable as ${dtype}`, 0);
  if (dtype === 'bool' && value !== 0 && value !== 1) throw new InferError(`attribute 'value' must be 0 or 1 for bool, got ${value}`, 0);
  return { pads, value, shape: shape.map((d, i) => pads[i] + d + pads[rank + i]) };
}

export const pad = defineOp<PadAttrs>({
  name: 'pad',
  infer(inputs, attrs) {
    expectArity(inputs, 1);
    return [{ shape: checkPad(inputs[0].shape, inputs[0].dtype, attrs).shape, dtype: inputs[0].dtype }];
  },
  evaluate([x], attrs) {
    const { pads, value, shape } = checkPad(x.shape, x.dtype, attrs);
    const out = new Float64Array(numel(shape)).fill(value);
    const strides = stridesOf(shape);
    const offset = strides.reduce((o, s, a) => o + s * pads[a], 0);
    copyStrided(x.shape, x.data, 0, stridesOf(x.shape), out, offset, strides);
    return [hostArray(shape, x.dtype, out)];
  },
  vjp: ({ inputs: [x], attrs, cotangents: [g] }) => {
    const begins = attrs.pads.slice(0, x.rank);
    return [
      g!.slice(
        begins,
        begins.map((b, a) => b + x.shape[a]),
      ),
    ];
  },
  lower: (ctx, node, attrs) => {
    const x = node.inputs[0];
    const { pads, value } = checkPad(x.shape, x.dtype, attrs);
    const padsName = ctx.constant(hostArray([pads.length], 'int64', pads));
    ctx.emit(
      'Pad',
      [ctx.inputs[0], padsName, ctx.constant(hostArray([], x.dtype, [value]))],
      { mode: 'constant' },
      { outputs: ctx.outputs },
    );
  },
});

/** Numpy broadcast_to: `shape` may add leading axes; existing dims must match it or be 1. */
export interface ExpandAttrs extends Attrs {
  readonly shape: readonly number[];
}

function checkExpand(from: Shape, attrs: Attrs): number[] {
  const to = intArrayAttr(attrs, 'shape');
  const lead = to.length - from.length;
  const bad = to.some((d) => d < 0) || lead < 0 || from.some((d, i) => d !== 1 && d !== to[lead + i]);
  if (bad) throw new InferError(`cannot broadcast ${formatShape(from)} to attribute 'shape' ${formatShape(to)}`, 0);
  return to;
}

export const expand = defineOp<ExpandAttrs>({
  name: 'expand',
  infer(inputs, attrs) {
    expectArity(inputs, 1);
    return [{ shape: checkExpand(inputs[0].shape, attrs), dtype: inputs[0].dtype }];
  },
  evaluate([x], attrs) {
    const shape = checkExpand(x.shape, attrs);
    const lead = shape.length - x.shape.length;
    const inStrides = stridesOf(x.shape);
    // Stride 0 on new and size-1 axes re-reads the same element.
    const strides = shape.map((_, i) => (i < lead || x.shape[i - lead] === 1 ? 0 : inStrides[i - lead]));
    const out = new Float64Array(numel(shape));
    copyStrided(shape, x.data, 0, strides, out, 0, stridesOf(shape));
    return [hostArray(shape, x.dtype, out)];
  },
  // The broadcast-shaped cotangent is summed down to x's shape by the autodiff walker (sumToShape).
  vjp: ({ cotangents: [g] }) => [g],
  lower: (ctx, node) => {
    const shape = node.outputs[0].shape;
    ctx.emit('Expand', [ctx.inputs[0], ctx.constant(hostArray([shape.length], 'int64', shape))], {}, { outputs: ctx.outputs });
  },
});

export interface ConcatAttrs extends Attrs {
  readonly axis: number;
}

/** Output shape of concatenating `inputs` along the `axis` attribute; all other dims must agree. */
function concatShape(inputs: readonly { readonly shape: Shape }[], attrs: Attrs): { axis: number; shape: number[] } {
  if (inputs.length === 0) throw new InferError('expected at least 1 operand, got 0');
  const first = inputs[0].shape;
  if (first.length === 0) throw new InferError('cannot concatenate scalars (rank 0)', 0);
  const axis = axisAttr(attrs, 'axis', first.length);
  const shape = [...first];
  inputs.slice(1).forEach(({ shape: s }, j) => {
    const agrees = s.length === first.length && s.every((d, i) => i === axis || d === first[i]);
    if (!agrees)
      throw new InferError(`operand ${j + 1} ${formatShape(s)} does not match operand 0 ${formatShape(first)} outside axis ${axis}`, j + 1);
    shape[axis] += s[axis];
  });
  return { axis, shape };
}

export const concatOp = defineOp<ConcatAttrs>({
  name: 'concat',
  infer(inputs, attrs) {
    const { shape } = concatShape(inputs, attrs);
    return [{ shape, dtype: expectSameDType(inputs) }];
  },
  evaluate(inputs, attrs) {
    const { axis, shape } = concatShape(inputs, attrs);
    const out = new Float64Array(numel(shape));
    const strides = stridesOf(shape);
    let at = 0;
    for (const x of inputs) {
      copyStrided(x.shape, x.data, 0, stridesOf(x.shape), out, at * strides[axis], strides);
      at += x.shape[axis];
    }
    return [hostArray(shape, inputs[0].dtype, out)];
  },
  vjp: ({ inputs, attrs, cotangents: [g] }) => {
    const axis = normalizeAxis(attrs.axis, inputs[0].rank)!;
    return g!.split(
      inputs.map((x) => x.shape[axis]),
      axis,
    );
  },
  lower: (ctx, node, attrs) => {
    ctx.emit('Concat', ctx.inputs, { axis: normalizeAxis(attrs.axis, node.inputs[0].rank)! }, { outputs: ctx.outputs });
  },
});

/** Concatenates values along `axis` (negative counts from the end); n-ary, so a function, not a method. */
export function concat(values: readonly Value[], axis: number): Value {
  if (values.length === 0) throw new Error('concat: needs at least one value');
  return values[0].graph.apply('concat', values, { axis });
}

/** Splits along `axis` into pieces of the given `sizes` (which must sum to that dim); one output each. */
export interface SplitAttrs extends Attrs {
  readonly axis: number;
  readonly sizes: readonly number[];
}

function splitPlan(shape: Shape, attrs: Attrs): { axis: number; sizes: number[] } {
  if (shape.length === 0) throw new InferError('cannot split a scalar (rank 0)', 0);
  const axis = axisAttr(attrs, 'axis', shape.length);
  const sizes = intArrayAttr(attrs, 'sizes');
  const total = sizes.reduce((a, b) => a + b, 0);
  if (sizes.length === 0 || sizes.some((s) => s < 0) || total !== shape[axis]) {
    throw new InferError(
      `attribute 'sizes' ${formatShape(sizes)} must be non-negative and sum to dim ${axis} of ${formatShape(shape)} (${shape[axis]})`,
      0,
    );
  }
  return { axis, sizes };
}

/** Zeros of v's shape and dtype (a broadcast scalar, not a full-size constant). */
export function zerosLike(v: Value): Value {
  return v.graph.scalar(0, v.dtype).expand(v.shape);
}

export const split = defineOp<SplitAttrs>({
  name: 'split',
  infer(inputs, attrs) {
    expectArity(inputs, 1);
    const { axis, sizes } = splitPlan(inputs[0].shape, attrs);
    return sizes.map((n) => ({ shape: inputs[0].shape.map((d, i) => (i === axis ? n : d)), dtype: inputs[0].dtype }));
  },
  evaluate([x], attrs) {
    const { axis, sizes } = splitPlan(x.shape, attrs);
    const strides = stridesOf(x.shape);
    let at = 0;
    return sizes.map((n) => {
      const shape = x.shape.map((d, i) => (i === axis ? n : d));
      const out = new Float64Array(numel(shape));
      copyStrided(shape, x.data, at * strides[axis], strides, out, 0, stridesOf(shape));
      at += n;
      return hostArray(shape, x.dtype, out);
    });
  },
  // Unused pieces (null cotangents) contribute zeros of their shape.
  vjp: ({ outputs, attrs, cotangents }) => {
    const pieces = outputs.map((o, i) => cotangents[i] ?? zerosLike(o));
    return [concat(pieces, attrs.axis)];
  },
  lower: (ctx, node, attrs) => {
    const { axis, sizes } = splitPlan(node.inputs[0].shape, attrs);
    const sizesName = ctx.constant(hostArray([sizes.length], 'int64', sizes));
    ctx.emit('Split', [ctx.inputs[0], sizesName], { axis }, { outputs: ctx.outputs });
  },
});

export const layoutOps: readonly OpDef[] = [slice, pad, expand, concatOp, split];
