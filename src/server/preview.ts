/**
 * Step previews: the scheduler's x0 prediction decoded to a small JPEG data URL. With a TAESD folder in the
 * model the tiny decoder does it; otherwise the model's own VAE on latents average-pooled to at most
 * 32 cells a side (256 px for SD), which keeps the decode a fraction of a full one.
 *
 * Previews must not slow the run much, so they are budgeted: time spent decoding previews is kept under
 * `costRatio` (default 25 %) of the time spent on denoising steps so far. A preview that would exceed the
 * budget is skipped (a fast model gets one per step; a slow VAE gets one every few steps, and the one-off
 * session compile is paid back over later steps). The last step gets none: the final image follows it.
 */
import sharp from 'sharp';
import { GeneratedImage } from '../pipelines/image.js';
import type { StableDiffusionPipeline } from '../pipelines/pipeline.js';

export interface PreviewOptions {
  /** Largest latent side decoded by the full VAE (TAESD gets twice this). */
  maxLatentSide?: number;
  /** Preview decoding time allowed per unit of step time. */
  costRatio?: number;
}

/** Average-pools one latent image [c,h,w] by an integer factor (partial windows at the edges are dropped). */
export function poolLatents(
  latents: Float32Array,
  c: number,
  h: number,
  w: number,
  factor: number,
): { data: Float32Array; h: number; w: number } {
  if (factor <= 1) return { data: latents, h, w };
  const oh = Math.max(1, Math.floor(h / factor));
  const ow = Math.max(1, Math.floor(w / factor));
  const out = new Float32Array(c * oh * ow);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        let sum = 0;
        let count = 0;
        for (let dy = 0; dy < factor && y * factor + dy < h; dy++) {
          for (let dx = 0; dx < factor && x * factor + dx < w; dx++) {
            sum += latents[(ch * h + y * factor + dy) * w + x * factor + dx];
            count++;
          }
        }
        out[(ch * oh + y) * ow + x] = sum / count;
      }
    }
  }
  return { data: out, h: oh, w: ow };
}

export class PreviewMaker {
  private stepMs = 0;
  private previewMs = 0;
  private readonly maxSide: number;
  private readonly costRatio: number;
  readonly decoder: 'taesd' | 'vae';

  constructor(
    private readonly pipe: StableDiffusionPipeline,
    /** Latent shape of one image. */
    private readonly shape: { c: number; h: number; w: number },
    options: PreviewOptions = {},
  ) {
    this.decoder = pipe.decoder.hasTinyDecoder ? 'taesd' : 'vae';
    this.maxSide = (options.maxLatentSide ?? 32) * (this.decoder === 'taesd' ? 2 : 1);
    this.costRatio = options.costRatio ?? 0.25;
  }

  /** Records a denoising step's duration (what the preview budget is measured against). */
  addStepTime(ms: number): void {
    this.stepMs += ms;
  }

  /** Whether a preview now stays within the budget. */
  get affordable(): boolean {
    return this.previewMs <= this.costRatio * this.stepMs;
  }

  /** The first image's x0 prediction as a JPEG data URL with its size. */
  async render(predOriginal: Float32Array): Promise<{ dataUrl: string; width: number; height: number }> {
    const started = performance.now();
    try {
      const { c, h, w } = this.shape;
      const first = predOriginal.subarray(0, c * h * w);
      const pooled = poolLatents(first, c, h, w, Math.ceil(Math.max(h, w) / this.maxSide));
      const decoded = await this.pipe.decodeLatents(pooled.data, 1, pooled.h, pooled.w, { fast: this.decoder === 'taesd', tiling: false });
      const f = decoded.length / (3 * pooled.h * pooled.w);
      const scale = Math.round(Math.sqrt(f));
      const [width, height] = [pooled.w * scale, pooled.h * scale];
      const image = GeneratedImage.fromNCHW(decoded, width, height);
      const jpeg = await sharp(image.pixels, { raw: { width, height, channels: 3 } })
        .jpeg({ quality: 70 })
        .toBuffer();
      return { dataUrl: `data:image/jpeg;base64,${jpeg.toString('base64')}`, width, height };
    } finally {
      this.previewMs += performance.now() - started;
    }
  }
}
