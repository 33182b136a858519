/**
 * What a distillation method builds and what the run gives it (the method table's contract, method-table.ts), and
 * the student's phase every method trains. Apart from the table so that methods in their own folders (dmd/) depend
 * on the contract, not on the table that lists them.
 */
import type { ImageCaptionRecord } from '../data/types.js';
import type { Graph, Value } from '../ir/index.js';
import { initLoraWeights } from '../nn/lora-weights.js';
import type { UnfusedLora } from '../nn/lora-graph.js';
import type { HostTensor } from '../runtime/tensors.js';
import type { TrainPhase } from '../train/index.js';
import type { MicroBatch } from '../train/training-loop.js';
import type { TorchGenerator } from '../util/torch-generator.js';
import { sourceShapes } from '../weights/tensor-source.js';
import { STUDENT_SLOT } from './common/distill-graph.js';
import { loraTargets } from './common/lora-targets.js';
import type { StudentGraphOptions } from './common/student-graph.js';
import type { DistillConfig } from './config.js';
import type { PromptCache } from './prompt-cache.js';
import type { Teacher } from './teacher.js';

/** What the run has set up before a method builds its training. */
export interface MethodSetup {
  readonly config: DistillConfig;
  readonly teacher: Teacher;
  readonly prompts: PromptCache;
  /** The text encoders' output sizes (from embedding the empty prompt). */
  readonly text: { readonly tokens: number; readonly width: number; readonly pooledWidth?: number };
  /** Latents (diffusion scale) for the records, drawing their samples from `rng`. */
  readonly latents: (records: readonly ImageCaptionRecord[], rng: TorchGenerator) => Promise<Float32Array>;
}

/** A method's training, ready to compile: one graph, its phases, and its feeds per micro-batch. */
export interface MethodTraining {
  readonly graph: Graph;
  /** The first phase is the student's: its loss is the run's reported loss. */
  readonly phases: readonly TrainPhase[];
  /** The LoRA the run writes out (slot STUDENT_SLOT). */
  readonly student: UnfusedLora;
  /** The EMA target's LoRA, when the method keeps one (its weights are fed each step, not trained). */
  readonly ema?: UnfusedLora;
  /** Extra scalars logged every step (loss terms). */
  readonly logs?: Readonly<Record<string, Value>>;
  /** One micro-batch's feeds. */
  feeds(batch: MicroBatchRequest): Promise<MicroBatch>;
  /** Frees what the method holds besides the training step (e.g. an inference session of its own). */
  release?(): Promise<void>;
}

export interface MicroBatchRequest {
  readonly records: readonly ImageCaptionRecord[];
  /** The run's generator (checkpointed): every draw of the method's own sampling comes from it. */
  readonly rng: TorchGenerator;
  /** The run's own feeds (LoRA scales, EMA weights). */
  readonly constantFeeds: () => Record<string, HostTensor>;
  /** Micro-batches run before this one (from 0; resumes count on), for draws that must not move the run's generator. */
  readonly microStep: number;
  /** Every trained parameter's current value, by name (read only), for methods that sample with the live weights. */
  readonly parameters: () => ReadonlyMap<string, Float32Array>;
}

/** The student LoRA's phase: AdamW with the run's settings, LoRA initialised as peft does (B = 0). */
export function studentPhase(config: DistillConfig, loss: Value, student: UnfusedLora): TrainPhase {
  return {
    name: 'student',
    loss,
    trainable: student.params,
    initial: initLoraWeights(student, STUDENT_SLOT, config.seed),
    optimizer: { lr: config.lr, weightDecay: config.weightDecay },
    lrSchedule: config.warmupSteps > 0 ? { name: 'constant_with_warmup', warmupSteps: config.warmupSteps } : undefined,
    maxGradNorm: config.maxGradNorm,
  };
}

/** SDXL's micro-conditioning for every training sample (original size, no crop, target size), none for SD. */
export function sdxlTimeIds({ teacher, text }: MethodSetup): number[] | undefined {
  const side = teacher.resolution;
  return text.pooledWidth ? [side, side, 0, 0, side, side] : undefined;
}

/** The student graph's shapes and LoRA from the run's teacher and settings. */
export function studentGraphOptions({ config, teacher, text }: MethodSetup): StudentGraphOptions {
  return {
    unet: teacher.components.unet.config,
    batch: config.batch,
    latentShape: teacher.latentShape,
    textShape: [text.tokens, text.width],
    pooledWidth: text.pooledWidth,
    loraTargets: loraTargets(sourceShapes(teacher.components.unet.source)),
    rank: config.rank,
    alpha: config.alpha,
  };
}
