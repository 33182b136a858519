// Every loop of ../shared/golden/sampling_loops.json, run end to end with our schedulers and the
// README's fake model: model inputs, outputs and each step's sample are compared, then the loop is
// run again drawing noise from TorchGenerator(seed) instead of the recorded noise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScheduler, SchedulerConfigError, type StepOptions, type StepResult } from '../../src/schedulers/index.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';
import { loadSharedJson, toFloat32Array } from '../helpers/shared.js';
import { assertAllClose, type Tolerance } from '../helpers/assert-close.js';
import { goldenSchedulerNames } from './golden-names.js';

const golden = loadSharedJson('golden', 'sampling_loops.json');
const { a, b, t_div, i_mul } = golden.model;
/** Per-element tolerance for samples after each step (float32 reference vs float64 coefficients). */
const tol: Tolerance = { atol: 1e-5, rtol: 1e-5 };

function fakeModel(input: Float32Array, t: number): Float32Array {
  return input.map((x, i) => a * x + b * Math.cos(t / t_div + i_mul * i));
}

const extraOutputs: Record<string, keyof StepResult> = {
  pred_original_sample: 'predOriginal',
  denoised: 'denoised',
  pred_noised_sample: 'predNoisedSample',
};

for (const loop of golden.loops) {
  const name = goldenSchedulerNames[loop.scheduler];
  if (loop.reference_quirk) {
    test(`${loop.name}: configuration the reference mishandles is rejected`, () => {
      assert.throws(() => createScheduler(name, loop.config), SchedulerConfigError);
    });
    continue;
  }

  const run = (noiseFrom: 'recorded' | 'seed') => {
    const scheduler = createScheduler(name, loop.config);
    const plan = scheduler.setTimesteps(loop.num_inference_steps);
    assert.deepEqual([...plan.timesteps], loop.timesteps);
    const generator = loop.generator_seed === null ? undefined : new TorchGenerator(loop.generator_seed);
    let x = toFloat32Array(loop.initial_sample);
    for (const step of loop.steps) {
      const at = `${loop.name} step ${step.index} (t=${step.timestep})`;
      const input = scheduler.scaleModelInput(x, step.timestep);
      assertAllClose(input, toFloat32Array(step.model_input), tol, `${at} model_input`);
      const output = fakeModel(input, step.timestep);
      assertAllClose(output, toFloat32Array(step.model_output), tol, `${at} model_output`);
      const options: StepOptions = { ...loop.step_kwargs };
      if (noiseFrom === 'recorded' && step.noise.length > 0) options.noise = toFloat32Array(step.noise[0]);
      if (noiseFrom === 'seed') options.generator = generator;
      const result = scheduler.step(output, step.timestep, x, options);
      for (const [key, field] of Object.entries(extraOutputs)) {
        if (step[key]) assertAllClose(result[field] as Float32Array, toFloat32Array(step[key]), tol, `${at} ${key}`);
      }
      assertAllClose(result.prevSample, toFloat32Array(step.prev_sample), tol, `${at} prev_sample`);
      x = result.prevSample;
    }
    assertAllClose(x, toFloat32Array(loop.final_sample), tol, `${loop.name} final_sample`);
  };

  test(`${loop.name}: per-step samples with the recorded noise`, () => run('recorded'));
  if (loop.generator_seed !== null && loop.steps.some((s: any) => s.noise.length > 0)) {
    test(`${loop.name}: same samples with noise drawn from TorchGenerator(${loop.generator_seed})`, () => run('seed'));
  }
}
