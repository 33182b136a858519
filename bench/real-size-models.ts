/**
 * Diffusers folders with the real configs of SD1.5 and SDXL base 1.0 and random fp16 weights, written once
 * into a cache folder for the real-size benchmark. Parameter names and shapes come from our own graphs of each
 * component, so the folders load exactly like the published ones (minus the tokenizer: the built-in model's BPE
 * vocabulary stands in for CLIP's, which only changes which token ids a prompt gets).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Value } from '../src/ir/index.js';
import { numel } from '../src/ir/shape.js';
import { clipTextModel, clipTextModelWithProjection, parseClipTextConfig } from '../src/models/clip/index.js';
import { parseUNetConfig, unet2DConditionModel } from '../src/models/unet/index.js';
import { parseAutoencoderKLConfig, vaeDecode, vaeEncode } from '../src/models/vae/index.js';
import { Scope } from '../src/nn/index.js';
import { createGraph } from '../src/ops/index.js';
import { sdNoiseDefaults } from '../src/schedulers/config.js';
import { float32ToFloat16 } from '../src/util/half.js';
import { packageRoot } from '../src/util/package-root.js';
import { FileTensorSource, writeSafetensorsStreamed, type TensorSpec } from '../src/weights/index.js';
import { writeSingleFile } from '../src/loaders/single-file/index.js';

type Json = Record<string, unknown>;

const SD_SCHEDULER = { ...sdNoiseDefaults, steps_offset: 1, clip_sample: false, set_alpha_to_one: false, prediction_type: 'epsilon' };
const SD_VAE = {
  _class_name: 'AutoencoderKL',
  act_fn: 'silu',
  in_channels: 3,
  out_channels: 3,
  latent_channels: 4,
  layers_per_block: 2,
  norm_num_groups: 32,
  block_out_channels: [128, 256, 512, 512],
  down_block_types: Array(4).fill('DownEncoderBlock2D'),
  up_block_types: Array(4).fill('UpDecoderBlock2D'),
};
const CLIP_L = {
  _class_name: 'CLIPTextModel',
  architectures: ['CLIPTextModel'],
  hidden_size: 768,
  intermediate_size: 3072,
  num_attention_heads: 12,
  num_hidden_layers: 12,
  max_position_embeddings: 77,
  vocab_size: 49408,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
  projection_dim: 768,
  bos_token_id: 0,
  eos_token_id: 2,
  pad_token_id: 1,
};

interface ModelSpec {
  pipeline: string;
  indexExtras?: Json;
  unet: Json;
  vae: Json;
  textEncoders: { name: 'text_encoder' | 'text_encoder_2'; config: Json; withProjection: boolean }[];
  scheduler: Json;
}

export const REAL_SIZE_MODELS: Record<'sd15' | 'sdxl', ModelSpec> = {
  // runwayml/stable-diffusion-v1-5's configs (PNDM scheduler, which `tdd generate --scheduler tdd` replaces).
  sd15: {
    pipeline: 'StableDiffusionPipeline',
    unet: {
      _class_name: 'UNet2DConditionModel',
      sample_size: 64,
      in_channels: 4,
      out_channels: 4,
      layers_per_block: 2,
      block_out_channels: [320, 640, 1280, 1280],
      cross_attention_dim: 768,
      attention_head_dim: 8,
      act_fn: 'silu',
      norm_num_groups: 32,
      norm_eps: 1e-5,
      flip_sin_to_cos: true,
      freq_shift: 0,
      downsample_padding: 1,
      down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
      up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
    },
    vae: { ...SD_VAE, sample_size: 512, scaling_factor: 0.18215 },
    textEncoders: [{ name: 'text_encoder', config: CLIP_L, withProjection: false }],
    scheduler: { _class_name: 'PNDMScheduler', ...SD_SCHEDULER, skip_prk_steps: true },
  },
  // stabilityai/stable-diffusion-xl-base-1.0's configs.
  sdxl: {
    pipeline: 'StableDiffusionXLPipeline',
    indexExtras: { force_zeros_for_empty_prompt: true },
    unet: {
      _class_name: 'UNet2DConditionModel',
      sample_size: 128,
      in_channels: 4,
      out_channels: 4,
      layers_per_block: 2,
      block_out_channels: [320, 640, 1280],
      attention_head_dim: [5, 10, 20],
      cross_attention_dim: 2048,
      transformer_layers_per_block: [1, 2, 10],
      use_linear_projection: true,
      addition_embed_type: 'text_time',
      addition_embed_type_num_heads: 64,
      addition_time_embed_dim: 256,
      projection_class_embeddings_input_dim: 2816,
      act_fn: 'silu',
      norm_num_groups: 32,
      norm_eps: 1e-5,
      flip_sin_to_cos: true,
      freq_shift: 0,
      downsample_padding: 1,
      down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
      up_block_types: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
    },
    vae: { ...SD_VAE, sample_size: 1024, scaling_factor: 0.13025, force_upcast: true },
    textEncoders: [
      { name: 'text_encoder', config: { ...CLIP_L, pad_token_id: 1 }, withProjection: false },
      {
        name: 'text_encoder_2',
        withProjection: true,
        config: {
          ...CLIP_L,
          _class_name: 'CLIPTextModelWithProjection',
          architectures: ['CLIPTextModelWithProjection'],
          hidden_size: 1280,
          intermediate_size: 5120,
          num_attention_heads: 20,
          num_hidden_layers: 32,
          hidden_act: 'gelu',
          projection_dim: 1280,
        },
      },
    ],
    scheduler: {
      _class_name: 'EulerDiscreteScheduler',
      ...SD_SCHEDULER,
      timestep_spacing: 'leading',
      interpolation_type: 'linear',
      use_karras_sigmas: false,
    },
  },
};

/** Parameter names and shapes of one component, from its graph (shapes do not depend on the input size). */
function componentParams(kind: 'unet' | 'vae' | 'clip' | 'clip-projection', config: Json): Value[] {
  const graph = createGraph();
  const scope = new Scope(graph);
  if (kind === 'unet') {
    const c = parseUNetConfig(config);
    const xl = c.addition_embed_type === 'text_time';
    unet2DConditionModel(scope, c, {
      sample: graph.input('sample', [1, 4, 16, 16]),
      timestep: graph.input('timestep', []),
      encoderHiddenStates: graph.input('states', [1, 77, Number(config.cross_attention_dim)]),
      ...(xl ? { textEmbeds: graph.input('text_embeds', [1, 1280]), timeIds: graph.input('time_ids', [1, 6]) } : {}),
    });
  } else if (kind === 'vae') {
    const c = parseAutoencoderKLConfig(config);
    vaeDecode(scope, c, graph.input('latents', [1, 4, 8, 8]));
    vaeEncode(scope, c, graph.input('image', [1, 3, 64, 64]));
  } else {
    const c = parseClipTextConfig(config);
    const ids = graph.input('input_ids', [1, 77], 'int64');
    if (kind === 'clip') clipTextModel(scope, c, ids);
    else clipTextModelWithProjection(scope, c, ids);
  }
  return graph.params;
}

/** 1 Mi fp16 values ~ U(-a, a) with std 0.02; tensors are filled from it at pseudo-random offsets (fast, and random enough for timing and memory). */
const POOL = (() => {
  let x = 0x2545f491;
  const a = 0.02 * Math.sqrt(3);
  const f = Float32Array.from({ length: 1 << 20 }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (((x >>> 0) / 2 ** 32) * 2 - 1) * a;
  });
  return float32ToFloat16(f);
})();
const ONE_F16 = 0x3c00;

function randomFp16(spec: TensorSpec, salt: number): Uint16Array {
  const n = numel(spec.shape);
  const module = spec.name.split('.').at(-2) ?? '';
  const isNorm = /norm/.test(module);
  if (spec.name.endsWith('.bias') || (isNorm && !spec.name.endsWith('.weight'))) return new Uint16Array(n);
  if (isNorm) return new Uint16Array(n).fill(ONE_F16);
  const out = new Uint16Array(n);
  let seed = salt * 2654435761 + n;
  for (let at = 0; at < n; at += 1 << 16) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const from = seed % ((1 << 20) - (1 << 16));
    out.set(POOL.subarray(from, from + Math.min(1 << 16, n - at)), at);
  }
  return out;
}

function writeComponent(dir: string, config: Json, file: string, params: readonly Value[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const specs: TensorSpec[] = params.map((p) => ({ name: p.name!, dtype: 'F16', shape: [...p.shape] }));
  let i = 0;
  writeSafetensorsStreamed(join(dir, file), specs, (spec) => randomFp16(spec, ++i));
}

/** The model's folder under `cacheDir`, written on first use (a finished folder has model_index.json, written last). */
export function ensureRealSizeModel(cacheDir: string, name: 'sd15' | 'sdxl', log: (line: string) => void = () => {}): string {
  const dir = join(cacheDir, `${name}-random-fp16`);
  if (existsSync(join(dir, 'model_index.json'))) return dir;
  const spec = REAL_SIZE_MODELS[name];
  const tmp = `${dir}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  log(`writing ${name} with random fp16 weights to ${dir} (once)`);
  writeComponent(join(tmp, 'unet'), spec.unet, 'diffusion_pytorch_model.fp16.safetensors', componentParams('unet', spec.unet));
  writeComponent(join(tmp, 'vae'), spec.vae, 'diffusion_pytorch_model.fp16.safetensors', componentParams('vae', spec.vae));
  const index: Json = {
    _class_name: spec.pipeline,
    ...spec.indexExtras,
    unet: ['diffusers', 'UNet2DConditionModel'],
    vae: ['diffusers', 'AutoencoderKL'],
    scheduler: ['diffusers', String(spec.scheduler._class_name)],
  };
  const tokenizerSource = join(packageRoot(), 'models', 'emoji', 'tokenizer');
  for (const [i, te] of spec.textEncoders.entries()) {
    writeComponent(
      join(tmp, te.name),
      te.config,
      'model.fp16.safetensors',
      componentParams(te.withProjection ? 'clip-projection' : 'clip', te.config),
    );
    const tokenizer = i === 0 ? 'tokenizer' : 'tokenizer_2';
    mkdirSync(join(tmp, tokenizer), { recursive: true });
    for (const f of ['vocab.json', 'merges.txt', 'special_tokens_map.json'])
      copyFileSync(join(tokenizerSource, f), join(tmp, tokenizer, f));
    const tokenizerConfig = JSON.parse(readFileSync(join(tokenizerSource, 'tokenizer_config.json'), 'utf8')) as Json;
    writeFileSync(join(tmp, tokenizer, 'tokenizer_config.json'), JSON.stringify({ ...tokenizerConfig, model_max_length: 77 }, null, 2));
    index[te.name] = ['transformers', String(te.config._class_name)];
    index[tokenizer] = ['transformers', 'CLIPTokenizer'];
  }
  mkdirSync(join(tmp, 'scheduler'), { recursive: true });
  writeFileSync(join(tmp, 'scheduler', 'scheduler_config.json'), JSON.stringify(spec.scheduler, null, 2));
  writeFileSync(join(tmp, 'model_index.json'), JSON.stringify(index, null, 2));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/** Bytes of all weights of a folder at fp32 (what the memory targets are measured against). */
export function fp32WeightBytes(name: 'sd15' | 'sdxl'): number {
  const spec = REAL_SIZE_MODELS[name];
  const count = (params: Value[]) => params.reduce((s, p) => s + numel(p.shape), 0);
  let total = count(componentParams('unet', spec.unet)) + count(componentParams('vae', spec.vae));
  for (const te of spec.textEncoders) total += count(componentParams(te.withProjection ? 'clip-projection' : 'clip', te.config));
  return total * 4;
}

/** The SD1.5 folder as one A1111-style checkpoint (fp16), with its tokenizer beside it, written once. */
export function ensureRealSizeSingleFile(cacheDir: string, log: (line: string) => void = () => {}): string {
  const folder = ensureRealSizeModel(cacheDir, 'sd15', log);
  const dir = join(cacheDir, 'sd15-random-fp16-single-file');
  const file = join(dir, 'sd15-random-fp16.safetensors');
  if (existsSync(file)) return file;
  log(`writing the sd15 folder as one checkpoint to ${file} (once)`);
  mkdirSync(join(dir, 'tokenizer'), { recursive: true });
  for (const f of ['vocab.json', 'merges.txt', 'special_tokens_map.json', 'tokenizer_config.json'])
    copyFileSync(join(folder, 'tokenizer', f), join(dir, 'tokenizer', f));
  const part = (name: string, weights: string) => ({
    source: FileTensorSource.open(join(folder, name, weights)),
    config: JSON.parse(readFileSync(join(folder, name, 'config.json'), 'utf8')) as Json,
  });
  const parts = {
    unet: part('unet', 'diffusion_pytorch_model.fp16.safetensors'),
    vae: part('vae', 'diffusion_pytorch_model.fp16.safetensors'),
    text_encoder: part('text_encoder', 'model.fp16.safetensors'),
  };
  try {
    writeSingleFile(file, parts, 'sd1');
  } finally {
    for (const p of Object.values(parts)) p.source.close();
  }
  return file;
}
