/**
 * One training stage of the teacher (the autoencoder, or the text encoder + UNet): compile the graph's
 * training step, run the shared loop with checkpoints under `<work>/<stage>/`, and hand back the final weights
 * (the EMA copy when the stage keeps one). A stage whose weights were already exported is not rerun.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph, Value } from '../ir/index.js';
import { TrainStep } from '../train/index.js';
import { sessionOptionsFor } from '../runtime/device.js';
import { updateEma } from '../train/ema.js';
import { runTrainingLoop, ShuffledOrder, type MicroBatch } from '../train/training-loop.js';
import { TRAINING_LOG_FILE, TrainingLog, type StepLogEntry } from '../train/training-log.js';
import { TorchGenerator } from '../util/torch-generator.js';
import type { StageSettings, TeacherConfig } from './config.js';
import { initTrainingWeights } from './init.js';

export interface StageEvents {
  onPhase?(phase: string, done: number, total: number): void;
  onStep?(stage: string, entry: StepLogEntry, totalSteps: number): void;
  onMessage?(message: string): void;
}

export interface StageDefinition {
  readonly name: 'vae' | 'denoiser';
  readonly title: string;
  readonly graph: Graph;
  readonly loss: Value;
  readonly trainable: readonly Value[];
  readonly logs?: Readonly<Record<string, Value>>;
  readonly settings: StageSettings;
  /** Items the data order shuffles over. */
  readonly itemCount: number;
  readonly hyperParameters: Record<string, unknown>;
  /** Feeds for one batch of item indices, drawing randomness from `rng`. */
  microBatch(items: number[], rng: TorchGenerator): Promise<MicroBatch>;
  readonly emaDecay?: number;
  /** After each checkpoint, with the weights the stage would hand back now (validation grids, ...). */
  afterCheckpoint?(step: number, weights: ReadonlyMap<string, Float32Array>): Promise<void>;
}

export interface StageResult {
  readonly weights: ReadonlyMap<string, Float32Array>;
  readonly interrupted: boolean;
  readonly log: readonly StepLogEntry[];
}

export async function runStage(
  config: TeacherConfig,
  def: StageDefinition,
  events: StageEvents,
  signal?: AbortSignal,
): Promise<StageResult> {
  const dir = join(config.work, def.name);
  mkdirSync(dir, { recursive: true });
  events.onPhase?.(`compiling the ${def.title} training step`, 0, 1);
  const step = await TrainStep.create({
    graph: def.graph,
    loss: def.loss,
    trainable: def.trainable,
    initial: initTrainingWeights(def.trainable, config.seed),
    optimizer: { lr: def.settings.lr, weightDecay: config.weightDecay },
    lrSchedule: def.settings.warmupSteps > 0 ? { name: 'constant_with_warmup', warmupSteps: def.settings.warmupSteps } : undefined,
    maxGradNorm: config.maxGradNorm,
    logs: def.logs,
    session: sessionOptionsFor(config.runtime),
  });
  events.onPhase?.(`compiling the ${def.title} training step`, 1, 1);
  const rng = new TorchGenerator(config.seed);
  const order = new ShuffledOrder(def.itemCount, config.seed);
  const log = new TrainingLog(join(dir, TRAINING_LOG_FILE));
  let ema: Map<string, Float32Array> | undefined = def.emaDecay === undefined ? undefined : copyWeights(step.parameters());
  try {
    const result = await runTrainingLoop(
      {
        step,
        totalSteps: def.settings.steps,
        samplesPerStep: def.settings.batch,
        checkpointDir: join(dir, 'checkpoints'),
        checkpointEvery: config.checkpointEvery,
        keepCheckpoints: config.keepCheckpoints,
        hyperParameters: def.hyperParameters,
        resume: config.resume,
        outLabel: dir,
        log,
        rng,
        order,
        microBatch: () => def.microBatch(order.next(def.settings.batch), rng),
        extraState: ema && {
          save: () => ema,
          load: (saved) => {
            if (!saved) throw new Error(`${dir}: the checkpoint has no EMA weights`);
            ema = new Map(saved);
          },
        },
        afterUpdate: () => {
          if (!ema) return;
          // Warm-up as diffusers' EMAModel: early averages do not drag the random initialisation along.
          const n = step.optimizerSteps;
          const decay = Math.min(def.emaDecay!, (1 + n) / (10 + n));
          for (const [name, v] of step.parameters()) updateEma(ema.get(name)!, v, decay);
        },
        afterCheckpoint: async (n) => {
          await log.plot(join(dir, 'loss.png'), `${def.title} training loss`);
          await def.afterCheckpoint?.(n, ema ?? step.parameters());
        },
        onStep: (entry, total) => events.onStep?.(def.name, entry, total),
        onMessage: events.onMessage,
      },
      signal,
    );
    return { weights: ema ?? copyWeights(step.parameters()), interrupted: result.interrupted, log: log.entries };
  } finally {
    await step.release();
  }
}

function copyWeights(m: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...m].map(([k, v]) => [k, v.slice()]));
}
