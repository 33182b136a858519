/**
 * Admission control for POST /api/generate: a conservative estimate of the memory one job needs beyond the
 * loaded model (activations), from the model's configs, compared with what the server can give a job.
 *
 * With f the VAE factor, P = (H/f)·(W/f) latent cells, N = 2·batch UNet samples (classifier-free guidance
 * doubles the batch; assumed always, to stay conservative), 4-byte floats:
 *   unet   = K · N · P · 4 · Σ_i C_unet[i] / 4^i                   (conv activations, level i at P/4^i cells)
 *   attn   = N · heads · T² · 4, T = P/4^i at the largest attention level   (the score matrix; only where it is
 *            materialized: not on CPU, where ORT's MultiHeadAttention does not hold it — measured below)
 *   vae    = K · batch · D · 4 · f² · Σ_j C_vae[j] / 4^j  + batch · D² · 4 · 2   (decoder, D = decoded latent
 *            cells: P, or (2·tile)² when the decode is tiled — above twice the VAE tile, as LatentDecoder does;
 *            plus its mid-block attention scores)
 *   images = batch · 3 · H · W · 4 · 2                             (float image + the tiled accumulation)
 *   total  = FIXED + unet + attn + vae + images
 * K and FIXED = 256 MiB are calibrated on the built-in emoji model (f = 4, UNet [64,128,128], VAE
 * [32,64,64]) on CPU: peak RSS growth over the loaded model of one 1-step generation, measured
 * (process.resourceUsage().maxRSS in a subprocess): 128² b1 92 MiB, 256² b1 99, 256² b2 143, 256² cfg 134,
 * 384² b1 144, 512² cfg 294, 512² b2 339, 640² b1 233 MiB, 1024² cfg 1.03 GiB; and the server's whole
 * process running the largest request it accepted, 2048² b1 with cfg, 4 steps: VmHWM 7.52 GiB, about 7.2 GiB
 * over the loaded model. Growth rises faster than the cell count at that size (1024² → 2048² is 4× the
 * cells and ~7× the memory), so the large point decides: K = 32 put it at 103 % of the estimate; K = 44 puts it
 * at ~76 % and every smaller measurement at or below ~40 %.
 */
import { join } from 'node:path';
import { constrainedMemory, totalmem } from './memory-info.js';
import { readComponentConfig } from '../loaders/diffusers-folder.js';
import type { ModelEntry } from './model-registry.js';

export const ACTIVATION_FACTOR = 44;
export const FIXED_JOB_BYTES = 256 * 2 ** 20;

export interface MemoryModelConfig {
  vaeFactor: number;
  unetChannels: number[];
  vaeChannels: number[];
  /** Heads per UNet level. */
  heads: number[];
  /** UNet levels with attention (cross-attention down blocks, and the mid block at the last level). */
  attentionLevels: number[];
  /** Latent cells of the VAE tile (tiled decoding above twice this). */
  vaeTile: number;
}

/** SD 1.x, for models whose configs cannot be read before loading (single-file checkpoints). */
export const SD15_MEMORY_CONFIG: MemoryModelConfig = {
  vaeFactor: 8,
  unetChannels: [320, 640, 1280, 1280],
  vaeChannels: [128, 256, 512, 512],
  heads: [8, 8, 8, 8],
  attentionLevels: [0, 1, 2, 3],
  vaeTile: 64,
};

const numbers = (v: unknown): number[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'number') ? v : undefined);

/** The estimator's view of a diffusers folder's unet/ and vae/ configs. */
export function memoryConfigFrom(unet: Record<string, unknown>, vae: Record<string, unknown>): MemoryModelConfig {
  const unetChannels = numbers(unet.block_out_channels) ?? SD15_MEMORY_CONFIG.unetChannels;
  const vaeChannels = numbers(vae.block_out_channels) ?? SD15_MEMORY_CONFIG.vaeChannels;
  const vaeFactor = 2 ** (vaeChannels.length - 1);
  const rawHeads = unet.num_attention_heads ?? unet.attention_head_dim ?? 8;
  const heads = unetChannels.map((_, i) => (Array.isArray(rawHeads) ? Number(rawHeads[i] ?? rawHeads.at(-1)) : Number(rawHeads)) || 8);
  const down = Array.isArray(unet.down_block_types) ? unet.down_block_types.map(String) : unetChannels.map(() => 'CrossAttnDownBlock2D');
  const attentionLevels = down.flatMap((t, i) => (/Attn/.test(t) ? [i] : []));
  if (String(unet.mid_block_type ?? 'UNetMidBlock2DCrossAttn').includes('Attn')) attentionLevels.push(unetChannels.length - 1);
  const sample = vae.sample_size;
  const vaeTile = Math.floor((Array.isArray(sample) ? Math.min(...sample.map(Number)) : Number(sample ?? 512)) / vaeFactor) || 64;
  return { vaeFactor, unetChannels, vaeChannels, heads, attentionLevels: [...new Set(attentionLevels)], vaeTile };
}

const configCache = new Map<string, MemoryModelConfig>();

/** The model's memory config (read once per model; SD 1.x when its configs cannot be read). */
export function memoryConfigOf(model: ModelEntry): MemoryModelConfig {
  let config = configCache.get(model.path);
  if (!config) {
    try {
      config = memoryConfigFrom(readComponentConfig(join(model.path, 'unet')), readComponentConfig(join(model.path, 'vae')));
    } catch {
      config = SD15_MEMORY_CONFIG;
    }
    configCache.set(model.path, config);
  }
  return config;
}

export interface JobShape {
  width: number;
  height: number;
  batch: number;
}

/** Bytes one job needs beyond its loaded model (see the formula above). `attentionScores`: false on CPU. */
export function estimateJobBytes(config: MemoryModelConfig, { width, height, batch }: JobShape, { attentionScores = true } = {}): number {
  const f = config.vaeFactor;
  const h = Math.ceil(height / f);
  const w = Math.ceil(width / f);
  const cells = h * w;
  const n = 2 * batch;
  const unetPerCell = 4 * config.unetChannels.reduce((s, c, i) => s + c / 4 ** i, 0);
  const unet = ACTIVATION_FACTOR * n * cells * unetPerCell;
  let attn = 0;
  if (attentionScores)
    for (const i of config.attentionLevels) attn = Math.max(attn, n * (config.heads[i] ?? 8) * (cells / 4 ** i) ** 2 * 4);
  const tiled = h > 2 * config.vaeTile || w > 2 * config.vaeTile;
  const decoded = tiled ? Math.min(cells, (2 * config.vaeTile) ** 2) : cells;
  const vaePerCell = 4 * f * f * config.vaeChannels.reduce((s, c, j) => s + c / 4 ** j, 0);
  // The decoder's mid-block attention (one head) runs at the latent size.
  const vae = ACTIVATION_FACTOR * batch * decoded * vaePerCell + (attentionScores ? batch * decoded ** 2 * 4 * 2 : 0);
  const images = batch * 3 * width * height * 4 * 2;
  return FIXED_JOB_BYTES + unet + attn + vae + images;
}

export const GiB = 2 ** 30;
export const formatGiB = (bytes: number): string => `${(bytes / GiB).toFixed(1)} GiB`;

/** Memory the process may use: the cgroup limit when there is one, else the machine's, less 10 %. */
export function usableMemoryBytes(): number {
  const limit = constrainedMemory();
  const total = totalmem();
  return 0.9 * (limit > 0 && limit < total ? limit : total);
}

/** Admission: usable memory less what the loaded models hold, against each job's estimate. */
export class MemoryAdmission {
  readonly usableBytes: number;

  constructor(
    private readonly pool: { loadedBytes(): number; runtime(): { device: string } },
    usableBytes?: number,
  ) {
    this.usableBytes = usableBytes ?? usableMemoryBytes();
  }

  /** What one job may use now. */
  jobLimitBytes(): number {
    return Math.max(0, this.usableBytes - this.pool.loadedBytes());
  }

  estimate(model: ModelEntry, shape: JobShape): number {
    return estimateJobBytes(memoryConfigOf(model), shape, { attentionScores: this.pool.runtime().device !== 'cpu' });
  }

  /** The refusal message when the job cannot fit, else undefined. */
  refusal(model: ModelEntry, shape: JobShape): string | undefined {
    const need = this.estimate(model, shape);
    const limit = this.jobLimitBytes();
    if (need <= limit) return undefined;
    return `this job needs about ${formatGiB(need)} (${shape.width}×${shape.height}, batch ${shape.batch}); the server can give a job ${formatGiB(limit)}: lower the size or the batch`;
  }
}
