// The scheduler-level pieces of the TDD training script (../shared/golden/tdd_training.json):
// predicted origin, forward noising, teacher CFG in the LCM formulation, boundary scalings and the
// one-step DDIM/TDD moves. They must come out of the same shared math the samplers use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScheduler, predictionMath } from '../../src/schedulers/index.js';
import { combine } from '../../src/schedulers/tensor-math.js';
import { loadSharedJson, toFloat32Array } from '../helpers/shared.js';
import { assertAllClose } from '../helpers/assert-close.js';

const golden = loadSharedJson('golden', 'tdd_training.json');
const schedule = createScheduler('ddim', golden.noise_config).schedule;
const per = golden.tensor_shape.slice(1).reduce((a: number, b: number) => a * b, 1);
const tol = { atol: 1e-6, rtol: 1e-6 };
const { originalReadout, epsilonReadout, levelFromAlphaBar, renoiseCoefficients, boundaryScalings } = predictionMath;

/** Applies a per-batch-item linear map of (sample, model) over [B, ...] tensors. */
function perItem(
  timesteps: number[],
  f: (t: number) => { sample: number; model: number },
  sample: Float32Array,
  model: Float32Array,
): Float32Array {
  const out = new Float32Array(sample.length);
  timesteps.forEach((t, b) => {
    const r = f(t);
    const span = [b * per, (b + 1) * per] as const;
    out.set(combine([r.sample, sample.subarray(...span)], [r.model, model.subarray(...span)]), b * per);
  });
  return out;
}

test('α/σ schedules are sqrt(ᾱ) and sqrt(1−ᾱ)', () => {
  assertAllClose(schedule.alphasCumprod.map(Math.sqrt), golden.alpha_schedule, { rtol: 1e-7 }, 'alpha_schedule');
  assertAllClose(
    schedule.alphasCumprod.map((a) => Math.sqrt(1 - a)),
    golden.sigma_schedule,
    { rtol: 1e-7 },
    'sigma_schedule',
  );
});

test('predicted origin (epsilon and v-prediction)', () => {
  for (const p of golden.predicted_origin) {
    const x0 = perItem(
      p.timesteps,
      (t) => originalReadout(p.prediction_type, levelFromAlphaBar(schedule.alphaBar(t))),
      toFloat32Array(p.sample),
      toFloat32Array(p.model_output),
    );
    assertAllClose(x0, p.pred_x0, tol, `${p.prediction_type} pred_x0`);
  }
});

test('add_noise', () => {
  const a = golden.add_noise;
  const noisy = createScheduler('ddim', golden.noise_config).addNoise(
    toFloat32Array(a.original_samples),
    toFloat32Array(a.noise),
    a.timesteps,
  );
  assertAllClose(noisy, a.noisy, tol, 'noisy');
});

test('teacher CFG in the LCM formulation: pred = cond + w·(cond − uncond)', () => {
  for (const c of golden.cfg) {
    const sample = toFloat32Array(c.sample);
    const cond = toFloat32Array(c.cond_output);
    const uncond = toFloat32Array(c.uncond_output);
    const x0 = (model: Float32Array) =>
      perItem(c.timesteps, (t) => originalReadout('epsilon', levelFromAlphaBar(schedule.alphaBar(t))), sample, model);
    const condX0 = x0(cond);
    const uncondX0 = x0(uncond);
    assertAllClose(condX0, c.cond_pred_x0, tol, `w=${c.w} cond_pred_x0`);
    assertAllClose(combine([1 + c.w, condX0], [-c.w, uncondX0]), c.pred_x0, tol, `w=${c.w} pred_x0`);
    assertAllClose(combine([1 + c.w, cond], [-c.w, uncond]), c.pred_noise, tol, `w=${c.w} pred_noise`);
  }
});

test('boundary scalings c_skip / c_out (σ_data 0.5, timestep scaling 10)', () => {
  for (const s of golden.scalings_for_boundary_conditions) {
    const { cSkip, cOut } = boundaryScalings(s.timestep);
    assert.ok(Math.abs(cSkip - s.c_skip) <= 1e-7, `t=${s.timestep} c_skip ${cSkip} vs ${s.c_skip}`);
    assert.ok(Math.abs(cOut - s.c_out) <= 1e-7, `t=${s.timestep} c_out ${cOut} vs ${s.c_out}`);
  }
});

test('one-step DDIM and TDD moves are the shared noising x_s = sqrt(ᾱ_s)·x0 + sqrt(1−ᾱ_s)·ε', () => {
  for (const solver of golden.solvers) {
    const n = solver.config.ddim_timesteps;
    const { ddim_step: ddim, tdd_step: tdd } = solver;
    // The DDIM solver's previous grid point: ᾱ of ddim_timesteps_prev (ᾱ_0 at index 0), index clamped.
    const prevAlphaBar = (index: number) => solver.ddim_alpha_cumprods_prev[Math.min(index, n - 1)];
    const move = (alphaBar: (b: number) => number) =>
      perItem(
        [0, 1],
        (b) => {
          const c = renoiseCoefficients(1, alphaBar(b));
          return { sample: c.keep, model: c.noise };
        },
        toFloat32Array(ddim.pred_x0),
        toFloat32Array(ddim.pred_noise),
      );
    assertAllClose(
      move((b) => prevAlphaBar(ddim.timestep_index[b])),
      ddim.x_prev,
      { atol: 1e-6 },
      `N=${n} ddim_step`,
    );
    assertAllClose(
      move((b) => schedule.alphaBar(tdd.timestep_s[b])),
      tdd.x_prev_s,
      tol,
      `N=${n} tdd_step`,
    );
  }
});

test('ε readout inverts the x0 readout', () => {
  const level = levelFromAlphaBar(schedule.alphaBar(500));
  for (const type of ['epsilon', 'v_prediction', 'sample'] as const) {
    const x = toFloat32Array([0.3, -1.2, 2.5]);
    const m = toFloat32Array([0.7, 0.1, -0.4]);
    const o = originalReadout(type, level);
    const e = epsilonReadout(type, level);
    const x0 = combine([o.sample, x], [o.model, m]);
    const eps = combine([e.sample, x], [e.model, m]);
    assertAllClose(combine([level.alpha, x0], [level.sigmaT, eps]), x, { atol: 1e-5 }, `${type}: α·x0 + σ·ε = x`);
  }
});
