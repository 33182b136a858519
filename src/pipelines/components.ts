/**
 * The parts of a Stable Diffusion model a pipeline needs, read from a diffusers folder: parsed configs,
 * tokenizers, and lazily opened weight sources. SD-1.x/2.x have one text encoder; SDXL has two (CLIP-L
 * and OpenCLIP-bigG with projection) whose penultimate states are concatenated.
 */
import { join } from 'node:path';
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
  unet: { config: UNetConfig; source: TensorSource };
  vae: { config: AutoencoderKLConfig; source: TensorSource };
  textEncoders: TextEncoderPart[];
  schedulerConfig: Record<string, unknown>;
  /** SDXL: an empty negative prompt means zero embeddings, not the encoded "". */
  forceZerosForEmptyPrompt: boolean;
}

export interface LoadComponentsOptions {
  variant?: string;
}

export function loadFolderComponents(dir: string, { variant }: LoadComponentsOptions = {}): PipelineComponents {
  const folder = DiffusersFolder.open(dir);
  for (const required of ['unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler']) {
    if (!folder.has(required)) throw new LoaderError(`${join(dir, 'model_index.json')}: no "${required}" component; a text-to-image model needs unet, vae, text_encoder, tokenizer and scheduler`);
  }
  const unetConfig = parseUNetConfig(folder.config('unet'));
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
    unet: { config: unetConfig, source: folder.weights('unet', { variant }) },
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
