/**
 * Generating one row's samples: prompts and seeds fixed per sample index (sample i uses caption i mod the
 * caption count and seed `seed + i`, one generator per image, so a sample does not depend on the batch it
 * fell in), batches of a fixed size (the last is padded so no new session shape is compiled mid-row), and
 * each batch classified right away so only features are kept. Seconds per image are wall clock of the
 * txt2img calls alone, leaving out the first batch (it compiles the sessions) whenever there is a second.
 */
import { createHash } from 'node:crypto';
import type { GeneratedImage, StableDiffusionPipeline } from '../pipelines/index.js';
import type { EmojiClassifier } from './classifier.js';
import { EvalError } from './errors.js';
import type { EvalRow } from './rows.js';

export interface SamplePlan {
  /** One caption per sample. */
  readonly captions: readonly string[];
  readonly seed: number;
  readonly batch: number;
  signal?: AbortSignal;
  onBatch?(done: number, total: number): void;
}

export interface RowSamples {
  readonly features: Float32Array[];
  readonly predicted: string[];
  readonly secondsPerImage: number;
  /** The sampler's timesteps. */
  readonly timesteps: readonly number[];
  /** sha256 over every sample's pixels: equal hashes mean identical samples. */
  readonly sampleHash: string;
  /** The first images, for the grid. */
  readonly firstImages: GeneratedImage[];
}

const GRID_IMAGES = 16;

export async function generateRowSamples(
  pipe: StableDiffusionPipeline,
  classifier: EmojiClassifier,
  row: EvalRow,
  plan: SamplePlan,
): Promise<RowSamples> {
  const total = plan.captions.length;
  const hash = createHash('sha256');
  const out = { features: [] as Float32Array[], predicted: [] as string[], firstImages: [] as GeneratedImage[] };
  let timesteps: readonly number[] = [];
  const batchSeconds: number[] = [];
  for (let start = 0; start < total; start += plan.batch) {
    if (plan.signal?.aborted) throw new EvalError(`eval interrupted during row ${row.name}; finished rows are kept, run again to resume`);
    const count = Math.min(plan.batch, total - start);
    // Pad with repeats of the batch's last sample: same shape every batch; extras are dropped.
    const indices = Array.from({ length: plan.batch }, (_, k) => start + Math.min(k, count - 1));
    const began = performance.now();
    const result = await pipe.txt2img({
      prompt: indices.map((i) => plan.captions[i]),
      seed: indices.map((i) => plan.seed + i),
      steps: row.steps,
      timesteps: row.timesteps,
      scheduler: row.scheduler,
      schedulerConfig: { ...row.schedulerConfig },
      guidanceScale: row.guidance,
      eta: row.eta,
      signal: plan.signal,
    });
    batchSeconds.push((performance.now() - began) / 1000);
    timesteps = result.timesteps;
    const images = result.images.slice(0, count);
    for (const image of images) hash.update(image.pixels);
    out.firstImages.push(...images.slice(0, Math.max(0, GRID_IMAGES - out.firstImages.length)));
    const classified = await classifier.classify(images.map((image) => imageToChw(image, classifier.imageSize, row.name)));
    out.features.push(...classified.features);
    out.predicted.push(...classified.predicted);
    plan.onBatch?.(start + count, total);
  }
  // Padded images count: they cost the same as real ones.
  const timed = batchSeconds.length > 1 ? batchSeconds.slice(1) : batchSeconds;
  const secondsPerImage = timed.reduce((a, b) => a + b, 0) / (timed.length * plan.batch);
  return { ...out, secondsPerImage, timesteps, sampleHash: hash.digest('hex') };
}

/** 8-bit HWC RGB → CHW in [−1, 1], the same quantisation as the real emoji images get. */
export function imageToChw(image: Pick<GeneratedImage, 'pixels' | 'width' | 'height'>, size: number, what: string): Float32Array {
  if (image.width !== size || image.height !== size) {
    throw new EvalError(
      `${what}: generated ${image.width}×${image.height} images but the classifier takes ${size}×${size}; evaluate a model whose native size is ${size} px`,
    );
  }
  const plane = size * size;
  const chw = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) chw[c * plane + i] = image.pixels[i * 3 + c] / 127.5 - 1;
  return chw;
}
