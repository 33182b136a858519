/**
 * End-to-end check of the engine: a small conv + group-norm + attention network fitted to a fixed random
 * target with TrainStep. Wrong gradients anywhere on the path (conv, norm, SiLU, attention, matmul,
 * reshape/transpose, AdamW) stop the loss from falling by the required factor.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attention, conv2d, createGraph, groupNorm } from '../../src/ops/index.js';
import type { HostTensor } from '../../src/runtime/tensors.js';
import { TrainStep } from '../../src/train/index.js';
import { data } from '../helpers/ort-check.js';

const N = 4;
const C = 8;
const S = 8; // 8×8 = 64 tokens

function network() {
  const g = createGraph();
  const x = g.input('x', [N, 4, S, S]);
  const target = g.input('target', [N, 4, S, S]);
  const p = (name: string, shape: number[]) => g.param(name, shape);
  const convIn = p('conv_in.weight', [C, 4, 3, 3]);
  const convInBias = p('conv_in.bias', [C]);
  const normScale = p('norm.weight', [C]);
  const normBias = p('norm.bias', [C]);
  const [wq, wk, wv, wo] = ['to_q', 'to_k', 'to_v', 'to_out'].map((n) => p(`attn.${n}.weight`, [C, C]));
  const convOut = p('conv_out.weight', [4, C, 3, 3]);

  const h = conv2d(x, convIn, { bias: convInBias, padding: 1 });
  const tokens = groupNorm(h, normScale, normBias, { groups: 4 })
    .silu()
    .reshape([N, C, S * S])
    .transpose([0, 2, 1]);
  const attended = attention(tokens.matmul(wq), tokens.matmul(wk), tokens.matmul(wv), { heads: 2 }).matmul(wo);
  const back = attended.transpose([0, 2, 1]).reshape([N, C, S, S]).add(h);
  const err = conv2d(back, convOut, { padding: 1 }).sub(target);
  return { graph: g, loss: err.mul(err).mean(), trainable: g.params };
}

const host = (shape: number[], seed: number, scale = 1): HostTensor => ({
  dtype: 'float32',
  dims: shape,
  data: Float32Array.from(data(shape, 'float32', -scale, scale, seed).data),
});

describe('engine regression: training reduces the loss', () => {
  test('conv + group norm + SiLU + attention fits a fixed target (loss < 25% of initial in 80 AdamW steps)', async () => {
    const net = network();
    const initial = new Map(
      net.trainable.map((p, i) => {
        const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
        const t = p.name!.startsWith('norm.weight')
          ? new Float32Array(p.shape[0]).fill(1)
          : (host([...p.shape], 10 + i, 1 / Math.sqrt(fanIn)).data as Float32Array);
        return [p.name!, t];
      }),
    );
    await using step = await TrainStep.create({ ...net, initial, optimizer: { lr: 1e-2, weightDecay: 0 } });
    const batch = { x: host([N, 4, S, S], 1), target: host([N, 4, S, S], 2, 0.5) };
    const first = (await step.run(batch)).loss;
    let last = first;
    for (let i = 0; i < 79; i++) last = (await step.run(batch)).loss;
    console.log(`# regression: loss ${first.toFixed(4)} → ${last.toFixed(4)} (${((100 * last) / first).toFixed(1)}%)`);
    assert.ok(last < 0.25 * first, `loss ${first} → ${last}`);
  });
});
