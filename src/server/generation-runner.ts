/**
 * Runs one job on a pooled pipeline: the requested LoRAs (fused; re-fused only when the set or the weights
 * change), text-to-image with the job's abort signal, a `step` event per step with it/s and budgeted x0
 * previews (preview.ts), then PNGs carrying A1111 `parameters` text, stored for /api/images.
 */
import { ApiError } from './errors.js';
import { formatA1111Parameters, type ImageMetadata } from '../pipelines/metadata.js';
import type { StableDiffusionPipeline } from '../pipelines/pipeline.js';
import type { StepInfo } from '../pipelines/denoise.js';
import type { GenerationResult } from '../pipelines/txt2img.js';
import type { GenerationRequest } from '../pipelines/generation.js';
import { loadControlNet, type LoadControlNetOptions } from '../pipelines/controlnet.js';
import { batchSeeds } from '../pipelines/seeds.js';
import { hashIdentity, loraName, pipelineIdentity } from '../pipelines/identity.js';
import type { FileHashCache } from '../util/file-hash.js';
import type { ImageStore } from './image-store.js';
import type { Job } from './job.js';
import type { JobRunner } from './job-queue.js';
import type { PipelinePool } from './pipeline-pool.js';
import type { MemoryAdmission } from './memory-estimate.js';
import { PreviewMaker, type PreviewOptions } from './preview.js';
import type { JobSpec } from './request-schema.js';

export interface RunnerContext {
  pool: PipelinePool;
  images: ImageStore;
  hashes: FileHashCache;
  /** e.g. "tdd-diffusion 0.1.0", written into the PNGs. */
  version: string;
  /** false: no previews at all. */
  previews: false | PreviewOptions;
  /** Checked again once the model is loaded (it holds memory the admission at POST time did not count). */
  admission?: MemoryAdmission;
}

/** Loads what is missing, then activates exactly the requested adapters (ids are the adapter names). */
export async function applyLoras(pipe: StableDiffusionPipeline, loras: JobSpec['loras']): Promise<void> {
  const loadedNames = new Set(pipe.loras.files.map((f) => f.name));
  for (const { entry, weight } of loras) {
    if (!loadedNames.has(entry.id)) await pipe.loadLora(entry.path, { name: entry.id, scale: weight });
  }
  const active = pipe.loras.adapters;
  const same = active.size === loras.length && loras.every((l) => active.get(l.entry.id) === l.weight);
  if (!same)
    await pipe.setAdapters(
      loras.map((l) => l.entry.id),
      loras.map((l) => l.weight),
    );
}

/** The image size a job gets: the request's, else the model's native size. */
export function jobSize(pipe: StableDiffusionPipeline, spec: JobSpec): { width: number; height: number } {
  const native = Number(pipe.components.unet.config.sample_size ?? 64) * pipe.vaeScaleFactor;
  return { width: spec.width ?? native, height: spec.height ?? native };
}

/** Emits `step` (and, within budget, `preview`) events; the time spent on previews is not counted as step time. */
/** sd-webui-controlnet's unit text: Module (canny with its thresholds as Threshold A/B, or none), Model, Weight. */
function controlNetUnitText(control: NonNullable<JobSpec['control']>): string {
  const { preprocessor: p } = control;
  const module = p ? `Module: ${p.module}` : 'Module: none';
  const thresholds = p ? `, Threshold A: ${p.low}, Threshold B: ${p.high}` : '';
  return `${module}, Model: ${control.entry.name}, Weight: ${control.scale}${thresholds}`;
}

function stepReporter(job: Job, previews: PreviewMaker | null): (info: StepInfo) => Promise<void> {
  const started = performance.now();
  let lastEnd = started;
  let firstStepEnd = 0;
  let previewsOn = previews !== null;
  return async ({ step, steps, timestep, predOriginal }) => {
    const now = performance.now();
    previews?.addStepTime(now - lastEnd);
    if (step === 0) firstStepEnd = now;
    // The first step also encodes the prompt and may compile sessions: the rate leaves it out once it can.
    const itPerSec = step === 0 ? 1000 / (now - started) : (1000 * step) / (now - firstStepEnd);
    job.progress = { step: step + 1, steps, itPerSec };
    job.emit('step', { step: step + 1, steps, timestep, itPerSec, elapsedMs: Math.round(now - started) });
    if (previewsOn && previews && predOriginal && step + 1 < steps && previews.affordable) {
      try {
        const p = await previews.render(predOriginal);
        job.emit('preview', { step: step + 1, image: p.dataUrl, width: p.width, height: p.height, decoder: previews.decoder });
      } catch (e) {
        previewsOn = false;
        job.warnings.push(`previews turned off for this job: ${(e as Error).message}`);
      }
    }
    lastEnd = performance.now();
  };
}

/** Model and LoRA names and hashes by the rule the CLI and GeneratedImage.save() share (pipelines/identity.ts). */
async function identity(ctx: RunnerContext, pipe: StableDiffusionPipeline, spec: JobSpec) {
  const loras = spec.loras.map((l) => ({ name: loraName(l.entry.path), weight: l.weight, path: l.entry.path }));
  const id = await hashIdentity({ model: pipelineIdentity(pipe).model, loras }, ctx.hashes);
  return {
    model: { name: id.model.name, hash: id.model.hash },
    loras: id.loras.map(({ name, weight, hash }) => ({ name, weight, hash })),
  };
}

function storeResult(
  ctx: RunnerContext,
  job: Job,
  result: GenerationResult,
  meta: Omit<ImageMetadata, 'width' | 'height' | 'batchIndex'> & { seed: number | bigint },
) {
  return Promise.all(
    result.images.map(async (image, index) => {
      // A1111's batch rule (batchSeeds): image i was drawn from seed + i and says so, so it can be remade alone.
      const seed = batchSeeds(meta.seed, result.images.length)[index];
      const text = formatA1111Parameters({ ...meta, seed, width: image.width, height: image.height, batchIndex: index });
      const png = await image.toPng({ parameters: text });
      const stored = ctx.images.add(png, {
        jobId: job.id,
        width: image.width,
        height: image.height,
        fileStem: `${job.id.slice(0, 8)}-${String(job.spec.seed)}-${index}`,
        parameters: text,
      });
      if (stored.writeError) job.warnings.push(stored.writeError);
      return { ref: { id: stored.id, url: `/api/images/${stored.id}.png`, width: image.width, height: image.height }, text };
    }),
  );
}

/**
 * Text-to-image for the batch at once (one seed per image), or img2img / inpainting image by image (the image
 * modes share one VAE sample across a batch; run alone, each image is its seed's own, as the CLI does),
 * with steps counted across the batch.
 */
async function generate(
  pipe: StableDiffusionPipeline,
  spec: JobSpec,
  request: GenerationRequest,
  onStep: (info: StepInfo) => Promise<void>,
  loadOptions?: LoadControlNetOptions,
): Promise<GenerationResult> {
  const seeds = batchSeeds(spec.seed, spec.batch);
  const { init, control } = spec;
  if (control) {
    // Loaded for the job and released after it (a ControlNet is small next to its model).
    const model = loadControlNet(control.entry.path, loadOptions);
    try {
      const controlnet = { model, image: control.image, conditioningScale: control.scale };
      return await pipe.txt2img({ ...request, numImages: spec.batch, seed: seeds, onStep, controlnet });
    } finally {
      await model.release();
    }
  }
  if (!init) return pipe.txt2img({ ...request, numImages: spec.batch, seed: seeds, onStep });
  const parts: GenerationResult[] = [];
  for (const [i, seed] of seeds.entries()) {
    const one = {
      ...request,
      numImages: 1,
      seed,
      image: init.image,
      strength: init.strength,
      onStep: (info: StepInfo) => onStep({ ...info, step: i * info.steps + info.step, steps: info.steps * seeds.length }),
    };
    parts.push(init.mask ? await pipe.inpaint({ ...one, mask: init.mask, maskBlur: init.maskBlur }) : await pipe.img2img(one));
  }
  return { ...parts[0], images: parts.flatMap((p) => p.images), truncated: [...new Set(parts.flatMap((p) => p.truncated))] };
}

export function createJobRunner(ctx: RunnerContext): JobRunner {
  return async (job) => {
    const { spec } = job;
    const t0 = performance.now();
    const lease = await ctx.pool.acquire(spec.model);
    try {
      const { pipe } = lease;
      const loadMs = performance.now() - t0;
      await applyLoras(pipe, spec.loras);
      const { width, height } = jobSize(pipe, spec);
      const refusal = ctx.admission?.refusal(spec.model, { width, height, batch: spec.batch });
      if (refusal) throw new ApiError(422, refusal);
      const f = pipe.vaeScaleFactor;
      const previews =
        ctx.previews === false ? null : new PreviewMaker(pipe, { c: pipe.latentChannels, h: height / f, w: width / f }, ctx.previews);
      const t1 = performance.now();
      const { sampling } = spec;
      const request = {
        prompt: spec.prompt,
        negativePrompt: spec.negativePrompt,
        width,
        height,
        steps: sampling.steps,
        timesteps: sampling.timesteps,
        scheduler: sampling.scheduler,
        guidanceScale: sampling.guidanceScale,
        eta: sampling.eta,
        signal: job.signal,
      };
      const result = await generate(pipe, spec, request, stepReporter(job, previews), {
        executionProvider: ctx.pool.runtime().device,
        intraOpThreads: ctx.pool.runtime().threads,
      });
      const generateMs = performance.now() - t1;
      const who = await identity(ctx, pipe, spec);
      const meta = {
        prompt: spec.prompt,
        negativePrompt: spec.negativePrompt,
        steps: sampling.steps,
        scheduler: sampling.scheduler,
        guidanceScale: sampling.guidanceScale,
        seed: spec.seed,
        eta: sampling.eta,
        strength: spec.init?.strength,
        // As sd-webui-controlnet records a unit (Module none: the hint image was used as given).
        extra: spec.control && { 'ControlNet 0': controlNetUnitText(spec.control) },
        batchSize: spec.batch,
        version: ctx.version,
        ...who,
      };
      const stored = await storeResult(ctx, job, result, meta);
      for (const p of result.truncated) job.warnings.push(`prompt truncated to the text encoder's 77 tokens: ${JSON.stringify(p)}`);
      job.images = stored.map((s) => s.ref);
      const timings = { loadMs: Math.round(loadMs), generateMs: Math.round(generateMs), totalMs: Math.round(performance.now() - t0) };
      job.parameters = { text: stored[0]?.text ?? '', timesteps: [...result.timesteps], timings };
      job.emit('done', { images: job.images, parameters: job.parameters.text, seed: String(spec.seed), timings, warnings: job.warnings });
    } finally {
      lease.release();
    }
  };
}
