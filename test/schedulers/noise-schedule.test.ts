import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeNoiseSchedule } from '../../src/schedulers/noise-schedule.js';
import { resolveConfig, baseRules, baseDefaults, ddpmNoiseDefaults, SchedulerConfigError } from '../../src/schedulers/config.js';
import { loadSharedJson } from '../helpers/shared.js';
import { assertAllClose } from '../helpers/assert-close.js';

const golden = loadSharedJson('golden', 'noise_schedules.json');

for (const s of golden.schedules) {
  test(`noise schedule ${JSON.stringify(s.config)} is bit-exact to diffusers`, () => {
    const { config } = resolveConfig('test', baseRules, { ...ddpmNoiseDefaults, ...baseDefaults }, s.config);
    const schedule = makeNoiseSchedule(config);
    assertAllClose(schedule.betas, s.betas, { rtol: 0 }, 'betas');
    assertAllClose(schedule.alphasCumprod, s.alphas_cumprod, { rtol: 0 }, 'alphas_cumprod');
  });
}

test('zero-terminal-SNR rescaling keeps ᾱ_0 and drives ᾱ_T to 0', () => {
  const { config } = resolveConfig(
    'test',
    baseRules,
    { ...ddpmNoiseDefaults, ...baseDefaults },
    {
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      beta_end: 0.012,
      rescale_betas_zero_snr: true,
    },
  );
  const plain = makeNoiseSchedule({ ...config, rescale_betas_zero_snr: false });
  const rescaled = makeNoiseSchedule(config);
  assert.ok(Math.abs(rescaled.alphasCumprod[0] - plain.alphasCumprod[0]) < 1e-6);
  assert.ok(rescaled.alphasCumprod[999] < 1e-6);
});

test('bad noise config names the field', () => {
  const make = (input: Record<string, unknown>) =>
    makeNoiseSchedule(resolveConfig('ddim', baseRules, { ...ddpmNoiseDefaults, ...baseDefaults }, input).config, 'ddim');
  assert.throws(
    () => make({ beta_schedule: 'cosine' }),
    (e: Error) => e instanceof SchedulerConfigError && /beta_schedule/.test(e.message),
  );
  assert.throws(() => make({ num_train_timesteps: 0 }), /num_train_timesteps/);
  assert.throws(() => make({ beta_end: 'x' }), /beta_end/);
  assert.throws(() => make({ trained_betas: [0.1, 0.2] }), /trained_betas.*2 values/);
});
