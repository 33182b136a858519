/**
 * ControlNet for text-to-image, as diffusers' StableDiffusionControlNetPipeline with one ControlNetModel and
 * guess mode off: at every step the ControlNet sees the same (CFG-doubled) latents, timestep and prompt
 * embeddings as the UNet, plus the control image; its scaled residuals are added to the UNet's skip
 * connections and mid block. The control image is preprocessed as diffusers' control_image_processor does:
 * RGB, resized to the output size (Lanczos), u8/255 in [0, 1] (not normalised to [-1, 1]), NCHW, repeated
 * over the batch and doubled for CFG. Canny edges (canny.ts), depth maps and other hint images are just
 * images here.
 *
 * The ControlNet has its own weights and sessions (one CompiledModel); the UNet-with-residuals graph is a
 * separate session of the pipeline's UNet (signature suffix `:control`).
 */
import type { Graph } from '../ir/index.js';
import { openComponentWeights, readComponentConfig, type WeightsOptions } from '../loaders/diffusers-folder.js';
import {
  controlNetImageFactor,
  controlNetModel,
  parseControlNetConfig,
  type ControlNetConfig,
  type ControlNetInputs,
} from '../models/controlnet/index.js';
import type { UNetInputs } from '../models/unet/index.js';
import { Scope } from '../nn/index.js';
import { hostTensor, type HostTensor } from '../runtime/tensors.js';
import type { TensorSource } from '../weights/tensor-source.js';
import { CompiledModel, type CompiledModelOptions } from './compiled-model.js';
import type { UNetCall } from './denoise.js';
import { GenerationError, type PreparedGeneration } from './generation.js';
import { loadImageTensor, type ImageInput } from './image-input.js';
import type { StableDiffusionPipeline, UNetConditioning } from './pipeline.js';

/** ControlNet outputs for one UNet call: one residual per skip connection, and the mid-block residual. */
export interface UNetResiduals {
  down: HostTensor[];
  mid: HostTensor;
}

export interface LoadControlNetOptions extends CompiledModelOptions, WeightsOptions {}

export class ControlNet implements AsyncDisposable {
  readonly model: CompiledModel;

  constructor(
    readonly config: ControlNetConfig,
    source: TensorSource,
    options: CompiledModelOptions = {},
  ) {
    this.model = new CompiledModel('controlnet', source, options);
  }

  /** A diffusers ControlNetModel folder: config.json + diffusion_pytorch_model[.variant].safetensors. */
  static load(dir: string, { variant, ...options }: LoadControlNetOptions = {}): ControlNet {
    return new ControlNet(parseControlNetConfig(readComponentConfig(dir)), openComponentWeights(dir, { variant }), options);
  }

  /** Control-image pixels per latent cell. */
  get imageFactor(): number {
    return controlNetImageFactor(this.config);
  }

  /** Residuals for latents [n,C,h,w] laid out as the UNet sees them, and control images [n,3,h·f,w·f] in [0, 1]. */
  async residuals(
    latents: Float32Array,
    n: number,
    h: number,
    w: number,
    timestep: number,
    cond: UNetConditioning,
    image: Float32Array,
    scale: number,
  ): Promise<UNetResiduals> {
    const channels = latents.length / (n * h * w);
    const [, tokens, width] = cond.dims;
    const imageDims = [n, this.config.conditioning_channels, h * this.imageFactor, w * this.imageFactor];
    const textTime = this.config.addition_embed_type === 'text_time';
    if (textTime && (!cond.pooled || !cond.timeIds))
      throw new GenerationError('this ControlNet (text_time) needs SDXL pooled text embeddings and time ids');
    const build = (graph: Graph) => {
      const inputs: ControlNetInputs = {
        sample: graph.input('sample', [n, channels, h, w]),
        timestep: graph.input('timestep', []),
        encoderHiddenStates: graph.input('encoder_hidden_states', [n, tokens, width]),
        controlCond: graph.input('controlnet_cond', imageDims),
        conditioningScale: graph.input('conditioning_scale', []),
      };
      if (textTime) {
        inputs.textEmbeds = graph.input('text_embeds', [n, cond.pooled!.length / n]);
        inputs.timeIds = graph.input('time_ids', [n, 6]);
      }
      const out = controlNetModel(new Scope(graph), this.config, inputs);
      return { ...Object.fromEntries(out.downBlockResiduals.map((r, i) => [`down${i}`, r])), mid: out.midBlockResidual };
    };
    const feeds: Record<string, HostTensor> = {
      sample: hostTensor('float32', [n, channels, h, w], latents),
      timestep: hostTensor('float32', [], Float32Array.of(timestep)),
      encoder_hidden_states: hostTensor('float32', [n, tokens, width], cond.embeds),
      controlnet_cond: hostTensor('float32', imageDims, image),
      conditioning_scale: hostTensor('float32', [], Float32Array.of(scale)),
    };
    if (textTime) {
      feeds.text_embeds = hostTensor('float32', [n, cond.pooled!.length / n], cond.pooled!);
      feeds.time_ids = hostTensor('float32', [n, 6], cond.timeIds!);
    }
    const result = await this.model.run(`${n}x${channels}x${h}x${w}x${tokens}`, build, feeds);
    const { mid, ...down } = result;
    return { down: Object.keys(down).map((_, i) => down[`down${i}`]), mid };
  }

  release(): Promise<void> {
    return this.model.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

/** Opens a diffusers ControlNetModel folder (see ControlNet.load). */
export function loadControlNet(dir: string, options: LoadControlNetOptions = {}): ControlNet {
  return ControlNet.load(dir, options);
}

/** UNet graph inputs shaped like `residuals` (down_residual_i, mid_residual). */
export function residualInputs(
  graph: Graph,
  residuals: UNetResiduals,
): Pick<UNetInputs, 'downBlockAdditionalResiduals' | 'midBlockAdditionalResidual'> {
  return {
    downBlockAdditionalResiduals: residuals.down.map((r, i) => graph.input(`down_residual_${i}`, r.dims)),
    midBlockAdditionalResidual: graph.input('mid_residual', residuals.mid.dims),
  };
}

/** The feeds for residualInputs. */
export function residualFeeds(residuals: UNetResiduals): Record<string, HostTensor> {
  return { ...Object.fromEntries(residuals.down.map((r, i) => [`down_residual_${i}`, r])), mid_residual: residuals.mid };
}

/** The `controlnet` option of a text-to-image request. */
export interface ControlNetRequest {
  model: ControlNet;
  /** The hint image (canny edges, a depth map, a pose ...): a path, encoded bytes, or raw pixels. */
  image: ImageInput;
  /** Multiplies the residuals (diffusers' controlnet_conditioning_scale, default 1). */
  conditioningScale?: number;
  /** Fractions of the steps between which the ControlNet applies (control_guidance_start/end, default 0 and 1). */
  guidanceStart?: number;
  guidanceEnd?: number;
}

export interface PreparedControl {
  /** The output size: the request's, else the control image's rounded down to the VAE factor (as diffusers). */
  width: number;
  height: number;
  /** What a result records about the ControlNet. */
  parameters: Record<string, unknown>;
  /** The UNet call of the denoising loop, for a plan of `steps` steps; one call per step, in order. */
  unetCall(p: PreparedGeneration, h: number, w: number, steps: number): UNetCall;
}

function checkRequest(c: ControlNetRequest): { scale: number; start: number; end: number } {
  const scale = c.conditioningScale ?? 1;
  const start = c.guidanceStart ?? 0;
  const end = c.guidanceEnd ?? 1;
  if (!(c.model instanceof ControlNet)) throw new GenerationError('controlnet.model must be a ControlNet (loadControlNet)');
  if (!Number.isFinite(scale)) throw new GenerationError(`controlnet.conditioningScale must be a finite number (got ${scale})`);
  if (!(start >= 0 && end <= 1 && start < end)) {
    throw new GenerationError(`controlnet.guidanceStart and guidanceEnd must satisfy 0 ≤ start < end ≤ 1 (got ${start} and ${end})`);
  }
  return { scale, start, end };
}

/** Refuses a ControlNet made for another base model before anything runs. */
function checkCompatible(pipe: StableDiffusionPipeline, model: ControlNet): void {
  const unet = pipe.components.unet.config;
  const cn = model.config;
  for (const field of [
    'block_out_channels',
    'layers_per_block',
    'down_block_types',
    'cross_attention_dim',
    'addition_embed_type',
  ] as const) {
    const [ours, theirs] = [JSON.stringify(cn[field]), JSON.stringify(unet[field])];
    if (ours !== theirs) throw new GenerationError(`the ControlNet does not fit this model: ${field} ${ours}, the UNet has ${theirs}`);
  }
  if (cn.in_channels !== pipe.latentChannels)
    throw new GenerationError(`the ControlNet takes ${cn.in_channels} latent channels, this model has ${pipe.latentChannels}`);
  if (model.imageFactor !== pipe.vaeScaleFactor) {
    throw new GenerationError(
      `the ControlNet's conditioning embedding downsamples by ${model.imageFactor}, this model's VAE by ${pipe.vaeScaleFactor}`,
    );
  }
  if (cn.conditioning_channels !== 3)
    throw new GenerationError(
      `ControlNets with ${cn.conditioning_channels} conditioning channels are not supported (control images are RGB)`,
    );
}

/** Repeats one [C,H,W] image n times (diffusers repeats it over the batch, then doubles it for CFG). */
function repeated(image: Float32Array, n: number): Float32Array {
  const out = new Float32Array(image.length * n);
  for (let i = 0; i < n; i++) out.set(image, i * image.length);
  return out;
}

/** Loads and checks the control image; `size` is the request's width/height (either may be absent). */
export async function prepareControl(
  pipe: StableDiffusionPipeline,
  control: ControlNetRequest,
  size: { width?: number; height?: number },
): Promise<PreparedControl> {
  const { scale, start, end } = checkRequest(control);
  checkCompatible(pipe, control.model);
  const loaded = await loadImageTensor(control.image, { ...size, factor: pipe.vaeScaleFactor }, 'controlnet image');
  // loadImageTensor gives 2·(u8/255) − 1; recover the byte and compute u8/255 as diffusers does (float32).
  const image = loaded.data.map((v) => Math.fround(Math.round((v + 1) * 127.5) / 255));
  const unetCall = (p: PreparedGeneration, h: number, w: number, steps: number): UNetCall => {
    let step = 0;
    let images: Float32Array | undefined;
    return async (latents, n, t) => {
      const i = step++;
      // diffusers' controlnet_keep: the ControlNet is off outside [start, end] of the steps.
      const keep = i / steps < start || (i + 1) / steps > end ? 0 : 1;
      // A zero scale adds exact zeros; the plain UNet gives the same result without running the ControlNet.
      if (scale * keep === 0) return pipe.predictNoise(latents, n, h, w, t, p.cond);
      images ??= repeated(image, n); // n is fixed for a run: the batch, doubled with CFG
      const residuals = await control.model.residuals(latents, n, h, w, t, p.cond, images, scale * keep);
      return pipe.predictNoise(latents, n, h, w, t, p.cond, residuals);
    };
  };
  const parameters = { controlnet: { conditioningScale: scale, guidanceStart: start, guidanceEnd: end } };
  return { width: loaded.width, height: loaded.height, parameters, unetCall };
}
