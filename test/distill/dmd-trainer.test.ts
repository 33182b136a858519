/**
 * DMD2 on the tiny SD fixture: the generator updates on every update-ratio-th step and the fake score on every step,
 * every loss term is logged, an interrupted run (stopped between two generator updates, inside a fake-score burst)
 * resumes exactly, and the LoRA it writes records its method. The 4-step generator trains at the steps its backward
 * simulation draws, with the live generator weights, and resumes exactly too.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { distill } from '../../src/distill/trainer.js';
import { SafetensorsFile } from '../../src/weights/safetensors.js';
import { sharedPath } from '../helpers/shared.js';
import { writeToyDataset } from './toy-dataset.js';

describe('tdd distill --method dmd2 on tiny-sd', () => {
  let root: string;
  let data: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'tdd-dmd2-'));
    data = join(root, 'data');
    await writeToyDataset(data);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('two time-scales, every term logged, exact resume inside a fake-score burst, a LoRA that says dmd2', async () => {
    const settings = {
      teacher: sharedPath('fixtures', 'tiny-sd'),
      data,
      batch: 2,
      rank: 4,
      lr: 1e-3,
      method: 'dmd2' as const,
      dmd: { updateRatio: 2 },
      steps: 4,
      checkpointEvery: 1,
      validationPrompts: [],
    };
    const full = await distill({ ...settings, out: join(root, 'full') });
    // The generator (the run's first phase, whose clipped gradient norm is logged) updates on steps 1 and 3.
    assert.deepEqual(
      full.log.map((e) => e.grad_norm !== undefined),
      [true, false, true, false],
    );
    for (const key of ['loss', 'dm', 'gan_generator', 'fake_denoising', 'gan_classifier', 'loss_fake_score'] as const)
      assert.ok(
        full.log.every((e) => Number.isFinite(e[key])),
        `${key}: ${full.log.map((e) => e[key]).join(', ')}`,
      );
    const controller = new AbortController();
    const out = join(root, 'interrupted');
    await distill({ ...settings, out }, { onStep: (e) => e.step === 2 && controller.abort() }, controller.signal);
    const resumed = await distill({ ...settings, out, resume: true });
    for (const key of ['loss', 'loss_fake_score', 'gan_classifier'] as const)
      assert.deepEqual(
        resumed.log.map((e) => e[key]),
        full.log.map((e) => e[key]),
        key,
      );
    const file = SafetensorsFile.open(full.lora!.kohya);
    try {
      assert.equal(file.metadata.tdd_method, 'dmd2');
    } finally {
      file.close();
    }
  });

  test('4 steps: backward simulation draws every step, resumes exactly after a generator update', async () => {
    const settings = {
      teacher: sharedPath('fixtures', 'tiny-sd'),
      data,
      batch: 2,
      rank: 4,
      lr: 1e-2,
      method: 'dmd2' as const,
      dmd: { updateRatio: 2, generatorSteps: 4 },
      steps: 6,
      checkpointEvery: 1,
      validationPrompts: [],
    };
    const full = await distill({ ...settings, out: join(root, 'full-4') });
    assert.equal(full.config.validationSteps.join(), '4');
    const trained = full.log.map((e) => e.generator_timestep);
    for (const t of trained) assert.ok([999, 749, 499, 249].includes(t!), `generator_timestep ${t}`);
    assert.ok(new Set(trained).size > 1, `steps trained: ${trained.join(', ')}`);
    // Interrupted after step 3 (a generator update): step 4 simulates with the updated weights, restored from the checkpoint.
    const controller = new AbortController();
    const out = join(root, 'interrupted-4');
    await distill({ ...settings, out }, { onStep: (e) => e.step === 3 && controller.abort() }, controller.signal);
    const resumed = await distill({ ...settings, out, resume: true });
    for (const key of ['loss', 'loss_fake_score', 'generator_timestep'] as const)
      assert.deepEqual(
        resumed.log.map((e) => e[key]),
        full.log.map((e) => e[key]),
        key,
      );
  });
});
