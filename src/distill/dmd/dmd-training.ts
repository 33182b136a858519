/**
 * DMD2 as an entry of the method table: its graph (dmd-graph.ts), two phases and its feeds. The generator (the
 * student LoRA, written out as the run's LoRA) updates on every `updateRatio`-th optimizer step, the first one
 * included, and the fake score with the classifier on every step (the two time-scale rule); both read the same
 * forward pass, so the fake score learns from the samples the generator made before its update, as in the reference.
 */
import { initLoraWeights } from '../../nn/lora-weights.js';
import { loraScaleName } from '../../nn/lora-graph.js';
import { createGraph } from '../../ops/index.js';
import type { TrainPhase } from '../../train/index.js';
import { initDiscriminatorWeights } from '../common/discriminator.js';
import { sdxlTimeIds, studentGraphOptions, studentPhase, type MethodSetup, type MethodTraining } from '../method-training.js';
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
  return {
    graph: dg.graph,
    phases: [{ ...studentPhase(config, dg.generatorLoss, dg.student), every: d.updateRatio, at: 0 }, fakePhase],
    student: dg.student,
    logs: { dm: dg.terms.dm, gan_generator: dg.terms.gen, fake_denoising: dg.terms.fake, gan_classifier: dg.terms.disc },
    async feeds({ records, rng, constantFeeds }) {
      const feeds = await dmdFeeds(records, rng, {
        batch: config.batch,
        latentShape: teacher.latentShape,
        schedule: teacher.schedule,
        predictionType: teacher.predictionType,
        generatorTimestep: d.generatorTimestep,
        dmTimesteps: [d.dmMin, d.dmMax],
        realGuidance: d.realGuidance,
        prompts: setup.prompts,
        latents: setup.latents,
        constantFeeds: () => ({ ...constantFeeds(), [loraScaleName(FAKE_SLOT)]: one }),
        timeIds: sdxlTimeIds(setup),
      });
      return { feeds };
    },
  };
}
