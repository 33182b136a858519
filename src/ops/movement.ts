import { formatShape, hostArray, InferError, numel, stridesOf, type Attrs, type Shape } from '../ir/index.js';
import { defineOp, lowerTo, type OpDef } from './op-def.js';
import { indexingOps } from './indexing.js';
import { layoutOps } from './layout.js';
import { expectArity, intArrayAttr } from './util.js';

/** Target shape: non-negative dims plus at most one -1, inferred from the element count. */
export function resolveReshape(from: Shape, target: readonly number[]): number[] {
  const where = `reshape ${formatShape(from)} -> ${formatShape(target)}`;
  const holes = target.filter((d) => d === -1).length;
  if (holes > 1) throw new InferError(`${where}: at most one -1 allowed`, 0);
  if (target.some((d) => d < -1)) throw new InferError(`${where}: negative dimension`, 0);
  const n = numel(from);
  const known = target.reduce((p, d) => (d === -1 ? p : p * d), 1);
  if (holes === 1) {
    if (known === 0 || n % known !== 0) {
      throw new InferError(`${where}: ${n} elements not divisible by ${known}`, 0);
    }
    return target.map((d) => (d === -1 ? n / known : d));
  }
  if (known !== n) throw new InferError(`${where}: ${n} elements cannot become ${known}`, 0);
  return [...target];
}

export const reshape = defineOp<{ readonly shape: readonly number[] } & Attrs>({
  name: 'reshape',
  infer(inputs, attrs) {
    expectArity(inputs, 1);
    return [{ shape: resolveReshape(inputs[0].shape, intArrayAttr(attrs, 'shape')), dtype: inputs[0].dtype }];
  },
  evaluate([x], attrs) {
    return [hostArray(resolveReshape(x.shape, attrs.shape), x.dtype, x.data.slice())];
  },
  vjp: ({ inputs: [x], cotangents: [g] }) => [g!.reshape(x.shape)],
  // The resolved static shape with allowzero=1: a 0 is a literal empty dim (the IR meaning), never "copy".
  lower: (ctx, node) => {
    const shape = node.outputs[0].shape;
    const target = ctx.constant(hostArray([shape.length], 'int64', shape));
    ctx.emit('Reshape', [ctx.inputs[0], target], { allowzero: 1 }, { outputs: ctx.outputs });
  },
});

function checkPerm(perm: readonly number[], rank: number): void {
  const ok = perm.length === rank && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
  if (!ok) throw new InferError(`perm ${formatShape(perm)} is not a permutation of 0..${rank - 1}`, 0);
}

function inversePermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** out.shape[i] = x.shape[perm[i]] (numpy.transpose / ONNX Transpose). */
export const transpose = defineOp<{ readonly perm: readonly number[] } & Attrs>({
  name: 'transpose',
  infer(inputs, attrs) {
    expectArity(inputs, 1);
    const perm = intArrayAttr(attrs, 'perm');
    checkPerm(perm, inputs[0].shape.length);
    return [{ shape: perm.map((p) => inputs[0].shape[p]), dtype: inputs[0].dtype }];
  },
  evaluate([x], { perm }) {
    const shape = perm.map((p) => x.shape[p]);
    const inStrides = stridesOf(x.shape);
    const strides = perm.map((p) => inStrides[p]); // input stride of each output axis
    const out = new Float64Array(x.data.length);
    const idx = new Array<number>(shape.length).fill(0);
    let src = 0;
    for (let k = 0; k < out.length; k++) {
      out[k] = x.data[src];
      for (let ax = shape.length - 1; ax >= 0; ax--) {
        idx[ax]++;
        src += strides[ax];
        if (idx[ax] < shape[ax]) break;
        src -= strides[ax] * idx[ax];
        idx[ax] = 0;
      }
    }
    return [hostArray(shape, x.dtype, out)];
  },
  lower: lowerTo('Transpose', (_node, { perm }) => ({ perm })),
  vjp: ({ cotangents: [g], attrs: { perm } }) => [g!.transpose(inversePermutation(perm))],
});

export { concat, planSlice } from './layout.js';

/** The movement family: reshape/transpose here, slicing and joining in layout.ts, gather in indexing.ts. */
export const movementOps: readonly OpDef[] = [reshape, transpose, ...layoutOps, ...indexingOps];
