import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DdimSolver } from '../../src/distill/common/ddim-solver.js';
import { distillDefaults } from '../../src/distill/config.js';
import {
  DEFAULT_PRESET,
  PCM_SAMPLING_GRID,
  PresetError,
  presetFor,
  presets,
  resolveSampling,
  UNDISTILLED_DEFAULTS,
} from '../../src/pipelines/presets.js';
import { phaseStarts } from '../../src/schedulers/phase-grid.js';
import { createScheduler } from '../../src/schedulers/index.js';
import { parsePythonJson } from '../../src/util/python-json.js';
import { sharedPath } from '../helpers/shared.js';

const tinySdSchedulerConfig = parsePythonJson(
  readFileSync(sharedPath('fixtures', 'tiny-sd', 'scheduler', 'scheduler_config.json'), 'utf8'),
) as Record<string, unknown>;

describe('presets', () => {
  test('each family preset carries its published settings', () => {
    assert.deepEqual(resolveSampling({ preset: 'tdd' }), {
      preset: 'tdd',
      scheduler: 'tdd',
      steps: 4,
      guidanceScale: 1.7,
      eta: 0.2,
      warnings: [],
    });
    assert.deepEqual(resolveSampling({ preset: 'tcd' }), {
      preset: 'tcd',
      scheduler: 'tcd',
      steps: 4,
      guidanceScale: 0,
      eta: 0.3,
      warnings: [],
    });
    assert.deepEqual(resolveSampling({ preset: 'lcm' }), {
      preset: 'lcm',
      scheduler: 'lcm',
      steps: 4,
      guidanceScale: 1,
      eta: undefined,
      warnings: [],
    });
    assert.deepEqual(resolveSampling({ preset: 'dmd2' }), {
      preset: 'dmd2',
      scheduler: 'dmd',
      steps: 4,
      guidanceScale: 0,
      eta: undefined,
      warnings: [],
    });
    // PCM's own demo samples its LoRAs with TCD, deterministically (diffusers' pipelines pass eta 0), here at the
    // phase ends of the distillation grid.
    assert.deepEqual(resolveSampling({ preset: 'pcm' }), {
      preset: 'pcm',
      scheduler: 'tcd',
      steps: 4,
      timesteps: [999, 747, 499, 247],
      guidanceScale: 1,
      eta: 0,
      warnings: [],
    });
    for (const steps of [1, 2, 8, 16]) assert.deepEqual(resolveSampling({ preset: 'pcm', steps }).warnings, []);
    assert.equal(resolveSampling({ preset: 'pcm', steps: 3 }).warnings.length, 1);
  });

  test('pcm samples at the phase ends of the grid tdd distill trains on, for any phase count; explicit timesteps win', () => {
    assert.equal(PCM_SAMPLING_GRID.count, distillDefaults.numDdimTimesteps);
    const grid = new DdimSolver(createScheduler('tcd', tinySdSchedulerConfig).schedule, PCM_SAMPLING_GRID.count).timesteps;
    for (const steps of [1, 2, 4, 8, 16]) {
      const { timesteps } = resolveSampling({ preset: 'pcm', steps });
      const starts = phaseStarts(grid.length, steps);
      // the first step starts at the top of the grid; every later one at the end of the phase above it
      assert.deepEqual(timesteps, [
        grid[grid.length - 1],
        ...starts
          .slice(1)
          .map((s) => grid[s - 1])
          .reverse(),
      ]);
      assert.deepEqual(
        [...createScheduler('tcd', tinySdSchedulerConfig).setTimesteps(steps, { timesteps: [...timesteps!] }).timesteps],
        timesteps,
      );
    }
    assert.deepEqual(resolveSampling({ preset: 'pcm', steps: 1 }).timesteps, [999]);
    assert.deepEqual(resolveSampling({ preset: 'pcm', steps: 2 }).timesteps, [999, 499]);
    assert.deepEqual(resolveSampling({ preset: 'pcm', timesteps: [999, 500] }).timesteps, [999, 500]);
    assert.equal(resolveSampling({ preset: 'pcm', timesteps: [999, 500] }).steps, 2);
    assert.throws(
      () => resolveSampling({ preset: 'pcm', steps: 3, timesteps: [999, 500] }),
      /steps \(3\) and timesteps \(2 of them\) disagree/,
    );
    // another sampler than the preset's plans its own steps; so do presets without timesteps
    assert.equal(resolveSampling({ preset: 'pcm', scheduler: 'lcm' }).timesteps, undefined);
    assert.equal('timesteps' in resolveSampling({ preset: 'tcd' }), false);
  });

  test("dmd2 runs at 999/749/499/249 for 4 steps and 399 for 1 step (the model's own scheduler config)", () => {
    const plan = (steps: number) => [...createScheduler(presets.dmd2.scheduler, tinySdSchedulerConfig).setTimesteps(steps).timesteps];
    assert.deepEqual(plan(4), [999, 749, 499, 249]);
    assert.deepEqual(plan(1), [399]);
    assert.deepEqual(resolveSampling({ preset: 'dmd2', steps: 1 }).warnings, []);
  });

  test('without a preset or scheduler the default is TDD; a distilled scheduler implies its family', () => {
    assert.equal(DEFAULT_PRESET, 'tdd');
    assert.deepEqual(resolveSampling({}), resolveSampling({ preset: 'tdd' }));
    assert.deepEqual(resolveSampling({ scheduler: 'tcd' }), resolveSampling({ preset: 'tcd' })); // not pcm, which also samples with TCD
    assert.equal(resolveSampling({ scheduler: 'dmd' }).preset, 'dmd2');
    assert.equal(presetFor({ scheduler: 'lcm' })?.name, 'lcm');
  });

  test("an undistilled scheduler without a preset gets diffusers' SD defaults", () => {
    const r = resolveSampling({ scheduler: 'ddim' });
    assert.deepEqual(r, {
      preset: undefined,
      scheduler: 'ddim',
      steps: UNDISTILLED_DEFAULTS.steps,
      guidanceScale: UNDISTILLED_DEFAULTS.guidanceScale,
      eta: undefined,
      warnings: [],
    });
    assert.equal(r.steps, 50);
    assert.equal(resolveSampling({ scheduler: 'ddim', eta: 0.5 }).eta, 0.5);
  });

  test('explicit values override the preset, zero included', () => {
    const r = resolveSampling({ preset: 'tdd', steps: 6, guidanceScale: 0, eta: 0 });
    assert.deepEqual(r, { preset: 'tdd', scheduler: 'tdd', steps: 6, guidanceScale: 0, eta: 0, warnings: [] });
    const tcd = resolveSampling({ preset: 'tcd', guidanceScale: 2.5, eta: 0.1 });
    assert.deepEqual([tcd.guidanceScale, tcd.eta, tcd.steps], [2.5, 0.1, 4]);
  });

  test("a preset with another scheduler keeps the preset's other values; η only where the sampler takes it", () => {
    const ddim = resolveSampling({ preset: 'tdd', scheduler: 'ddim' });
    assert.deepEqual([ddim.scheduler, ddim.steps, ddim.guidanceScale, ddim.eta, ddim.preset], ['ddim', 4, 1.7, 0.2, 'tdd']);
    const euler = resolveSampling({ preset: 'tcd', scheduler: 'euler', steps: 2 });
    assert.deepEqual([euler.scheduler, euler.guidanceScale, euler.eta], ['euler', 0, undefined]);
    assert.deepEqual(euler.warnings, [], "no step warning once the family's scheduler is replaced; the preset η is dropped silently");
  });

  test('warnings: steps off the distilled range, and an explicit η the sampler ignores', () => {
    assert.deepEqual(resolveSampling({ preset: 'tdd', steps: 2 }).warnings, [
      '2 steps is outside what tdd was distilled for (4–8 steps); expect lower quality',
    ]);
    assert.deepEqual(resolveSampling({ preset: 'tdd', steps: 8 }).warnings, []);
    assert.deepEqual(resolveSampling({ preset: 'dmd2', steps: 2 }).warnings, [
      '2 steps is outside what dmd2 was distilled for (1 or 4 steps); expect lower quality',
    ]);
    const lcm = resolveSampling({ scheduler: 'lcm', eta: 0.5 });
    assert.equal(lcm.eta, undefined);
    assert.deepEqual(lcm.warnings, ['eta has no effect with the lcm scheduler (only ddim, tcd, tdd use it)']);
  });

  test('an unknown preset is refused with the list of presets', () => {
    assert.throws(
      () => resolveSampling({ preset: 'sdxl-turbo' }),
      (e: unknown) => e instanceof PresetError && /unknown preset "sdxl-turbo"; choose one of: tdd, tcd, lcm, dmd2/.test(e.message),
    );
  });
});
