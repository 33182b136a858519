import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { createGraph } from '../../src/ops/index.js';
import type { HostTensor } from '../../src/runtime/tensors.js';
import { TrainStep } from '../../src/train/index.js';
import { assertAllClose } from '../helpers/assert-close.js';

interface TorchGolden {
  inputs: Record<'x' | 't' | 'W' | 'b' | 'V', number[]>;
  config: { lr: number; beta1: number; beta2: number; eps: number; weight_decay: number; warmup: number; max_grad_norm: number };
  steps: { loss: number; grad_norm: number; lr: number; W: number[]; b: number[]; V: number[] }[];
}
const golden = JSON.parse(readFileSync(new URL('../golden/adamw-torch.json', import.meta.url), 'utf8')) as TorchGolden;

const f32 = (dims: number[], data: ArrayLike<number>): HostTensor => ({ dtype: 'float32', dims, data: Float32Array.from(data) });

/** y = tanh(x·W + b)·V, loss = mean((y − t)²), batch of `n` rows (the model of scripts/golden/adamw_torch.py). */
function mlp(n: number) {
  const g = createGraph();
  const x = g.input('x', [n, 3]);
  const t = g.input('t', [n, 2]);
  const W = g.param('W', [3, 5]);
  const b = g.param('b', [5]);
  const V = g.param('V', [5, 2]);
  const err = x.matmul(W).add(b).tanh().matmul(V).sub(t);
  return { graph: g, loss: err.mul(err).mean(), trainable: [W, b, V] };
}
const initial = () => new Map(['W', 'b', 'V'].map((k) => [k, Float32Array.from(golden.inputs[k as 'W'])]));

describe('TrainStep', () => {
  test('matches torch.optim.AdamW + clip_grad_norm_ + LambdaLR warmup over 5 steps', async () => {
    const c = golden.config;
    await using step = await TrainStep.create({
      ...mlp(6),
      initial: initial(),
      optimizer: { lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weight_decay },
      lrSchedule: { name: 'constant_with_warmup', warmupSteps: c.warmup },
      maxGradNorm: c.max_grad_norm,
    });
    const batch = { x: f32([6, 3], golden.inputs.x), t: f32([6, 2], golden.inputs.t) };
    for (const [i, ref] of golden.steps.entries()) {
      const r = await step.run(batch);
      assert.ok(Math.abs(r.loss - ref.loss) <= 1e-6 + 1e-5 * ref.loss, `step ${i}: loss ${r.loss} vs torch ${ref.loss}`);
      assert.ok(Math.abs(r.gradNorm! - ref.grad_norm) <= 1e-5 * ref.grad_norm, `step ${i}: grad norm ${r.gradNorm} vs ${ref.grad_norm}`);
      assert.equal(Math.fround(r.lr), Math.fround(ref.lr), `step ${i}: lr`);
      // float32 on both sides; differences come from summation order in the gradient reductions.
      for (const k of ['W', 'b', 'V'] as const)
        assertAllClose(step.parameters().get(k)!, ref[k], { atol: 1e-6, rtol: 1e-5 }, `step ${i} ${k}`);
    }
    assert.equal(step.optimizerSteps, 5);
  });

  test('gradient accumulation over 2 micro-batches equals one step on the whole batch', async () => {
    const optimizer = { lr: 0.05, weightDecay: 0.1 };
    const x = golden.inputs.x;
    const t = golden.inputs.t;
    await using whole = await TrainStep.create({ ...mlp(6), initial: initial(), optimizer, maxGradNorm: 0.5 });
    await using micro = await TrainStep.create({ ...mlp(3), initial: initial(), optimizer, maxGradNorm: 0.5, gradAccumulationSteps: 2 });
    const halves = [0, 1].map((h) => ({ x: f32([3, 3], x.slice(9 * h, 9 * h + 9)), t: f32([3, 2], t.slice(6 * h, 6 * h + 6)) }));
    for (let s = 0; s < 3; s++) {
      const w = await whole.run({ x: f32([6, 3], x), t: f32([6, 2], t) });
      const first = await micro.run(halves[0]);
      assert.equal(first.applied, false);
      const second = await micro.run(halves[1]);
      assert.equal(second.applied, true);
      assert.ok(Math.abs(second.gradNorm! - w.gradNorm!) < 1e-6, `norm ${second.gradNorm} vs ${w.gradNorm}`);
      assert.ok(Math.abs((first.loss + second.loss) / 2 - w.loss) < 1e-6);
    }
    for (const k of ['W', 'b', 'V']) assertAllClose(micro.parameters().get(k)!, whole.parameters().get(k)!, { atol: 1e-6 }, k);
  });

  test('saveState / loadState resumes exactly', async () => {
    const options = {
      ...mlp(6),
      initial: initial(),
      optimizer: { lr: 0.02 },
      lrSchedule: { name: 'cosine' as const, warmupSteps: 1, totalSteps: 6 },
    };
    const batch = { x: f32([6, 3], golden.inputs.x), t: f32([6, 2], golden.inputs.t) };
    await using straight = await TrainStep.create(options);
    for (let s = 0; s < 4; s++) await straight.run(batch);

    await using first = await TrainStep.create({ ...options, ...mlp(6) });
    for (let s = 0; s < 2; s++) await first.run(batch);
    const saved = first.saveState();
    await first.run(batch); // diverge the live object; the saved copy must be unaffected
    await using resumed = await TrainStep.create({ ...options, ...mlp(6) });
    resumed.loadState(saved);
    for (let s = 0; s < 2; s++) await resumed.run(batch);
    assert.equal(resumed.optimizerSteps, 4);
    for (const k of ['W', 'b', 'V']) assert.deepEqual(resumed.parameters().get(k), straight.parameters().get(k), k);
  });

  test('bad options are named', async () => {
    await assert.rejects(
      TrainStep.create({ ...mlp(2), initial: new Map(), optimizer: { lr: 1 } }),
      /no initial value for trainable parameter "W"/,
    );
    await assert.rejects(
      TrainStep.create({ ...mlp(2), initial: initial(), optimizer: { lr: 1 }, gradAccumulationSteps: 0 }),
      /gradAccumulationSteps must be an integer >= 1/,
    );
    const m = mlp(2);
    await assert.rejects(
      TrainStep.create({ ...m, loss: m.loss.reshape([1]), initial: initial(), optimizer: { lr: 1 } }),
      /loss must be a scalar/,
    );
  });
});
