/**
 * Text-to-image: initial latents from the seeded generator (diffusers' prepare_latents: randn × the
 * scheduler's init_noise_sigma), the denoising loop, then the VAE decode.
 */
import { denoise } from './denoise.js';
import { prepareControl, type ControlNetRequest } from './controlnet.js';
import { planFor, prepareGeneration, toImages, type GenerationRequest } from './generation.js';
import type { GeneratedImage } from './image.js';
import type { StableDiffusionPipeline } from './pipeline.js';
import { pipelineIdentity } from './identity.js';

export interface GenerationResult {
  images: GeneratedImage[];
  /** Final latents [n, 4, h, w] (diffusion scale). */
  latents: Float32Array;
  /** Prompts that were cut at 77 tokens. */
  truncated: string[];
  timesteps: readonly number[];
  /** Components released during the call by the pipeline's offload mode (compiled again when next needed). */
  released: string[];
}

export interface Txt2ImgRequest extends GenerationRequest {
  /** Conditions the UNet on a hint image through a ControlNet (default size: the image's). */
  controlnet?: ControlNetRequest;
}

export async function txt2img(pipe: StableDiffusionPipeline, request: Txt2ImgRequest): Promise<GenerationResult> {
  const control = request.controlnet && (await prepareControl(pipe, request.controlnet, request));
  const p = await prepareGeneration(pipe, control ? { ...request, width: control.width, height: control.height } : request);
  const f = pipe.vaeScaleFactor;
  const [h, w] = [p.height / f, p.width / f];
  const plan = planFor(p.scheduler, request);
  const noise = p.generator.randn([p.batch, pipe.latentChannels, h, w]);
  const sigma = plan.initNoiseSigma;
  const latents = await denoise({
    scheduler: p.scheduler,
    timesteps: plan.timesteps,
    firstIndex: 0,
    latents: sigma === 1 ? noise : noise.map((v) => v * sigma),
    batch: p.batch,
    unet: control ? control.unetCall(p, h, w, plan.timesteps.length) : (x, n, t) => pipe.predictNoise(x, n, h, w, t, p.cond),
    guidanceScale: p.guidanceScale,
    cfg: p.cfg,
    guidanceRescale: request.guidanceRescale,
    eta: request.eta,
    generator: p.generator,
    signal: request.signal,
    onStep: request.onStep,
  });
  const decoded = await pipe.decodeFinal(latents, p.batch, h, w, request.decode);
  const images = toImages(decoded, p.batch, p.height, p.width, {
    ...generationParameters(request, p.scheduler.name, plan.timesteps, pipe),
    ...control?.parameters,
  });
  return { images, latents, truncated: p.truncated, timesteps: plan.timesteps, released: pipe.takeReleased() };
}

/** What a result records about how it was made (PNG metadata, JSON sidecars; GeneratedImage.parametersText()). */
export function generationParameters(
  r: GenerationRequest,
  scheduler: string,
  timesteps: readonly number[],
  pipe?: StableDiffusionPipeline,
): Record<string, unknown> {
  const id = pipe ? pipelineIdentity(pipe) : undefined;
  return {
    prompt: r.prompt,
    negativePrompt: r.negativePrompt ?? '',
    steps: timesteps.length,
    scheduler,
    guidanceScale: r.guidanceScale ?? 1,
    guidanceRescale: r.guidanceRescale,
    eta: r.eta,
    seed: String(r.seed ?? 0),
    // one seed per image (a list seed, e.g. batchSeeds): image i's is seeds[i]
    seeds: Array.isArray(r.seed) ? r.seed.map(String) : undefined,
    numImages: r.numImages ?? 1,
    timesteps: [...timesteps],
    model: id?.model,
    loras: id?.loras,
  };
}
