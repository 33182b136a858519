/**
 * One micro-batch's graph feeds: records from the sampler, latents sampled from their cached VAE
 * distributions, captions (some replaced by "" for decoupled guidance), noise, the step plan, and the noisy
 * latents at the source timesteps. All randomness comes from one generator in a fixed order — latent samples,
 * caption drops, noise, then the plan's draws — so a resumed run draws exactly what the uninterrupted one would.
 */
import type { ImageCaptionRecord } from '../data/types.js';
import type { HostTensor } from '../runtime/tensors.js';
import { renoiseCoefficients } from '../schedulers/prediction.js';
import type { TorchGenerator } from '../util/torch-generator.js';
import { distillInputs } from './common/distill-graph.js';
import { textFeeds } from './common/text-inputs.js';
import type { PromptCache } from './prompt-cache.js';
import { planStep, type StepPlan, type StepPlanContext } from './step-plan.js';

export interface StepFeedsContext extends StepPlanContext {
  readonly batch: number;
  readonly latentShape: readonly [number, number, number];
  readonly proportionEmptyPrompts: number;
  readonly prompts: PromptCache;
  /** Latents (diffusion scale) for the records, drawing their samples from `rng`. */
  readonly latents: (records: readonly ImageCaptionRecord[], rng: TorchGenerator) => Promise<Float32Array>;
  /** Extra feeds that do not change per step (LoRA scales, EMA weights). */
  readonly constantFeeds: () => Record<string, HostTensor>;
  /** SDXL micro-conditioning (original size, crop, target size) for every sample. */
  readonly timeIds?: readonly number[];
}

export interface StepFeeds {
  readonly feeds: Record<string, HostTensor>;
  readonly plan: StepPlan;
  /** How many captions were replaced by the empty prompt. */
  readonly emptied: number;
}

const tensor = (dims: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', dims, data });

export async function stepFeeds(records: readonly ImageCaptionRecord[], rng: TorchGenerator, ctx: StepFeedsContext): Promise<StepFeeds> {
  const n = ctx.batch;
  if (records.length !== n) throw new RangeError(`step feeds: ${records.length} records for a batch of ${n}`);
  const [c, h, w] = ctx.latentShape;
  const latents = await ctx.latents(records, rng);
  const drops = rng.rand([n]);
  const captions = records.map((r, i) => (drops[i] < ctx.proportionEmptyPrompts ? '' : r.caption));
  const cond = await ctx.prompts.embed(captions);
  const uncond = await ctx.prompts.embed(captions.map(() => ''));
  const noise = rng.randn([n, c, h, w]);
  const plan = planStep(n, rng, ctx);
  const noisy = new Float32Array(latents.length);
  const per = c * h * w;
  plan.timesteps.source.forEach((t, b) => {
    const { keep, noise: k } = renoiseCoefficients(1, ctx.schedule.alphaBar(t));
    for (let j = b * per; j < (b + 1) * per; j++) noisy[j] = keep * latents[j] + k * noise[j];
  });
  const names = distillInputs;
  const feeds: Record<string, HostTensor> = {
    ...ctx.constantFeeds(),
    [names.noisy]: tensor([n, c, h, w], noisy),
    [names.sourceTimestep]: tensor([n], Float32Array.from(plan.timesteps.source)),
    [names.targetTimestep]: tensor([n], Float32Array.from(plan.timesteps.target)),
    ...textFeeds(cond, uncond, n, ctx.timeIds),
  };
  for (const [name, column] of Object.entries(plan.coefficients)) feeds[name] = tensor([n, 1, 1, 1], column);
  return { feeds, plan, emptied: captions.filter((x, i) => x === '' && records[i].caption !== '').length };
}
