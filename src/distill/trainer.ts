/**
 * `tdd distill`'s training run: teacher and data in, a LoRA out. Sets up the latent cache, the method's training
 * (its graph and phases, from the method table) compiled into one step (autodiff + AdamW per phase) and the loop,
 * with atomic checkpoints every `checkpointEvery` optimizer steps, exact resume, a JSONL log, a loss plot and
 * validation grids.
 */
import { UserError } from '../util/user-error.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LatentCache, openDataset, sampleLatents } from '../data/index.js';
import type { ImageCaptionDataset } from '../data/types.js';
import { createGraph } from '../ops/index.js';
import { initLoraWeights, splitLoraParams } from '../nn/lora-weights.js';
import { loraScaleName } from '../nn/lora-graph.js';
import type { HostTensor } from '../runtime/tensors.js';
import { sessionOptionsFor } from '../runtime/device.js';
import { TrainStep } from '../train/index.js';
import { updateEma } from '../train/ema.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import { TorchGenerator } from '../util/torch-generator.js';
import { loadParams } from '../weights/load-params.js';
import { sourceShapes } from '../weights/tensor-source.js';
import { CheckpointError } from '../train/checkpoint.js';
import { runTrainingLoop, ShuffledOrder, TrainingDivergedError } from '../train/training-loop.js';
import { EMA_SLOT, STUDENT_SLOT } from './common/distill-graph.js';
import {
  DistillConfigError,
  resolveDistillConfig,
  trainingHyperParameters,
  type DistillConfig,
  type DistillConfigInput,
} from './config.js';
import { distillMetadata, loraModules, writeDistilledLora, type WrittenLora } from './lora-output.js';
import { distillMethods, type MethodTraining } from './method-table.js';
import { PromptCache } from './prompt-cache.js';
import { openTeacher, type Teacher } from './teacher.js';
import { prepareOutputFolder } from './output-folder.js';
import { TRAINING_LOG_FILE, TrainingLog, type StepLogEntry } from '../train/training-log.js';
import { renderValidationGrid } from './validation.js';

export interface DistillEvents {
  /** Long preparation phases (latent caching, compiling). */
  onPhase?(phase: string, done: number, total: number): void;
  onStep?(entry: StepLogEntry, totalSteps: number): void;
  onMessage?(message: string): void;
}

export interface DistillResult {
  readonly config: DistillConfig;
  readonly optimizerSteps: number;
  /** Stopped early by the abort signal (a checkpoint was written). */
  readonly interrupted: boolean;
  readonly lora?: WrittenLora;
  readonly log: readonly StepLogEntry[];
}

export class DistillError extends UserError {
  override name = 'DistillError';
}

/** Runs (or resumes) a distillation. `signal` stops it after the current optimizer step, with a checkpoint. */
export async function distill(input: DistillConfigInput, events: DistillEvents = {}, signal?: AbortSignal): Promise<DistillResult> {
  const config = resolveDistillConfig(input);
  // Before the teacher loads: a folder that cannot be written is one line now, not a stack trace later.
  const out = prepareOutputFolder(config.out);
  let teacher: Teacher | undefined;
  let run: DistillRun;
  try {
    teacher = await openTeacher(config.teacher, config.resolution, config.runtime);
    checkAgainstTeacher(config, teacher);
    const dataset = await openDataset(config.data, { onWarning: (m) => events.onMessage?.(m) });
    if (dataset.records.length < config.batch)
      events.onMessage?.(`note: ${dataset.records.length} training images for a batch of ${config.batch}: batches repeat images`);
    const cache = new LatentCache(config.latentCache ?? join(config.out, 'latent-cache'), teacher.encoder, {
      width: teacher.resolution,
      height: teacher.resolution,
      latentChannels: teacher.latentShape[0],
    });
    await cache.ensure(dataset.records, (done, total) => events.onPhase?.('encoding images', done, total));
    run = await DistillRun.create(config, teacher, dataset, cache, events);
  } catch (e) {
    // A failed start leaves no config.json and no empty folder of this run behind (cached latents stay).
    await teacher?.pipeline.release().catch(() => undefined);
    out.undo();
    throw e;
  }
  // Written once the run is set up, so the folder only records runs that started.
  writeFileAtomically(join(config.out, 'config.json'), Buffer.from(JSON.stringify(config, null, 2)));
  try {
    return await run.loop(signal);
  } finally {
    await run.release();
  }
}

/** Settings whose valid range depends on the teacher, checked before any image is encoded. */
function checkAgainstTeacher(config: DistillConfig, teacher: Teacher): void {
  const total = teacher.schedule.numTrainTimesteps;
  if (config.numDdimTimesteps > total) {
    throw new DistillConfigError(
      `--num-ddim-timesteps: must be an integer in [1, ${total}] (the teacher's training timesteps) (got ${config.numDdimTimesteps})`,
    );
  }
}

class DistillRun {
  private readonly log: TrainingLog;
  private readonly checkpoints: string;
  private ema?: Map<string, Float32Array>;
  private rng: TorchGenerator;
  private readonly order: ShuffledOrder;

  private constructor(
    private readonly config: DistillConfig,
    private readonly teacher: Teacher,
    private readonly dataset: ImageCaptionDataset,
    private readonly step: TrainStep,
    private readonly training: MethodTraining,
    private readonly events: DistillEvents,
  ) {
    this.log = new TrainingLog(join(config.out, TRAINING_LOG_FILE));
    this.checkpoints = join(config.out, 'checkpoints');
    this.rng = new TorchGenerator(config.seed);
    this.order = new ShuffledOrder(dataset.records.length, config.seed);
    if (config.emaDecay !== undefined) this.ema = this.emaFromStudent();
  }

  static async create(
    config: DistillConfig,
    teacher: Teacher,
    dataset: ImageCaptionDataset,
    cache: LatentCache,
    events: DistillEvents,
  ): Promise<DistillRun> {
    const prompts = new PromptCache(teacher.pipeline.prompts);
    const probe = await prompts.embed(['']);
    const training = distillMethods[config.method].build({
      config,
      teacher,
      prompts,
      text: { tokens: probe.tokens, width: probe.width, pooledWidth: probe.pooledWidth },
      latents: async (records, rng) =>
        sampleLatents(await Promise.all(records.map((r) => cache.get(r))), rng, teacher.scalingFactor, teacher.shiftFactor),
    });
    events.onPhase?.('compiling the training step', 0, 1);
    // The teacher's weights, baked once into the one session every phase runs in; LoRA slots and other
    // phases' parameters are fed.
    const trained = new Set(training.phases.flatMap((p) => p.trainable.map((v) => v.name!)));
    const base = splitLoraParams(training.graph.params).base.filter((p) => !trained.has(p.name!));
    const frozen = loadParams(teacher.components.unet.source, base, 'unet').weights;
    const step = await TrainStep.create({
      graph: training.graph,
      phases: training.phases,
      frozen,
      gradAccumulationSteps: config.gradAccumulation,
      logs: training.logs,
      session: sessionOptionsFor(config.runtime),
    });
    events.onPhase?.('compiling the training step', 1, 1);
    return new DistillRun(config, teacher, dataset, step, training, events);
  }

  async loop(signal?: AbortSignal): Promise<DistillResult> {
    const c = this.config;
    const result = await runTrainingLoop(
      {
        step: this.step,
        totalSteps: c.steps,
        samplesPerStep: c.batch * c.gradAccumulation,
        checkpointDir: this.checkpoints,
        checkpointEvery: c.checkpointEvery,
        keepCheckpoints: c.keepCheckpoints,
        hyperParameters: trainingHyperParameters(c),
        resume: c.resume,
        outLabel: c.out,
        log: this.log,
        rng: this.rng,
        order: this.order,
        microBatch: async () => {
          const records = this.order.next(c.batch).map((k) => this.dataset.records[k]);
          return this.training.feeds({
            records,
            rng: this.rng,
            constantFeeds: () => this.constantFeeds(),
            microStep: this.step.microSteps,
            parameters: () => this.step.parameters(),
          });
        },
        extraState: this.ema && {
          save: () => this.ema,
          load: (saved) => {
            if (!saved) throw new CheckpointError(`${this.checkpoints}: the checkpoint has no EMA weights`);
            this.ema = new Map(saved);
          },
        },
        afterUpdate: () => this.updateEma(),
        afterCheckpoint: () => this.log.plot(join(c.out, 'loss.png'), `${c.method.toUpperCase()} distillation loss`),
        afterStep: async (n) => {
          if (c.validateEvery > 0 && n % c.validateEvery === 0) await this.validate(n);
        },
        onStep: this.events.onStep,
        onMessage: this.events.onMessage,
      },
      signal,
    ).catch((e: unknown) => {
      throw e instanceof TrainingDivergedError ? new DistillError(e.message) : e;
    });
    let lora: WrittenLora | undefined;
    if (!result.interrupted) {
      lora = writeDistilledLora(c.out, this.modules(), distillMetadata(c, this.step.optimizerSteps));
      await this.validate(this.step.optimizerSteps);
    }
    return { config: c, optimizerSteps: this.step.optimizerSteps, interrupted: result.interrupted, lora, log: this.log.entries };
  }

  private constantFeeds(): Record<string, HostTensor> {
    const one: HostTensor = { dtype: 'float32', dims: [], data: Float32Array.of(1) };
    const feeds: Record<string, HostTensor> = { [loraScaleName(STUDENT_SLOT)]: one };
    if (this.ema && this.training.ema) {
      feeds[loraScaleName(EMA_SLOT)] = one;
      for (const p of this.training.ema.params) feeds[p.name!] = { dtype: 'float32', dims: [...p.shape], data: this.ema.get(p.name!)! };
    }
    return feeds;
  }

  /** EMA parameter name for a student parameter name (same weight key and part, other slot). */
  private emaName(studentName: string): string {
    const studentPrefix = `lora.${STUDENT_SLOT}.`;
    if (!studentName.startsWith(studentPrefix)) throw new Error(`not a student LoRA parameter: ${studentName}`);
    return `lora.${EMA_SLOT}.${studentName.slice(studentPrefix.length)}`;
  }

  /** The student LoRA's current values (other phases' parameters are not part of it). */
  private studentParameters(): [string, Float32Array][] {
    const all = this.step.parameters();
    return this.training.student.params.map((p) => [p.name!, all.get(p.name!)!]);
  }

  private emaFromStudent(): Map<string, Float32Array> {
    return new Map(this.studentParameters().map(([name, v]) => [this.emaName(name), v.slice()]));
  }

  private updateEma(): void {
    if (!this.ema) return;
    for (const [name, v] of this.studentParameters()) updateEma(this.ema.get(this.emaName(name))!, v, this.config.emaDecay!);
  }

  private modules() {
    return loraModules(this.training.student, this.step.parameters());
  }

  private async validate(step: number): Promise<void> {
    const c = this.config;
    if (c.validationPrompts.length === 0) return;
    const dir = join(c.out, 'validation');
    mkdirSync(dir, { recursive: true });
    this.events.onPhase?.('validation grid', 0, 1);
    await renderValidationGrid(this.teacher.pipeline, this.modules(), join(dir, `step-${String(step).padStart(8, '0')}.png`), {
      prompts: c.validationPrompts,
      steps: c.validationSteps,
      preset: distillMethods[c.method].preset,
      resolution: this.teacher.resolution,
      seed: c.seed,
    });
    this.events.onPhase?.('validation grid', 1, 1);
  }

  async release(): Promise<void> {
    await this.training.release?.();
    await this.step.release();
    await this.teacher.pipeline.release();
  }
}
