/**
 * Image-to-image as diffusers' StableDiffusionImg2ImgPipeline: the input image's VAE latents (a sample of
 * the latent distribution, drawn from the run's generator first), noised to the timestep where the
 * strength-cut schedule starts, then the usual denoising loop from that plan index. Also the pieces
 * inpainting shares (preparation, image latents, the loop over the cut schedule, decoding).
 */
import { denoise, type DenoiseOptions } from './denoise.js';
import {
  GenerationError,
  planFor,
  prepareGeneration,
  stepCount,
  toImages,
  type GenerationRequest,
  type PreparedGeneration,
} from './generation.js';
import { loadImageTensor, type ImageInput, type ImageTensor } from './image-input.js';
import type { StableDiffusionPipeline } from './pipeline.js';
import { generationParameters, type GenerationResult } from './txt2img.js';
import type { NoiseSource } from '../schedulers/scheduler.js';

export interface Img2ImgRequest extends GenerationRequest {
  /** The starting image; resized to width × height when given (default: its own size, rounded down to the VAE factor). */
  image: ImageInput;
  /** How far into the noise the image is pushed, 0..1 (default 0.8): the last ⌊steps·strength⌋ steps run. */
  strength?: number;
}

export interface Img2ImgResult extends GenerationResult {
  /** The image's latents before noising (VAE sample × scaling factor, repeated over the batch). */
  initLatents: Float32Array;
  /** Plan index of the first step that ran (diffusers' t_start). */
  startIndex: number;
}

/** A generation that starts from an image: the common preparation plus the cut schedule. */
export interface ImageGeneration extends PreparedGeneration {
  image: ImageTensor;
  /** Latent height and width. */
  h: number;
  w: number;
  steps: number;
  strength: number;
  /** The full plan's timesteps, and the ones that run: plan[startIndex:]. */
  planTimesteps: readonly number[];
  timesteps: readonly number[];
  startIndex: number;
}

/** diffusers' get_timesteps: the last ⌊n·strength⌋ of the n planned timesteps, and where they start. */
export function strengthSchedule(planTimesteps: readonly number[], strength: number): { timesteps: number[]; startIndex: number } {
  const n = planTimesteps.length;
  const initTimestep = Math.min(Math.floor(n * strength), n);
  const startIndex = Math.max(n - initTimestep, 0);
  return { timesteps: planTimesteps.slice(startIndex), startIndex };
}

export async function prepareImageGeneration(
  pipe: StableDiffusionPipeline,
  request: Img2ImgRequest,
  defaultStrength: number,
): Promise<ImageGeneration> {
  const strength = request.strength ?? defaultStrength;
  if (!(strength >= 0 && strength <= 1)) throw new GenerationError(`strength must be in [0, 1] (got ${strength})`);
  // diffusers encodes each image with its own generator then; one shared VAE sample is what we reproduce.
  if (Array.isArray(request.seed)) throw new GenerationError('per-image seed lists are supported for text-to-image only; pass one seed');
  const f = pipe.vaeScaleFactor;
  const image = await loadImageTensor(request.image, { width: request.width, height: request.height, factor: f });
  const prepared = await prepareGeneration(pipe, { ...request, width: image.width, height: image.height });
  const steps = stepCount(request);
  const plan = planFor(prepared.scheduler, request);
  const { timesteps, startIndex } = strengthSchedule(plan.timesteps, strength);
  return {
    ...prepared,
    image,
    h: image.height / f,
    w: image.width / f,
    steps,
    strength,
    planTimesteps: plan.timesteps,
    timesteps,
    startIndex,
  };
}

/**
 * VAE latents of one image for the whole batch: latent_dist.sample(generator) = mean + std·randn (one draw
 * for the image, as diffusers' retrieve_latents), minus the shift, × scaling_factor, repeated `batch` times.
 */
export async function encodeImageLatents(
  pipe: StableDiffusionPipeline,
  image: ImageTensor,
  generator: NoiseSource,
  batch: number,
): Promise<Float32Array> {
  const { mean, std } = await pipe.encodeImages(image.data, 1, image.height, image.width);
  const f = pipe.vaeScaleFactor;
  const [h, w] = [image.height / f, image.width / f];
  const eps = generator.randn([1, mean.length / (h * w), h, w]);
  const { scaling_factor: scale, shift_factor: shift } = pipe.components.vae.config;
  const fr = Math.fround;
  // float32 at every operation, as torch computes it (a python float scalar is cast to float32)
  const [shiftF, scaleF] = [fr(shift ?? 0), fr(scale)];
  const one = mean.map((m, i) => (fr(m + fr(std[i] * eps[i])) - shiftF) * scaleF);
  return repeatBatch(one, batch);
}

export function repeatBatch(item: Float32Array, batch: number): Float32Array {
  const out = new Float32Array(item.length * batch);
  for (let b = 0; b < batch; b++) out.set(item, b * item.length);
  return out;
}

export interface ImageDenoiseHooks {
  afterStep?: DenoiseOptions['afterStep'];
  /** Extends the (scaled, CFG-doubled) latents [n,C,h,w] to the UNet's input, e.g. 9-channel inpainting. */
  unetInput?: (latents: Float32Array, n: number) => Float32Array;
}

/** The denoising loop over the cut schedule, from plan index startIndex. */
export function denoiseFrom(
  pipe: StableDiffusionPipeline,
  g: ImageGeneration,
  request: GenerationRequest,
  start: Float32Array,
  hooks: ImageDenoiseHooks = {},
): Promise<Float32Array> {
  const { unetInput } = hooks;
  return denoise({
    scheduler: g.scheduler,
    timesteps: g.timesteps,
    firstIndex: g.startIndex,
    latents: start,
    batch: g.batch,
    unet: (x, n, t) => pipe.predictNoise(unetInput ? unetInput(x, n) : x, n, g.h, g.w, t, g.cond),
    guidanceScale: g.guidanceScale,
    cfg: g.cfg,
    guidanceRescale: request.guidanceRescale,
    eta: request.eta,
    generator: g.generator,
    signal: request.signal,
    onStep: request.onStep,
    afterStep: hooks.afterStep,
  });
}

/** Decodes the final latents into results that record the mode and strength. */
export async function finishImageGeneration(
  pipe: StableDiffusionPipeline,
  g: ImageGeneration,
  request: GenerationRequest,
  latents: Float32Array,
  mode: string,
): Promise<GenerationResult> {
  const decoded = await pipe.decodeFinal(latents, g.batch, g.h, g.w, request.decode);
  const parameters = { ...generationParameters(request, g.scheduler.name, g.timesteps, pipe), mode, steps: g.steps, strength: g.strength };
  return {
    images: toImages(decoded, g.batch, g.height, g.width, parameters),
    latents,
    truncated: g.truncated,
    timesteps: g.timesteps,
    released: pipe.takeReleased(),
  };
}

/** Image-to-image; with no step to run (strength·steps < 1) the result is the image's own latents, decoded. */
export async function img2img(pipe: StableDiffusionPipeline, request: Img2ImgRequest): Promise<Img2ImgResult> {
  const g = await prepareImageGeneration(pipe, request, 0.8);
  const initLatents = await encodeImageLatents(pipe, g.image, g.generator, g.batch);
  let latents = initLatents;
  if (g.timesteps.length > 0) {
    const noise = g.generator.randn([g.batch, initLatents.length / (g.batch * g.h * g.w), g.h, g.w]);
    latents = await denoiseFrom(pipe, g, request, g.scheduler.addNoise(initLatents, noise, g.timesteps[0]));
  }
  const result = await finishImageGeneration(pipe, g, request, latents, 'img2img');
  return { ...result, initLatents, startIndex: g.startIndex };
}
