/**
 * Validation grids during distillation: fixed prompts and seeds, sampled with the method's own sampler preset at a
 * few step counts (TDD: the TDD scheduler with its preset; LCM: the LCM scheduler), so grids from different
 * steps of a run compare like for like. Rows are prompts, columns step counts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeGrid, savePng } from '../plot/index.js';
import type { StableDiffusionPipeline } from '../pipelines/pipeline.js';
import { resolveSampling } from '../pipelines/presets.js';
import { txt2img } from '../pipelines/txt2img.js';
import { writeLora, type LoraModules } from '../weights/lora/export.js';
import type { PresetName } from '../pipelines/presets.js';

export interface ValidationOptions {
  readonly prompts: readonly string[];
  readonly steps: readonly number[];
  /** The method's sampler preset. */
  readonly preset: PresetName;
  readonly resolution: number;
  readonly seed: number;
}

/** Renders the grid for the LoRA `modules` into `path` (the pipeline's adapters are replaced). */
export async function renderValidationGrid(
  pipe: StableDiffusionPipeline,
  modules: LoraModules,
  path: string,
  o: ValidationOptions,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tdd-validation-'));
  try {
    const file = join(dir, 'lora.safetensors');
    writeLora(file, modules, 'kohya');
    await pipe.loras.unloadAll();
    await pipe.loras.load(file, { name: 'distilled' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = [];
  for (const [i, prompt] of o.prompts.entries()) {
    const row = [];
    for (const steps of o.steps) {
      // As `tdd generate --preset NAME --steps N` samples (PCM: at its phase ends).
      const { scheduler, timesteps, guidanceScale, eta } = resolveSampling({ preset: o.preset, steps });
      const result = await txt2img(pipe, {
        prompt,
        steps,
        timesteps,
        scheduler,
        guidanceScale,
        eta,
        width: o.resolution,
        height: o.resolution,
        seed: o.seed + i,
      });
      const image = result.images[0];
      row.push({ rgb: image.pixels, width: image.width, height: image.height });
    }
    rows.push(row);
  }
  const grid = await composeGrid(rows, { rowLabels: o.prompts, colLabels: o.steps.map((s) => `${s} steps`) });
  await savePng(grid, path);
}
