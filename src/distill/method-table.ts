/**
 * The distillation methods as a table (as src/schedulers/registry.ts is for samplers): each entry builds its own
 * training — the graph, the phases it optimizes (each with its loss, parameters, optimizer and schedule), and how a
 * batch of records becomes the graph's feeds — from what the run has set up (teacher, prompts, latents, settings).
 * The trainer runs whatever an entry returns and knows no method by name.
 *
 * TDD, LCM, PCM and simpleCTM share the consistency graph (distill-graph.ts) and differ only in where they map the student's
 * and the target's outputs (method.ts); their one phase trains the student LoRA. DMD2 (dmd/) has a graph and two
 * phases of its own.
 */
import { createGraph } from '../ops/index.js';
import type { PresetName } from '../pipelines/presets.js';
import type { HostTensor } from '../runtime/tensors.js';
import type { NoiseSchedule } from '../schedulers/noise-schedule.js';
import type { TrainPhase } from '../train/index.js';
import { TorchGenerator } from '../util/torch-generator.js';
import { DdimSolver } from './common/ddim-solver.js';
import { initDiscriminatorWeights, type DiscriminatorLosses } from './common/discriminator.js';
import { buildDistillGraph, distillInputs } from './common/distill-graph.js';
import type { AdversarialConfig, DistillConfig } from './config.js';
import { lcmMethod, pcmMethod, simpleCtmMethod, tcdMethod, tddMethod, type DistillMethod, type DistillMethodName } from './method.js';
import { dmdTraining } from './dmd/dmd-training.js';
import { stepFeeds } from './step-feeds.js';
import { sdxlTimeIds, studentGraphOptions, studentPhase, type MethodSetup, type MethodTraining } from './method-training.js';
import type { Teacher } from './teacher.js';

export { studentPhase, type MethodSetup, type MethodTraining, type MicroBatchRequest } from './method-training.js';

/** Seeds of the adversarial draws' per-micro-step generators: far from any seed a run is given. */
const ADVERSARIAL_SEED_BASE = 1_000_003;

export interface DistillMethodEntry {
  readonly name: DistillMethodName;
  /** One line for help texts. */
  readonly summary: string;
  /** The sampler preset its LoRAs are made for (validation grids; `tdd generate --preset`). */
  readonly preset: PresetName;
  build(setup: MethodSetup): MethodTraining;
}

/** A consistency-distillation method on the shared graph: only the output mapping is the method's own. */
function consistencyTraining(setup: MethodSetup, mapping: (solver: DdimSolver) => DistillMethod): MethodTraining {
  const { config, teacher } = setup;
  const solver = new DdimSolver(teacher.schedule, config.numDdimTimesteps);
  const graph = createGraph();
  const dg = buildDistillGraph(graph, {
    ...studentGraphOptions(setup),
    loss: { type: config.loss, huberC: config.huberC },
    emaTarget: config.emaDecay !== undefined,
    gradientCheckpointing: config.gradientCheckpointing,
    adversarial: config.adversarial !== undefined,
  });
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
    timeIds: sdxlTimeIds(setup),
  };
  const adversarial = config.adversarial && dg.adversarial ? adversarialTraining(config, config.adversarial, dg.adversarial) : undefined;
  const student = studentPhase(
    config,
    adversarial ? dg.loss.add(dg.adversarial!.generator.mul(config.adversarial!.weight)) : dg.loss,
    dg.student,
  );
  return {
    graph,
    phases: adversarial ? [{ ...student, ...adversarial.studentSchedule }, adversarial.phase] : [student],
    student: dg.student,
    ema: dg.ema,
    logs: adversarial && { adv_generator: dg.adversarial!.generator },
    async feeds({ records, rng, constantFeeds, microStep }) {
      const prepared = await stepFeeds(records, rng, { ...context, constantFeeds });
      const feeds = adversarial
        ? { ...prepared.feeds, ...adversarialFeeds(prepared.plan.selected!, teacher, config, microStep) }
        : prepared.feeds;
      return { feeds, emptied: prepared.emptied };
    },
  };
}

/** The discriminator's phase and when each phase updates (the reference alternates: discriminator on even steps). */
function adversarialTraining(config: DistillConfig, adv: AdversarialConfig, losses: DiscriminatorLosses) {
  const alternate = adv.schedule === 'alternate';
  const phase: TrainPhase = {
    name: 'discriminator',
    loss: losses.discriminator,
    trainable: losses.params,
    initial: initDiscriminatorWeights(losses.params, config.seed + 1),
    optimizer: { lr: adv.lr, weightDecay: config.weightDecay },
    maxGradNorm: config.maxGradNorm,
    ...(alternate ? { every: 2, at: 0 } : {}),
  };
  return { phase, studentSchedule: alternate ? { every: 2, at: 1 } : {} };
}

/**
 * The discriminator's timestep per sample, uniform in [end, end + T/M) above the sample's phase end, and the
 * noise that carries both outputs there: x_adv = √(ᾱ_adv/ᾱ_end)·x + √(1 − ᾱ_adv/ᾱ_end)·ε (the reference's
 * noise_travel). Drawn from a generator of their own, seeded by the micro-step, so the run's generator — and with
 * it every draw the consistency loss sees — is the same with the adversarial loss as without it.
 */
function adversarialFeeds(ends: readonly number[], teacher: Teacher, config: DistillConfig, microStep: number): Record<string, HostTensor> {
  const schedule = teacher.schedule;
  const n = ends.length;
  const total = schedule.numTrainTimesteps;
  const span = Math.floor(total / config.pcmPhases!);
  const rng = new TorchGenerator(ADVERSARIAL_SEED_BASE * (config.seed + 1) + microStep);
  const timesteps = ends.map((end) => Math.min(total - 1, end + Number(rng.randint(0, span, [1])[0])));
  const latent = [n, ...teacher.latentShape];
  const a = distillInputs.adversarial;
  return {
    ...adversarialColumns(ends, timesteps, schedule),
    [a.noiseFake]: { dtype: 'float32', dims: latent, data: rng.randn(latent) },
    [a.noiseReal]: { dtype: 'float32', dims: latent, data: rng.randn(latent) },
  };
}

/** The discriminator's timesteps and the noise_travel coefficients from each phase end to them, as feeds. */
export function adversarialColumns(
  ends: readonly number[],
  timesteps: readonly number[],
  schedule: NoiseSchedule,
): Record<string, HostTensor> {
  const n = ends.length;
  const keep = new Float32Array(n);
  const scale = new Float32Array(n);
  timesteps.forEach((t, b) => {
    const ratio = schedule.alphaBar(t) / schedule.alphaBar(ends[b]);
    keep[b] = Math.sqrt(ratio);
    scale[b] = Math.sqrt(1 - ratio);
  });
  const a = distillInputs.adversarial;
  const column = (data: Float32Array): HostTensor => ({ dtype: 'float32', dims: [n, 1, 1, 1], data });
  return {
    [a.timestep]: { dtype: 'float32', dims: [n], data: Float32Array.from(timesteps) },
    [a.keep]: column(keep),
    [a.noiseScale]: column(scale),
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
  tcd: {
    name: 'tcd',
    summary: "trajectory consistency distillation: simpleCTM's objective (TCD's first-order consistency function), for TCD's γ sampler",
    preset: 'tcd',
    build: (setup) => consistencyTraining(setup, (solver) => tcdMethod(solver, setup.teacher.schedule)),
  },
  dmd2: {
    name: 'dmd2',
    summary: 'DMD2: a one-step generator trained by distribution matching against a learned fake score, with a GAN on its features',
    preset: 'dmd2',
    build: (setup) => dmdTraining(setup),
  },
});
