/**
 * `tdd distill`'s training run: teacher and data in, a LoRA out. Sets up the latent cache, the one-graph
 * training step (distill-graph.ts compiled with autodiff + AdamW) and the loop, with atomic checkpoints every
 * `checkpointEvery` optimizer steps, exact resume, a JSONL log, a loss plot and validation grids.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EpochSampler, LatentCache, openDataset, sampleLatents } from '../data/index.js';
import type { ImageCaptionDataset } from '../data/types.js';
import { createGraph } from '../ops/index.js';
import { initLoraWeights, splitLoraParams } from '../nn/lora-weights.js';
import { loraScaleName } from '../nn/lora-graph.js';
import type { HostTensor } from '../runtime/tensors.js';
import { TrainStep, type TrainStepResult } from '../train/index.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import { TorchGenerator } from '../util/torch-generator.js';
import { loadParams } from '../weights/load-params.js';
import { sourceShapes } from '../weights/tensor-source.js';
import { hyperParameterMismatches, listCheckpoints, loadCheckpoint, saveCheckpoint, CheckpointError } from './checkpoint.js';
import { DdimSolver } from './common/ddim-solver.js';
import { buildDistillGraph, EMA_SLOT, STUDENT_SLOT, type DistillGraph } from './common/distill-graph.js';
import { loraTargets } from './common/lora-targets.js';
import { resolveDistillConfig, trainingHyperParameters, type DistillConfig, type DistillConfigInput } from './config.js';
import { distillMetadata, loraModules, writeDistilledLora, type WrittenLora } from './lora-output.js';
import { lcmMethod, tddMethod, type DistillMethod } from './method.js';
import { PromptCache } from './prompt-cache.js';
import { stepFeeds, type StepFeedsContext } from './step-feeds.js';
import { openTeacher, type Teacher } from './teacher.js';
import { TrainingLog, type StepLogEntry } from './training-log.js';
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

export class DistillError extends Error {
  override name = 'DistillError';
}

/** Runs (or resumes) a distillation. `signal` stops it after the current optimizer step, with a checkpoint. */
export async function distill(input: DistillConfigInput, events: DistillEvents = {}, signal?: AbortSignal): Promise<DistillResult> {
  const config = resolveDistillConfig(input);
  mkdirSync(config.out, { recursive: true });
  writeFileAtomically(join(config.out, 'config.json'), Buffer.from(JSON.stringify(config, null, 2)));
  const teacher = await openTeacher(config.teacher, config.resolution);
  const dataset = await openDataset(config.data, { onWarning: (m) => events.onMessage?.(m) });
  if (dataset.records.length < config.batch) events.onMessage?.(`note: ${dataset.records.length} training images for a batch of ${config.batch}: batches repeat images`);
  const cache = new LatentCache(config.latentCache ?? join(config.out, 'latent-cache'), teacher.encoder, { width: teacher.resolution, height: teacher.resolution, latentChannels: teacher.latentShape[0] });
  await cache.ensure(dataset.records, (done, total) => events.onPhase?.('encoding images', done, total));
  const run = await DistillRun.create(config, teacher, dataset, cache, events);
  try {
    return await run.loop(signal);
  } finally {
    await run.release();
  }
}

class DistillRun {
  private readonly log: TrainingLog;
  private readonly checkpoints: string;
  private ema?: Map<string, Float32Array>;
  private rng: TorchGenerator;
  private sampler: EpochSampler;

  private constructor(
    private readonly config: DistillConfig,
    private readonly teacher: Teacher,
    private readonly dataset: ImageCaptionDataset,
    private readonly step: TrainStep,
    private readonly dg: DistillGraph,
    private readonly feedsContext: Omit<StepFeedsContext, 'constantFeeds'>,
    private readonly events: DistillEvents,
  ) {
    this.log = new TrainingLog(join(config.out, 'log.jsonl'));
    this.checkpoints = join(config.out, 'checkpoints');
    this.rng = new TorchGenerator(config.seed);
    this.sampler = new EpochSampler(dataset.records.length, config.seed);
    if (config.emaDecay !== undefined) this.ema = this.emaFromStudent();
  }

  static async create(config: DistillConfig, teacher: Teacher, dataset: ImageCaptionDataset, cache: LatentCache, events: DistillEvents): Promise<DistillRun> {
    const solver = new DdimSolver(teacher.schedule, config.numDdimTimesteps);
    const method: DistillMethod = config.method === 'tdd' ? tddMethod(solver, teacher.schedule, { kMin: config.kMin, kMax: config.kMax, sRatio: config.sRatio }) : lcmMethod();
    const prompts = new PromptCache(teacher.pipeline.prompts);
    const probe = await prompts.embed(['']);
    const graph = createGraph();
    const dg = buildDistillGraph(graph, {
      unet: teacher.components.unet.config,
      batch: config.batch,
      latentShape: teacher.latentShape,
      textShape: [probe.tokens, probe.width],
      pooledWidth: probe.pooledWidth,
      loraTargets: loraTargets(sourceShapes(teacher.components.unet.source)),
      rank: config.rank,
      alpha: config.alpha,
      loss: { type: config.loss, huberC: config.huberC },
      emaTarget: config.emaDecay !== undefined,
      gradientCheckpointing: config.gradientCheckpointing,
    });
    events.onPhase?.('compiling the training step', 0, 1);
    const frozen = loadParams(teacher.components.unet.source, splitLoraParams(graph.params).base, 'unet').weights;
    const step = await TrainStep.create({
      graph,
      loss: dg.loss,
      trainable: dg.trainable,
      initial: initLoraWeights(dg.student, STUDENT_SLOT, config.seed),
      frozen,
      optimizer: { lr: config.lr, weightDecay: config.weightDecay },
      lrSchedule: config.warmupSteps > 0 ? { name: 'constant_with_warmup', warmupSteps: config.warmupSteps } : undefined,
      maxGradNorm: config.maxGradNorm,
      gradAccumulationSteps: config.gradAccumulation,
    });
    events.onPhase?.('compiling the training step', 1, 1);
    const side = teacher.resolution;
    const feedsContext: Omit<StepFeedsContext, 'constantFeeds'> = {
      solver, schedule: teacher.schedule, method, predictionType: teacher.predictionType, wMin: config.wMin, wMax: config.wMax,
      batch: config.batch, latentShape: teacher.latentShape, proportionEmptyPrompts: config.proportionEmptyPrompts, prompts,
      latents: async (records, rng) => sampleLatents(await Promise.all(records.map((r) => cache.get(r))), rng, teacher.scalingFactor, teacher.shiftFactor),
      timeIds: probe.pooledWidth ? [side, side, 0, 0, side, side] : undefined,
    };
    return new DistillRun(config, teacher, dataset, step, dg, feedsContext, events);
  }

  async loop(signal?: AbortSignal): Promise<DistillResult> {
    const c = this.config;
    this.resumeIfAsked();
    const started = Date.now();
    let interrupted = false;
    while (this.step.optimizerSteps < c.steps) {
      const t0 = Date.now();
      const { result, emptied } = await this.optimizerStep();
      const entry: StepLogEntry = {
        step: this.step.optimizerSteps,
        loss: result.loss,
        lr: result.lr,
        grad_norm: result.gradNorm,
        samples_per_s: (c.batch * c.gradAccumulation * 1000) / Math.max(1, Date.now() - t0),
        elapsed_s: (Date.now() - started) / 1000,
        empty_prompts: emptied,
      };
      this.log.append(entry);
      this.events.onStep?.(entry, c.steps);
      const n = this.step.optimizerSteps;
      const last = n === c.steps;
      if (signal?.aborted && !last) {
        await this.checkpoint();
        interrupted = true;
        break;
      }
      if (n % c.checkpointEvery === 0 || last) await this.checkpoint();
      if (c.validateEvery > 0 && n % c.validateEvery === 0 && !last) await this.validate(n);
    }
    let lora: WrittenLora | undefined;
    if (!interrupted) {
      lora = writeDistilledLora(c.out, this.modules(), distillMetadata(c, this.step.optimizerSteps));
      await this.validate(this.step.optimizerSteps);
    }
    return { config: c, optimizerSteps: this.step.optimizerSteps, interrupted, lora, log: this.log.entries };
  }

  /** Micro-batches until the optimizer applies an update; the reported loss is their mean. */
  private async optimizerStep(): Promise<{ result: TrainStepResult; emptied: number }> {
    let lossSum = 0;
    let emptied = 0;
    for (let i = 0; i < this.config.gradAccumulation; i++) {
      const records = this.sampler.next(this.config.batch).map((k) => this.dataset.records[k]);
      const prepared = await stepFeeds(records, this.rng, { ...this.feedsContext, constantFeeds: () => this.constantFeeds() });
      const result = await this.step.run(prepared.feeds);
      if (!Number.isFinite(result.loss)) throw this.divergence(result.loss);
      lossSum += result.loss;
      emptied += prepared.emptied;
      if (result.applied) {
        this.updateEma();
        return { result: { ...result, loss: lossSum / (i + 1) }, emptied };
      }
    }
    throw new Error('gradient accumulation did not apply an update');
  }

  private divergence(loss: number): DistillError {
    const last = listCheckpoints(this.checkpoints).at(-1);
    const kept = last ? `the last good checkpoint is ${last.dir} (step ${last.step}); resume from it with --resume after lowering --lr` : 'no checkpoint was written yet; lower --lr and start again';
    return new DistillError(`the loss became ${loss} at optimizer step ${this.step.optimizerSteps + 1}: training diverged and was stopped; ${kept}`);
  }

  private constantFeeds(): Record<string, HostTensor> {
    const one: HostTensor = { dtype: 'float32', dims: [], data: Float32Array.of(1) };
    const feeds: Record<string, HostTensor> = { [loraScaleName(STUDENT_SLOT)]: one };
    if (this.ema && this.dg.ema) {
      feeds[loraScaleName(EMA_SLOT)] = one;
      for (const p of this.dg.ema.params) feeds[p.name!] = { dtype: 'float32', dims: [...p.shape], data: this.ema.get(p.name!)! };
    }
    return feeds;
  }

  /** EMA parameter name for a student parameter name (same weight key and part, other slot). */
  private emaName(studentName: string): string {
    const studentPrefix = `lora.${STUDENT_SLOT}.`;
    if (!studentName.startsWith(studentPrefix)) throw new Error(`not a student LoRA parameter: ${studentName}`);
    return `lora.${EMA_SLOT}.${studentName.slice(studentPrefix.length)}`;
  }

  private emaFromStudent(): Map<string, Float32Array> {
    return new Map([...this.step.parameters()].map(([name, v]) => [this.emaName(name), v.slice()]));
  }

  private updateEma(): void {
    if (!this.ema) return;
    const d = this.config.emaDecay!;
    for (const [name, v] of this.step.parameters()) {
      const e = this.ema.get(this.emaName(name))!;
      for (let i = 0; i < e.length; i++) e[i] = d * e[i] + (1 - d) * v[i];
    }
  }

  private modules() {
    return loraModules(this.dg.student, this.step.parameters());
  }

  private async checkpoint(): Promise<void> {
    saveCheckpoint(this.checkpoints, {
      train: this.step.saveState(),
      ema: this.ema,
      rng: this.rng.getState(),
      data: this.sampler.position,
      hyperParameters: trainingHyperParameters(this.config),
    }, this.config.keepCheckpoints);
    await this.log.plot(join(this.config.out, 'loss.png'), `${this.config.method.toUpperCase()} distillation loss`);
  }

  private resumeIfAsked(): void {
    const latest = listCheckpoints(this.checkpoints).at(-1);
    if (!this.config.resume) {
      if (latest) throw new CheckpointError(`${this.config.out} already holds checkpoints (latest: step ${latest.step}); pass --resume to continue that run or choose another --out`);
      this.log.resumeAt(0);
      return;
    }
    if (!latest) {
      this.events.onMessage?.(`--resume: no checkpoint in ${this.checkpoints}; starting from step 0`);
      this.log.resumeAt(0);
      return;
    }
    const saved = loadCheckpoint(latest.dir);
    const mismatches = hyperParameterMismatches(saved.hyperParameters, trainingHyperParameters(this.config));
    if (mismatches.length > 0) throw new CheckpointError(`cannot resume from ${latest.dir}: settings differ (${mismatches.join('; ')})`);
    this.step.loadState(saved.train);
    this.rng.setState(saved.rng);
    this.sampler = EpochSampler.restore(this.dataset.records.length, this.config.seed, saved.data as EpochSampler['position']);
    if (this.ema) {
      if (!saved.ema) throw new CheckpointError(`${latest.dir} has no EMA weights`);
      this.ema = new Map(saved.ema);
    }
    this.log.resumeAt(latest.step);
    this.events.onMessage?.(`resumed from ${latest.dir} (step ${latest.step})`);
  }

  private async validate(step: number): Promise<void> {
    const c = this.config;
    if (c.validationPrompts.length === 0) return;
    const dir = join(c.out, 'validation');
    mkdirSync(dir, { recursive: true });
    this.events.onPhase?.('validation grid', 0, 1);
    await renderValidationGrid(this.teacher.pipeline, this.modules(), join(dir, `step-${String(step).padStart(8, '0')}.png`), {
      prompts: c.validationPrompts, steps: c.validationSteps, method: c.method, resolution: this.teacher.resolution, seed: c.seed,
    });
    this.events.onPhase?.('validation grid', 1, 1);
  }

  async release(): Promise<void> {
    await this.step.release();
    await this.teacher.pipeline.release();
  }
}
