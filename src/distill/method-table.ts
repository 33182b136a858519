/**
 * The distillation methods as a table (as src/schedulers/registry.ts is for samplers): each entry builds its own
 * training — the graph, the phases it optimizes (each with its loss, parameters, optimizer and schedule), and how a
 * batch of records becomes the graph's feeds — from what the run has set up (teacher, prompts, latents, settings).
 * The trainer runs whatever an entry returns and knows no method by name.
 *
 * TDD, LCM, PCM and simpleCTM share the consistency graph (distill-graph.ts) and differ only in where they map the student's
 * and the target's outputs (method.ts); their one phase trains the student LoRA.
 */
import type { ImageCaptionRecord } from '../data/types.js';
import type { Graph, Value } from '../ir/index.js';
import { initLoraWeights } from '../nn/lora-weights.js';
import type { UnfusedLora } from '../nn/lora-graph.js';
import { createGraph } from '../ops/index.js';
import type { PresetName } from '../pipelines/presets.js';
import type { HostTensor } from '../runtime/tensors.js';
import type { TrainPhase } from '../train/index.js';
import type { MicroBatch } from '../train/training-loop.js';
import type { TorchGenerator } from '../util/torch-generator.js';
import { sourceShapes } from '../weights/tensor-source.js';
import { DdimSolver } from './common/ddim-solver.js';
import { buildDistillGraph, STUDENT_SLOT } from './common/distill-graph.js';
import { loraTargets } from './common/lora-targets.js';
import type { DistillConfig } from './config.js';
import { lcmMethod, pcmMethod, simpleCtmMethod, tddMethod, type DistillMethod, type DistillMethodName } from './method.js';
import type { PromptCache } from './prompt-cache.js';
import { stepFeeds } from './step-feeds.js';
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
  /** One micro-batch's feeds; `constantFeeds` are the run's own (LoRA scales, EMA weights). */
  feeds(records: readonly ImageCaptionRecord[], rng: TorchGenerator, constantFeeds: () => Record<string, HostTensor>): Promise<MicroBatch>;
}

export interface DistillMethodEntry {
  readonly name: DistillMethodName;
  /** One line for help texts. */
  readonly summary: string;
  /** The sampler preset its LoRAs are made for (validation grids; `tdd generate --preset`). */
  readonly preset: PresetName;
  build(setup: MethodSetup): MethodTraining;
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

/** A consistency-distillation method on the shared graph: only the output mapping is the method's own. */
function consistencyTraining(setup: MethodSetup, mapping: (solver: DdimSolver) => DistillMethod): MethodTraining {
  const { config, teacher, text } = setup;
  const solver = new DdimSolver(teacher.schedule, config.numDdimTimesteps);
  const graph = createGraph();
  const dg = buildDistillGraph(graph, {
    unet: teacher.components.unet.config,
    batch: config.batch,
    latentShape: teacher.latentShape,
    textShape: [text.tokens, text.width],
    pooledWidth: text.pooledWidth,
    loraTargets: loraTargets(sourceShapes(teacher.components.unet.source)),
    rank: config.rank,
    alpha: config.alpha,
    loss: { type: config.loss, huberC: config.huberC },
    emaTarget: config.emaDecay !== undefined,
    gradientCheckpointing: config.gradientCheckpointing,
  });
  const side = teacher.resolution;
  const context = {
    solver,
    schedule: teacher.schedule,
    method: mapping(solver),
    predictionType: teacher.predictionType,
    wMin: config.wMin,
    wMax: config.wMax,
    batch: config.batch,
    latentShape: teacher.latentShape,
    proportionEmptyPrompts: config.proportionEmptyPrompts,
    prompts: setup.prompts,
    latents: setup.latents,
    timeIds: text.pooledWidth ? [side, side, 0, 0, side, side] : undefined,
  };
  return {
    graph,
    phases: [studentPhase(config, dg.loss, dg.student)],
    student: dg.student,
    ema: dg.ema,
    async feeds(records, rng, constantFeeds) {
      const prepared = await stepFeeds(records, rng, { ...context, constantFeeds });
      return { feeds: prepared.feeds, emptied: prepared.emptied };
    },
  };
}

export const distillMethods: Readonly<Record<DistillMethodName, DistillMethodEntry>> = Object.freeze({
  tdd: {
    name: 'tdd',
    summary: 'target-driven distillation: targets on merged K-step schedules with a γ offset',
    preset: 'tdd',
    build: (setup) =>
      consistencyTraining(setup, (solver) =>
        tddMethod(solver, setup.teacher.schedule, { kMin: setup.config.kMin, kMax: setup.config.kMax, sRatio: setup.config.sRatio }),
      ),
  },
  lcm: {
    name: 'lcm',
    summary: 'latent consistency distillation: targets at the trajectory origin',
    preset: 'lcm',
    build: (setup) => consistencyTraining(setup, () => lcmMethod()),
  },
  pcm: {
    name: 'pcm',
    summary: "phased consistency distillation: targets at the end of the sample's phase (--pcm-phases)",
    preset: 'pcm',
    build: (setup) => consistencyTraining(setup, (solver) => pcmMethod(solver, setup.config.pcmPhases!)),
  },
  simplectm: {
    name: 'simplectm',
    summary: 'simpleCTM baseline: targets at a timestep drawn anywhere below the teacher step',
    // A student that jumps to any earlier timestep samples deterministically at any step count, as PCM's does.
    preset: 'pcm',
    build: (setup) => consistencyTraining(setup, (solver) => simpleCtmMethod(solver, setup.teacher.schedule)),
  },
});
