/**
 * A Stable Diffusion (1.x/2.x/XL) pipeline: load a model folder once, then generate. Sessions are compiled
 * per shape on first use and kept; LoRAs are fused into the weights (sessions rebuilt). See txt2img/img2img.
 */
import type { Graph } from '../ir/index.js';
import { unet2DConditionModel, type UNetInputs } from '../models/unet/index.js';
import { vaeEncode } from '../models/vae/index.js';
import { LatentDecoder, type TilingMode } from './latent-decoder.js';
import { Scope } from '../nn/index.js';
import { hostTensor, type HostTensor } from '../runtime/tensors.js';
import { CompiledModel, type CompiledModelOptions, type Precision } from './compiled-model.js';
import { loadComponents, vaeScaleFactor, type LoadComponentsOptions, type PipelineComponents } from './components.js';
import { LoraManager, type LoadLoraOptions, type LoadedLora } from './lora-manager.js';
import { txt2img, type GenerationResult, type Txt2ImgRequest } from './txt2img.js';
import { residualFeeds, residualInputs, type UNetResiduals } from './controlnet.js';
import { img2img, type Img2ImgRequest, type Img2ImgResult } from './img2img.js';
import { inpaint, type InpaintRequest, type InpaintResult } from './inpaint.js';
import { PromptEncoder, type PromptEmbeddings, type PromptEncodeOptions } from './prompt-encoding.js';
import { chooseOffload, RELEASED_AFTER, type GenerationStage, type OffloadMode, type ResolvedOffload } from './offload.js';

export interface PipelineOptions extends Omit<CompiledModelOptions, 'precision'> {
  /** Components released between generation stages (see offload.ts); default 'auto': by the machine's memory. */
  offload?: OffloadMode;
  /**
   * 'auto' (default): float16 on GPU execution providers (webgpu, cuda), except a VAE whose config asks for
   * float32 (SDXL's force_upcast, as diffusers keeps it); float32 on CPU, where ORT has no faster exact path.
   */
  precision?: 'auto' | Precision;
}

export interface LoadPipelineOptions extends LoadComponentsOptions, PipelineOptions {}

export class StableDiffusionPipeline implements AsyncDisposable {
  readonly unet: CompiledModel;
  readonly vae: CompiledModel;
  readonly prompts: PromptEncoder;
  readonly loras: LoraManager;
  readonly decoder: LatentDecoder;
  /** The offload mode in force, and why 'auto' chose it. */
  readonly offload: { mode: ResolvedOffload; why: string };
  private released: string[] = [];

  private constructor(
    readonly components: PipelineComponents,
    { offload = 'auto', precision = 'auto', ...compile }: PipelineOptions,
  ) {
    const gpu = compile.executionProvider === 'webgpu' || compile.executionProvider === 'cuda';
    const chosen: Precision = precision === 'auto' ? (gpu ? 'float16' : 'float32') : precision;
    const options: CompiledModelOptions = { ...compile, precision: chosen };
    // diffusers upcasts only in its SDXL pipelines (needs_upcasting); the SD1.x/2.x VAE runs in float16 there too.
    const vaePrecision: Precision =
      precision === 'auto' && components.family === 'sdxl' && components.vae.config.force_upcast ? 'float32' : chosen;
    this.unet = new CompiledModel('unet', components.unet.source, options);
    this.vae = new CompiledModel('vae', components.vae.source, { ...options, precision: vaePrecision });
    this.prompts = new PromptEncoder(components.family, components.textEncoders, options);
    this.loras = new LoraManager(this);
    this.decoder = new LatentDecoder(this.vae, components.vae.config, options);
    this.offload =
      offload !== 'auto'
        ? { mode: offload, why: 'chosen' }
        : chooseOffload({ unet: this.unet.float32Bytes(), vae: this.vae.float32Bytes(), textEncoders: this.prompts.float32Bytes() });
  }

  /** A pipeline over components assembled by the caller (e.g. weights held in memory). */
  static fromComponents(components: PipelineComponents, options: PipelineOptions = {}): StableDiffusionPipeline {
    return new StableDiffusionPipeline(components, options);
  }

  static async load(path: string, options: LoadPipelineOptions = {}): Promise<StableDiffusionPipeline> {
    const { variant, tokenizerDir, configOverrides, ...pipeline } = options;
    return new StableDiffusionPipeline(loadComponents(path, { variant, tokenizerDir, configOverrides }), pipeline);
  }

  /** Releases what the offload mode lets go of once `stage` is over (recompiled when next needed). */
  async releaseAfter(stage: GenerationStage): Promise<void> {
    for (const kind of RELEASED_AFTER[this.offload.mode][stage]) {
      if (kind === 'textEncoders') this.released.push(...(await this.prompts.releaseSessions()));
      const model = kind === 'unet' ? this.unet : kind === 'vae' ? this.vae : undefined;
      if (model?.loaded) {
        await model.releaseSessions();
        this.released.push(model.name);
      }
    }
  }

  /** Components released since the last call (for timings and logs). */
  takeReleased(): string[] {
    const out = this.released;
    this.released = [];
    return out;
  }

  /** The end of every generation mode: the UNet's work is done, decode the final latents, release per offload. */
  async decodeFinal(
    latents: Float32Array,
    n: number,
    h: number,
    w: number,
    options: { fast?: boolean; tiling?: TilingMode } = {},
  ): Promise<Float32Array> {
    await this.releaseAfter('denoised');
    const images = await this.decodeLatents(latents, n, h, w, options);
    await this.releaseAfter('decoded');
    return images;
  }

  get family(): 'sd' | 'sdxl' {
    return this.components.family;
  }

  /** Pixels per latent cell (8 for SD models). */
  get vaeScaleFactor(): number {
    return vaeScaleFactor(this.components.vae.config);
  }

  get latentChannels(): number {
    return this.components.unet.config.in_channels === 9 ? 4 : this.components.unet.config.in_channels;
  }

  /** Prompts → conditioning; `weighting: true` applies A1111 emphasis syntax (generation requests do by default). */
  encodePrompts(prompts: readonly string[], options: PromptEncodeOptions = {}): Promise<PromptEmbeddings> {
    return this.prompts.encode(prompts, options);
  }

  /** The UNet's noise prediction for latents [n,C,h,w] at one timestep (with ControlNet residuals when given). */
  async predictNoise(
    latents: Float32Array,
    n: number,
    h: number,
    w: number,
    timestep: number,
    cond: UNetConditioning,
    residuals?: UNetResiduals,
  ): Promise<Float32Array> {
    const c = this.components.unet.config;
    const channels = latents.length / (n * h * w);
    const [, tokens, width] = cond.dims;
    const sdxl = this.family === 'sdxl';
    const build = (graph: Graph) => {
      const inputs: UNetInputs = {
        sample: graph.input('sample', [n, channels, h, w]),
        timestep: graph.input('timestep', []),
        encoderHiddenStates: graph.input('encoder_hidden_states', [n, tokens, width]),
      };
      if (sdxl) {
        inputs.textEmbeds = graph.input('text_embeds', [n, cond.pooled!.length / n]);
        inputs.timeIds = graph.input('time_ids', [n, 6]);
      }
      if (residuals) Object.assign(inputs, residualInputs(graph, residuals));
      return { out: unet2DConditionModel(new Scope(graph), c, inputs) };
    };
    const feeds: Record<string, HostTensor> = {
      sample: hostTensor('float32', [n, channels, h, w], latents),
      timestep: hostTensor('float32', [], Float32Array.of(timestep)),
      encoder_hidden_states: hostTensor('float32', [n, tokens, width], cond.embeds),
    };
    if (sdxl) {
      if (!cond.pooled || !cond.timeIds) throw new Error('SDXL UNet needs pooled text embeddings and time ids');
      feeds.text_embeds = hostTensor('float32', [n, cond.pooled.length / n], cond.pooled);
      feeds.time_ids = hostTensor('float32', [n, 6], cond.timeIds);
    }
    if (residuals) Object.assign(feeds, residualFeeds(residuals));
    const result = await this.unet.run(`${n}x${channels}x${h}x${w}x${tokens}${residuals ? ':control' : ''}`, build, feeds);
    return result.out.data as Float32Array;
  }

  /** Latents (diffusion scale) [n,4,h,w] → images in [-1, 1], [n,3,h·f,w·f]; `fast` uses the TAESD decoder. */
  decodeLatents(
    latents: Float32Array,
    n: number,
    h: number,
    w: number,
    options: { fast?: boolean; tiling?: TilingMode } = {},
  ): Promise<Float32Array> {
    return this.decoder.decode(latents, n, h, w, options);
  }

  /** A TAESD (AutoencoderTiny) folder for fast decoding and previews. */
  useTinyDecoder(dir: string): void {
    this.decoder.useTinyDecoder(dir);
  }

  /** Images in [-1, 1] [n,3,H,W] → the latent distribution's mean and std (VAE scale, not yet scaled). */
  async encodeImages(images: Float32Array, n: number, height: number, width: number): Promise<{ mean: Float32Array; std: Float32Array }> {
    const { config } = this.components.vae;
    const result = await this.vae.run(
      `encode:${n}x${height}x${width}`,
      (graph) => {
        const moments = vaeEncode(new Scope(graph), config, graph.input('image', [n, 3, height, width]));
        return { mean: moments.mean, std: moments.std };
      },
      { image: hostTensor('float32', [n, 3, height, width], images) },
    );
    return { mean: result.mean.data as Float32Array, std: result.std.data as Float32Array };
  }

  /** Text-to-image; see Txt2ImgRequest for the options (ControlNet included). */
  txt2img(request: Txt2ImgRequest): Promise<GenerationResult> {
    return txt2img(this, request);
  }

  /** Image-to-image: the request's image noised by `strength`, then denoised (see Img2ImgRequest). */
  img2img(request: Img2ImgRequest): Promise<Img2ImgResult> {
    return img2img(this, request);
  }

  /** Inpainting: repaints the mask's white region (latent blending, or a 9-channel inpainting UNet). */
  inpaint(request: InpaintRequest): Promise<InpaintResult> {
    return inpaint(this, request);
  }

  loadLora(path: string, options: LoadLoraOptions = {}): Promise<LoadedLora> {
    return this.loras.load(path, options);
  }

  setAdapters(names: readonly string[], weights?: readonly number[]): Promise<void> {
    return this.loras.setAdapters(names, weights);
  }

  unloadLora(): Promise<void> {
    return this.loras.unloadAll();
  }

  async release(): Promise<void> {
    await this.unet.release();
    await this.vae.release();
    await this.decoder.release();
    await this.prompts.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

/** What the UNet is conditioned on, for a batch already laid out as the UNet sees it ([uncond; cond] with CFG). */
export interface UNetConditioning {
  embeds: Float32Array;
  dims: [number, number, number];
  pooled?: Float32Array;
  timeIds?: Float32Array;
}

/** Opens a diffusers folder or a single-file checkpoint (see StableDiffusionPipeline). */
export function loadPipeline(path: string, options: LoadPipelineOptions = {}): Promise<StableDiffusionPipeline> {
  return StableDiffusionPipeline.load(path, options);
}
