/**
 * One DMD2 micro-batch's feeds: real latents of the records (the classifier's real class; their captions prompt the
 * generator), then from the run's generator in this order — the generator's input noise (and a multi-step
 * generator's simulation draws), the distribution-matching timesteps and noise, the fake score's timesteps and
 * noise, the classifier's timesteps and its two noises — so a resumed run draws exactly what the uninterrupted one
 * would. Timesteps are uniform integers: DM in
 * [t_min, t_max] (the reference's 2 %–98 % of the schedule), the fake score and classifier over the whole schedule.
 */
import type { ImageCaptionRecord } from '../../data/types.js';
import type { HostTensor } from '../../runtime/tensors.js';
import type { PredictionType } from '../../schedulers/config.js';
import type { NoiseSchedule } from '../../schedulers/noise-schedule.js';
import { levelFromAlphaBar, modelTarget, originalReadout, renoiseCoefficients } from '../../schedulers/prediction.js';
import type { TorchGenerator } from '../../util/torch-generator.js';
import { textFeeds } from '../common/text-inputs.js';
import type { PromptCache } from '../prompt-cache.js';
import type { SimulatedInput } from './backward-simulation.js';
import { dmdColumns, dmdInputs, type DmdColumn } from './dmd-graph.js';

export interface DmdFeedsContext {
  readonly batch: number;
  readonly latentShape: readonly [number, number, number];
  readonly schedule: NoiseSchedule;
  readonly predictionType: PredictionType;
  /**
   * The generator's input and timestep from the batch's noise z and its text feeds: one step from pure noise by
   * default (z at `generatorTimestep`), a multi-step generator's simulated input (backward-simulation.ts) otherwise.
   */
  readonly generatorInput: (z: Float32Array, rng: TorchGenerator, text: Record<string, HostTensor>) => Promise<SimulatedInput>;
  /** Inclusive range of the distribution-matching timesteps. */
  readonly dmTimesteps: readonly [number, number];
  /** The real score's CFG scale (diffusers' guidance_scale). */
  readonly realGuidance: number;
  readonly prompts: PromptCache;
  readonly latents: (records: readonly ImageCaptionRecord[], rng: TorchGenerator) => Promise<Float32Array>;
  readonly constantFeeds: () => Record<string, HostTensor>;
  readonly timeIds?: readonly number[];
}

const tensor = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

export async function dmdFeeds(
  records: readonly ImageCaptionRecord[],
  rng: TorchGenerator,
  ctx: DmdFeedsContext,
): Promise<Record<string, HostTensor>> {
  const n = ctx.batch;
  if (records.length !== n) throw new RangeError(`DMD2 feeds: ${records.length} records for a batch of ${n}`);
  const latent = [n, ...ctx.latentShape];
  const total = ctx.schedule.numTrainTimesteps;
  const real = await ctx.latents(records, rng);
  const captions = records.map((r) => r.caption);
  const text = textFeeds(await ctx.prompts.embed(captions), await ctx.prompts.embed(captions.map(() => '')), n, ctx.timeIds);
  const generator = await ctx.generatorInput(rng.randn(latent), rng, text);
  const tDm = rng.randint(ctx.dmTimesteps[0], ctx.dmTimesteps[1] + 1, [n]).map(Number);
  const dmNoise = rng.randn(latent);
  const tFake = rng.randint(0, total, [n]).map(Number);
  const fakeNoise = rng.randn(latent);
  const tCls = rng.randint(0, total, [n]).map(Number);
  const clsNoiseFake = rng.randn(latent);
  const clsNoiseReal = rng.randn(latent);

  const columns = Object.fromEntries(dmdColumns.map((k) => [k, new Float32Array(n)])) as Record<DmdColumn, Float32Array>;
  const abar = (t: number) => ctx.schedule.alphaBar(t);
  const gen = originalReadout(ctx.predictionType, levelFromAlphaBar(abar(generator.timestep)));
  for (let b = 0; b < n; b++) {
    const dm = renoiseCoefficients(1, abar(tDm[b]));
    const dmRead = originalReadout(ctx.predictionType, levelFromAlphaBar(abar(tDm[b])));
    const fake = renoiseCoefficients(1, abar(tFake[b]));
    const target = modelTarget(ctx.predictionType, levelFromAlphaBar(abar(tFake[b])));
    const cls = renoiseCoefficients(1, abar(tCls[b]));
    const set: [DmdColumn, number][] = [
      ['gen_sample', gen.sample],
      ['gen_model', gen.model],
      ['dm_keep', dm.keep],
      ['dm_scale', dm.noise],
      ['dm_sample', dmRead.sample],
      ['dm_model', dmRead.model],
      ['real_guidance', ctx.realGuidance],
      ['fake_keep', fake.keep],
      ['fake_scale', fake.noise],
      ['fake_target_noise', target.noise],
      ['fake_target_x0', target.x0],
      ['cls_keep', cls.keep],
      ['cls_scale', cls.noise],
    ];
    for (const [k, v] of set) columns[k][b] = v;
  }
  const names = dmdInputs;
  const feeds: Record<string, HostTensor> = {
    ...ctx.constantFeeds(),
    ...text,
    [names.genInput]: tensor(latent, generator.input),
    [names.genTimestep]: tensor([n], new Float32Array(n).fill(generator.timestep)),
    [names.dmTimestep]: tensor([n], Float32Array.from(tDm)),
    [names.dmNoise]: tensor(latent, dmNoise),
    [names.fakeTimestep]: tensor([n], Float32Array.from(tFake)),
    [names.fakeNoise]: tensor(latent, fakeNoise),
    [names.clsTimestep]: tensor([n], Float32Array.from(tCls)),
    [names.clsNoiseFake]: tensor(latent, clsNoiseFake),
    [names.clsNoiseReal]: tensor(latent, clsNoiseReal),
    [names.realLatents]: tensor(latent, real),
  };
  for (const k of dmdColumns) feeds[k] = tensor([n, 1, 1, 1], columns[k]);
  return feeds;
}
