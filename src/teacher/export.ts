/**
 * Writes trained components as a diffusers folder: `<component>/config.json` plus
 * `diffusion_pytorch_model.safetensors` (or `model.safetensors` for the transformers text encoder), and the
 * pipeline's model_index.json. Every file is written atomically.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Value } from '../ir/index.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import { float32ToFloat16 } from '../util/half.js';
import { writeSafetensors, type TensorToWrite } from '../weights/safetensors-writer.js';

export type ComponentName = 'vae' | 'unet' | 'text_encoder';

const WEIGHT_FILES: Record<ComponentName, string> = {
  vae: 'diffusion_pytorch_model.safetensors',
  unet: 'diffusion_pytorch_model.safetensors',
  text_encoder: 'model.safetensors',
};

export function writeJson(path: string, value: unknown): void {
  writeFileAtomically(path, Buffer.from(JSON.stringify(value, null, 2) + '\n'));
}

/**
 * One component: the parameters whose names start with `prefix` (stripped to the component's own keys), in
 * `dtype`, with its config.
 */
export function writeComponent(
  modelDir: string,
  name: ComponentName,
  config: Record<string, unknown>,
  params: readonly Value[],
  values: ReadonlyMap<string, Float32Array>,
  { prefix = '', dtype = 'float32', metadata }: { prefix?: string; dtype?: 'float16' | 'float32'; metadata?: Record<string, string> } = {},
): void {
  const dir = join(modelDir, name);
  mkdirSync(dir, { recursive: true });
  const tensors: TensorToWrite[] = [];
  for (const p of params) {
    const key = p.name!;
    if (!key.startsWith(prefix)) continue;
    const data = values.get(key);
    if (!data) throw new Error(`export ${name}: no value for parameter "${key}"`);
    tensors.push({
      name: key.slice(prefix.length),
      dtype: dtype === 'float16' ? 'F16' : 'F32',
      shape: [...p.shape],
      data: dtype === 'float16' ? float32ToFloat16(data) : data,
    });
  }
  if (tensors.length === 0) throw new Error(`export ${name}: no parameters under "${prefix}"`);
  writeJson(join(dir, 'config.json'), { ...config, torch_dtype: dtype });
  writeSafetensors(join(dir, WEIGHT_FILES[name]), tensors, { format: 'pt', ...metadata });
}

/** model_index.json of a StableDiffusionPipeline with these components. */
export function writeModelIndex(modelDir: string, schedulerClass: string): void {
  writeJson(join(modelDir, 'model_index.json'), {
    _class_name: 'StableDiffusionPipeline',
    feature_extractor: [null, null],
    requires_safety_checker: false,
    safety_checker: [null, null],
    scheduler: ['diffusers', schedulerClass],
    text_encoder: ['transformers', 'CLIPTextModel'],
    tokenizer: ['transformers', 'CLIPTokenizer'],
    unet: ['diffusers', 'UNet2DConditionModel'],
    vae: ['diffusers', 'AutoencoderKL'],
  });
}
