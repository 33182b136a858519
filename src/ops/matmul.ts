import { broadcastShapes, formatShape, hostArray, InferError, type Shape, type TensorType, type Value } from '../ir/index.js';
import { defineOp, lowerTo, type OpDef, type VjpArgs } from './op-def.js';
import { sumToShape } from './unbroadcast.js';
import { broadcastOffsets, expectArity, expectNumeric, expectSameDType } from './util.js';

interface MatmulPlan {
  batch: number[];
  m: number;
  k: number;
  n: number;
  aBatch: Shape;
  bBatch: Shape;
  outShape: number[];
}

/**
 * numpy.matmul shapes: a 1-D left operand is [1,k] and a 1-D right operand is [k,1] (the added dim is
 * dropped from the result); leading dims are batch dims and broadcast.
 */
function plan(a: Shape, b: Shape): MatmulPlan {
  if (a.length === 0 || b.length === 0) throw new InferError('operands must have rank >= 1', a.length === 0 ? 0 : 1);
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const [m, k] = a2.slice(-2);
  const [k2, n] = b2.slice(-2);
  if (k !== k2) {
    throw new InferError(`contraction dims differ: ${formatShape(a)} @ ${formatShape(b)} (${k} vs ${k2})`, 1);
  }
  const aBatch = a2.slice(0, -2);
  const bBatch = b2.slice(0, -2);
  const batch = broadcastShapes(aBatch, bBatch);
  if (!batch) {
    throw new InferError(`cannot broadcast batch dims ${formatShape(aBatch)} and ${formatShape(bBatch)}`);
  }
  const outShape = [...batch];
  if (a.length > 1) outShape.push(m);
  if (b.length > 1) outShape.push(n);
  return { batch, m, k, n, aBatch, bBatch, outShape };
}

export const matmul = defineOp({
  name: 'matmul',
  infer(inputs: readonly TensorType[]) {
    expectArity(inputs, 2);
    expectNumeric(inputs[0], 0);
    expectNumeric(inputs[1], 1);
    const dtype = expectSameDType(inputs);
    return [{ shape: plan(inputs[0].shape, inputs[1].shape).outShape, dtype }];
  },
  evaluate([a, b]) {
    const { batch, m, k, n, aBatch, bBatch, outShape } = plan(a.shape, b.shape);
    const ia = broadcastOffsets(aBatch, batch);
    const ib = broadcastOffsets(bBatch, batch);
    const out = new Float64Array(ia.length * m * n);
    for (let t = 0; t < ia.length; t++) {
      const ao = ia[t] * m * k;
      const bo = ib[t] * k * n;
      const oo = t * m * n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let p = 0; p < k; p++) acc += a.data[ao + i * k + p] * b.data[bo + p * n + j];
          out[oo + i * n + j] = acc;
        }
      }
    }
    return [hostArray(outShape, a.dtype, out)];
  },
  lower: lowerTo('MatMul'), // ONNX MatMul has numpy semantics, 1-D promotion and batch broadcast included
  vjp: matmulVjp,
});

const swapLast = (v: Value): Value => v.transpose(v.shape.map((_, i) => (i < v.rank - 2 ? i : 2 * v.rank - 3 - i)));

/**
 * With 1-D operands promoted to matrices: dA = G·Bᵀ, dB = Aᵀ·G, each summed over the batch dims its
 * operand was broadcast along, then reshaped back (which drops the promoted dims).
 */
function matmulVjp({ inputs: [a, b], cotangents: [g] }: VjpArgs): Value[] {
  const a2 = a.rank === 1 ? a.reshape([1, a.shape[0]]) : a;
  const b2 = b.rank === 1 ? b.reshape([b.shape[0], 1]) : b;
  const { batch, m, n } = plan(a.shape, b.shape);
  const g2 = g!.reshape([...batch, m, n]);
  const da = sumToShape(g2.matmul(swapLast(b2)), a2.shape).reshape(a.shape);
  const db = sumToShape(swapLast(a2).matmul(g2), b2.shape).reshape(b.shape);
  return [da, db];
}

export const matmulOps: readonly OpDef[] = [matmul];
