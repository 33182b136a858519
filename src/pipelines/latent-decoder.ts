/**
 * Latents → images for a pipeline: the full AutoencoderKL decoder (tiled for large images, as diffusers'
 * enable_vae_tiling), or a TAESD tiny decoder for fast previews and `--fast-decode`. All return images in
 * [-1, 1], NCHW.
 */
import { GenerationError } from './generation-error.js';
import {
  vaeDecode,
  taesdDecode,
  parseAutoencoderTinyConfig,
  type AutoencoderKLConfig,
  type AutoencoderTinyConfig,
} from '../models/vae/index.js';
import { Scope } from '../nn/index.js';
import { LoaderError } from '../loaders/errors.js';
import { openComponentWeights, readComponentConfig } from '../loaders/diffusers-folder.js';
import { hostTensor } from '../runtime/tensors.js';
import { CompiledModel, type CompiledModelOptions } from './compiled-model.js';
import { tiledDecode } from './vae-tiling.js';

export type TilingMode = 'auto' | boolean;

export class LatentDecoder {
  private tiny: { config: AutoencoderTinyConfig; model: CompiledModel } | null = null;

  constructor(
    private readonly vae: CompiledModel,
    private readonly config: AutoencoderKLConfig,
    private readonly options: CompiledModelOptions = {},
  ) {}

  get factor(): number {
    return 2 ** (this.config.block_out_channels.length - 1);
  }

  /** The latent tile size of tiled decoding: the VAE's sample_size in latent cells (64 for SD). */
  get tile(): number {
    const size = this.config.sample_size;
    return Math.floor((Array.isArray(size) ? Math.min(...size) : size) / this.factor);
  }

  /** Loads a TAESD (AutoencoderTiny) folder: config.json + diffusion_pytorch_model.safetensors. */
  useTinyDecoder(dir: string): void {
    const config = parseAutoencoderTinyConfig(readComponentConfig(dir));
    const factor = config.upsampling_scaling_factor ** (config.decoder_block_out_channels.length - 1);
    if (factor !== this.factor || config.latent_channels !== this.config.latent_channels) {
      throw new LoaderError(
        `${dir}: this tiny decoder upsamples ×${factor} from ${config.latent_channels} latent channels; the model's VAE is ×${this.factor} from ${this.config.latent_channels} (a TAESD for another model family?)`,
      );
    }
    this.tiny = { config, model: new CompiledModel('taesd', openComponentWeights(dir), this.options) };
  }

  get hasTinyDecoder(): boolean {
    return this.tiny !== null;
  }

  /**
   * Diffusion-scale latents [n,c,h,w] → images. `tiling: 'auto'` tiles when the latents exceed twice the tile
   * in either direction (a full decode there needs several GB of activations).
   */
  async decode(
    latents: Float32Array,
    n: number,
    h: number,
    w: number,
    { fast = false, tiling = 'auto' as TilingMode } = {},
  ): Promise<Float32Array> {
    const c = latents.length / (n * h * w);
    if (fast) {
      if (!this.tiny)
        throw new GenerationError(
          'fast decoding needs a TAESD decoder: call useTinyDecoder(dir) (e.g. madebyollin/taesd in diffusers format)',
        );
      const { config, model } = this.tiny;
      const out = await model.run(
        `taesd:${n}x${h}x${w}`,
        (g) => ({ image: taesdDecode(new Scope(g), config, g.input('latents', [n, c, h, w])) }),
        { latents: hostTensor('float32', [n, c, h, w], latents) },
      );
      return out.image.data as Float32Array;
    }
    const { scaling_factor: scale, shift_factor: shift } = this.config;
    const raw = latents.map((v) => v / scale + (shift ?? 0));
    const tile = this.tile;
    const tiled = tiling === true ? h > tile || w > tile : tiling === 'auto' && (h > 2 * tile || w > 2 * tile);
    if (!tiled) return this.decodeRaw(raw, n, c, h, w);
    return tiledDecode(raw, n, c, h, w, { tile, factor: this.factor, decodeTile: (z, th, tw) => this.decodeRaw(z, n, c, th, tw) });
  }

  private async decodeRaw(raw: Float32Array, n: number, c: number, h: number, w: number): Promise<Float32Array> {
    const out = await this.vae.run(
      `decode:${n}x${h}x${w}`,
      (g) => ({ image: vaeDecode(new Scope(g), this.config, g.input('latents', [n, c, h, w])) }),
      { latents: hostTensor('float32', [n, c, h, w], raw) },
    );
    return out.image.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.tiny?.model.release();
  }
}
