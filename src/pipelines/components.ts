/**
 * The parts of a Stable Diffusion model a pipeline needs, read from a diffusers folder: parsed configs,
 * tokenizers, and lazily opened weight sources. SD-1.x/2.x have one text encoder; SDXL has two (CLIP-L
 * and OpenCLIP-bigG with projection) whose penultimate states are concatenated.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openSingleFile } from '../loaders/single-file/index.js';
import { sdSchedulerDefaults } from './scheduler-defaults.js';
import { DiffusersFolder } from '../loaders/diffusers-folder.js';
import { LoaderError } from '../loaders/errors.js';
import { parseClipTextConfig, type ClipTextConfig } from '../models/clip/index.js';
import { parseUNetConfig, type UNetConfig } from '../models/unet/index.js';
import { parseAutoencoderKLConfig, type AutoencoderKLConfig } from '../models/vae/index.js';
import { ClipTokenizer } from '../tokenizer/index.js';
import type { TensorSource } from '../weights/tensor-source.js';

export type ModelFamily = 'sd' | 'sdxl';

export interface TextEncoderPart {
  name: 'text_encoder' | 'text_encoder_2';
  config: ClipTextConfig;
  /** CLIPTextModelWithProjection (SDXL's second encoder): gives the pooled text_embeds. */
  withProjection: boolean;
  tokenizer: ClipTokenizer;
  source: TensorSource;
}

export interface PipelineComponents {
  path: string;
  family: ModelFamily;
  unet: { config: UNetConfig; rawConfig: Record<string, unknown>; source: TensorSource };
  vae: { config: AutoencoderKLConfig; source: TensorSource };
  textEncoders: TextEncoderPart[];
  schedulerConfig: Record<string, unknown>;
  /** SDXL: an empty negative prompt means zero embeddings, not the encoded "". */
  forceZerosForEmptyPrompt: boolean;
  /**
   * Single-file checkpoints whose shapes are not a standard SD 1.x/2.x/SDXL model's: the config fields that were
   * set by the family's rules anyway, as `component.field=value` (e.g. `vae.scaling_factor=0.18215`). They are
   * guesses for such a model: pass the real values in configOverrides (the CLI refuses to run on guesses).
   */
  configGuesses?: string[];
}

export interface LoadComponentsOptions {
  variant?: string;
  /**
   * Single-file checkpoints carry no tokenizer: a folder with vocab.json + merges.txt (for SDXL, one with
   * tokenizer/ and tokenizer_2/ sub-folders). Default: `tokenizer/` (and `tokenizer_2/`) beside the file.
   */
  tokenizerDir?: string;
  /** Single-file checkpoints: config fields the weights cannot tell (e.g. { unet: { prediction_type } }). */
  configOverrides?: Partial<Record<'unet' | 'vae' | 'text_encoder' | 'text_encoder_2', Record<string, unknown>>>;
}

/** A diffusers folder or a single .safetensors checkpoint. */
export function loadComponents(path: string, options: LoadComponentsOptions = {}): PipelineComponents {
  if (existsSync(path) && statSync(path).isFile()) return loadSingleFileComponents(path, options);
  return loadFolderComponents(path, options);
}

export function loadFolderComponents(dir: string, { variant }: LoadComponentsOptions = {}): PipelineComponents {
  const folder = DiffusersFolder.open(dir);
  for (const required of ['unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler']) {
    if (!folder.has(required))
      throw new LoaderError(
        `${join(dir, 'model_index.json')}: no "${required}" component; a text-to-image model needs unet, vae, text_encoder, tokenizer and scheduler`,
      );
  }
  const rawUnet = folder.config('unet');
  const unetConfig = parseUNetConfig(rawUnet);
  const family: ModelFamily = unetConfig.addition_embed_type === 'text_time' ? 'sdxl' : 'sd';
  const encoderNames = family === 'sdxl' ? (['text_encoder', 'text_encoder_2'] as const) : (['text_encoder'] as const);
  const textEncoders = encoderNames.map((name, i): TextEncoderPart => {
    const tokenizerName = i === 0 ? 'tokenizer' : 'tokenizer_2';
    return {
      name,
      config: parseClipTextConfig(folder.config(name)),
      withProjection: folder.component(name).className === 'CLIPTextModelWithProjection',
      tokenizer: ClipTokenizer.fromDirectory(folder.componentDir(tokenizerName)),
      source: folder.weights(name, { variant }),
    };
  });
  return {
    path: dir,
    family,
    unet: { config: unetConfig, rawConfig: rawUnet, source: folder.weights('unet', { variant }) },
    vae: { config: parseAutoencoderKLConfig(folder.config('vae')), source: folder.weights('vae', { variant }) },
    textEncoders,
    schedulerConfig: folder.config('scheduler'),
    forceZerosForEmptyPrompt: folder.index.options.force_zeros_for_empty_prompt === true,
  };
}

/** The VAE's spatial downsampling factor (8 for SD; 2 for the two-level tiny fixtures). */
export function vaeScaleFactor(config: AutoencoderKLConfig): number {
  return 2 ** (config.block_out_channels.length - 1);
}

/** An A1111/ComfyUI checkpoint: components converted from LDM keys, tokenizers from `tokenizerDir`. */
export function loadSingleFileComponents(path: string, { tokenizerDir, configOverrides }: LoadComponentsOptions = {}): PipelineComponents {
  const checkpoint = openSingleFile(path, { configOverrides });
  const { unet, vae, text_encoder: te1, text_encoder_2: te2 } = checkpoint.components;
  if (!unet || !vae || !te1) {
    checkpoint.close();
    const found = Object.keys(checkpoint.components).join(', ') || 'nothing recognisable';
    throw new LoaderError(`${path}: a text-to-image checkpoint needs a UNet, a VAE and a text encoder; found ${found}`);
  }
  const family: ModelFamily = checkpoint.architecture === 'sdxl' || checkpoint.architecture === 'sdxl-refiner' ? 'sdxl' : 'sd';
  const tokenizers = tokenizerDir ?? dirname(path);
  const tokenizerAt = (sub: string): ClipTokenizer => {
    for (const dir of [join(tokenizers, sub), tokenizers]) {
      if (existsSync(join(dir, 'vocab.json'))) return ClipTokenizer.fromDirectory(dir);
    }
    throw new LoaderError(
      `${path}: single-file checkpoints contain no tokenizer; put the CLIP tokenizer files (vocab.json, merges.txt) in ${join(tokenizers, sub)} or pass tokenizerDir (--tokenizer)`,
    );
  };
  const textEncoders: TextEncoderPart[] = [
    {
      name: 'text_encoder',
      config: parseClipTextConfig(te1.config),
      withProjection: false,
      tokenizer: tokenizerAt('tokenizer'),
      source: te1.source,
    },
  ];
  if (te2)
    textEncoders.push({
      name: 'text_encoder_2',
      config: parseClipTextConfig(te2.config),
      withProjection: true,
      tokenizer: tokenizerAt('tokenizer_2'),
      source: te2.source,
    });
  return {
    path,
    family,
    configGuesses: configGuesses(checkpoint.components),
    unet: { config: parseUNetConfig(unet.config), rawConfig: unet.config, source: unet.source },
    vae: { config: parseAutoencoderKLConfig(vae.config), source: vae.source },
    textEncoders,
    schedulerConfig: sdSchedulerDefaults(family, unet.config),
    forceZerosForEmptyPrompt: family === 'sdxl',
  };
}

/** Widths of the standard models the single-file family rules were written for (SD 1.x/2.x, SDXL, its refiner). */
const STANDARD_WIDTHS: Record<string, (config: Record<string, unknown>) => boolean> = {
  unet: (c) => ['320,640,1280,1280', '320,640,1280', '384,768,1536,1536'].includes(String(c.block_out_channels)),
  vae: (c) => String(c.block_out_channels) === '128,256,512,512',
  text_encoder: (c) => [768, 1024, 1280].includes(Number(c.hidden_size)),
  text_encoder_2: (c) => [1024, 1280].includes(Number(c.hidden_size)),
};

/** The family-rule fields of components that are not standard-sized, with the values assumed. */
function configGuesses(components: Partial<Record<string, { config: Record<string, unknown>; assumed: readonly string[] }>>): string[] {
  return Object.entries(components).flatMap(([name, c]) => {
    if (!c || c.assumed.length === 0 || (STANDARD_WIDTHS[name]?.(c.config) ?? true)) return [];
    return c.assumed.map((field) => `${name}.${field}=${JSON.stringify(c.config[field])}`);
  });
}
