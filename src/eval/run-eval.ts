/**
 * `tdd eval` (issue 7): for each table row, N samples from the held-out captions with fixed seeds, classified
 * by the emoji classifier (trained and cached first when its file is missing); FD-emoji against the held-out
 * real images, FD to the teacher's DDIM row, alignment and seconds per image. Finished rows are stored under
 * <out>/rows and reused on the next run (resume); results.json, README.md and chart.png are written at the end.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { emojiCaption, emojiEntries, loadEmojiImage, subcategoryLabel, type EmojiEntry } from '../data/emoji/index.js';
import { StableDiffusionPipeline } from '../pipelines/index.js';
import { sessionOptionsFor, type RuntimeOptions } from '../runtime/device.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import { sha256File } from '../util/file-hash.js';
import { loadEmojiClassifier, type EmojiClassifier } from './classifier.js';
import { trainEmojiClassifier, type ClassifierProgress, type TrainClassifierOptions } from './classifier-train.js';
import { EvalError } from './errors.js';
import { featureStatistics, frechetDistanceFromStatistics, type FeatureStatistics } from './frechet.js';
import { saveEvalChart, saveSampleGrid, writeEvalMarkdown } from './report.js';
import { checkClaims, identicalRows, type EvalResults, type RowResult } from './results.js';
import { RowStore, rowFingerprint, type StoredRow } from './row-store.js';
import { seedDiversity } from './diversity.js';
import { ALL_ROWS, selectRows, TEACHER_ROW, type EvalRow, type LoraRole } from './rows.js';
import { generateRowSamples } from './sampling.js';

export type LoraPaths = Partial<Record<Exclude<LoraRole, 'none'>, string>>;

export interface EvalOptions {
  /** The teacher: a diffusers folder or single-file checkpoint. */
  model: string;
  loras?: LoraPaths;
  /** The classifier file; trained (with `classifierTraining`) and written there when missing. */
  classifier: string;
  classifierTraining?: Omit<TrainClassifierOptions, 'out' | 'signal' | 'runtime'>;
  /** Samples per row (default 1000). */
  samples?: number;
  /** Images per txt2img call (default 50). */
  batch?: number;
  /** Sample i is seeded with seed + i (default 0). */
  seed?: number;
  out: string;
  /** Row names to run (default: every non-optional row). */
  rows?: readonly string[];
  /** Row definitions (default ALL_ROWS: the main table and the steps table); tests shorten them. */
  rowDefinitions?: readonly EvalRow[];
  /** Prompt and reference emoji (default: the held-out split, both styles). */
  heldout?: readonly EmojiEntry[];
  /** Real training images for the real-data FD floor (default 1000; 0 skips it). */
  realBaselineImages?: number;
  /** Device and threads of every session (generation, classifier, classifier training). */
  runtime?: RuntimeOptions;
  signal?: AbortSignal;
}

export interface EvalEvents {
  onPhase?(phase: string, done: number, total: number): void;
  onMessage?(message: string): void;
  onClassifierProgress?(p: ClassifierProgress): void;
}

export const evalDefaults = { samples: 1000, batch: 50, seed: 0, realBaselineImages: 1000 } as const;

const NAMED_FLAGS: Partial<Record<LoraRole, string>> = {
  tdd: '--tdd-lora',
  lcm: '--lcm-lora',
  tddSingleK: '--tdd-single-k-lora',
  tddNoEmptyPrompts: '--tdd-no-empty-prompts-lora',
};

/** The flag that gives a role's LoRA: its own for the main table's, `--lora ROLE=FILE` for the others. */
export function loraRoleFlag(role: LoraRole): string {
  return NAMED_FLAGS[role] ?? `--lora ${role}=FILE`;
}

export async function runEval(options: EvalOptions, events: EvalEvents = {}): Promise<EvalResults> {
  const samples = options.samples ?? evalDefaults.samples;
  const batch = options.batch ?? evalDefaults.batch;
  const seed = options.seed ?? evalDefaults.seed;
  checkCounts(samples, batch, seed);
  const definitions = options.rowDefinitions ?? ALL_ROWS;
  const rows = selectRows(options.rows, definitions);
  for (const [role, path] of Object.entries(options.loras ?? {}))
    if (path !== undefined && !existsSync(path)) throw new EvalError(`${loraRoleFlag(role as LoraRole)}: no file at ${path}`);
  mkdirSync(options.out, { recursive: true });
  const store = new RowStore(options.out);
  const classifier = await ensureClassifier(options, events);
  try {
    const heldout = options.heldout ?? emojiEntries({ split: 'heldout' }).entries;
    if (heldout.length < 2)
      throw new EvalError(`eval: at least 2 held-out emoji are needed as prompts and reference, got ${heldout.length}`);
    const reference = await referenceStatistics(classifier, heldout, events);
    const realBaseline = await realDataBaseline(
      classifier,
      reference,
      options.realBaselineImages ?? evalDefaults.realBaselineImages,
      events,
    );
    const prompts = Array.from({ length: samples }, (_, i) => heldout[i % heldout.length]);
    const context: RowContext = {
      options,
      store,
      classifier,
      reference,
      samples,
      batch,
      seed,
      captions: prompts.map(emojiCaption),
      labels: prompts.map(subcategoryLabel),
      classifierHash: await sha256File(options.classifier),
      loraHashes: new Map(),
    };
    const finished = await runRows(context, rows, definitions, events);
    const results = finishResults(context, rows, finished, { heldout: heldout.length, realBaseline });
    writeFileAtomically(join(options.out, 'results.json'), new TextEncoder().encode(`${JSON.stringify(results, null, 2)}\n`));
    writeEvalMarkdown(results, join(options.out, 'README.md'));
    if (results.rows.some((r) => r.status === 'done')) await saveEvalChart(results, join(options.out, 'chart.png'));
    return results;
  } finally {
    await classifier.release();
  }
}

function checkCounts(samples: number, batch: number, seed: number): void {
  if (!Number.isInteger(samples) || samples < 2)
    throw new EvalError(`--samples must be an integer ≥ 2 (the Fréchet distance needs two), got ${samples}`);
  if (!Number.isInteger(batch) || batch < 1) throw new EvalError(`--batch must be a positive integer, got ${batch}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new EvalError(`--seed must be a non-negative integer, got ${seed}`);
}

async function ensureClassifier(options: EvalOptions, events: EvalEvents): Promise<EmojiClassifier> {
  if (!existsSync(options.classifier)) {
    events.onMessage?.(`training the emoji classifier (cached at ${options.classifier})`);
    const trained = await trainEmojiClassifier(
      { ...options.classifierTraining, out: options.classifier, runtime: options.runtime, signal: options.signal },
      (p) => events.onClassifierProgress?.(p),
    );
    events.onMessage?.(
      `classifier: ${(100 * trained.info.trainAccuracy).toFixed(1)}% on its training images, ${(100 * trained.info.heldoutAccuracy).toFixed(1)}% on held-out real images (${trained.secondsPerStep.toFixed(2)} s/step)`,
    );
  }
  return loadEmojiClassifier(options.classifier, { runtime: options.runtime });
}

async function classifyEntries(
  classifier: EmojiClassifier,
  entries: readonly EmojiEntry[],
  phase: string,
  events: EvalEvents,
): Promise<Float32Array[]> {
  const features: Float32Array[] = [];
  const chunk = 256;
  for (let start = 0; start < entries.length; start += chunk) {
    const images = await Promise.all(entries.slice(start, start + chunk).map((e) => loadEmojiImage(e, { size: classifier.imageSize })));
    features.push(...(await classifier.classify(images)).features);
    events.onPhase?.(phase, features.length, entries.length);
  }
  return features;
}

async function referenceStatistics(
  classifier: EmojiClassifier,
  heldout: readonly EmojiEntry[],
  events: EvalEvents,
): Promise<FeatureStatistics> {
  return featureStatistics(
    await classifyEntries(classifier, heldout, 'classifying held-out real emoji', events),
    'held-out real emoji features',
  );
}

/** FD between real training emoji (an evenly spaced pick) and the held-out ones. */
async function realDataBaseline(
  classifier: EmojiClassifier,
  reference: FeatureStatistics,
  count: number,
  events: EvalEvents,
): Promise<EvalResults['realBaseline']> {
  if (count <= 0) return null;
  const train = emojiEntries({ split: 'train' }).entries;
  const n = Math.min(count, train.length);
  if (n < 2) return null;
  const picked = Array.from({ length: n }, (_, i) => train[Math.floor((i * train.length) / n)]);
  const features = await classifyEntries(classifier, picked, 'classifying real training emoji (real-data floor)', events);
  return { fd: frechetDistanceFromStatistics(featureStatistics(features, 'training emoji features'), reference), trainImages: n };
}

interface RowContext {
  readonly options: EvalOptions;
  readonly store: RowStore;
  readonly classifier: EmojiClassifier;
  readonly reference: FeatureStatistics;
  readonly samples: number;
  readonly batch: number;
  readonly seed: number;
  readonly captions: readonly string[];
  readonly labels: readonly string[];
  readonly classifierHash: string;
  readonly loraHashes: Map<string, string>;
}

interface FinishedRow {
  readonly row: StoredRow;
  readonly features: Float32Array[];
  readonly resumed: boolean;
}

type Outcome = FinishedRow | { readonly skipped: string };

async function fingerprintFor(c: RowContext, row: EvalRow): Promise<string | { skipped: string }> {
  let loraHash: string | undefined;
  if (row.lora !== 'none') {
    const path = c.options.loras?.[row.lora];
    if (path === undefined) return { skipped: `no ${loraRoleFlag(row.lora)} given` };
    if (!c.loraHashes.has(path)) c.loraHashes.set(path, await sha256File(path));
    loraHash = c.loraHashes.get(path);
  }
  return rowFingerprint({
    row,
    model: resolve(c.options.model),
    loraHash,
    classifierHash: c.classifierHash,
    samples: c.samples,
    seed: c.seed,
    captions: c.captions,
  });
}

/** Runs (or reuses) every selected row; the teacher row's features are also looked up when it was not selected. */
async function runRows(
  c: RowContext,
  rows: readonly EvalRow[],
  definitions: readonly EvalRow[],
  events: EvalEvents,
): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  const todo: [EvalRow, string][] = [];
  for (const row of rows) {
    const fingerprint = await fingerprintFor(c, row);
    if (typeof fingerprint !== 'string') {
      outcomes.set(row.name, fingerprint);
      continue;
    }
    const stored = c.store.load(row.name, fingerprint);
    if (stored) {
      events.onMessage?.(`${row.name}: reusing the finished row in ${c.store.dir}`);
      outcomes.set(row.name, { ...stored, resumed: true });
    } else {
      if (existsSync(c.store.jsonPath(row.name)))
        events.onMessage?.(`${row.name}: the stored row was made with other settings, model, LoRA or classifier; generating it again`);
      todo.push([row, fingerprint]);
    }
  }
  const teacher = definitions.find((d) => d.name === TEACHER_ROW);
  if (teacher && !outcomes.has(TEACHER_ROW) && !todo.some(([r]) => r.name === TEACHER_ROW)) {
    const fingerprint = await fingerprintFor(c, teacher);
    const stored = typeof fingerprint === 'string' ? c.store.load(TEACHER_ROW, fingerprint) : undefined;
    if (stored) outcomes.set(TEACHER_ROW, { ...stored, resumed: true });
  }
  if (todo.length === 0) return outcomes;
  const pipe = await StableDiffusionPipeline.load(c.options.model, sessionOptionsFor(c.options.runtime));
  let active: LoraRole = 'none';
  try {
    for (const [index, [row, fingerprint]] of todo.entries()) {
      if (row.lora !== active) {
        await pipe.unloadLora();
        if (row.lora !== 'none') await pipe.loadLora(c.options.loras![row.lora]!, { name: row.lora });
        active = row.lora;
      }
      events.onMessage?.(`row ${index + 1}/${todo.length}: ${row.name} (${row.label})`);
      outcomes.set(row.name, await runRow(c, pipe, row, fingerprint, events));
    }
  } finally {
    await pipe.release();
  }
  return outcomes;
}

async function runRow(
  c: RowContext,
  pipe: StableDiffusionPipeline,
  row: EvalRow,
  fingerprint: string,
  events: EvalEvents,
): Promise<FinishedRow> {
  const generated = await generateRowSamples(pipe, c.classifier, row, {
    captions: c.captions,
    seed: c.seed,
    batch: c.batch,
    signal: c.options.signal,
    onBatch: (done, total) => events.onPhase?.(`sampling ${row.name}`, done, total),
  });
  const aligned = generated.predicted.filter((p, i) => p === c.labels[i]).length;
  const stats = featureStatistics(generated.features, `${row.name} sample features`);
  const stored: StoredRow = {
    name: row.name,
    label: row.label,
    group: row.group,
    lora: row.lora,
    loraPath: row.lora === 'none' ? undefined : reportedPath(c.options.loras![row.lora]!),
    scheduler: row.scheduler,
    schedulerConfig: row.schedulerConfig,
    steps: row.steps,
    guidance: row.guidance,
    eta: row.eta,
    samples: c.samples,
    batch: c.batch,
    fdData: frechetDistanceFromStatistics(stats, c.reference),
    alignment: aligned / c.samples,
    secondsPerImage: generated.secondsPerImage,
    timesteps: generated.timesteps,
    sampleHash: generated.sampleHash,
    fingerprint,
    finishedAt: new Date().toISOString(),
  };
  await saveSampleGrid(generated.firstImages, c.store.gridPath(row.name));
  c.store.save(stored, generated.features);
  return { row: stored, features: generated.features, resumed: false };
}

function finishResults(
  c: RowContext,
  rows: readonly EvalRow[],
  outcomes: Map<string, Outcome>,
  extra: { heldout: number; realBaseline: EvalResults['realBaseline'] },
): EvalResults {
  const teacher = outcomes.get(TEACHER_ROW);
  const teacherStats = teacher && 'row' in teacher ? featureStatistics(teacher.features, 'teacher sample features') : undefined;
  const finished = rows.map((r) => outcomes.get(r.name)).filter((o): o is FinishedRow => o !== undefined && 'row' in o);
  const identical = identicalRows(finished.map((f) => f.row));
  const results: RowResult[] = rows.map((def) => {
    const o = outcomes.get(def.name)!;
    if ('skipped' in o)
      return {
        name: def.name,
        label: def.label,
        group: def.group,
        lora: def.lora,
        scheduler: def.scheduler,
        steps: def.steps,
        guidance: def.guidance,
        eta: def.eta,
        status: 'skipped',
        reason: o.skipped,
      };
    const fdTeacher = teacherStats
      ? def.name === TEACHER_ROW
        ? 0
        : frechetDistanceFromStatistics(featureStatistics(o.features, `${def.name} sample features`), teacherStats)
      : null;
    const diversity = seedDiversity(o.features, c.captions);
    return { ...o.row, status: 'done', fdTeacher, diversity, resumed: o.resumed, identicalTo: identical.get(def.name) ?? [] };
  });
  const info = c.classifier.info;
  return {
    model: reportedPath(c.options.model),
    samples: c.samples,
    seed: c.seed,
    batch: c.batch,
    heldoutCaptions: extra.heldout,
    referenceImages: c.reference.count,
    classifier: {
      path: reportedPath(c.options.classifier),
      classes: info.labels.length,
      trainAccuracy: info.trainAccuracy,
      heldoutAccuracy: info.heldoutAccuracy,
      featureSize: c.classifier.featureSize,
    },
    realBaseline: extra.realBaseline,
    rows: results,
    checks: checkClaims(results, rows),
    finishedAt: new Date().toISOString(),
  };
}

/** Paths in the committed report: relative to the working folder when inside it, so no machine's layout leaks in. */
function reportedPath(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return rel.startsWith('..') || isAbsolute(rel) ? resolve(path) : rel;
}
