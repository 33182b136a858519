/**
 * Training checkpoints: everything a run needs to continue exactly — LoRA parameters, AdamW moments, gradient
 * accumulators, the EMA copy, counters, the generator state and the data position. Each checkpoint is a folder
 * `checkpoints/step-<n>` written under a temporary name and renamed when complete, so a run killed at any moment
 * leaves only complete checkpoints behind (an interrupted one is a `.tmp` folder, removed on the next save).
 * Files and folders are fsynced before and after the rename, so a power loss cannot leave a renamed checkpoint
 * whose data never reached the disk; state.json records the tensor file's size and sha256, and resuming takes
 * the newest checkpoint that verifies, saying which damaged ones it passed over.
 */
import { UserFileError } from '../util/user-error.js';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { fsyncDir, writeFileDurably } from '../util/atomic-write.js';
import { join } from 'node:path';
import type { TrainState } from './train-step.js';
import type { TorchGeneratorState } from '../util/torch-generator.js';
import { SafetensorsFile } from '../weights/safetensors.js';
import { SafetensorsError } from '../weights/errors.js';
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

export class CheckpointError extends UserFileError {
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
  const tensorsFile = { bytes: statSync(join(tmp, TENSORS_FILE)).size, sha256: sha256File(join(tmp, TENSORS_FILE)) };
  const state = {
    format: FORMAT,
    optimizerSteps: step,
    microSteps: c.train.microSteps,
    rng: c.rng,
    data: c.data,
    hyperParameters: c.hyperParameters,
    tensorsFile,
  };
  writeFileDurably(join(tmp, STATE_FILE), JSON.stringify(state, null, 1));
  fsyncDir(tmp);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  fsyncDir(root);
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

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * The newest checkpoint that loads and matches its recorded size and checksum, or undefined when none does
 * (there were none, or all are damaged). Each damaged newer one is reported through `warn` and left in place.
 */
export function loadNewestIntactCheckpoint(
  root: string,
  warn: (message: string) => void,
): { step: number; dir: string; data: CheckpointData } | undefined {
  const all = listCheckpoints(root).reverse();
  for (const [i, c] of all.entries()) {
    try {
      const data = loadCheckpoint(c.dir);
      if (i > 0) warn(`resuming from ${c.dir} (step ${c.step}), the newest intact checkpoint`);
      return { ...c, data };
    } catch (e) {
      if (!(e instanceof CheckpointError) && !(e instanceof SafetensorsError)) throw e;
      warn(`checkpoint ${c.dir} is damaged and was passed over: ${(e as Error).message}`);
    }
  }
  return undefined;
}

export function loadCheckpoint(dir: string): CheckpointData {
  let state: {
    format?: string;
    optimizerSteps: number;
    microSteps: number;
    rng: TorchGeneratorState;
    data: unknown;
    hyperParameters: Record<string, unknown>;
    tensorsFile?: { bytes: number; sha256: string };
  };
  try {
    state = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${join(dir, STATE_FILE)}: cannot read the checkpoint state (${(e as Error).message})`);
  }
  if (state.format !== FORMAT)
    throw new CheckpointError(`${join(dir, STATE_FILE)}: not a ${FORMAT} checkpoint (format ${JSON.stringify(state.format)})`);
  const tensorsPath = join(dir, TENSORS_FILE);
  // Checkpoints written before the checksum was recorded are verified by loading alone.
  if (state.tensorsFile) {
    const bytes = existsSync(tensorsPath) ? statSync(tensorsPath).size : -1;
    if (bytes !== state.tensorsFile.bytes)
      throw new CheckpointError(
        `${tensorsPath}: ${bytes < 0 ? 'missing' : `${bytes} bytes`}, the checkpoint recorded ${state.tensorsFile.bytes}`,
      );
    if (sha256File(tensorsPath) !== state.tensorsFile.sha256)
      throw new CheckpointError(`${tensorsPath}: its checksum differs from the one recorded (the file was damaged)`);
  }
  const groups = new Map<Group, Map<string, Float32Array>>(GROUPS.map((g) => [g, new Map()]));
  const file = SafetensorsFile.open(tensorsPath);
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
  const train: TrainState = {
    optimizerSteps: state.optimizerSteps,
    microSteps: state.microSteps,
    params: g('params'),
    m: g('m'),
    v: g('v'),
    acc: g('acc'),
  };
  return { train, ema: g('ema').size > 0 ? g('ema') : undefined, rng: state.rng, data: state.data, hyperParameters: state.hyperParameters };
}

/** Names the settings that differ between a checkpoint and the current run (resuming needs them equal). */
export function hyperParameterMismatches(saved: Record<string, unknown>, current: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(saved), ...Object.keys(current)]);
  return [...keys]
    .filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(current[k]))
    .map((k) => `${k}: checkpoint ${JSON.stringify(saved[k])}, now ${JSON.stringify(current[k])}`);
}
