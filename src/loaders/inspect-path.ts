/**
 * Dispatches `tdd info` on what a path is: a pipeline folder, a single component folder, or a safetensors
 * file (LoRA, single-file checkpoint, or plain weights).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { refusePickle } from '../weights/pickle-refusal.js';
import { FileTensorSource } from '../weights/tensor-source.js';
import { findComponentWeights, openComponentWeights, readComponentConfig } from './diffusers-folder.js';
import { LoaderError } from './errors.js';
import { inspectDiffusersFolder, tallySource, unetFamily, type ModelReport } from './inspect.js';

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
  return inspectWeightsFile(path);
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

function inspectWeightsFile(path: string): ModelReport {
  const source = FileTensorSource.open(path);
  try {
    return {
      path,
      kind: 'weights',
      architecture: 'unrecognised tensor layout',
      components: [{ name: basename(path), className: 'safetensors', weights: basename(path), ...tallySource(source), summary: '' }],
      notes: [`${source.keys().length} tensors; first keys: ${source.keys().slice(0, 3).join(', ')}`],
    };
  } finally {
    source.close();
  }
}
