// The paper's claims as checked by the report: an ablation holds when it is worse than full TDD, an added
// option when it is better, and TDD-vs-LCM compares the two 4-step rows at equal guidance (cfg 1).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkClaims, type RowResult } from '../../src/eval/results.js';
import { ALL_ROWS } from '../../src/eval/rows.js';

function done(name: string, fdData: number, fdTeacher: number, sampleHash = name): RowResult {
  const def = ALL_ROWS.find((r) => r.name === name)!;
  return {
    ...def,
    status: 'done',
    samples: 10,
    batch: 5,
    fdData,
    fdTeacher,
    diversity: 10,
    alignment: 0.2,
    secondsPerImage: 0.1,
    timesteps: [],
    sampleHash,
    fingerprint: 'f',
    finishedAt: '',
    resumed: false,
    identicalTo: [],
  } as RowResult;
}

const claim = (checks: ReturnType<typeof checkClaims>, start: string) => checks.find((c) => c.claim.startsWith(start));

describe('eval claims', () => {
  test('an ablation holds when worse than full TDD, x0 clipping when better', () => {
    const rows = [done('tdd-4-g1.7', 15, 1), done('ablation-single-k', 16, 2), done('option-x0-clip', 17, 2)];
    const checks = checkClaims(rows);
    assert.equal(claim(checks, 'TDD w/o target selection')?.holds, true);
    const clip = claim(checks, 'TDD with x0 clipping');
    assert.equal(clip?.holds, false);
    assert.match(clip!.claim, /is better than TDD \(tdd-4-g1\.7\)/);
    assert.equal(claim(checkClaims([done('tdd-4-g1.7', 15, 1), done('option-x0-clip', 14, 1)]), 'TDD with x0 clipping')?.holds, true);
  });

  test('steps table claims: every pair must agree; a missing row is named', () => {
    const rows = [done('pcm-1', 14, 1), done('lcm-1', 15, 2), done('pcm-2', 13, 1), done('lcm-2', 12, 0.5), done('pcm-adv-1', 13, 1)];
    const checks = checkClaims(rows);
    const pcmLcm = claim(checks, 'PCM beats LCM at 1 and 2 steps');
    assert.equal(pcmLcm?.holds, false);
    assert.equal(
      pcmLcm?.detail,
      'pcm-1 14.00 vs lcm-1 15.00 (FD to teacher 1.00 vs 2.00); pcm-2 13.00 vs lcm-2 12.00 (FD to teacher 1.00 vs 0.50)',
    );
    assert.equal(claim(checks, 'the adversarial loss improves')?.holds, true);
    assert.equal(claim(checkClaims([done('pcm-4', 12, 1)]), 'TDD and PCM beat simpleCTM')?.detail, 'needs rows tdd-4-g1.0, simplectm-4');
  });

  test('TDD vs LCM at 4 steps is checked at cfg 1 against cfg 1, not with TDD at cfg 1.7', () => {
    const rows = [done('tdd-4-g1.7', 19, 3), done('tdd-4-g1.0', 13, 0.6), done('lcm-4', 13, 1.6)];
    const check = claim(checkClaims(rows), 'TDD 4-step is closer');
    assert.equal(check?.holds, true);
    assert.match(check!.detail, /TDD 0\.60 vs LCM 1\.60/);
    const missing = claim(checkClaims([done('lcm-4', 13, 1.6)]), 'TDD 4-step is closer');
    assert.equal(missing?.holds, null);
    assert.match(missing!.detail, /tdd-4-g1\.0/);
  });
});
