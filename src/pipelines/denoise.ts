/**
 * The denoising loop shared by text-to-image, image-to-image and inpainting: per timestep, the UNet on the
 * latents (doubled for classifier-free guidance), guidance, then the scheduler's step. Mirrors diffusers'
 * StableDiffusionPipeline loop, including which generator draws happen where, so a seed gives diffusers'
 * latents.
 */
import type { NoiseSource, Scheduler, StepResult } from '../schedulers/scheduler.js';
import { concatFloat32 } from '../util/float32.js';
import { guide } from './guidance.js';

/** Runs the UNet: latents [n,C,h,w] (n = batch or 2·batch) at one timestep → noise prediction. */
export type UNetCall = (latents: Float32Array, batch: number, timestep: number) => Promise<Float32Array>;

export interface StepInfo {
  step: number;
  steps: number;
  timestep: number;
  /** Latents after this step. */
  latents: Float32Array;
  /** The step's x0 estimate (a cheap preview), when the scheduler gives one. */
  predOriginal?: Float32Array;
}

export interface DenoiseOptions {
  scheduler: Scheduler<any, any>;
  /** Timesteps to run (a suffix of the plan for image-to-image) and the plan index of the first one. */
  timesteps: readonly number[];
  firstIndex: number;
  latents: Float32Array;
  batch: number;
  unet: UNetCall;
  guidanceScale: number;
  cfg: boolean;
  guidanceRescale?: number;
  eta?: number;
  generator: NoiseSource;
  signal?: AbortSignal;
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** Inpainting with a standard UNet: re-imposes the known region after each step. */
  afterStep?: (latents: Float32Array, index: number) => Float32Array;
}

/** Step arguments as diffusers' prepare_extra_step_kwargs passes them: η only to samplers that take it. */
const TAKES_ETA = new Set(['ddim', 'tcd', 'tdd']);

export async function denoise(o: DenoiseOptions): Promise<Float32Array> {
  let latents = o.latents;
  for (const [i, t] of o.timesteps.entries()) {
    throwIfAborted(o.signal);
    const scaled = o.scheduler.scaleModelInput(latents, t);
    const input = o.cfg ? concatFloat32([scaled, scaled]) : scaled;
    const output = await o.unet(input, o.cfg ? 2 * o.batch : o.batch, t);
    const eps = o.cfg ? guide(output, o.guidanceScale, o.guidanceRescale ?? 0, o.batch) : output;
    const result: StepResult = o.scheduler.step(eps, t, latents, {
      eta: TAKES_ETA.has(o.scheduler.name) ? o.eta : undefined,
      generator: o.generator,
      batchSize: o.batch,
      stepIndex: o.firstIndex + i,
    });
    latents = o.afterStep ? o.afterStep(result.prevSample, o.firstIndex + i) : result.prevSample;
    await o.onStep?.({ step: i, steps: o.timesteps.length, timestep: t, latents, predOriginal: result.predOriginal });
  }
  throwIfAborted(o.signal);
  return latents;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new DOMException('generation was aborted', 'AbortError');
}
