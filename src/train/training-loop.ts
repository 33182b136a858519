/**
 * The optimizer-step loop every training command shares: resume from the newest checkpoint (refusing when the
 * settings differ), run micro-batches until an update applies, log each step, write atomic checkpoints every
 * N steps and at the end, stop cleanly on an abort signal (with a checkpoint) and stop on a non-finite loss
 * naming the last good checkpoint. What a batch is stays with the caller (`microBatch`).
 */
import { UserError } from '../util/user-error.js';
import { EpochSampler, type SamplerPosition } from '../data/batches.js';
import type { HostTensor } from '../runtime/tensors.js';
import type { TorchGenerator } from '../util/torch-generator.js';
import { CheckpointError, hyperParameterMismatches, listCheckpoints, loadNewestIntactCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { TrainStep, TrainStepResult } from './train-step.js';
import type { StepLogEntry, TrainingLog } from './training-log.js';

/** A data order that can be saved in a checkpoint and restored (EpochSampler). */
export interface ResumableOrder {
  readonly position: unknown;
  restore(position: unknown): void;
}

export interface MicroBatch {
  readonly feeds: Record<string, HostTensor>;
  /** Captions replaced by the empty prompt (logged when defined). */
  readonly emptied?: number;
}

export interface TrainingLoopOptions {
  readonly step: TrainStep;
  readonly totalSteps: number;
  /** Samples per micro-batch × micro-batches per update (for samples/s). */
  readonly samplesPerStep: number;
  readonly checkpointDir: string;
  readonly checkpointEvery: number;
  readonly keepCheckpoints: number;
  /** Settings a resumed run must share with the checkpoint. */
  readonly hyperParameters: Record<string, unknown>;
  readonly resume: boolean;
  /** What to call the run's output folder in messages. */
  readonly outLabel: string;
  readonly log: TrainingLog;
  readonly rng: TorchGenerator;
  readonly order: ResumableOrder;
  microBatch(): Promise<MicroBatch>;
  /** Kept in checkpoints beside the optimizer state (e.g. an EMA copy). */
  readonly extraState?: {
    save(): ReadonlyMap<string, Float32Array> | undefined;
    load(saved: ReadonlyMap<string, Float32Array> | undefined): void;
  };
  afterUpdate?(): void;
  /** After every checkpoint (plots, ...). */
  afterCheckpoint?(step: number): Promise<void>;
  /** After each optimizer step that is not the last (validation grids, ...). */
  afterStep?(step: number): Promise<void>;
  onStep?(entry: StepLogEntry, totalSteps: number): void;
  onMessage?(message: string): void;
}

export class TrainingDivergedError extends UserError {
  override name = 'TrainingDivergedError';
}

export interface TrainingLoopResult {
  readonly optimizerSteps: number;
  readonly interrupted: boolean;
}

export async function runTrainingLoop(o: TrainingLoopOptions, signal?: AbortSignal): Promise<TrainingLoopResult> {
  resume(o);
  const started = Date.now();
  while (o.step.optimizerSteps < o.totalSteps) {
    const t0 = Date.now();
    const { result, emptied } = await optimizerStep(o);
    const entry: StepLogEntry = {
      step: o.step.optimizerSteps,
      loss: result.loss,
      lr: result.lr,
      grad_norm: result.gradNorm,
      samples_per_s: (o.samplesPerStep * 1000) / Math.max(1, Date.now() - t0),
      elapsed_s: (Date.now() - started) / 1000,
      ...(emptied === undefined ? {} : { empty_prompts: emptied }),
      ...result.logs,
    };
    o.log.append(entry);
    o.onStep?.(entry, o.totalSteps);
    const n = o.step.optimizerSteps;
    const last = n === o.totalSteps;
    if (signal?.aborted && !last) {
      await checkpoint(o);
      return { optimizerSteps: n, interrupted: true };
    }
    if (n % o.checkpointEvery === 0 || last) await checkpoint(o);
    if (!last) await o.afterStep?.(n);
  }
  return { optimizerSteps: o.step.optimizerSteps, interrupted: false };
}

/** Micro-batches until the optimizer applies an update; the reported loss is their mean. */
async function optimizerStep(o: TrainingLoopOptions): Promise<{ result: TrainStepResult; emptied?: number }> {
  let lossSum = 0;
  let emptied: number | undefined;
  for (let i = 0; ; i++) {
    const batch = await o.microBatch();
    const result = await o.step.run(batch.feeds);
    if (!Number.isFinite(result.loss)) throw divergence(o, result.loss);
    lossSum += result.loss;
    if (batch.emptied !== undefined) emptied = (emptied ?? 0) + batch.emptied;
    if (result.applied) {
      o.afterUpdate?.();
      return { result: { ...result, loss: lossSum / (i + 1) }, emptied };
    }
  }
}

function divergence(o: TrainingLoopOptions, loss: number): TrainingDivergedError {
  const last = listCheckpoints(o.checkpointDir).at(-1);
  const kept = last
    ? `the last good checkpoint is ${last.dir} (step ${last.step}); resume from it with --resume after lowering --lr`
    : 'no checkpoint was written yet; lower --lr and start again';
  return new TrainingDivergedError(
    `the loss became ${loss} at optimizer step ${o.step.optimizerSteps + 1}: training diverged and was stopped; ${kept}`,
  );
}

async function checkpoint(o: TrainingLoopOptions): Promise<void> {
  saveCheckpoint(
    o.checkpointDir,
    {
      train: o.step.saveState(),
      ema: o.extraState?.save(),
      rng: o.rng.getState(),
      data: o.order.position,
      hyperParameters: o.hyperParameters,
    },
    o.keepCheckpoints,
  );
  await o.afterCheckpoint?.(o.step.optimizerSteps);
}

function resume(o: TrainingLoopOptions): void {
  const latest = listCheckpoints(o.checkpointDir).at(-1);
  if (!o.resume) {
    if (latest)
      throw new CheckpointError(
        `${o.outLabel} already holds checkpoints (latest: step ${latest.step}); pass --resume to continue that run or choose another --out`,
      );
    o.log.resumeAt(0);
    return;
  }
  if (!latest) {
    o.onMessage?.(`--resume: no checkpoint in ${o.checkpointDir}; starting from step 0`);
    o.log.resumeAt(0);
    return;
  }
  const intact = loadNewestIntactCheckpoint(o.checkpointDir, (m) => o.onMessage?.(`warning: ${m}`));
  if (!intact)
    throw new CheckpointError(
      `--resume: every checkpoint in ${o.checkpointDir} is damaged (see the warnings); move them away to start again from step 0`,
    );
  const { data: saved, dir, step } = intact;
  const mismatches = hyperParameterMismatches(saved.hyperParameters, o.hyperParameters);
  if (mismatches.length > 0) throw new CheckpointError(`cannot resume from ${dir}: settings differ (${mismatches.join('; ')})`);
  o.step.loadState(saved.train);
  o.rng.setState(saved.rng);
  o.order.restore(saved.data);
  o.extraState?.load(saved.ema);
  o.log.resumeAt(step);
  o.onMessage?.(`resumed from ${dir} (step ${step})`);
}

/** An EpochSampler as a ResumableOrder: shuffled epochs over `count` items, restorable from a checkpoint. */
export class ShuffledOrder implements ResumableOrder {
  private sampler: EpochSampler;

  constructor(
    readonly count: number,
    readonly seed: number,
  ) {
    this.sampler = new EpochSampler(count, seed);
  }

  get position(): unknown {
    return this.sampler.position;
  }

  restore(position: unknown): void {
    this.sampler = EpochSampler.restore(this.count, this.seed, position as SamplerPosition);
  }

  next(batch: number): number[] {
    return this.sampler.next(batch);
  }
}
