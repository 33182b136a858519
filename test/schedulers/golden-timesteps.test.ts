// Every case of ../shared/golden/set_timesteps.json: timesteps exactly, sigmas ≤1e-6 relative.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScheduler, SchedulerConfigError, type TddPlan } from '../../src/schedulers/index.js';
import { loadSharedJson } from '../helpers/shared.js';
import { assertAllClose } from '../helpers/assert-close.js';
import { goldenSchedulerNames } from './golden-names.js';

const golden = loadSharedJson('golden', 'set_timesteps.json');

for (const c of golden.cases) {
  const name = goldenSchedulerNames[c.scheduler];
  const label = `${c.scheduler} ${JSON.stringify(c.config).replace(/"num_train_timesteps.*?0.012,?/, '')}`;
  // tdd_train_step 50 + special_jump: the reference's targets contradict its timesteps; we reject it.
  if (name === 'tdd' && c.config.special_jump && c.config.tdd_train_step === 50) {
    test(`${label}: rejected with a named field`, () => {
      assert.throws(
        () => createScheduler('tdd', c.config),
        (e: Error) => e instanceof SchedulerConfigError && /special_jump/.test(e.message),
      );
    });
    continue;
  }
  test(`${label}: timesteps and sigmas`, () => {
    const scheduler = createScheduler(name, c.config);
    for (const r of c.results) {
      const at = `${r.num_inference_steps} steps`;
      if (r.error) {
        assert.throws(() => scheduler.setTimesteps(r.num_inference_steps), Error, at);
        continue;
      }
      const plan = scheduler.setTimesteps(r.num_inference_steps);
      assert.deepEqual([...plan.timesteps], r.timesteps, `${at}: timesteps`);
      assert.ok(
        Math.abs(plan.initNoiseSigma - r.init_noise_sigma) <= 1e-6 * r.init_noise_sigma,
        `${at}: init_noise_sigma ${plan.initNoiseSigma} vs ${r.init_noise_sigma}`,
      );
      if (r.sigmas) assertAllClose(plan.sigmas!, r.sigmas, { rtol: 1e-6 }, `${at}: sigmas`);
      if (name === 'tdd') {
        const tdd = plan as TddPlan;
        assert.deepEqual([...tdd.orderList], r.order_list, `${at}: order_list`);
        for (const s of r.timesteps_s) {
          const { timestepsS, sigmasS } = tdd.intermediate(s.eta);
          assert.deepEqual(timestepsS, s.timesteps_s, `${at} eta ${s.eta}: timesteps_s`);
          assertAllClose(sigmasS, s.sigmas_s, { rtol: 1e-6 }, `${at} eta ${s.eta}: sigmas_s`);
        }
      }
    }
  });
}
