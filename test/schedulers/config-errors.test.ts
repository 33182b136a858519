// Bad configuration and bad calls fail early with a message naming the field or argument.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScheduler, schedulerNames, SchedulerConfigError } from '../../src/schedulers/index.js';

const rejects = (name: string, config: Record<string, unknown>, field: string) =>
  assert.throws(
    () => createScheduler(name, config),
    (e: Error) => e instanceof SchedulerConfigError && e.message.includes(`\`${field}\``),
    `${name} ${JSON.stringify(config)} should name ${field}`,
  );

test('every scheduler rejects bad shared fields by name', () => {
  for (const name of schedulerNames) {
    rejects(name, { beta_schedule: 'cosine' }, 'beta_schedule');
    rejects(name, { prediction_type: 'x0' }, 'prediction_type');
    rejects(name, { num_train_timesteps: 10.5 }, 'num_train_timesteps');
    rejects(name, { thresholding: 'yes' }, 'thresholding');
    rejects(name, { dynamic_thresholding_ratio: 0 }, 'dynamic_thresholding_ratio');
  }
});

test('scheduler-specific fields are validated', () => {
  rejects('ddim', { timestep_spacing: 'middle' }, 'timestep_spacing');
  rejects('ddim', { steps_offset: -1 }, 'steps_offset');
  rejects('lcm', { original_inference_steps: 2000 }, 'original_inference_steps');
  rejects('tcd', { original_inference_steps: 0 }, 'original_inference_steps');
  rejects('dpmsolver++', { solver_order: 3 }, 'solver_order');
  rejects('dpmsolver++', { algorithm_type: 'sde-dpmsolver++' }, 'algorithm_type');
  rejects('dpmsolver++', { use_karras_sigmas: true }, 'use_karras_sigmas');
  rejects('euler', { use_karras_sigmas: true }, 'use_karras_sigmas');
  rejects('tdd', { tdd_train_step: 0 }, 'tdd_train_step');
  rejects('tdd', { tdd_train_step: 2000 }, 'tdd_train_step');
  rejects('tdd', { t_l: -2 }, 't_l');
  rejects('tdd', { special_jump: true, tdd_train_step: 50 }, 'special_jump');
});

test('diffusers options we do not implement are rejected when switched on, accepted when off', () => {
  rejects('dpmsolver++', { use_lu_lambdas: true }, 'use_lu_lambdas');
  rejects('dpmsolver-singlestep', { use_exponential_sigmas: true }, 'use_exponential_sigmas');
  rejects('euler', { use_beta_sigmas: true }, 'use_beta_sigmas');
  rejects('euler', { timestep_type: 'continuous' }, 'timestep_type');
  rejects('tdd', { use_flow_sigmas: true }, 'use_flow_sigmas');
  rejects('dpmsolver++', { variance_type: 'learned_range' }, 'variance_type');
  const s = createScheduler('euler', { use_karras_sigmas: false, use_lu_lambdas: false, timestep_type: 'discrete', variance_type: null });
  assert.ok(s.ignoredKeys.includes('use_lu_lambdas'));
});

test('setTimesteps options a sampler does not implement are rejected, not ignored', () => {
  assert.throws(
    () => createScheduler('dpmsolver++').setTimesteps(3, { timesteps: [900, 500, 100] }),
    /option `timesteps` is not supported/,
  );
  assert.throws(() => createScheduler('ddim').setTimesteps(4, { strength: 0.5 }), /option `strength` is not supported/);
  assert.deepEqual([...createScheduler('lcm').setTimesteps(0, { timesteps: [999, 499] }).timesteps], [999, 499]);
  assert.deepEqual([...createScheduler('dmd').setTimesteps(0, { timesteps: [999, 499] }).timesteps], [999, 499]);
});

test('unknown keys are ignored and reported, as diffusers from_config does', () => {
  const s = createScheduler('ddim', { _class_name: 'PNDMScheduler', skip_prk_steps: true, beta_schedule: 'scaled_linear' });
  assert.deepEqual([...s.ignoredKeys].sort(), ['_class_name', 'skip_prk_steps']);
  assert.equal(s.config.beta_schedule, 'scaled_linear');
});

test('unknown scheduler names list the valid ones', () => {
  assert.throws(() => createScheduler('pndm'), /unknown scheduler "pndm".*ddim.*tdd/);
});

test('bad steps, eta, noise and timesteps are named', () => {
  const tdd = createScheduler('tdd');
  assert.throws(() => tdd.setTimesteps(0), /steps must be a positive integer/);
  assert.throws(() => tdd.setTimesteps(2.5), /steps must be a positive integer/);
  assert.throws(() => tdd.setTimesteps(251), /cannot exceed tdd_train_step/);
  assert.throws(() => createScheduler('ddim').setTimesteps(1001), /cannot exceed num_train_timesteps/);
  assert.throws(() => createScheduler('lcm').setTimesteps(51), /cannot exceed original_inference_steps/);
  assert.throws(() => createScheduler('lcm').setTimesteps(4, { strength: 0 }), /strength/);
  assert.throws(() => tdd.step(new Float32Array(4), 999, new Float32Array(4)), /call setTimesteps/);
  const plan = tdd.setTimesteps(4);
  const x = new Float32Array(16).fill(0.5);
  assert.throws(() => tdd.step(x, plan.timesteps[0], x, { eta: -0.1 }), /eta must be a finite number >= 0/);
  assert.throws(() => tdd.step(x, 123, x), /timestep 123 is not in the plan/);
  assert.throws(() => tdd.step(new Float32Array(8), 999, x), /modelOutput has 8 elements, sample has 16/);
  assert.throws(() => tdd.step(x, 999, x, { eta: 0.2 }), /step 0 is stochastic; pass options.noise or options.generator/);
  tdd.setTimesteps(4);
  assert.throws(() => tdd.step(x, 999, x, { eta: 0.2, noise: new Float32Array(3) }), /noise has 3 elements/);
  const tcd = createScheduler('tcd');
  assert.throws(() => tcd.step(x, 999, x), /call setTimesteps/);
});
