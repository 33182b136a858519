// Host-side pieces of a distillation step: the folded (sample, model) coefficients equal the reference's
// two-stage computation (predicted origin/noise, then the method's step), and planStep draws in the
// documented order from one generator.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundaryBlend, noisingBlend, readoutOfBlend } from '../../src/distill/common/coefficients.js';
import { DdimSolver } from '../../src/distill/common/ddim-solver.js';
import { mergedTimesteps, selectTargets } from '../../src/distill/common/target-selection.js';
import { lcmMethod, tddMethod } from '../../src/distill/method.js';
import { planStep } from '../../src/distill/step-plan.js';
import { createScheduler, predictionMath } from '../../src/schedulers/index.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';
import { loadSharedJson } from '../helpers/shared.js';

const golden = loadSharedJson('golden', 'tdd_training.json');
const schedule = createScheduler('ddim', golden.noise_config).schedule;
const { originalReadout, epsilonReadout, levelFromAlphaBar } = predictionMath;

test('folded coefficients equal predicted origin/noise followed by the TDD step and the LCM boundary map', () => {
  const x = 0.8;
  const f = -0.35;
  for (const type of ['epsilon', 'v_prediction', 'sample'] as const) {
    for (const [t, s] of [
      [999, 620],
      [481, 300],
      [41, 0],
    ]) {
      const level = levelFromAlphaBar(schedule.alphaBar(t));
      const o = originalReadout(type, level);
      const e = epsilonReadout(type, level);
      const x0 = o.sample * x + o.model * f;
      const eps = e.sample * x + e.model * f;
      const abarS = schedule.alphaBar(s);
      const tdd = readoutOfBlend(type, schedule.alphaBar(t), noisingBlend(abarS));
      assert.ok(
        Math.abs(tdd.sample * x + tdd.model * f - (Math.sqrt(abarS) * x0 + Math.sqrt(1 - abarS) * eps)) < 1e-9,
        `${type} t=${t} s=${s} tdd`,
      );
      const lcm = readoutOfBlend(type, schedule.alphaBar(t), boundaryBlend(t));
      const { cSkip, cOut } = predictionMath.boundaryScalings(t);
      assert.ok(Math.abs(lcm.sample * x + lcm.model * f - (cSkip * x + cOut * x0)) < 1e-9, `${type} t=${t} lcm`);
    }
  }
});

test('planStep draws index, guidance, then the TDD targets, and its columns follow from them', () => {
  const solver = new DdimSolver(schedule, 250);
  const batch = 5;
  const plan = planStep(batch, new TorchGenerator(7), {
    solver,
    schedule,
    method: tddMethod(solver, schedule),
    predictionType: 'epsilon',
    wMin: 2,
    wMax: 8,
  });
  const rng = new TorchGenerator(7);
  const index = rng.randint(0, 250, [batch]).map(Number);
  const w = rng.rand([batch]).map((u) => 6 * u + 2);
  const start = index.map((i) => solver.timesteps[i]);
  const prev = index.map((i) => Math.max(solver.timesteps[i] - solver.stepRatio, 0));
  const selected = selectTargets(mergedTimesteps(solver, 4, 8), prev, 0.3, rng);
  assert.deepEqual(plan.timesteps.index, index);
  assert.deepEqual(plan.timesteps.source, start);
  assert.deepEqual(plan.timesteps.target, prev);
  assert.deepEqual(plan.selected, selected);
  assert.deepEqual([...plan.coefficients.guidance], [...w]);
  for (let b = 0; b < batch; b++) {
    const abarPrev = solver.alphaCumprodsPrev[index[b]];
    const expected = readoutOfBlend('epsilon', schedule.alphaBar(start[b]), noisingBlend(abarPrev));
    assert.equal(plan.coefficients.prev_sample[b], Math.fround(expected.sample));
    const student = readoutOfBlend('epsilon', schedule.alphaBar(start[b]), noisingBlend(schedule.alphaBar(selected[b])));
    assert.equal(plan.coefficients.student_model[b], Math.fround(student.model));
    assert.ok(selected[b] <= prev[b], `target ${selected[b]} must not be noisier than the teacher's end ${prev[b]}`);
  }
});

test("LCM maps the student to the origin from the source timestep and the target from the move's end", () => {
  const solver = new DdimSolver(schedule, 50);
  const plan = planStep(3, new TorchGenerator(1), { solver, schedule, method: lcmMethod(), predictionType: 'epsilon', wMin: 3, wMax: 3 });
  plan.timesteps.source.forEach((t, b) => {
    const s = readoutOfBlend('epsilon', schedule.alphaBar(t), boundaryBlend(t));
    const u = readoutOfBlend('epsilon', schedule.alphaBar(plan.timesteps.target[b]), boundaryBlend(plan.timesteps.target[b]));
    assert.equal(plan.coefficients.student_sample[b], Math.fround(s.sample));
    assert.equal(plan.coefficients.target_model[b], Math.fround(u.model));
    assert.equal(plan.coefficients.guidance[b], 3);
  });
});
