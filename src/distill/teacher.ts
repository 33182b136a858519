/**
 * The frozen side of distillation: the teacher's components, its noise schedule and prediction type, the VAE
 * that turns training images into latents (as a cacheable LatentEncoder) and the shapes the training graph needs.
 */
import { DistillConfigError } from './errors.js';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import type { LatentEncoder } from '../data/types.js';
import { StableDiffusionPipeline } from '../pipelines/pipeline.js';
import { loadComponents, vaeScaleFactor, type PipelineComponents } from '../pipelines/components.js';
import { createScheduler } from '../schedulers/index.js';
import type { PredictionType } from '../schedulers/config.js';
import type { NoiseSchedule } from '../schedulers/noise-schedule.js';
import { sessionOptionsFor, type RuntimeOptions } from '../runtime/device.js';

export interface Teacher {
  readonly components: PipelineComponents;
  /** Encodes prompts and images (its UNet is not used for training). */
  readonly pipeline: StableDiffusionPipeline;
  readonly schedule: NoiseSchedule;
  readonly predictionType: PredictionType;
  /** Training image size in pixels. */
  readonly resolution: number;
  /** [C, h, w] of one latent. */
  readonly latentShape: [number, number, number];
  readonly encoder: LatentEncoder;
  readonly scalingFactor: number;
  readonly shiftFactor: number;
}

export async function openTeacher(path: string, resolution?: number, runtime?: RuntimeOptions): Promise<Teacher> {
  const components = loadComponents(path);
  if (components.unet.config.in_channels !== components.unet.config.out_channels) {
    throw new DistillConfigError(
      `${path}: the UNet has ${components.unet.config.in_channels} input channels (an inpainting model?); distillation needs a text-to-image UNet`,
    );
  }
  const pipeline = StableDiffusionPipeline.fromComponents(components, sessionOptionsFor(runtime));
  const scheduler = createScheduler('ddim', components.schedulerConfig);
  const factor = vaeScaleFactor(components.vae.config);
  const size = resolution ?? defaultResolution(components, factor);
  const unetFactor = 2 ** (components.unet.config.block_out_channels.length - 1);
  if (size % (factor * unetFactor) !== 0)
    throw new DistillConfigError(
      `--resolution: ${size} must be a multiple of ${factor * unetFactor} (VAE factor ${factor} × the UNet's downsampling ${unetFactor})`,
    );
  const { scaling_factor: scalingFactor, shift_factor: shiftFactor } = components.vae.config;
  const encoder: LatentEncoder = {
    identity: vaeIdentity(components),
    encodeImages: (pixels, n, h, w) => pipeline.encodeImages(pixels, n, h, w),
  };
  return {
    components,
    pipeline,
    schedule: scheduler.schedule,
    predictionType: scheduler.config.prediction_type,
    resolution: size,
    latentShape: [pipeline.latentChannels, size / factor, size / factor],
    encoder,
    scalingFactor,
    shiftFactor: shiftFactor ?? 0,
  };
}

function defaultResolution(c: PipelineComponents, factor: number): number {
  const s = c.unet.config.sample_size;
  const side = Array.isArray(s) ? s[0] : s;
  return (side ?? 64) * factor;
}

/**
 * Identifies the VAE for the latent cache: its config and its weight file's path, size and modification time
 * (hashing gigabytes on every start would cost more than the cache saves; a changed file changes its mtime).
 */
function vaeIdentity(c: PipelineComponents): string {
  const origin = c.vae.source.origin;
  let stamp = '';
  try {
    const st = statSync(origin);
    stamp = `${st.size}:${st.mtimeMs}`;
  } catch {
    stamp = 'in-memory';
  }
  return createHash('sha256').update(JSON.stringify(c.vae.config)).update(origin).update(stamp).digest('hex').slice(0, 16);
}
