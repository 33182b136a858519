// diffusers' own full-loop scheduler checks (tests/schedulers/test_scheduler_*.py), run with our
// schedulers and asserting the sums/means diffusers publishes, with diffusers' tolerances.
//
// Each loop feeds diffusers' `dummy_sample_deter` through `dummy_model` (sample·t/(t+1)) for every
// plan timestep. Only LCM's multistep loop draws noise; it uses TorchGenerator(0), which reproduces
// `torch.manual_seed(0)` draw for draw.
//
// Not ported (with the reason):
// - test_scheduler_euler.py
//   · test_full_loop_device_karras_sigmas: use_karras_sigmas is rejected by our Euler.
//   · test_custom_timesteps, test_custom_sigmas: we have no custom timesteps/sigmas for Euler; they also
//     only compare two diffusers loops with each other (and need interpolation_type "log_linear").
// - test_scheduler_dpm_multi.py
//   · test_full_loop_with_karras_and_v_prediction: use_karras_sigmas is rejected.
//   · test_full_loop_with_lu_and_v_prediction: use_lu_lambdas is not implemented (note: createScheduler
//     currently ignores the key instead of rejecting it, so this loop would silently run without it).
//   · test_switch (second half): round-trips the config through DEIS/UniPC/singlestep, which we lack;
//     the first half (native config, 0.3301) is ported.
//   · test_custom_timesteps: custom timesteps are not supported for DPM-Solver; it also needs
//     algorithm_type "sde-dpmsolver++".
//   · test_solver_order_and_type: only asserts "no NaN"; ported below for the supported subset
//     (dpmsolver++, orders 1–2, midpoint/heun); "dpmsolver", "sde-dpmsolver(++)" and order 3 are rejected.
//   · test_fp16_support: we have no float16 samples.
// - test_scheduler_dpm_single.py
//   · test_full_loop_with_karras, test_full_loop_with_karras_and_v_prediction: use_karras_sigmas is rejected.
//   · test_switch (second half), test_custom_timesteps, test_fp16_support: as for multistep.
//   · test_solver_order_and_type: as for multistep (supported subset ported as a no-NaN check).
// - test_scheduler_ddim.py, test_scheduler_lcm.py, test_scheduler_tcd.py: every full-loop check is ported.
// - Flow-matching variants (use_flow_sigmas, flow_prediction) have no full-loop numbers; not implemented.
//
// Euler v_prediction ends near zero: diffusers' 0.0002 / 2.3e-6 is float32 cancellation residue; our
// float64 coefficients leave ~1e-10. Both are within diffusers' tolerance, which is what it asserts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScheduler, type SchedulerName, type StepOptions } from '../../src/schedulers/index.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';

const f32 = Math.fround;

// ---------------------------------------------------------------------------------------------
// diffusers' dummies (tests/schedulers/test_schedulers.py), as flat row-major float32 (B, C, H, W).

const BATCH = 4;
const CHANNELS = 3;
const HEIGHT = 8;
const WIDTH = 8;
const NUMEL = BATCH * CHANNELS * HEIGHT * WIDTH;

/**
 * torch.arange(numel) [optionally .flip(-1)] reshaped to (C, H, W, B), divided by numel (float32) and
 * permuted to (B, C, H, W): element [b, c, h, w] is source element ((c·H + h)·W + w)·B + b.
 */
function permutedRamp(flip: boolean): Float32Array {
  const out = new Float32Array(NUMEL);
  let flat = 0;
  for (let b = 0; b < BATCH; b++) {
    for (let c = 0; c < CHANNELS; c++) {
      for (let h = 0; h < HEIGHT; h++) {
        for (let w = 0; w < WIDTH; w++) {
          const source = ((c * HEIGHT + h) * WIDTH + w) * BATCH + b;
          const value = flip ? NUMEL - 1 - source : source;
          out[flat++] = f32(value / NUMEL);
        }
      }
    }
  }
  return out;
}

/** `dummy_sample_deter` */
const dummySampleDeter = (): Float32Array => permutedRamp(false);
/** `dummy_noise_deter` (the same ramp, flipped before the reshape) */
const dummyNoiseDeter = (): Float32Array => permutedRamp(true);

/** `dummy_model`: sample·t/(t + 1), with t cast to float32 and each torch op rounded to float32. */
function dummyModel(sample: Float32Array, timestep: number): Float32Array {
  const t = f32(timestep);
  const denominator = f32(t + 1);
  return sample.map((x) => f32(f32(x * t) / denominator));
}

// ---------------------------------------------------------------------------------------------
// The cases.

interface Case {
  /** diffusers test file and test name. */
  source: string;
  scheduler: SchedulerName;
  /** get_scheduler_config() of the test class, with the test's overrides. */
  config: Record<string, unknown>;
  steps: number;
  expectedSum?: number;
  expectedMean: number;
  /** Tolerance on the sum (diffusers: 1e-2, or 1e-3 in the LCM/TCD tests). */
  sumTol?: number;
  /** Tolerance on the mean (1e-3 in every ported test). */
  meanTol: number;
  /** Start the loop at this plan index (img2img-style `timesteps[k:]`). */
  startIndex?: number;
  /** Noise the start sample with `dummy_noise_deter` at the first looped timestep (scheduler.add_noise). */
  addNoise?: boolean;
  /** Seed of the torch generator passed to step(); only for loops that draw noise. */
  seed?: number;
  eta?: number;
}

const ddimConfig = { num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear', clip_sample: true };
const eulerConfig = { num_train_timesteps: 1100, beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' };
const consistencyConfig = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  prediction_type: 'epsilon',
};
const dpmCommon = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  solver_order: 2,
  prediction_type: 'epsilon',
  thresholding: false,
  sample_max_value: 1.0,
  algorithm_type: 'dpmsolver++',
  solver_type: 'midpoint',
  lambda_min_clipped: -Infinity,
  variance_type: null,
  final_sigmas_type: 'sigma_min',
};
const dpmMultiConfig = { ...dpmCommon, lower_order_final: false, euler_at_final: false };
const dpmSingleConfig = dpmCommon;

const cases: Case[] = [
  // test_scheduler_ddim.py: full_loop() = 10 steps, eta 0.
  {
    source: 'ddim test_full_loop_no_noise',
    scheduler: 'ddim',
    config: ddimConfig,
    steps: 10,
    expectedSum: 172.0067,
    expectedMean: 0.223967,
    sumTol: 1e-2,
    meanTol: 1e-3,
  },
  {
    source: 'ddim test_full_loop_with_v_prediction',
    scheduler: 'ddim',
    config: { ...ddimConfig, prediction_type: 'v_prediction' },
    steps: 10,
    expectedSum: 52.5302,
    expectedMean: 0.0684,
    sumTol: 1e-2,
    meanTol: 1e-3,
  },
  {
    source: 'ddim test_full_loop_with_set_alpha_to_one',
    scheduler: 'ddim',
    config: { ...ddimConfig, set_alpha_to_one: true, beta_start: 0.01 },
    steps: 10,
    expectedSum: 149.8295,
    expectedMean: 0.1951,
    sumTol: 1e-2,
    meanTol: 1e-3,
  },
  {
    source: 'ddim test_full_loop_with_no_set_alpha_to_one',
    scheduler: 'ddim',
    config: { ...ddimConfig, set_alpha_to_one: false, beta_start: 0.01 },
    steps: 10,
    expectedSum: 149.0784,
    expectedMean: 0.1941,
    sumTol: 1e-2,
    meanTol: 1e-3,
  },
  {
    source: 'ddim test_full_loop_with_noise',
    scheduler: 'ddim',
    config: ddimConfig,
    steps: 10,
    startIndex: 8,
    addNoise: true,
    expectedSum: 354.5418,
    expectedMean: 0.4616,
    sumTol: 1e-2,
    meanTol: 1e-3,
  },

  // test_scheduler_euler.py: full_loop() = 10 steps; the sample starts scaled by init_noise_sigma.
  {
    source: 'euler test_full_loop_no_noise',
    scheduler: 'euler',
    config: eulerConfig,
    steps: 10,
    expectedSum: 10.0807,
    expectedMean: 0.0131,
    sumTol: 1e-2,
    meanTol: 1e-3,
  },
  {
    source: 'euler test_full_loop_with_v_prediction',
    scheduler: 'euler',
    config: { ...eulerConfig, prediction_type: 'v_prediction' },
    steps: 10,
    expectedSum: 0.0002,
    expectedMean: 2.2676e-6,
    sumTol: 1e-2,
    meanTol: 1e-3,
  },
  {
    source: 'euler test_full_loop_device',
    scheduler: 'euler',
    config: eulerConfig,
    steps: 10,
    expectedSum: 10.0807,
    expectedMean: 0.0131,
    sumTol: 1e-2,
    meanTol: 1e-3,
  },
  {
    source: 'euler test_full_loop_with_noise',
    scheduler: 'euler',
    config: eulerConfig,
    steps: 10,
    startIndex: 8,
    addNoise: true,
    expectedSum: 57062.9297,
    expectedMean: 74.3007,
    sumTol: 1e-2,
    meanTol: 1e-3,
  },

  // test_scheduler_dpm_multi.py: full_loop() = 10 steps (the generator it passes is never drawn from).
  {
    source: 'dpm_multi test_full_loop_no_noise',
    scheduler: 'dpmsolver++',
    config: dpmMultiConfig,
    steps: 10,
    expectedMean: 0.3301,
    meanTol: 1e-3,
  },
  {
    source: 'dpm_multi test_switch (first loop, native config)',
    scheduler: 'dpmsolver++',
    config: dpmMultiConfig,
    steps: 10,
    expectedMean: 0.3301,
    meanTol: 1e-3,
  },
  {
    source: 'dpm_multi test_full_loop_with_v_prediction',
    scheduler: 'dpmsolver++',
    config: { ...dpmMultiConfig, prediction_type: 'v_prediction' },
    steps: 10,
    expectedMean: 0.2251,
    meanTol: 1e-3,
  },
  {
    source: 'dpm_multi test_full_loop_no_noise_thres',
    scheduler: 'dpmsolver++',
    config: { ...dpmMultiConfig, thresholding: true, dynamic_thresholding_ratio: 0.87, sample_max_value: 0.5 },
    steps: 10,
    expectedMean: 1.1364,
    meanTol: 1e-3,
  },
  {
    source: 'dpm_multi test_full_loop_with_noise',
    scheduler: 'dpmsolver++',
    config: dpmMultiConfig,
    steps: 10,
    startIndex: 5,
    addNoise: true,
    expectedSum: 318.4111,
    expectedMean: 0.4146,
    sumTol: 1e-2,
    meanTol: 1e-3,
  },

  // test_scheduler_dpm_single.py: full_loop() = 10 steps.
  {
    source: 'dpm_single test_full_loop_no_noise',
    scheduler: 'dpmsolver-singlestep',
    config: dpmSingleConfig,
    steps: 10,
    expectedMean: 0.2791,
    meanTol: 1e-3,
  },
  {
    source: 'dpm_single test_switch (first loop, native config)',
    scheduler: 'dpmsolver-singlestep',
    config: dpmSingleConfig,
    steps: 10,
    expectedMean: 0.2791,
    meanTol: 1e-3,
  },
  {
    source: 'dpm_single test_full_loop_with_v_prediction',
    scheduler: 'dpmsolver-singlestep',
    config: { ...dpmSingleConfig, prediction_type: 'v_prediction' },
    steps: 10,
    expectedMean: 0.1453,
    meanTol: 1e-3,
  },
  {
    source: 'dpm_single test_full_uneven_loop',
    scheduler: 'dpmsolver-singlestep',
    config: dpmSingleConfig,
    steps: 50,
    startIndex: 3,
    expectedMean: 0.2574,
    meanTol: 1e-3,
  },
  {
    source: 'dpm_single test_full_loop_with_noise',
    scheduler: 'dpmsolver-singlestep',
    config: dpmSingleConfig,
    steps: 10,
    startIndex: 5,
    addNoise: true,
    expectedSum: 269.2187,
    expectedMean: 0.3505,
    sumTol: 1e-2,
    meanTol: 1e-3,
  },

  // test_scheduler_lcm.py: full_loop(seed=0); only the multistep loop draws noise.
  {
    source: 'lcm test_full_loop_onestep',
    scheduler: 'lcm',
    config: consistencyConfig,
    steps: 1,
    seed: 0,
    expectedSum: 18.7097,
    expectedMean: 0.0244,
    sumTol: 1e-3,
    meanTol: 1e-3,
  },
  {
    source: 'lcm test_full_loop_multistep',
    scheduler: 'lcm',
    config: consistencyConfig,
    steps: 10,
    seed: 0,
    expectedSum: 197.7616,
    expectedMean: 0.2575,
    sumTol: 1e-3,
    meanTol: 1e-3,
  },

  // test_scheduler_tcd.py: full_loop(seed=0) with eta (γ) = 0, so no noise is drawn.
  {
    source: 'tcd test_full_loop_onestep_deter',
    scheduler: 'tcd',
    config: consistencyConfig,
    steps: 1,
    eta: 0,
    expectedSum: 29.8715,
    expectedMean: 0.0389,
    sumTol: 1e-3,
    meanTol: 1e-3,
  },
  {
    source: 'tcd test_full_loop_multistep_deter',
    scheduler: 'tcd',
    config: consistencyConfig,
    steps: 10,
    eta: 0,
    expectedSum: 181.204,
    expectedMean: 0.2359,
    sumTol: 1e-3,
    meanTol: 1e-3,
  },
];

// ---------------------------------------------------------------------------------------------
// The loop, as diffusers' full_loop() runs it.

function fullLoop(c: Pick<Case, 'scheduler' | 'config' | 'steps' | 'startIndex' | 'addNoise' | 'seed' | 'eta'>): Float32Array {
  const scheduler = createScheduler(c.scheduler, c.config);
  const plan = scheduler.setTimesteps(c.steps);
  const timesteps = plan.timesteps.slice(c.startIndex ?? 0);
  // Euler's tests start from dummy_sample_deter·init_noise_sigma; every other scheduler has σ_init = 1.
  let sample: Float32Array = dummySampleDeter().map((x) => x * plan.initNoiseSigma);
  if (c.addNoise) sample = scheduler.addNoise(sample, dummyNoiseDeter(), timesteps[0]);
  const options: StepOptions = { batchSize: BATCH };
  if (c.eta !== undefined) options.eta = c.eta;
  if (c.seed !== undefined) options.generator = new TorchGenerator(c.seed);
  for (const t of timesteps) {
    // diffusers' tests keep the scaled input as the sample they step from (identity except for Euler).
    sample = scheduler.scaleModelInput(sample, t);
    sample = scheduler.step(dummyModel(sample, t), t, sample, options).prevSample;
  }
  return sample;
}

function absSumMean(x: Float32Array): { sum: number; mean: number } {
  let sum = 0;
  for (const v of x) sum += Math.abs(v);
  return { sum, mean: sum / x.length };
}

// ---------------------------------------------------------------------------------------------

test("dummy_sample_deter / dummy_noise_deter follow diffusers' reshape-then-permute order", () => {
  const sample = dummySampleDeter();
  const noise = dummyNoiseDeter();
  assert.equal(sample.length, 768);
  // [0,0,0,0] = 0, [0,0,0,1] = 4/768 (w steps by B in the source), [1,0,0,0] = 1/768 (b steps by 1).
  assert.equal(sample[0], 0);
  assert.equal(sample[1], f32(4 / 768));
  assert.equal(sample[192], f32(1 / 768));
  assert.equal(sample[767], f32(767 / 768));
  assert.equal(noise[0], f32(767 / 768));
  assert.equal(noise[192], f32(766 / 768));
  sample.forEach((v, i) => assert.equal(noise[i], f32((767 - Math.round(v * 768)) / 768)));
});

for (const c of cases) {
  test(`diffusers ${c.source}`, (t) => {
    const { sum, mean } = absSumMean(fullLoop(c));
    t.diagnostic(`sum ${sum} (diffusers ${c.expectedSum ?? '—'}), mean ${mean} (diffusers ${c.expectedMean})`);
    if (c.expectedSum !== undefined) {
      assert.ok(Math.abs(sum - c.expectedSum) < c.sumTol!, `sum ${sum} vs diffusers ${c.expectedSum} (tol ${c.sumTol})`);
    }
    assert.ok(Math.abs(mean - c.expectedMean) < c.meanTol, `mean ${mean} vs diffusers ${c.expectedMean} (tol ${c.meanTol})`);
  });
}

// test_solver_order_and_type (both DPM classes): the loops must stay finite. Supported subset only.
for (const [scheduler, config] of [
  ['dpmsolver++', dpmMultiConfig],
  ['dpmsolver-singlestep', dpmSingleConfig],
] as const) {
  test(`diffusers ${scheduler} test_solver_order_and_type (dpmsolver++, orders 1–2): no NaN`, () => {
    for (const solver_type of ['midpoint', 'heun']) {
      for (const solver_order of [1, 2]) {
        for (const prediction_type of ['epsilon', 'sample']) {
          const out = fullLoop({ scheduler, config: { ...config, solver_type, solver_order, prediction_type }, steps: 10 });
          assert.ok(out.every(Number.isFinite), `${solver_type} order ${solver_order} ${prediction_type} produced non-finite values`);
        }
      }
    }
  });
}
