/**
 * The docs-ready outputs of an eval: README.md (settings, what the metrics are and are not, the table, the
 * paper's claims as checked) and chart.png (FD-emoji and alignment per row, two panels), plus the per-row
 * sample grids. Written atomically.
 */
import type { GeneratedImage } from '../pipelines/index.js';
import { composeGrid, renderBarChart, savePng, stackCharts } from '../plot/index.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import { pct, type EvalResults, type RowResult } from './results.js';

const num = (x: number | null | undefined, digits = 2): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);

function samplerText(r: RowResult): string {
  const extras = r.status === 'done' ? Object.entries(r.schedulerConfig).map(([k, v]) => `${k}=${String(v)}`) : [];
  return extras.length > 0 ? `${r.scheduler} (${extras.join(', ')})` : r.scheduler;
}

function tableRow(r: RowResult): string {
  const lora = r.lora === 'none' ? '—' : r.lora;
  const eta = r.eta === undefined ? '—' : String(r.eta);
  if (r.status === 'skipped')
    return `| ${r.label} | ${lora} | ${samplerText(r)} | ${r.steps} | ${r.guidance} | ${eta} | skipped: ${r.reason} | | | | |`;
  const same = r.identicalTo.length > 0 ? ` (samples identical to ${r.identicalTo.join(', ')})` : '';
  return `| ${r.label}${same} | ${lora} | ${samplerText(r)} | ${r.steps} | ${r.guidance} | ${eta} | ${num(r.fdData)} | ${num(r.fdTeacher)} | ${pct(r.alignment)} | ${num(r.diversity)} | ${num(r.secondsPerImage, 3)} |`;
}

export function evalMarkdown(results: EvalResults): string {
  const c = results.classifier;
  const lines = [
    '# Evaluation: TDD, LCM and the teacher on the emoji model',
    '',
    `Model \`${results.model}\`; ${results.samples} samples per row (batch ${results.batch}), sample *i* prompted with held-out caption *i* mod ${results.heldoutCaptions} and seeded with ${results.seed} + *i* (one generator per image). Finished ${results.finishedAt}.`,
    '',
    '## What the metrics are (in-domain, not FID/CLIP)',
    '',
    `- **FD-emoji**: the Fréchet distance between the ${c.featureSize}-d penultimate features of a small CNN that this project trained to classify emoji subcategories (${c.classes} classes, training split, both styles). It plays FID's role but its features know only emoji: numbers are comparable between rows of this table, not with FID values elsewhere. **FD-emoji (data)** compares each row's samples with the ${results.referenceImages} held-out real emoji (a small reference set: absolute values carry an upward small-sample bias, so read differences between rows, not the values themselves); **FD to teacher** compares them with the samples of the teacher's DDIM 25-step row (same prompts and seeds).`,
    `- **Alignment**: the share of samples that the same classifier assigns to their caption's subcategory (the CLIP-score analogue). The classifier's own accuracy on the held-out *real* images is ${pct(c.heldoutAccuracy)} (on its training images ${pct(c.trainAccuracy)}): that is the ceiling a perfect generator would reach on held-out prompts.`,
    results.realBaseline
      ? `- Real-data floor: FD-emoji between ${results.realBaseline.trainImages} real training emoji and the held-out real emoji is ${num(results.realBaseline.fd)}.`
      : '- Real-data floor: not measured.',
    "- **Diversity**: the mean pairwise distance between the classifier features of samples that share a caption (caption *i* mod the caption count recurs with other seeds), averaged over captions; 0 means every seed gives the same image, the teacher's row is the level to keep.",
    '- **Seconds per image**: wall clock of generation only (text encoding, denoising, VAE decode; not classification), batches after the first (which compiles the sessions), on the machine that ran the eval.',
    '',
    '## Results',
    '',
    '| row | LoRA | sampler | steps | cfg | η | FD-emoji (data) ↓ | FD to teacher ↓ | alignment ↑ | diversity | s / image |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.rows.map(tableRow),
    '',
    '![FD-emoji and alignment per row](chart.png)',
    '',
    "## The paper's claims, as measured here",
    '',
    ...(results.checks.length > 0
      ? results.checks.map(
          (k) => `- ${k.claim}: **${k.holds === null ? 'not measured' : k.holds ? 'holds' : 'does not hold'}** (${k.detail}).`,
        )
      : ['- No check applies to the rows that ran.']),
    '',
    'Sample grids (first 16 samples of each row) are in `rows/<row>.png`.',
    '',
  ];
  return lines.join('\n');
}

/** Two bar-chart panels, FD-emoji (data and to the teacher) above alignment, over the finished rows. */
export async function saveEvalChart(results: EvalResults, path: string): Promise<void> {
  const done = results.rows.filter((r): r is Extract<RowResult, { status: 'done' }> => r.status === 'done');
  const width = Math.max(800, 70 * done.length + 160);
  const groups = done.map((r) => r.name);
  const fd = renderBarChart({
    groups,
    width,
    height: 420,
    title: 'FD-emoji per row (lower is better)',
    yLabel: 'Frechet distance',
    series: [
      { name: 'FD-emoji (data)', values: done.map((r) => r.fdData) },
      { name: 'FD to teacher', values: done.map((r) => r.fdTeacher) },
    ],
  });
  const alignment = renderBarChart({
    groups,
    width,
    height: 360,
    title: `Alignment per row (higher is better; real held-out images: ${pct(results.classifier.heldoutAccuracy)})`,
    yLabel: 'alignment (%)',
    series: [{ name: 'alignment', values: done.map((r) => 100 * r.alignment) }],
  });
  await savePng(stackCharts([fd, alignment]), path);
}

/** The first samples of a row as a 4-wide grid. */
export async function saveSampleGrid(images: readonly GeneratedImage[], path: string): Promise<void> {
  if (images.length === 0) return;
  const cols = 4;
  const rows = Array.from({ length: Math.ceil(images.length / cols) }, (_, r) =>
    images.slice(r * cols, (r + 1) * cols).map((i) => ({ rgb: i.pixels, width: i.width, height: i.height })),
  );
  await savePng(await composeGrid(rows, { padding: 2 }), path);
}

export function writeEvalMarkdown(results: EvalResults, path: string): void {
  writeFileAtomically(path, new TextEncoder().encode(evalMarkdown(results)));
}
