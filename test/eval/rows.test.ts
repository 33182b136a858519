// The evaluation rows are the list: teacher DDIM/DPM-Solver++ at 25 steps, TDD at 2/4/8 steps with
// cfg 1.7 and 1.0, LCM at 2/4/8, TCD on the TDD LoRA, and four 4-step ablations that each change one thing.
import assert from 'node:assert/strict';
import { presets } from '../../src/pipelines/presets.js';
import { describe, test } from 'node:test';
import { EvalError } from '../../src/eval/errors.js';
import { EVAL_ROWS, selectRows, STEP_COUNTS, TEACHER_ROW, type EvalRow } from '../../src/eval/rows.js';

const byName = new Map(EVAL_ROWS.map((r) => [r.name, r]));
const get = (name: string): EvalRow => {
  const row = byName.get(name);
  assert.ok(row, `row ${name}`);
  return row;
};

/** The fields in which two rows differ. */
function differences(a: EvalRow, b: EvalRow): string[] {
  const out: string[] = [];
  for (const key of ['lora', 'scheduler', 'steps', 'guidance', 'eta'] as const) if (a[key] !== b[key]) out.push(key);
  const keys = new Set([...Object.keys(a.schedulerConfig), ...Object.keys(b.schedulerConfig)]);
  for (const k of keys) if (a.schedulerConfig[k] !== b.schedulerConfig[k]) out.push(`schedulerConfig.${k}`);
  return out;
}

describe('eval rows', () => {
  test('names are unique and safe as file names', () => {
    assert.equal(byName.size, EVAL_ROWS.length);
    for (const r of EVAL_ROWS) assert.match(r.name, /^[a-z0-9.-]+$/);
  });

  test('the teacher at 25 steps with DDIM and DPM-Solver++, no LoRA', () => {
    const ddim = get(TEACHER_ROW);
    const dpm = get('teacher-dpmpp-25');
    assert.deepEqual([ddim.scheduler, ddim.steps, ddim.lora], ['ddim', 25, 'none']);
    assert.deepEqual([dpm.scheduler, dpm.steps, dpm.lora], ['dpmsolver++', 25, 'none']);
  });

  test('TDD LoRA at 2, 4, 8 steps, η 0.2, cfg 1.7 and 1.0; LCM-LoRA at 2, 4, 8; TCD on the TDD LoRA', () => {
    for (const steps of [2, 4, 8]) {
      for (const g of [1.7, 1]) {
        const r = get(`tdd-${steps}-g${g.toFixed(1)}`);
        assert.deepEqual([r.lora, r.scheduler, r.steps, r.guidance, r.eta], ['tdd', 'tdd', steps, g, 0.2]);
        // The reference scheduler's defaults: special jumps on, x0 clipping off.
        assert.equal(r.schedulerConfig.special_jump, true);
        assert.equal(r.schedulerConfig.thresholding, false);
      }
      const lcm = get(`lcm-${steps}`);
      assert.deepEqual([lcm.lora, lcm.scheduler, lcm.steps, lcm.guidance], ['lcm', 'lcm', steps, 1]);
    }
    assert.deepEqual(
      differences(get('tcd-4-tdd-lora'), get('tdd-4-g1.7')).filter((d) => !d.startsWith('schedulerConfig')),
      ['scheduler'],
    );
  });

  test('each 4-step ablation differs from full TDD in exactly its one setting; x0 clipping is the one added option', () => {
    const full = get('tdd-4-g1.7');
    assert.deepEqual(differences(get('ablation-single-k'), full), ['lora']);
    assert.equal(get('ablation-single-k').lora, 'tddSingleK');
    assert.deepEqual(differences(get('ablation-no-empty-prompts'), full), ['lora']);
    assert.equal(get('ablation-no-empty-prompts').lora, 'tddNoEmptyPrompts');
    assert.deepEqual(differences(get('ablation-no-non-equidistant'), full), ['schedulerConfig.special_jump']);
    const clip = get('option-x0-clip');
    assert.deepEqual(differences(clip, full), [
      'schedulerConfig.thresholding',
      'schedulerConfig.t_l',
      'schedulerConfig.dynamic_thresholding_ratio',
      'schedulerConfig.sample_max_value',
    ]);
    assert.equal(clip.schedulerConfig.thresholding, true);
    assert.equal(clip.expect, 'better');
    for (const name of ['ablation-single-k', 'ablation-no-empty-prompts', 'ablation-no-non-equidistant', 'option-x0-clip'])
      assert.equal(get(name).compareTo, 'tdd-4-g1.7');
    assert.equal(get('ablation-6-no-non-equidistant').compareTo, 'tdd-6-g1.7');
  });

  test('selection: all non-optional rows by default, in table order; unknown names are an error', () => {
    const all = selectRows(undefined);
    assert.equal(all.length, 2 + 6 + 3 + 1 + 4);
    assert.ok(all.every((r) => !r.optional));
    assert.deepEqual(
      selectRows(['lcm-4', TEACHER_ROW]).map((r) => r.name),
      [TEACHER_ROW, 'lcm-4'],
    );
    assert.deepEqual(
      selectRows(['tdd-6-g1.7']).map((r) => r.name),
      ['tdd-6-g1.7'],
    );
    assert.throws(
      () => selectRows(['lcm-3']),
      (e: Error) => e instanceof EvalError && /unknown eval row "lcm-3"/.test(e.message),
    );
    assert.throws(() => selectRows([]), /no eval rows selected/);
  });

  test('the steps table: every method at 1, 2, 4, 8 and 16 steps, PCM with its own LoRA per count, adversarial at 1 and 2', () => {
    const rows = selectRows(['steps']);
    assert.equal(rows.length, 5 * 4 + 2);
    for (const steps of STEP_COUNTS) {
      const at = rows.filter((r) => r.steps === steps);
      assert.deepEqual(
        at.map((r) => r.lora),
        ['tdd', 'lcm', `pcm${steps}`, ...(steps <= 2 ? [`pcmAdv${steps}`] : []), 'simplectm'],
      );
      // TDD and LCM rows of the main table are the same rows (stored rows are reused).
      if (steps >= 2 && steps <= 8) assert.ok(at.slice(0, 2).every((r) => EVAL_ROWS.includes(r)));
      for (const r of at.filter((x) => x.lora.startsWith('pcm') || x.lora === 'simplectm'))
        assert.deepEqual([r.scheduler, r.guidance, r.eta, r.optional], ['tcd', 1, 0, true]);
      // PCM lands on its phase ends (the pcm preset's timesteps); simpleCTM and the other methods keep their plans.
      for (const r of at) assert.deepEqual(r.timesteps, r.lora.startsWith('pcm') ? presets.pcm.timesteps!(steps) : undefined, r.name);
    }
    assert.deepEqual(rows.find((r) => r.name === 'pcm-4')?.timesteps, [999, 747, 499, 247]);
    assert.ok(!selectRows(undefined).some((r) => r.group === 'steps'), 'the steps table is not part of the default run');
    assert.deepEqual(selectRows(['steps', TEACHER_ROW]).map((r) => r.name)[0], 'tdd-1-g1.0');
  });
});
