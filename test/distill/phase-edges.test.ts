// Phased consistency's mapping: phases start at ⌊j·N/M⌋ on the solver grid (as the reference's numpy linspace
// and floor), a sample is moved to its phase's end (the grid predecessor of the phase start), and a target
// already on that end (its grid index is a phase start) is the teacher's DDIM step itself.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { noisingBlend } from '../../src/distill/common/coefficients.js';
import { DdimSolver } from '../../src/distill/common/ddim-solver.js';
import { phaseStartOf, phaseStarts } from '../../src/distill/common/phase-edges.js';
import { pcmMethod } from '../../src/distill/method.js';
import { planStep } from '../../src/distill/step-plan.js';
import { createScheduler } from '../../src/schedulers/index.js';
import { ddimGridTimesteps, phaseSamplingTimesteps } from '../../src/schedulers/phase-grid.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';

const schedule = createScheduler('ddim', { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 }).schedule;

describe('PCM phases', () => {
  test('phase starts as numpy floor(linspace(0, N, M, endpoint=False)) for the reference settings and ours', () => {
    assert.deepEqual(phaseStarts(50, 4), [0, 12, 25, 37]);
    assert.deepEqual(phaseStarts(50, 1), [0]);
    assert.deepEqual(phaseStarts(50, 16), [0, 3, 6, 9, 12, 15, 18, 21, 25, 28, 31, 34, 37, 40, 43, 46]);
    assert.deepEqual(phaseStarts(250, 8), [0, 31, 62, 93, 125, 156, 187, 218]);
    assert.throws(() => phaseStarts(50, 51), /number of phases must be an integer in \[1, 50\] \(got 51\)/);
    assert.throws(() => phaseStarts(50, 0), /got 0/);
    assert.deepEqual(
      [0, 11, 12, 36, 37, 49].map((i) => phaseStartOf([0, 12, 25, 37], i)),
      [0, 0, 12, 25, 37, 37],
    );
  });

  test('sampling lands on every phase end: 999, 739, 499, 239 for N 50 and 4 phases', () => {
    assert.deepEqual(phaseSamplingTimesteps(new DdimSolver(schedule, 50).timesteps, 4), [999, 739, 499, 239]);
    assert.deepEqual(phaseSamplingTimesteps(new DdimSolver(schedule, 250).timesteps, 4), [999, 747, 499, 247]);
    assert.deepEqual(phaseSamplingTimesteps(new DdimSolver(schedule, 50).timesteps, 1), [999]);
  });

  test("the sampling grid is the training solver's grid", () => {
    for (const count of [10, 50, 250, 1000])
      assert.deepEqual(ddimGridTimesteps(1000, count), [...new DdimSolver(schedule, count).timesteps]);
  });

  test('student and target move to the phase end; a target on a phase start is left as the teacher made it', () => {
    const solver = new DdimSolver(schedule, 50);
    const index = [49, 37, 36, 12, 5, 0];
    const { student, target, selected } = pcmMethod(solver, 4).blends(
      { index, source: index.map((i) => solver.timesteps[i]), target: index.map((i) => solver.sourceTimestep(i)) },
      new TorchGenerator(0),
    );
    assert.deepEqual(selected, [739, 739, 499, 239, 0, 0]);
    const end = (start: number) => noisingBlend(solver.alphaCumprodsPrev[start]);
    assert.deepEqual(student, [end(37), end(37), end(25), end(12), end(0), end(0)]);
    const identity = { sample: 1, x0: 0, eps: 0 };
    assert.deepEqual(target, [end(37), identity, end(25), identity, end(0), identity]);
    // The first phase ends at ᾱ[0], the reference's "previous" value before the grid, not at ᾱ = 1.
    assert.equal(solver.alphaCumprodsPrev[0], schedule.alphasCumprod[0]);
  });

  test('with one phase per grid point the student learns the teacher step: every target is x_prev itself', () => {
    const solver = new DdimSolver(schedule, 10);
    const plan = planStep(6, new TorchGenerator(3), {
      solver,
      schedule,
      method: pcmMethod(solver, 10),
      predictionType: 'epsilon',
      wMin: 3,
      wMax: 3,
    });
    assert.deepEqual([...plan.coefficients.target_sample], [1, 1, 1, 1, 1, 1]);
    assert.deepEqual([...plan.coefficients.target_model], [0, 0, 0, 0, 0, 0]);
    // …and the student's move is the teacher's own DDIM move (the prev_* columns).
    assert.deepEqual([...plan.coefficients.student_sample], [...plan.coefficients.prev_sample]);
    assert.deepEqual([...plan.coefficients.student_model], [...plan.coefficients.prev_model]);
  });
});
