import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkLrSchedule, lrFactor } from '../../src/train/index.js';

describe('lr schedules (diffusers get_scheduler factors, 0-based step)', () => {
  test('constant ignores warmup', () => {
    assert.deepEqual(
      [0, 5, 1000].map((s) => lrFactor({ name: 'constant', warmupSteps: 10 }, s)),
      [1, 1, 1],
    );
  });

  test('constant_with_warmup: s / warmup, then 1 (the first update uses factor 0)', () => {
    const s = { name: 'constant_with_warmup' as const, warmupSteps: 4 };
    assert.deepEqual(
      [0, 1, 2, 3, 4, 100].map((t) => lrFactor(s, t)),
      [0, 0.25, 0.5, 0.75, 1, 1],
    );
  });

  test('linear: warmup then (total − s) / (total − warmup)', () => {
    const s = { name: 'linear' as const, warmupSteps: 2, totalSteps: 10 };
    // s=2 → 8/8, s=6 → 4/8, s=10 → 0, past the end clamps at 0
    assert.deepEqual(
      [0, 1, 2, 6, 10, 12].map((t) => lrFactor(s, t)),
      [0, 0.5, 1, 0.5, 0, 0],
    );
  });

  test('cosine: half cosine from 1 to 0 after warmup', () => {
    const s = { name: 'cosine' as const, warmupSteps: 2, totalSteps: 10 };
    // progress p = (s − 2)/8; factor = (1 + cos(π p))/2: p=0 → 1, p=0.5 → 0.5, p=1 → 0
    const got = [2, 6, 10, 4].map((t) => lrFactor(s, t));
    assert.ok(Math.abs(got[0] - 1) < 1e-15 && Math.abs(got[1] - 0.5) < 1e-15 && Math.abs(got[2]) < 1e-15);
    assert.ok(Math.abs(got[3] - (1 + Math.cos(Math.PI / 4)) / 2) < 1e-15);
  });

  test('invalid schedules are named', () => {
    assert.throws(() => checkLrSchedule({ name: 'cosine' }), /'cosine' needs totalSteps/);
    assert.throws(() => checkLrSchedule({ name: 'constant_with_warmup', warmupSteps: -1 }), /warmupSteps must be an integer >= 0/);
    assert.throws(() => checkLrSchedule({ name: 'step' as never }), /unknown lr schedule 'step'/);
  });
});
