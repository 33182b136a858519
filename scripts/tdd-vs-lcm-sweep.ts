/**
 * Issue 26's sampler sweep: the shipped TDD LoRA at 4 steps over η ∈ {0, 0.2, 0.3} × guidance ∈ {1, 1.7, 3} ×
 * x0 clipping on/off (special_jump off; two settings again with it on, to show it is a no-op at 4 steps), and
 * the LCM-LoRA at 4 steps with guidance 1 (as the eval), 1.7 and 3, and the teacher without a LoRA through both
 * 4-step samplers (cfg 4.5: what the distillation starts from) — all through `tdd eval`'s own runner
 * (runEval with these rows: same captions, seeds, classifier, FD-emoji, FD to the teacher's DDIM-25 row,
 * alignment). Rows are stored under <out>/rows and reused when the script is run again.
 *
 *   node --import tsx scripts/tdd-vs-lcm-sweep.ts --out scratch/sweep --samples 500 \
 *     --tdd-lora models/emoji/tdd-lora.safetensors --lcm-lora training/lora-lcm/lora.safetensors [--rows a,b]
 *
 * Prints a markdown table (best first by FD to the teacher within each LoRA) and writes <out>/sweep.md.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runEval, TDD_X0_CLIPPING, TEACHER_ROW, EVAL_ROWS, type EvalRow } from '../src/eval/index.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'scratch/sweep' },
    samples: { type: 'string', default: '500' },
    batch: { type: 'string', default: '50' },
    model: { type: 'string', default: 'models/emoji' },
    classifier: { type: 'string', default: 'docs/eval/classifier.safetensors' },
    'tdd-lora': { type: 'string', default: 'models/emoji/tdd-lora.safetensors' },
    'lcm-lora': { type: 'string', default: 'training/lora-lcm/lora.safetensors' },
    rows: { type: 'string' },
  },
});

const teacher = EVAL_ROWS.find((r) => r.name === TEACHER_ROW)!;
const noClip = { thresholding: false };

function tddRow(eta: number, guidance: number, clip: boolean, jump: boolean): EvalRow {
  return {
    name: `tdd4-eta${eta}-g${guidance}-${clip ? 'clip' : 'noclip'}-${jump ? 'jump' : 'nojump'}`,
    label: `TDD 4 steps, η ${eta}, cfg ${guidance}, x0 clipping ${clip ? 'on' : 'off'}, special_jump ${jump ? 'on' : 'off'}`,
    group: 'tdd',
    lora: 'tdd',
    scheduler: 'tdd',
    schedulerConfig: { tdd_train_step: 250, special_jump: jump, ...(clip ? TDD_X0_CLIPPING : noClip) },
    steps: 4,
    guidance,
    eta,
  };
}

const lcmRow = (guidance: number): EvalRow => ({
  name: `lcm4-g${guidance}`,
  label: `LCM 4 steps, cfg ${guidance}`,
  group: 'lcm',
  lora: 'lcm',
  scheduler: 'lcm',
  schedulerConfig: {},
  steps: 4,
  guidance,
});

const rows: EvalRow[] = [teacher];
for (const clip of [false, true])
  for (const guidance of [1, 1.7, 3]) for (const eta of [0, 0.2, 0.3]) rows.push(tddRow(eta, guidance, clip, false));
// special_jump defines schedules for 5–7 steps only: at 4 it must leave the samples unchanged (hash check).
rows.push(tddRow(0.2, 1.7, true, true), tddRow(0.2, 1.7, false, true));
rows.push(lcmRow(1), lcmRow(1.7), lcmRow(3));
// The undistilled teacher through both 4-step samplers at its own guidance: how far each LoRA moved from it.
rows.push(
  {
    name: 'teacher-tdd4-g4.5',
    label: 'teacher (no LoRA), TDD sampler 4 steps, η 0.2, cfg 4.5',
    group: 'extra',
    lora: 'none',
    scheduler: 'tdd',
    schedulerConfig: { tdd_train_step: 250, special_jump: false, ...noClip },
    steps: 4,
    guidance: 4.5,
    eta: 0.2,
  },
  {
    name: 'teacher-lcm4-g4.5',
    label: 'teacher (no LoRA), LCM sampler 4 steps, cfg 4.5',
    group: 'extra',
    lora: 'none',
    scheduler: 'lcm',
    schedulerConfig: {},
    steps: 4,
    guidance: 4.5,
  },
);

const out = values.out!;
const results = await runEval(
  {
    model: values.model!,
    classifier: values.classifier!,
    out,
    loras: { tdd: values['tdd-lora'], lcm: values['lcm-lora'] },
    samples: Number(values.samples),
    batch: Number(values.batch),
    seed: 0,
    realBaselineImages: 0,
    rowDefinitions: rows,
    rows: values.rows ? [TEACHER_ROW, ...values.rows.split(',').filter((r) => r !== TEACHER_ROW)] : rows.map((r) => r.name),
  },
  {
    onMessage: (m) => console.error(m),
    onPhase: (phase, done, total) => {
      if (done === total) console.error(`${phase}: ${done}/${total}`);
    },
  },
);

const done = results.rows.filter((r) => r.status === 'done');
const fmt = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toFixed(2));
const lines = [
  `${results.samples} samples per row, seed ${results.seed}, batch ${results.batch}; FD to teacher against ${TEACHER_ROW} at the same sample count.`,
  '',
  '| row | η | cfg | x0 clip | jump | FD-emoji ↓ | FD to teacher ↓ | alignment ↑ | s / image | identical to |',
  '|---|---:|---:|---|---|---:|---:|---:|---:|---|',
];
const sorted = [...done].sort((a, b) => (a.lora === b.lora ? (a.fdTeacher ?? 0) - (b.fdTeacher ?? 0) : a.lora.localeCompare(b.lora)));
for (const r of sorted) {
  const cfg = (r as { schedulerConfig?: Record<string, unknown> }).schedulerConfig ?? {};
  lines.push(
    `| ${r.name} | ${r.eta ?? '–'} | ${r.guidance} | ${cfg.thresholding ? 'on' : r.scheduler === 'tdd' ? 'off' : '–'} | ${cfg.special_jump ? 'on' : r.scheduler === 'tdd' ? 'off' : '–'} | ${fmt(r.fdData)} | ${fmt(r.fdTeacher)} | ${(100 * r.alignment).toFixed(1)} % | ${r.secondsPerImage.toFixed(3)} | ${r.identicalTo.join(', ')} |`,
  );
}
const table = lines.join('\n');
writeFileSync(join(out, 'sweep.md'), `${table}\n`);
console.log(table);
