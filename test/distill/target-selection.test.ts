// TDD's DDIM solver grid and target timestep selection against the reference training script
// (../shared/golden/tdd_training.json, section 5 of its README): exact integers throughout.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DdimSolver } from '../../src/distill/common/ddim-solver.js';
import { mergedTimesteps, offsetTarget, selectTargets, targetWindow } from '../../src/distill/common/target-selection.js';
import { createScheduler } from '../../src/schedulers/index.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';
import { loadSharedJson } from '../helpers/shared.js';
import { assertAllClose } from '../helpers/assert-close.js';

interface SolverGolden {
  config: { timesteps: number; ddim_timesteps: number; num_inference_steps_min: number; num_inference_steps_max: number };
  step_ratio: number;
  topk: number;
  ddim_timesteps: number[];
  ddim_timesteps_prev: number[];
  ddim_alpha_cumprods: number[];
  ddim_alpha_cumprods_prev: number[];
  merged_timesteps: number[];
  select_s: {
    index: number;
    start_timestep: number;
    timestep: number;
    upper_bound: number;
    lower_bound: number;
    candidates: number[];
    examples: { candidate_index: number; u: number; s_ratio: number; timestep_s: number }[];
  }[];
  select_s_seeded: { global_seed: number; s_ratio: number; timesteps: number[]; timesteps_s: number[] };
}

const golden = loadSharedJson<{ noise_config: Record<string, unknown>; solvers: SolverGolden[] }>('golden', 'tdd_training.json');
const schedule = createScheduler('ddim', golden.noise_config).schedule;

for (const g of golden.solvers) {
  const { ddim_timesteps: n, num_inference_steps_min: kMin, num_inference_steps_max: kMax } = g.config;
  describe(`DDIM solver with ${n} timesteps, K in [${kMin}, ${kMax}]`, () => {
    const solver = new DdimSolver(schedule, n);

    test('grid, predecessors and their ᾱ', () => {
      assert.equal(solver.stepRatio, g.step_ratio);
      assert.equal(solver.stepRatio, g.topk);
      assert.deepEqual([...solver.timesteps], g.ddim_timesteps);
      assert.deepEqual([...solver.timestepsPrev], g.ddim_timesteps_prev);
      assertAllClose(solver.alphaCumprods, g.ddim_alpha_cumprods, { rtol: 0, atol: 0 }, 'ddim_alpha_cumprods');
      assertAllClose(solver.alphaCumprodsPrev, g.ddim_alpha_cumprods_prev, { rtol: 0, atol: 0 }, 'ddim_alpha_cumprods_prev');
    });

    test('merged timesteps of every K-step schedule', () => {
      assert.deepEqual(mergedTimesteps(solver, kMin, kMax), g.merged_timesteps);
    });

    test('source timestep, window and candidates for every grid index', () => {
      const merged = mergedTimesteps(solver, kMin, kMax);
      assert.equal(g.select_s.length, n);
      for (const rec of g.select_s) {
        assert.equal(solver.timesteps[rec.index], rec.start_timestep);
        assert.equal(solver.sourceTimestep(rec.index), rec.timestep);
        const w = targetWindow(merged, rec.timestep);
        assert.deepEqual(
          [w.upperBound, w.lowerBound, w.candidates],
          [rec.upper_bound, rec.lower_bound, rec.candidates],
          `index ${rec.index}`,
        );
        for (const e of rec.examples)
          assert.equal(offsetTarget(rec.candidates[e.candidate_index], e.u, e.s_ratio), e.timestep_s, `index ${rec.index}, u ${e.u}`);
      }
    });

    test('seeded selection draws as the reference (torch global generator)', () => {
      const seeded = g.select_s_seeded;
      const targets = selectTargets(
        mergedTimesteps(solver, kMin, kMax),
        seeded.timesteps,
        seeded.s_ratio,
        new TorchGenerator(seeded.global_seed),
      );
      assert.deepEqual(targets, seeded.timesteps_s);
    });
  });
}

test('bad solver and K ranges are refused', () => {
  assert.throws(() => new DdimSolver(schedule, 0), /num_ddim_timesteps must be an integer in \[1, 1000\]/);
  assert.throws(() => mergedTimesteps(new DdimSolver(schedule, 50), 8, 4), /num_inference_steps_min ≤ num_inference_steps_max/);
});
