/**
 * What every generation mode shares: validating the request, encoding prompts into the batch layout the
 * UNet sees ([negatives; prompts] with guidance), SDXL time ids, the scheduler from the model's own
 * scheduler_config, and turning decoded images into results.
 */
import { createScheduler, type Scheduler } from '../schedulers/index.js';
import type { NoiseSource, SchedulerPlan } from '../schedulers/scheduler.js';
import { SchedulerOptionError } from '../schedulers/config.js';
import { concatFloat32 } from '../util/float32.js';
import { noiseSourceFor, type Seed } from './seeds.js';
import { GenerationError } from './generation-error.js';
import { usesGuidance } from './guidance.js';
import type { StepInfo } from './denoise.js';
import type { TilingMode } from './latent-decoder.js';
import { GeneratedImage } from './image.js';
import type { StableDiffusionPipeline, UNetConditioning } from './pipeline.js';
import type { LongPromptMode, PromptEmbeddings, PromptEncodeOptions } from './prompt-encoding.js';

export interface GenerationRequest {
  prompt: string | string[];
  negativePrompt?: string | string[];
  /** Precomputed embeddings instead of prompts (diffusers' prompt_embeds / negative_prompt_embeds). */
  promptEmbeds?: PromptEmbeddings;
  negativePromptEmbeds?: PromptEmbeddings;
  /** Images per prompt (default 1). */
  numImages?: number;
  width?: number;
  height?: number;
  steps?: number;
  /**
   * Explicit timesteps, largest first, instead of the scheduler's own plan for `steps` (diffusers' `timesteps=`):
   * for samplers that take them (lcm, tcd, dmd); e.g. the phase ends a PCM LoRA was distilled for. When `steps` is
   * given too it must equal their count.
   */
  timesteps?: readonly number[];
  /** A scheduler name (tdd, tcd, lcm, ddim, euler, dpmsolver++, ...); default: tdd. */
  scheduler?: string;
  /** Extra scheduler_config fields (e.g. tdd_train_step, special_jump). */
  schedulerConfig?: Record<string, unknown>;
  guidanceScale?: number;
  guidanceRescale?: number;
  /** Stochasticity: DDIM/TDD η, TCD γ. */
  eta?: number;
  /** One seed for the batch, or one per image (diffusers' list of generators). */
  seed?: Seed | readonly Seed[];
  longPrompts?: LongPromptMode;
  /**
   * A1111 emphasis syntax in prompt and negative prompt: `(word)` ×1.1, `((word))` ×1.21, `(word:1.3)`,
   * `[word]` ÷1.1, `\(` `\)` `\[` `\]` literal, `BREAK` starts a new 75-token chunk (default true; false
   * encodes the text as written). Prompts without the syntax encode the same either way.
   */
  promptWeighting?: boolean;
  /** VAE decoding: `fast` uses the TAESD decoder (pipe.useTinyDecoder first); `tiling` as LatentDecoder. */
  decode?: { fast?: boolean; tiling?: TilingMode };
  signal?: AbortSignal;
  /** Called after every step with the latents and the x0 preview. */
  onStep?: (info: StepInfo) => void | Promise<void>;
}

export interface PreparedGeneration {
  batch: number;
  cfg: boolean;
  guidanceScale: number;
  cond: UNetConditioning;
  scheduler: Scheduler<any, any>;
  generator: NoiseSource;
  height: number;
  width: number;
  truncated: string[];
}

export { GenerationError };

const asList = (x: string | string[] | undefined, fallback: string): string[] =>
  x === undefined ? [fallback] : Array.isArray(x) ? x : [x];

/**
 * The step image sizes must be multiples of: the VAE's factor times the UNet's downsampling, 2^(levels − 1)
 * (each down block but the last halves the latent, and the up path must land on the same sizes).
 * 8 × 8 = 64 for SD1.5/SDXL-style UNets with 4 levels; 4 × 4 = 16 for the built-in emoji model.
 */
export function sizeMultiple(pipe: StableDiffusionPipeline): number {
  const levels = pipe.components.unet.config.down_block_types.length;
  return pipe.vaeScaleFactor * 2 ** Math.max(0, levels - 1);
}

/** Why `value` cannot be an image side of this model (`name` is how the caller calls it), or undefined. The one size check, shared by the library and the CLI. */
export function sizeProblem(pipe: StableDiffusionPipeline, name: string, value: number): string | undefined {
  const m = sizeMultiple(pipe);
  if (Number.isInteger(value) && value > 0 && value % m === 0) return undefined;
  return `${name} must be a positive multiple of ${m} for this model (its VAE factor ${pipe.vaeScaleFactor} × the UNet's downsampling ${m / pipe.vaeScaleFactor}) (got ${value})`;
}

export function checkSize(pipe: StableDiffusionPipeline, width: number, height: number): void {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    const problem = sizeProblem(pipe, name, v);
    if (problem) throw new GenerationError(problem);
  }
}

export async function prepareGeneration(pipe: StableDiffusionPipeline, r: GenerationRequest): Promise<PreparedGeneration> {
  const sampleSize = Number(pipe.components.unet.config.sample_size ?? 64) * pipe.vaeScaleFactor;
  const width = r.width ?? sampleSize;
  const height = r.height ?? sampleSize;
  checkSize(pipe, width, height);
  stepCount(r);
  const numImages = r.numImages ?? 1;
  if (!Number.isInteger(numImages) || numImages < 1) throw new GenerationError(`numImages must be a positive integer (got ${numImages})`);
  const guidanceScale = r.guidanceScale ?? 1;
  const cfg = usesGuidance(guidanceScale);
  const prompts = asList(r.prompt, '');
  const negatives = asList(r.negativePrompt, '');
  if (negatives.length !== 1 && negatives.length !== prompts.length) {
    throw new GenerationError(`negativePrompt has ${negatives.length} entries for ${prompts.length} prompts`);
  }
  const encodeOptions: PromptEncodeOptions = { longPrompts: r.longPrompts, weighting: r.promptWeighting ?? true };
  let positive = r.promptEmbeds ?? (await pipe.encodePrompts(prompts, encodeOptions));
  const batchPrompts = positive.dims[0];
  let negative: PromptEmbeddings | undefined;
  if (cfg) negative = r.negativePromptEmbeds ?? (await encodeNegatives(pipe, negatives, batchPrompts, positive, encodeOptions));
  // A negative prompt in more chunks than the prompt (long or with BREAK): the prompt is padded with empty chunks too.
  if (negative && !r.promptEmbeds && negative.dims[1] > positive.dims[1] && positive.chunkLength)
    positive = await pipe.encodePrompts(prompts, { ...encodeOptions, minChunks: Math.ceil(negative.dims[1] / positive.chunkLength) });
  if (negative && negative.dims[1] !== positive.dims[1]) {
    throw new GenerationError(
      `prompt and negative prompt encode to ${positive.dims[1]} and ${negative.dims[1]} tokens; with long-prompt chunking both must need the same number of chunks`,
    );
  }
  const cond = layoutConditioning(pipe, positive, negative, numImages, width, height);
  await pipe.releaseAfter('encoded');
  const scheduler = createScheduler(r.scheduler ?? 'tdd', { ...pipe.components.schedulerConfig, ...r.schedulerConfig });
  return {
    batch: batchPrompts * numImages,
    cfg,
    guidanceScale,
    cond,
    scheduler,
    generator: noiseSourceFor(r.seed, batchPrompts * numImages),
    height,
    width,
    truncated: [...positive.truncated, ...(negative?.truncated ?? [])],
  };
}

async function encodeNegatives(
  pipe: StableDiffusionPipeline,
  negatives: string[],
  batch: number,
  positive: PromptEmbeddings,
  options: PromptEncodeOptions,
): Promise<PromptEmbeddings> {
  const list = negatives.length === 1 ? Array<string>(batch).fill(negatives[0]) : negatives;
  // SDXL's force_zeros_for_empty_prompt: an empty negative prompt is zero conditioning.
  if (pipe.components.forceZerosForEmptyPrompt && list.every((n) => n === '')) {
    return {
      embeds: new Float32Array(positive.embeds.length),
      dims: positive.dims,
      pooled: positive.pooled && new Float32Array(positive.pooled.length),
      pooledDims: positive.pooledDims,
      truncated: [],
    };
  }
  // Padded with empty chunks to the prompt's chunk count (A1111 pads the shorter of the two the same way).
  const minChunks = positive.chunkLength ? Math.round(positive.dims[1] / positive.chunkLength) : 1;
  return pipe.encodePrompts(list, { ...options, minChunks });
}

/** Repeats each prompt's rows numImages times (diffusers' repeat_interleave) and stacks [uncond; cond]. */
function layoutConditioning(
  pipe: StableDiffusionPipeline,
  positive: PromptEmbeddings,
  negative: PromptEmbeddings | undefined,
  numImages: number,
  width: number,
  height: number,
): UNetConditioning {
  const repeat = (data: Float32Array, rows: number): Float32Array => {
    const per = data.length / rows;
    const out = new Float32Array(data.length * numImages);
    for (let r = 0; r < rows; r++)
      for (let k = 0; k < numImages; k++) out.set(data.subarray(r * per, (r + 1) * per), (r * numImages + k) * per);
    return out;
  };
  const rows = positive.dims[0];
  const parts = negative ? [negative, positive] : [positive];
  const embeds = concatFloat32(parts.map((p) => repeat(p.embeds, rows)));
  const n = rows * numImages * parts.length;
  const cond: UNetConditioning = { embeds, dims: [n, positive.dims[1], positive.dims[2]] };
  if (pipe.family === 'sdxl') {
    cond.pooled = concatFloat32(parts.map((p) => repeat(p.pooled!, rows)));
    // add_time_ids: original size, crop top-left, target size (diffusers' defaults: the output size, no crop).
    cond.timeIds = new Float32Array(n * 6);
    for (let i = 0; i < n; i++) cond.timeIds.set([height, width, 0, 0, height, width], i * 6);
  }
  return cond;
}

/** Decoded images [n,3,H,W] in [-1,1] → results with their parameters. */
export function toImages(
  decoded: Float32Array,
  n: number,
  height: number,
  width: number,
  parameters: Record<string, unknown>,
): GeneratedImage[] {
  const per = 3 * height * width;
  return Array.from({ length: n }, (_, i) =>
    GeneratedImage.fromNCHW(decoded.subarray(i * per, (i + 1) * per), width, height, { ...parameters, index: i }),
  );
}

/** The number of steps a request asks for: its timesteps' count, else `steps` (default 4); checked. */
export function stepCount(r: Pick<GenerationRequest, 'steps' | 'timesteps'>): number {
  const steps = r.steps ?? r.timesteps?.length ?? 4;
  if (!Number.isInteger(steps) || steps < 1 || steps > 1000)
    throw new GenerationError(`steps must be an integer in [1, 1000] (got ${steps})`);
  if (r.timesteps && r.timesteps.length !== steps)
    throw new GenerationError(`steps (${steps}) and timesteps (${r.timesteps.length} of them) disagree; give one of them`);
  return steps;
}

/** The scheduler's plan for a request: its explicit timesteps, or the scheduler's own for its step count. */
export function planFor(scheduler: Scheduler<any, any>, r: Pick<GenerationRequest, 'steps' | 'timesteps'>): SchedulerPlan {
  const steps = stepCount(r);
  try {
    return scheduler.setTimesteps(steps, { timesteps: r.timesteps });
  } catch (e) {
    if (r.timesteps && e instanceof SchedulerOptionError) throw new GenerationError(`timesteps: ${e.message}`);
    throw e;
  }
}
