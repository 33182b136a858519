// Training phases: several optimizers over disjoint parameters in one graph and one session (a generator and
// its discriminator, say). Each phase must update exactly as it would alone, a phase that runs every n-th step
// must hold its parameters between updates and count its own Adam steps, and resuming must stay exact.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Graph, Value } from '../../src/ir/index.js';
import { createGraph } from '../../src/ops/index.js';
import type { HostTensor } from '../../src/runtime/tensors.js';
import { TrainStep, type TrainPhase } from '../../src/train/index.js';

const f32 = (dims: number[], data: ArrayLike<number>): HostTensor => ({ dtype: 'float32', dims, data: Float32Array.from(data) });
const values = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(1.3 * i + k) * 0.5);

/** A regression loss over W (phase "g") and a separate quadratic over P (phase "d"), either alone or both. */
function problem(g: Graph, parts: { g: boolean; d: boolean }) {
  const out: { g?: { loss: Value; trainable: Value[] }; d?: { loss: Value; trainable: Value[] } } = {};
  if (parts.g) {
    const x = g.input('x', [4, 3]);
    const W = g.param('W', [3, 2]);
    const err = x
      .matmul(W)
      .tanh()
      .sub(g.input('t', [4, 2]));
    out.g = { loss: err.mul(err).mean(), trainable: [W] };
  }
  if (parts.d) {
    const P = g.param('P', [5]);
    const diff = P.sub(g.input('target', [5]));
    out.d = { loss: diff.mul(diff).sum().add(P.abs().sum().mul(0.1)), trainable: [P] };
  }
  return out;
}

const batch = { x: f32([4, 3], values(12, 1)), t: f32([4, 2], values(8, 2)), target: f32([5], values(5, 3)) };
const feedsFor = (parts: { g: boolean; d: boolean }) =>
  Object.fromEntries(Object.entries(batch).filter(([k]) => (k === 'target' ? parts.d : parts.g)));
const phaseG = (p: { loss: Value; trainable: Value[] }, every?: number, at?: number): TrainPhase => ({
  name: 'g',
  every,
  at,
  ...p,
  initial: new Map([['W', values(6, 4)]]),
  optimizer: { lr: 0.05 },
  maxGradNorm: 1,
});
const phaseD = (p: { loss: Value; trainable: Value[] }, every?: number): TrainPhase => ({
  name: 'd',
  ...p,
  initial: new Map([['P', values(5, 5)]]),
  optimizer: { lr: 0.1, beta1: 0.5, weightDecay: 0 },
  lrSchedule: { name: 'constant_with_warmup', warmupSteps: 2 },
  every,
});

async function both(every?: number) {
  const g = createGraph();
  const p = problem(g, { g: true, d: true });
  return TrainStep.create({ graph: g, phases: [phaseG(p.g!), phaseD(p.d!, every)] });
}

async function alone(which: 'g' | 'd') {
  const g = createGraph();
  const p = problem(g, { g: which === 'g', d: which === 'd' });
  return TrainStep.create({ graph: g, phases: [which === 'g' ? phaseG(p.g!) : phaseD(p.d!)] });
}

describe('TrainStep phases', () => {
  test('two phases in one graph update exactly as each would alone; the second reports its loss in logs', async () => {
    await using joint = await both();
    await using g = await alone('g');
    await using d = await alone('d');
    for (let s = 0; s < 4; s++) {
      const r = await joint.run(batch);
      const rg = await g.run(feedsFor({ g: true, d: false }));
      const rd = await d.run(feedsFor({ g: false, d: true }));
      assert.equal(r.loss, rg.loss);
      assert.equal(r.gradNorm, rg.gradNorm);
      assert.equal(r.logs.loss_d, rd.loss);
    }
    assert.deepEqual(joint.parameters().get('W'), g.parameters().get('W'));
    assert.deepEqual(joint.parameters().get('P'), d.parameters().get('P'));
  });

  test('a phase run every 2nd step holds its parameters between updates and counts its own Adam steps', async () => {
    await using joint = await both(2);
    await using d = await alone('d');
    const snapshots: Float32Array[] = [];
    for (let s = 0; s < 4; s++) {
      await joint.run(batch);
      snapshots.push(joint.parameters().get('P')!.slice());
      if (s % 2 === 0) await d.run(feedsFor({ g: false, d: true }));
      assert.deepEqual(joint.parameters().get('P'), d.parameters().get('P'), `after optimizer step ${s + 1}`);
    }
    // Warm-up makes the first update's lr 0; the second (optimizer step 2) moves P, steps 1 and 3 hold it.
    assert.deepEqual(snapshots[1], snapshots[0]);
    assert.notDeepEqual(snapshots[2], snapshots[1]);
    assert.deepEqual(snapshots[3], snapshots[2]);
    assert.equal(TrainStep.phaseUpdates(joint.optimizerSteps, 2), 2);
  });

  test('two phases alternate (every 2, at 1 and at 0), as a generator and its discriminator do', async () => {
    const graph = createGraph();
    const p = problem(graph, { g: true, d: true });
    await using joint = await TrainStep.create({ graph, phases: [phaseG(p.g!, 2, 1), phaseD(p.d!, 2)] });
    await using g = await alone('g');
    await using d = await alone('d');
    for (let s = 0; s < 5; s++) {
      const r = await joint.run(batch);
      if (s % 2 === 1) await g.run(feedsFor({ g: true, d: false }));
      else await d.run(feedsFor({ g: false, d: true }));
      assert.equal(r.gradNorm === undefined, s % 2 === 0, `step ${s}: the generator's grad norm only when it updates`);
      assert.deepEqual(joint.parameters().get('W'), g.parameters().get('W'), `W after optimizer step ${s + 1}`);
      assert.deepEqual(joint.parameters().get('P'), d.parameters().get('P'), `P after optimizer step ${s + 1}`);
    }
    assert.deepEqual([TrainStep.phaseUpdates(5, 2, 1), TrainStep.phaseUpdates(5, 2, 0), TrainStep.phaseUpdates(0, 2, 1)], [2, 3, 0]);
  });

  test('saveState / loadState resumes both phases exactly, mid-schedule', async () => {
    await using straight = await both(3);
    for (let s = 0; s < 5; s++) await straight.run(batch);
    await using first = await both(3);
    for (let s = 0; s < 2; s++) await first.run(batch);
    const saved = first.saveState();
    await using resumed = await both(3);
    resumed.loadState(saved);
    for (let s = 0; s < 3; s++) await resumed.run(batch);
    for (const k of ['W', 'P']) assert.deepEqual(resumed.parameters().get(k), straight.parameters().get(k), k);
  });

  test('a parameter in two phases, two phases of one name, or a bad schedule are refused', async () => {
    const g = createGraph();
    const p = problem(g, { g: true, d: true });
    await assert.rejects(
      TrainStep.create({ graph: g, phases: [phaseG(p.g!), { ...phaseD(p.d!), trainable: [...p.d!.trainable, ...p.g!.trainable] }] }),
      /parameter "W" is trained by phases "g" and "d"/,
    );
    await assert.rejects(
      TrainStep.create({ graph: g, phases: [phaseG(p.g!), { ...phaseD(p.d!), name: 'g' }] }),
      /two training phases are named "g"/,
    );
    await assert.rejects(
      TrainStep.create({ graph: g, phases: [phaseG(p.g!), phaseD(p.d!, 0)] }),
      /phase "d": every must be an integer >= 1/,
    );
  });
});
