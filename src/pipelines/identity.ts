/**
 * The names and hashes a PNG's `parameters` gives a model and its LoRAs, one rule for the CLI, the server and
 * `GeneratedImage.save()`, so the same files are written the same way by all three: a model is its folder's name
 * (a single file: its name without extension), a LoRA its file name without extension (what A1111's
 * `<lora:name:weight>` looks up). A1111 hashes the checkpoint file; for a diffusers folder the UNet's weights
 * file stands in for it (its shard index for a sharded UNet); a LoRA gets the safetensors-data hash.
 */
import { basename, extname, resolve } from 'node:path';
import { isFile } from '../util/is-file.js';
import { defaultHashCacheFile, FileHashCache } from '../util/file-hash.js';
import type { LoraUse } from './metadata.js';
import type { StableDiffusionPipeline } from './pipeline.js';

export interface NamedLora extends LoraUse {
  path: string;
}

export interface RunIdentity {
  /** `path`: the model as loaded; `weights`: the file hashed for A1111's Model hash. */
  model: { path: string; name: string; weights?: string; hash?: string };
  loras: NamedLora[];
}

export function modelName(path: string): string {
  return isFile(path) ? basename(path, extname(path)) : basename(resolve(path));
}

export function loraName(path: string): string {
  return basename(path, extname(path));
}

/** Names only (no file reads): the model and the pipeline's active LoRAs with their weights. */
export function pipelineIdentity(pipe: StableDiffusionPipeline): RunIdentity {
  const path = pipe.components.path;
  const weights = isFile(path) ? path : pipe.components.unet.source.origin;
  const files = new Map(pipe.loras.files.map((f) => [f.name, f.path]));
  const loras = [...pipe.loras.adapters].flatMap(([adapter, weight]) => {
    const file = files.get(adapter);
    return file === undefined ? [] : [{ name: loraName(file), weight, path: file }];
  });
  return { model: { path, name: modelName(path), weights: isFile(weights) ? weights : undefined }, loras };
}

/** Adds the sha256 hashes (cached by path, size and mtime). */
export async function hashIdentity(id: RunIdentity, hashes = new FileHashCache(defaultHashCacheFile())): Promise<RunIdentity> {
  const hash = id.model.weights === undefined ? undefined : await hashes.hash(id.model.weights, 'file');
  const loras: NamedLora[] = [];
  for (const l of id.loras) loras.push({ ...l, hash: await hashes.hash(l.path, 'safetensors-data') });
  return { model: { ...id.model, hash }, loras };
}
