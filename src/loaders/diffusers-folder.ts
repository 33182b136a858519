/**
 * A diffusers pipeline folder as `save_pretrained` writes it: model_index.json naming the components, one
 * sub-folder per component with its config.json (scheduler: scheduler_config.json) and weights
 * (`diffusion_pytorch_model[.variant].safetensors` for diffusers models, `model[.variant].safetensors` for
 * transformers ones, or a sharded `*.safetensors.index[.variant].json` beside its shards).
 *
 * Only safetensors are read; a component that has nothing but pickle weights (.bin/.ckpt) is refused with
 * the reason and a way to convert.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parsePythonJson } from '../util/python-json.js';
import { pickleRefusal } from '../weights/pickle-refusal.js';
import { FileTensorSource, ShardedTensorSource, type TensorSource } from '../weights/tensor-source.js';
import { LoaderError } from './errors.js';

export type ComponentLibrary = 'diffusers' | 'transformers' | string;

export interface ComponentEntry {
  name: string;
  library: ComponentLibrary;
  className: string;
}

/** model_index.json, with components whose entry is `[null, null]` (absent safety checker ...) left out. */
export interface ModelIndex {
  pipelineClass: string;
  components: ComponentEntry[];
  /** Other top-level keys (requires_safety_checker, force_zeros_for_empty_prompt, ...). */
  options: Record<string, unknown>;
}

const WEIGHT_STEMS = ['diffusion_pytorch_model', 'model'] as const;

/** Reads and parses a JSON file, naming the file in every error. */
export function readJsonFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LoaderError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  let json: unknown;
  try {
    json = parsePythonJson(text);
  } catch (err) {
    throw new LoaderError(`${path}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new LoaderError(`${path}: expected a JSON object`);
  return json as Record<string, unknown>;
}

export function readModelIndex(dir: string): ModelIndex {
  const path = join(dir, 'model_index.json');
  const json = readJsonFile(path);
  const pipelineClass = json._class_name;
  if (typeof pipelineClass !== 'string') throw new LoaderError(`${path}: "_class_name" must name the pipeline class`);
  const components: ComponentEntry[] = [];
  const options: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(json)) {
    if (name.startsWith('_')) continue;
    if (!Array.isArray(value)) {
      options[name] = value;
      continue;
    }
    if (value.length !== 2) throw new LoaderError(`${path}: component "${name}" must be [library, class], got ${JSON.stringify(value)}`);
    const [library, className] = value;
    if (library === null && className === null) continue;
    if (typeof library !== 'string' || typeof className !== 'string') {
      throw new LoaderError(`${path}: component "${name}" must be [library, class] strings, got ${JSON.stringify(value)}`);
    }
    components.push({ name, library, className });
  }
  return { pipelineClass, components, options };
}

export interface WeightsOptions {
  /** e.g. 'fp16' for `*.fp16.safetensors`; without it the plain files are preferred. */
  variant?: string;
}

/** The weight file(s) of one component folder, chosen as diffusers does; see the module comment. */
export function findComponentWeights(
  componentDir: string,
  { variant }: WeightsOptions = {},
): { path: string; sharded: boolean; variant: string | null } {
  const files = listFiles(componentDir);
  const pick = (v: string | null): { path: string; sharded: boolean; variant: string | null } | null => {
    for (const stem of WEIGHT_STEMS) {
      const single = v ? `${stem}.${v}.safetensors` : `${stem}.safetensors`;
      if (files.includes(single)) return { path: join(componentDir, single), sharded: false, variant: v };
      const index = v ? `${stem}.safetensors.index.${v}.json` : `${stem}.safetensors.index.json`;
      if (files.includes(index)) return { path: join(componentDir, index), sharded: true, variant: v };
    }
    return null;
  };
  const found = pick(variant ?? null);
  if (found) return found;
  const available = files.filter((f) => f.endsWith('.safetensors') || f.endsWith('.json') || isPickleName(f));
  if (variant) {
    throw new LoaderError(
      `${componentDir}: no "${variant}" variant weights (looked for diffusion_pytorch_model.${variant}.safetensors / model.${variant}.safetensors); found: ${available.join(', ') || 'nothing'}`,
    );
  }
  // No plain weights: a folder holding only one variant (e.g. fp16) is still usable.
  const variants = new Set(
    files
      .map((f) => /^(?:diffusion_pytorch_model|model)\.([\w-]+)\.safetensors$/.exec(f)?.[1])
      .filter((v): v is string => !!v && !/^\d/.test(v)),
  );
  if (variants.size === 1) return pick([...variants][0])!;
  const pickle = files.find(isPickleName);
  if (pickle) {
    throw pickleRefusal(join(componentDir, pickle), 'this folder has only PyTorch pickle weights');
  }
  const hint = variants.size > 1 ? `; several variants exist (${[...variants].join(', ')}): choose one with the variant option` : '';
  throw new LoaderError(`${componentDir}: no safetensors weights (diffusion_pytorch_model.safetensors or model.safetensors)${hint}`);
}

/** Opens the chosen weights of a component folder lazily (headers only). */
export function openComponentWeights(componentDir: string, options: WeightsOptions = {}): TensorSource {
  const { path, sharded } = findComponentWeights(componentDir, options);
  return sharded ? ShardedTensorSource.open(path) : FileTensorSource.open(path);
}

/** A component's config: config.json, or scheduler_config.json for schedulers. */
export function readComponentConfig(componentDir: string): Record<string, unknown> {
  for (const name of ['config.json', 'scheduler_config.json']) {
    const path = join(componentDir, name);
    if (existsSync(path)) return readJsonFile(path);
  }
  throw new LoaderError(`${componentDir}: no config.json (or scheduler_config.json)`);
}

/** A pipeline folder, opened: its index, and lazy access to each component. */
export class DiffusersFolder {
  private constructor(
    readonly dir: string,
    readonly index: ModelIndex,
  ) {}

  static open(dir: string): DiffusersFolder {
    if (!existsSync(dir)) throw new LoaderError(`${dir}: no such directory`);
    if (!statSync(dir).isDirectory())
      throw new LoaderError(`${dir}: not a directory (for a single .safetensors checkpoint use the single-file loader)`);
    if (!existsSync(join(dir, 'model_index.json'))) {
      throw new LoaderError(
        `${dir}: no model_index.json, so this is not a diffusers pipeline folder (expected sub-folders unet/, vae/, text_encoder/, ... and model_index.json)`,
      );
    }
    return new DiffusersFolder(dir, readModelIndex(dir));
  }

  has(name: string): boolean {
    return this.index.components.some((c) => c.name === name);
  }

  component(name: string): ComponentEntry {
    const entry = this.index.components.find((c) => c.name === name);
    if (!entry) {
      const names = this.index.components.map((c) => c.name).join(', ');
      throw new LoaderError(`${join(this.dir, 'model_index.json')}: no component "${name}" (it lists ${names})`);
    }
    return entry;
  }

  componentDir(name: string): string {
    this.component(name);
    const dir = join(this.dir, name);
    if (!existsSync(dir)) throw new LoaderError(`${dir}: model_index.json lists "${name}" but the folder is missing`);
    return dir;
  }

  config(name: string): Record<string, unknown> {
    return readComponentConfig(this.componentDir(name));
  }

  weights(name: string, options: WeightsOptions = {}): TensorSource {
    return openComponentWeights(this.componentDir(name), options);
  }
}

function listFiles(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (err) {
    throw new LoaderError(`${dir}: cannot list (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}

const isPickleName = (f: string): boolean => /\.(bin|ckpt|pt|pth)$/i.test(f);
