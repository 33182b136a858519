/**
 * Dispatches `tdd info` on what a path is: a pipeline folder, a single component folder, or a safetensors
 * file (LoRA, single-file checkpoint, or plain weights).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { refusePickle } from '../weights/pickle-refusal.js';
import { describeLora, parseLora, type LoraAdapter, type LoraComponent, type LoraTarget } from '../weights/lora-formats.js';
import { FileTensorSource, sourceShapes, type TensorSource } from '../weights/tensor-source.js';
import { matchLoraToModel } from '../loaders/kohya-ldm-names.js';
import { loadComponents } from '../pipelines/components.js';
import { openSingleFile } from '../loaders/single-file/index.js';
import { findComponentWeights, openComponentWeights, readComponentConfig } from '../loaders/diffusers-folder.js';
import { LoaderError } from '../loaders/errors.js';
import { inspectDiffusersFolder, tallySource, unetFamily, type ModelReport } from '../loaders/inspect.js';

export interface InspectOptions {
  /** Base model folder a LoRA is matched against. */
  model?: string;
  variant?: string;
}

export function inspectPath(path: string, options: InspectOptions = {}): ModelReport {
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, 'model_index.json'))) return inspectDiffusersFolder(path, options);
    if (existsSync(join(path, 'config.json'))) return inspectComponentFolder(path, options);
    throw new LoaderError(`${path}: neither a diffusers pipeline folder (model_index.json) nor a component folder (config.json)`);
  }
  refusePickle(path);
  return inspectWeightsFile(path, options);
}

function inspectComponentFolder(dir: string, { variant }: InspectOptions): ModelReport {
  const config = readComponentConfig(dir);
  const className = String(config._class_name ?? (Array.isArray(config.architectures) ? config.architectures[0] : 'unknown'));
  const choice = findComponentWeights(dir, { variant });
  const source = openComponentWeights(dir, { variant: choice.variant ?? undefined });
  try {
    const architecture = className === 'UNet2DConditionModel' ? unetFamily(config) : className;
    return {
      path: dir,
      kind: 'diffusers-folder',
      architecture,
      components: [{ name: basename(dir), className, weights: basename(choice.path), ...tallySource(source), summary: '' }],
      notes: [],
    };
  } finally {
    source.close();
  }
}

function inspectWeightsFile(path: string, options: InspectOptions): ModelReport {
  const source = FileTensorSource.open(path);
  try {
    const adapter = parseLora(source);
    if (adapter.targets.length > 0) return inspectLora(path, adapter, options);
    if (looksLikeSingleFile(source.keys())) return inspectSingleFile(path);
    return {
      path,
      kind: 'weights',
      architecture: 'unrecognised tensor layout (neither a LoRA nor an SD checkpoint)',
      components: [{ name: basename(path), className: 'safetensors', weights: basename(path), ...tallySource(source), summary: '' }],
      notes: [`${source.keys().length} tensors; first keys: ${source.keys().slice(0, 3).join(', ')}`],
    };
  } finally {
    source.close();
  }
}

const looksLikeSingleFile = (keys: string[]): boolean =>
  keys.some(
    (k) =>
      /^(model\.diffusion_model|first_stage_model|cond_stage_model|conditioner)\./.test(k) ||
      /^(encoder|decoder)\.(down|up|mid|conv_in)/.test(k),
  );

function inspectLora(path: string, adapter: LoraAdapter, { model, variant }: InspectOptions): ModelReport {
  const byComponent = new Map<string, LoraTarget[]>();
  for (const t of adapter.targets) byComponent.set(t.component, [...(byComponent.get(t.component) ?? []), t]);
  const ranks = [...new Set(adapter.targets.map((t) => t.rank))].sort((a, b) => a - b);
  const alphas = [...new Set(adapter.targets.map((t) => t.alpha ?? t.rank))];
  const components = [...byComponent].map(([name, targets]) => ({
    name,
    className: `LoRA (${[...new Set(targets.map((t) => t.format))].join('+')})`,
    weights: basename(path),
    dtypes: {},
    parameters: targets.reduce((s, t) => s + t.down.data.length + t.up.data.length, 0),
    summary: `${targets.length} modules`,
  }));
  const notes = [`rank ${ranks.join('/')}, alpha ${alphas.join('/')}`];
  if (adapter.unrecognized.length > 0)
    notes.push(
      `${adapter.unrecognized.length} unrecognised key(s), e.g. ${adapter.unrecognized[0].key} (${adapter.unrecognized[0].reason})`,
    );
  if (model) notes.push(...matchAgainstModel(adapter, model, variant));
  else notes.push('pass --model <dir> to match the LoRA against a base model');
  return { path, kind: 'lora', architecture: 'LoRA adapter', components, notes };
}

function matchAgainstModel(adapter: LoraAdapter, model: string, variant?: string): string[] {
  const parts = loadComponents(model, { variant });
  try {
    const sources: [LoraComponent, TensorSource][] = [
      ['unet', parts.unet.source],
      ...parts.textEncoders.map((t) => [t.name, t.source] as [LoraComponent, TensorSource]),
    ];
    const matches = matchLoraToModel(
      adapter,
      parts.unet.rawConfig,
      sources.map(([c, source]) => [c, sourceShapes(source)]),
    );
    return describeLora(adapter, matches)
      .split('\n')
      .slice(1)
      .map((l) => `against ${model}: ${l.trim()}`);
  } finally {
    for (const s of [parts.unet.source, parts.vae.source, ...parts.textEncoders.map((t) => t.source)]) s.close();
  }
}

function inspectSingleFile(path: string): ModelReport {
  const checkpoint = openSingleFile(path);
  try {
    const components = Object.entries(checkpoint.components).map(([name, c]) => ({
      name,
      className: String(c.config._class_name ?? c.layout),
      weights: basename(path),
      ...tallySource(c.source),
      summary: c.assumed.length ? `assumed: ${c.assumed.join(', ')}` : '',
    }));
    const unet = checkpoint.components.unet;
    const notes = [
      `${checkpoint.ignored.length} key(s) ignored (EMA, buffers)`,
      ...(checkpoint.unmatched.length
        ? [`${checkpoint.unmatched.length} unmatched key(s), e.g. ${checkpoint.unmatched.slice(0, 3).join(', ')}`]
        : []),
    ];
    return {
      path,
      kind: 'single-file',
      architecture: unet ? unetFamily(unet.config) : (checkpoint.architecture ?? 'VAE only'),
      components,
      notes,
    };
  } finally {
    checkpoint.close();
  }
}
