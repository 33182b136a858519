/**
 * Engine benchmark (1): a stack of 3×3 convolutions, forward and forward+backward, as emitted from our IR
 * (autodiff included) versus the same computation hand-written directly in ONNX (the ORT ceiling: no IR,
 * no extra nodes). Weights are initializers for the forward and inputs for forward+backward (as in training).
 */
import { vjp } from '../src/autodiff/index.js';
import type { Value } from '../src/ir/index.js';
import { emitModel } from '../src/onnx/emit.js';
import { encodeModel } from '../src/onnx/encode.js';
import { OnnxDataType, type OnnxModel, type OnnxNode, type OnnxTensor } from '../src/onnx/model.js';
import { conv2d, createGraph } from '../src/ops/index.js';
import { createSession, type Session } from '../src/runtime/session.js';
import type { HostTensor } from '../src/runtime/tensors.js';
import { formatMs, timeInterleaved, type Timing } from './timing.js';

const N = 8;
const C = 64;
const S = 32;
const LAYERS = 6;
const F = OnnxDataType.FLOAT;

const rand = (n: number, scale: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * scale);
const weights = Array.from({ length: LAYERS }, (_, i) => ({ w: rand(C * C * 9, 0.05, 2 * i + 1), b: rand(C, 0.1, 2 * i + 2) }));
const f32 = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });
const xFeed = f32([N, C, S, S], rand(N * C * S * S, 1, 99));
const dyFeed = f32([N, C, S, S], rand(N * C * S * S, 1, 98));

function ours(backward: boolean): Uint8Array {
  const g = createGraph();
  const x = g.input('x', [N, C, S, S]);
  const params = weights.map((_, i) => ({ w: g.param(`w${i}`, [C, C, 3, 3]), b: g.param(`b${i}`, [C]) }));
  let y: Value = x;
  for (const p of params) y = conv2d(y, p.w, { bias: p.b, padding: 1 });
  if (!backward) {
    const baked = new Map(
      weights.flatMap(
        (wt, i) =>
          [
            [`w${i}`, wt.w],
            [`b${i}`, wt.b],
          ] as [string, Float32Array][],
      ),
    );
    return encodeModel(emitModel(g, [y], { weights: baked }).model);
  }
  const dy = g.input('dy', [N, C, S, S]);
  const wrt = params.flatMap((p) => [p.w, p.b]);
  return encodeModel(emitModel(g, [y, ...vjp([y], [dy], wrt)]).model);
}

function handBuilt(backward: boolean): Uint8Array {
  const nodes: OnnxNode[] = [];
  const node = (opType: string, inputs: string[], outputs: string[], attributes: OnnxNode['attributes'] = {}) =>
    nodes.push({ opType, name: `n${nodes.length}`, inputs, outputs, attributes });
  const pads = { kind: 'ints' as const, value: [1, 1, 1, 1] };
  for (let i = 0; i < LAYERS; i++)
    node('Conv', [i === 0 ? 'x' : `h${i}`, `w${i}`, `b${i}`], [i === LAYERS - 1 ? 'y' : `h${i + 1}`], { pads });
  const outputs = [{ name: 'y', dataType: F, shape: [N, C, S, S] }];
  const initializers: OnnxTensor[] = [{ name: 'axes', dataType: OnnxDataType.INT64, dims: [3], data: BigInt64Array.from([0n, 2n, 3n]) }];
  if (backward) {
    // dX = ConvTranspose(dY, W); dW = Σₙ dYₙ · im2col(Xₙ)ᵀ with im2col from a one-hot 3×3 conv; db = ΣdY.
    const shape = (name: string, dims: number[]) =>
      initializers.push({ name, dataType: OnnxDataType.INT64, dims: [dims.length], data: BigInt64Array.from(dims, BigInt) });
    shape('s_x1', [N * C, 1, S, S]);
    shape('s_cols', [N, C * 9, S * S]);
    shape('s_dy', [N, C, S * S]);
    shape('s_w', [C, C, 3, 3]);
    initializers.push({ name: 'n_axis', dataType: OnnxDataType.INT64, dims: [1], data: BigInt64Array.of(0n) });
    initializers.push({
      name: 'eye',
      dataType: F,
      dims: [9, 1, 3, 3],
      data: Float32Array.from({ length: 81 }, (_, i) => (i % 10 === 0 ? 1 : 0)),
    });
    for (let i = LAYERS - 1; i >= 0; i--) {
      const dy = i === LAYERS - 1 ? 'dy' : `dh${i + 1}`;
      const xin = i === 0 ? 'x' : `h${i}`;
      node('Reshape', [xin, 's_x1'], [`x1_${i}`]);
      node('Conv', [`x1_${i}`, 'eye'], [`cols4_${i}`], { pads });
      node('Reshape', [`cols4_${i}`, 's_cols'], [`cols_${i}`]);
      node('Transpose', [`cols_${i}`], [`colsT_${i}`], { perm: { kind: 'ints', value: [0, 2, 1] } });
      node('Reshape', [dy, 's_dy'], [`dyr_${i}`]);
      node('MatMul', [`dyr_${i}`, `colsT_${i}`], [`dwn_${i}`]);
      node('ReduceSum', [`dwn_${i}`, 'n_axis'], [`dwf_${i}`], { keepdims: { kind: 'int', value: 0 } });
      node('Reshape', [`dwf_${i}`, 's_w'], [`dw${i}`]);
      node('ReduceSum', [dy, 'axes'], [`db${i}`], { keepdims: { kind: 'int', value: 0 } });
      if (i > 0) node('ConvTranspose', [dy, `w${i}`], [`dh${i}`], { pads });
      outputs.push({ name: `dw${i}`, dataType: F, shape: [C, C, 3, 3] }, { name: `db${i}`, dataType: F, shape: [C] });
    }
  } else {
    weights.forEach((wt, i) =>
      initializers.push(
        { name: `w${i}`, dataType: F, dims: [C, C, 3, 3], data: wt.w },
        { name: `b${i}`, dataType: F, dims: [C], data: wt.b },
      ),
    );
  }
  const inputs = [{ name: 'x', dataType: F, shape: [N, C, S, S] }];
  if (backward) {
    inputs.push({ name: 'dy', dataType: F, shape: [N, C, S, S] });
    weights.forEach((_, i) => inputs.push({ name: `w${i}`, dataType: F, shape: [C, C, 3, 3] }, { name: `b${i}`, dataType: F, shape: [C] }));
  }
  const model: OnnxModel = { producerName: 'bench', graph: { name: 'hand', nodes, inputs, outputs, initializers } };
  return encodeModel(model);
}

function feedsFor(session: Session): Record<string, HostTensor> {
  const all: Record<string, HostTensor> = { x: xFeed, dy: dyFeed };
  weights.forEach((wt, i) => {
    all[`w${i}`] = f32([C, C, 3, 3], wt.w);
    all[`b${i}`] = f32([C], wt.b);
  });
  return Object.fromEntries(session.inputNames.map((n) => [n, all[n]]));
}

export interface ConvBenchResult {
  pass: 'forward' | 'forward+backward';
  ours: Timing;
  hand: Timing;
  ratio: number;
  maxAbsDiff: number;
}

export async function benchConvStack(rounds: number): Promise<ConvBenchResult[]> {
  const results: ConvBenchResult[] = [];
  for (const backward of [false, true]) {
    const a = await createSession(ours(backward), { intraOpThreads: 2 });
    const b = await createSession(handBuilt(backward), { intraOpThreads: 2 });
    try {
      const fa = feedsFor(a);
      const fb = feedsFor(b);
      // Same numbers from both graphs (outputs in the same order: y, then dw/db per layer from the last).
      const [ra, rb] = [await a.run(fa), await b.run(fb)];
      let maxAbsDiff = 0;
      const order = (s: Session) => (backward ? s.outputNames : [s.outputNames[0]]);
      const oa = order(a).map((n) => ra[n].data as Float32Array);
      // Hand-built outputs are y, then (dw, db) from the last layer down; ours follow wrt order w0, b0, w1, ...
      const handName = (i: number) => (i === 0 ? 'y' : `${i % 2 === 1 ? 'dw' : 'db'}${Math.floor((i - 1) / 2)}`);
      const ob = oa.map((_, i) => rb[handName(i)].data as Float32Array);
      oa.forEach((arr, i) => arr.forEach((v, k) => (maxAbsDiff = Math.max(maxAbsDiff, Math.abs(v - ob[i][k])))));
      const [ours_, hand] = await timeInterleaved(
        [
          { name: 'ours', run: () => a.run(fa) },
          { name: 'hand-built', run: () => b.run(fb) },
        ],
        { rounds },
      );
      results.push({
        pass: backward ? 'forward+backward' : 'forward',
        ours: ours_,
        hand,
        ratio: ours_.medianMs / hand.medianMs,
        maxAbsDiff,
      });
    } finally {
      await a.release();
      await b.release();
    }
  }
  return results;
}

export function printConvStack(results: ConvBenchResult[]): void {
  console.log(`\n3×3 conv stack: ${LAYERS} layers, x [${N},${C},${S},${S}], ORT CPU, 2 threads`);
  for (const r of results) {
    console.log(
      `  ${r.pass.padEnd(17)} ours ${formatMs(r.ours.medianMs).padStart(9)}  hand-built ${formatMs(r.hand.medianMs).padStart(9)}  ratio ${r.ratio.toFixed(3)}×  (max |diff| ${r.maxAbsDiff.toExponential(1)})`,
    );
  }
}
