/**
 * Validation grids of the teacher while it trains: a snapshot of the (EMA) weights is exported as a model
 * folder and sampled like a user would — DDIM, 25 steps, CFG — for fixed captions and seeds, so grids from
 * different steps compare like for like. Rows are captions, columns seeds.
 */
import { join } from 'node:path';
import { composeGrid, savePng } from '../plot/index.js';
import { loadPipeline } from '../pipelines/pipeline.js';
import { sessionOptionsFor, type RuntimeOptions } from '../runtime/device.js';
import { txt2img } from '../pipelines/txt2img.js';

export const TEACHER_VALIDATION_CAPTIONS = [
  'red apple, food and drink, food fruit, twemoji style',
  'grinning face, smileys and emotion, face smiling, noto style',
  'dog face, animals and nature, animal mammal, twemoji style',
  'red heart, smileys and emotion, heart, noto style',
];

export interface TeacherValidationOptions {
  readonly captions?: readonly string[];
  readonly seeds?: number;
  readonly steps?: number;
  readonly guidance?: number;
  readonly runtime?: RuntimeOptions;
}

export async function renderTeacherGrid(modelDir: string, path: string, o: TeacherValidationOptions = {}): Promise<void> {
  const captions = o.captions ?? TEACHER_VALIDATION_CAPTIONS;
  const seeds = Array.from({ length: o.seeds ?? 4 }, (_, i) => i);
  await using pipe = await loadPipeline(modelDir, sessionOptionsFor(o.runtime));
  const rows = [];
  for (const caption of captions) {
    const result = await txt2img(pipe, {
      prompt: seeds.map(() => caption),
      seed: seeds,
      steps: o.steps ?? 25,
      scheduler: 'ddim',
      guidanceScale: o.guidance ?? 4.5,
    });
    rows.push(result.images.map((image) => ({ rgb: image.pixels, width: image.width, height: image.height })));
  }
  const grid = await composeGrid(rows, {
    rowLabels: captions.map((c) => c.split(',')[0] + ', ' + c.split(',').at(-1)!.trim()),
    colLabels: seeds.map((s) => `seed ${s}`),
  });
  await savePng(grid, path);
}

export const previewDir = (work: string) => join(work, 'denoiser', 'preview');
