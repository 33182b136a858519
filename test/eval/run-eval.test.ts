// runEval end to end on the tiny random SD fixture: 4 samples per row in batches of 3 (the last padded),
// a TDD row with the fixture LoRA, a row that must come out identical to it, a row skipped for its missing
// LoRA; rows/*.json + features + grids, results.json, README.md and chart.png; a second run reuses every row;
// the samples do not depend on the batch size.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { emojiEntries, type EmojiEntry } from '../../src/data/emoji/index.js';
import { EVAL_ROWS, TEACHER_ROW, type EvalRow } from '../../src/eval/rows.js';
import { runEval, type EvalOptions } from '../../src/eval/run-eval.js';
import type { EvalResults } from '../../src/eval/results.js';
import { sharedPath } from '../helpers/shared.js';

const definition = (name: string): EvalRow => EVAL_ROWS.find((r) => r.name === name)!;
const rows: EvalRow[] = [
  { ...definition(TEACHER_ROW), steps: 2 },
  { ...definition('tdd-4-g1.7'), steps: 2 },
  // At 2 steps special_jump changes nothing: its samples must equal tdd-4-g1.7's.
  { ...definition('ablation-no-non-equidistant'), steps: 2 },
  definition('ablation-single-k'),
];

function classifierEntries(): { train: EmojiEntry[]; heldout: EmojiEntry[] } {
  const train = emojiEntries({ split: 'train', styles: ['twitter'] }).entries;
  const picks = ['food-fruit', 'animal-mammal'].flatMap((s) => train.filter((e) => e.subcategory === s).slice(0, 2));
  return { train: picks, heldout: picks.slice(0, 2) };
}

describe('runEval (tiny-sd)', () => {
  let dir: string;
  let options: EvalOptions;
  let first: EvalResults;
  const messages: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tdd-eval-run-'));
    options = {
      model: sharedPath('fixtures', 'tiny-sd'),
      loras: { tdd: sharedPath('fixtures', 'lora', 'tiny-sd-lora-kohya.safetensors') },
      classifier: join(dir, 'classifier.safetensors'),
      classifierTraining: {
        ...classifierEntries(),
        architecture: { imageSize: 64, stemChannels: 8, downChannels: [8, 8], groups: 4 },
        steps: 2,
        batch: 4,
      },
      samples: 4,
      batch: 3,
      seed: 5,
      out: join(dir, 'eval'),
      rows: rows.map((r) => r.name),
      rowDefinitions: rows,
      heldout: emojiEntries({ split: 'heldout', styles: ['twitter'] }).entries.slice(0, 3),
      realBaselineImages: 3,
    };
    first = await runEval(options, { onMessage: (m) => messages.push(m) });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('finished rows are measured and stored; a row without its LoRA is skipped with the reason', () => {
    const [teacher, tdd, noJump, singleK] = first.rows;
    assert.equal(singleK.status, 'skipped');
    assert.match(singleK.status === 'skipped' ? singleK.reason : '', /--tdd-single-k-lora/);
    for (const r of [teacher, tdd, noJump]) {
      assert.equal(r.status, 'done');
      if (r.status !== 'done') continue;
      assert.equal(r.samples, 4);
      assert.ok(Number.isFinite(r.fdData) && r.fdData >= -1e-6, `${r.name} fdData ${r.fdData}`);
      assert.ok(r.alignment >= 0 && r.alignment <= 1);
      assert.ok(r.secondsPerImage > 0);
      // 4 samples over 3 captions: caption 0 recurs with another seed, so diversity is measured.
      assert.ok(r.diversity !== null && r.diversity > 0, `${r.name} diversity ${r.diversity}`);
      assert.equal(r.timesteps.length, 2);
      for (const f of [`${r.name}.json`, `${r.name}.features.safetensors`, `${r.name}.png`])
        assert.ok(existsSync(join(options.out, 'rows', f)), f);
    }
    assert.ok(!existsSync(join(options.out, 'rows', 'ablation-single-k.json')));
    assert.ok(messages.some((m) => /training the emoji classifier/.test(m)));
    assert.ok(existsSync(options.classifier));
  });

  test('FD to teacher is 0 for the teacher, positive with the LoRA; identical samples are detected', () => {
    const [teacher, tdd, noJump] = first.rows;
    assert.ok(teacher.status === 'done' && tdd.status === 'done' && noJump.status === 'done');
    assert.equal(teacher.fdTeacher, 0);
    assert.ok(tdd.fdTeacher! > 0, `tdd FD to teacher ${tdd.fdTeacher}`);
    assert.notEqual(tdd.sampleHash, teacher.sampleHash);
    assert.equal(noJump.sampleHash, tdd.sampleHash);
    assert.deepEqual(noJump.identicalTo, ['tdd-4-g1.7']);
    assert.equal(noJump.fdData, tdd.fdData);
    const check = first.checks.find((c) => /non-equidistant/.test(c.claim))!;
    assert.equal(check.holds, false);
    assert.match(check.detail, /identical/);
    assert.ok(first.realBaseline && Number.isFinite(first.realBaseline.fd));
  });

  test('results.json, the markdown table and the chart are written', () => {
    const saved = JSON.parse(readFileSync(join(options.out, 'results.json'), 'utf8')) as EvalResults;
    assert.equal(saved.rows.length, 4);
    const md = readFileSync(join(options.out, 'README.md'), 'utf8');
    assert.match(md, /\| row \| LoRA \| sampler \|/);
    assert.match(md, /in-domain/);
    for (const r of rows) assert.ok(md.includes(r.label), r.label);
    assert.match(md, /skipped: no --tdd-single-k-lora given/);
    const png = readFileSync(join(options.out, 'chart.png'));
    assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
  });

  test('a second run reuses every finished row instead of generating again', async () => {
    const before = statSync(join(options.out, 'rows', `${TEACHER_ROW}.json`)).mtimeMs;
    const again: string[] = [];
    const second = await runEval(options, { onMessage: (m) => again.push(m) });
    const done = second.rows.filter((r) => r.status === 'done');
    assert.equal(done.length, 3);
    assert.ok(done.every((r) => r.status === 'done' && r.resumed));
    assert.equal(again.filter((m) => /reusing/.test(m)).length, 3);
    assert.ok(!again.some((m) => /training the emoji classifier|^row /.test(m)));
    assert.equal(statSync(join(options.out, 'rows', `${TEACHER_ROW}.json`)).mtimeMs, before);
    assert.deepEqual(
      second.rows.map((r) => r.status === 'done' && r.fdTeacher),
      first.rows.map((r) => r.status === 'done' && r.fdTeacher),
    );
  });

  test('samples do not depend on the batch size (per-image seeds, padded last batch)', async () => {
    const other = await runEval({ ...options, out: join(dir, 'eval-batch4'), batch: 4, rows: [TEACHER_ROW], realBaselineImages: 0 });
    const [a] = other.rows;
    const b = first.rows[0];
    assert.ok(a.status === 'done' && b.status === 'done');
    assert.equal(a.resumed, false);
    assert.equal(a.sampleHash, b.sampleHash);
    assert.equal(other.realBaseline, null);
  });
});
