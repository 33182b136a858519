/**
 * DMD2 as an entry of the method table: its graph (dmd-graph.ts), two phases and its feeds. The generator (the
 * student LoRA, written out as the run's LoRA) updates on every `updateRatio`-th optimizer step, the first one
 * included, and the fake score with the classifier on every step (the two time-scale rule); both read the same
 * forward pass, so the fake score learns from the samples the generator made before its update, as in the reference.
 * A multi-step generator trains one of its steps per batch, at the input its backward simulation gives
 * (backward-simulation.ts), sampled with the weights of the moment.
 */
import type { HostTensor } from '../../runtime/tensors.js';
import { initLoraWeights } from '../../nn/lora-weights.js';
import { loraScaleName } from '../../nn/lora-graph.js';
import { createGraph } from '../../ops/index.js';
import type { TrainPhase } from '../../train/index.js';
import { initDiscriminatorWeights } from '../common/discriminator.js';
import { sdxlTimeIds, studentGraphOptions, studentPhase, type MethodSetup, type MethodTraining } from '../method-training.js';
import { sessionOptionsFor } from '../../runtime/device.js';
import { GeneratorSession, generatorTimesteps, simulateGeneratorInput, type SimulatedInput } from './backward-simulation.js';
import { dmdFeeds } from './dmd-feeds.js';
import { buildDmdGraph, FAKE_SLOT } from './dmd-graph.js';

export function dmdTraining(setup: MethodSetup): MethodTraining {
  const { config, teacher } = setup;
  const d = config.dmd!;
  const fakeRank = d.fakeRank ?? config.rank;
  const dg = buildDmdGraph(createGraph(), {
    ...studentGraphOptions(setup),
    fakeRank,
    fakeAlpha: fakeRank,
    weights: { dm: d.dmWeight, gen: d.genWeight, disc: d.discWeight },
  });
  const fakeParams = [...dg.fake.params, ...dg.classifierParams];
  const fakePhase: TrainPhase = {
    name: 'fake_score',
    loss: dg.fakeLoss,
    trainable: fakeParams,
    // The fake score starts as the teacher (LoRA up = 0); the classifier as torch initialises a fresh head.
    initial: new Map([
      ...initLoraWeights(dg.fake, FAKE_SLOT, config.seed + 1),
      ...initDiscriminatorWeights(dg.classifierParams, config.seed + 2),
    ]),
    optimizer: { lr: d.fakeLr ?? config.lr, weightDecay: config.weightDecay },
    maxGradNorm: config.maxGradNorm,
  };
  const one = { dtype: 'float32' as const, dims: [], data: Float32Array.of(1) };
  const timesteps = generatorTimesteps(d.generatorSteps, d.generatorTimestep, teacher.schedule.numTrainTimesteps);
  // A multi-step generator's simulation session, opened at the first batch that needs it.
  let simulator: Promise<GeneratorSession> | undefined;
  const studentShapes = dg.student.params.map((p): [string, number[]] => [p.name!, [...p.shape]]);
  return {
    graph: dg.graph,
    phases: [{ ...studentPhase(config, dg.generatorLoss, dg.student), every: d.updateRatio, at: 0 }, fakePhase],
    student: dg.student,
    logs: {
      dm: dg.terms.dm,
      gan_generator: dg.terms.gen,
      fake_denoising: dg.terms.fake,
      gan_classifier: dg.terms.disc,
      // Which of a multi-step generator's steps the batch trained.
      ...(timesteps.length > 1 ? { generator_timestep: dg.generatorTimestep.mean() } : {}),
    },
    async feeds({ records, rng, constantFeeds, parameters }) {
      const generatorInput = async (z: Float32Array, r: typeof rng, text: Record<string, HostTensor>): Promise<SimulatedInput> => {
        if (timesteps.length === 1) return { timestep: timesteps[0], input: z };
        simulator ??= GeneratorSession.create(
          studentGraphOptions(setup),
          teacher.components.unet.source,
          sessionOptionsFor(config.runtime),
        );
        const session = await simulator;
        const live = parameters();
        const lora = Object.fromEntries(
          studentShapes.map(([name, dims]): [string, HostTensor] => [name, { dtype: 'float32', dims, data: live.get(name)! }]),
        );
        return simulateGeneratorInput(z, r, {
          timesteps,
          schedule: teacher.schedule,
          predictionType: teacher.predictionType,
          batchShape: [config.batch, ...teacher.latentShape],
          predict: (x, t) => session.predict(x, t, { ...text, ...lora }),
        });
      };
      const feeds = await dmdFeeds(records, rng, {
        batch: config.batch,
        latentShape: teacher.latentShape,
        schedule: teacher.schedule,
        predictionType: teacher.predictionType,
        generatorInput,
        dmTimesteps: [d.dmMin, d.dmMax],
        realGuidance: d.realGuidance,
        prompts: setup.prompts,
        latents: setup.latents,
        constantFeeds: () => ({ ...constantFeeds(), [loraScaleName(FAKE_SLOT)]: one }),
        timeIds: sdxlTimeIds(setup),
      });
      return { feeds };
    },
    async release() {
      await (await simulator)?.release();
    },
  };
}
