/**
 * Training checkpoints: everything a run needs to continue exactly — LoRA parameters, AdamW moments, gradient
 * accumulators, the EMA copy, counters, the generator state and the data position. Each checkpoint is a folder
 * `checkpoints/step-<n>` written under a temporary name and renamed when complete, so a run killed at any moment
 * leaves only complete checkpoints behind (an interrupted one is a `.tmp` folder, removed on the next save).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainState } from './train-step.js';
import type { TorchGeneratorState } from '../util/torch-generator.js';
import { SafetensorsFile } from '../weights/safetensors.js';
import { writeSafetensors, type TensorToWrite } from '../weights/safetensors-writer.js';

export interface CheckpointData {
  readonly train: TrainState;
  readonly ema?: ReadonlyMap<string, Float32Array>;
  readonly rng: TorchGeneratorState;
  /** The data sampler's serializable position. */
  readonly data: unknown;
  /** Settings that must match when resuming. */
  readonly hyperParameters: Record<string, unknown>;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

const STATE_FILE = 'state.json';
const TENSORS_FILE = 'state.safetensors';
const FORMAT = 'tdd-distill-checkpoint/1';
const GROUPS = ['params', 'm', 'v', 'acc', 'ema'] as const;
type Group = (typeof GROUPS)[number];

const stepDir = (root: string, step: number) => join(root, `step-${String(step).padStart(8, '0')}`);

/** Writes the checkpoint for `train.optimizerSteps`, then removes all but the newest `keep` ones. */
export function saveCheckpoint(root: string, c: CheckpointData, keep: number): string {
  mkdirSync(root, { recursive: true });
  const step = c.train.optimizerSteps;
  const final = stepDir(root, step);
  const tmp = `${final}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const tensors: TensorToWrite[] = [];
  const add = (group: Group, m: ReadonlyMap<string, Float32Array> | undefined) => {
    for (const [name, data] of m ?? []) tensors.push({ name: `${group}/${name}`, dtype: 'F32', shape: [data.length], data });
  };
  add('params', c.train.params);
  add('m', c.train.m);
  add('v', c.train.v);
  add('acc', c.train.acc);
  add('ema', c.ema);
  writeSafetensors(join(tmp, TENSORS_FILE), tensors);
  const state = { format: FORMAT, optimizerSteps: step, microSteps: c.train.microSteps, rng: c.rng, data: c.data, hyperParameters: c.hyperParameters };
  writeFileSync(join(tmp, STATE_FILE), JSON.stringify(state, null, 1));
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  for (const old of listCheckpoints(root).slice(0, -keep)) rmSync(old.dir, { recursive: true, force: true });
  return final;
}

/** Complete checkpoints in `root`, oldest first. */
export function listCheckpoints(root: string): { step: number; dir: string }[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => /^step-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(root, m[0], STATE_FILE)))
    .map((m) => ({ step: Number(m[1]), dir: join(root, m[0]) }))
    .sort((a, b) => a.step - b.step);
}

export function loadCheckpoint(dir: string): CheckpointData {
  let state: { format?: string; optimizerSteps: number; microSteps: number; rng: TorchGeneratorState; data: unknown; hyperParameters: Record<string, unknown> };
  try {
    state = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${join(dir, STATE_FILE)}: cannot read the checkpoint state (${(e as Error).message})`);
  }
  if (state.format !== FORMAT) throw new CheckpointError(`${join(dir, STATE_FILE)}: not a ${FORMAT} checkpoint (format ${JSON.stringify(state.format)})`);
  const groups = new Map<Group, Map<string, Float32Array>>(GROUPS.map((g) => [g, new Map()]));
  const file = SafetensorsFile.open(join(dir, TENSORS_FILE));
  try {
    for (const key of file.tensors.keys()) {
      const slash = key.indexOf('/');
      const group = groups.get(key.slice(0, slash) as Group);
      if (!group) throw new CheckpointError(`${file.path}: unexpected tensor ${key}`);
      group.set(key.slice(slash + 1), file.float32(key));
    }
  } finally {
    file.close();
  }
  const g = (name: Group) => groups.get(name)!;
  const train: TrainState = { optimizerSteps: state.optimizerSteps, microSteps: state.microSteps, params: g('params'), m: g('m'), v: g('v'), acc: g('acc') };
  return { train, ema: g('ema').size > 0 ? g('ema') : undefined, rng: state.rng, data: state.data, hyperParameters: state.hyperParameters };
}

/** Names the settings that differ between a checkpoint and the current run (resuming needs them equal). */
export function hyperParameterMismatches(saved: Record<string, unknown>, current: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(saved), ...Object.keys(current)]);
  return [...keys].filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(current[k])).map((k) => `${k}: checkpoint ${JSON.stringify(saved[k])}, now ${JSON.stringify(current[k])}`);
}
