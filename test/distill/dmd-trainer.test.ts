/**
 * DMD2 on the tiny SD fixture: the generator updates on every update-ratio-th step and the fake score on every step,
 * every loss term is logged, an interrupted run (stopped between two generator updates, inside a fake-score burst)
 * resumes exactly, and the LoRA it writes records its method.
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
});
