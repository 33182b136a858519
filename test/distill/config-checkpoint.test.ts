// Settings validation (errors name the option) and checkpoint files (atomic folders, pruning, round trip).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hyperParameterMismatches, listCheckpoints, loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { resolveDistillConfig, trainingHyperParameters } from '../../src/distill/config.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';

const paths = { teacher: 'm', data: 'd', out: 'o' };

test('distill settings: reference defaults, and errors that name the option', () => {
  const c = resolveDistillConfig(paths);
  assert.equal(c.numDdimTimesteps, 250);
  assert.equal(c.proportionEmptyPrompts, 0.2);
  assert.equal(c.sRatio, 0.3);
  assert.deepEqual([c.kMin, c.kMax, c.rank, c.loss, c.huberC], [4, 8, 64, 'huber', 0.001]);
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ method: 'dmd' }, /--method: must be one of tdd, lcm/],
    [{ steps: 0 }, /--steps: must be an integer ≥ 1/],
    [{ kMin: 6, kMax: 4 }, /--k-max: must be an integer ≥ 6/],
    [{ sRatio: 1.5 }, /--s-ratio: must be in \[0, 1\]/],
    [{ proportionEmptyPrompts: -0.1 }, /--proportion-empty-prompts/],
    [{ wMin: 5, wMax: 2 }, /--w-min: need 0 ≤ w-min ≤ w-max/],
    [{ lr: 0 }, /--lr: must be > 0/],
    [{ batch: 2.5 }, /--batch: must be an integer/],
  ];
  for (const [input, message] of bad) assert.throws(() => resolveDistillConfig({ ...paths, ...input }), message, JSON.stringify(input));
  assert.ok(!('steps' in trainingHyperParameters(c)), 'more steps may be asked for on resume');
  assert.ok(
    !('runtime' in trainingHyperParameters(resolveDistillConfig({ ...paths, runtime: { device: 'cpu', threads: 1 } }))),
    'a run may resume on another device or thread count',
  );
  assert.deepEqual(
    hyperParameterMismatches(trainingHyperParameters(c), trainingHyperParameters(resolveDistillConfig({ ...paths, rank: 8 }))),
    ['rank: checkpoint 64, now 8'],
  );
});

test('checkpoints: complete folders only, newest kept, exact round trip', () => {
  const root = mkdtempSync(join(tmpdir(), 'tdd-ckpt-'));
  try {
    const rng = new TorchGenerator(3);
    rng.randn([10]);
    const make = (step: number) => ({
      train: {
        optimizerSteps: step,
        microSteps: step * 2,
        params: new Map([['lora.student.a.down', Float32Array.of(step, 2)]]),
        m: new Map([['lora.student.a.down', Float32Array.of(0.5, -1)]]),
        v: new Map([['lora.student.a.down', Float32Array.of(1e-8, 3)]]),
        acc: new Map(),
      },
      rng: rng.getState(),
      data: { epoch: 1, offset: step },
      hyperParameters: { lr: 1e-4 },
    });
    for (const step of [10, 20, 30]) saveCheckpoint(root, make(step), 2);
    mkdirSync(join(root, 'step-00000040.tmp')); // what a kill during a save leaves
    assert.deepEqual(
      listCheckpoints(root).map((c) => c.step),
      [20, 30],
    );
    const loaded = loadCheckpoint(listCheckpoints(root).at(-1)!.dir);
    assert.equal(loaded.train.microSteps, 60);
    assert.deepEqual([...loaded.train.params.get('lora.student.a.down')!], [30, 2]);
    assert.deepEqual([...loaded.train.v.get('lora.student.a.down')!], [Math.fround(1e-8), 3]);
    assert.deepEqual(loaded.data, { epoch: 1, offset: 30 });
    const restored = new TorchGenerator(0);
    restored.setState(loaded.rng);
    assert.deepEqual([...restored.rand([4])], [...rng.rand([4])]);
    saveCheckpoint(root, make(40), 2);
    assert.ok(!existsSync(join(root, 'step-00000040.tmp')));
    assert.deepEqual(
      listCheckpoints(root).map((c) => c.step),
      [30, 40],
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
