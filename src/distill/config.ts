/**
 * `tdd distill` settings with the reference's defaults (TDD's SDXL launch script where it sets a value, its
 * argparse defaults otherwise) and one validation that names the offending option.
 */
import { DistillConfigError } from './errors.js';
import type { DistillLossType } from './common/losses.js';
import { distillMethodNames, type DistillMethodName } from './method.js';
import type { RuntimeOptions } from '../runtime/device.js';

export interface DistillConfig {
  /** Teacher model: a diffusers folder or single-file checkpoint. */
  teacher: string;
  /** Training images with captions (image folder, or webdataset .tar shards). */
  data: string;
  /** Output folder: LoRA files, logs, plots, checkpoints. */
  out: string;
  method: DistillMethodName;
  /** Optimizer updates to run. */
  steps: number;
  batch: number;
  gradAccumulation: number;
  lr: number;
  /** Linear warm-up length in optimizer steps (then constant, as the reference's "constant_with_warmup"). */
  warmupSteps: number;
  weightDecay: number;
  maxGradNorm: number;
  rank: number;
  /** LoRA alpha (peft's default 8, which the reference leaves unset); the update is scaled by alpha/rank. */
  alpha: number;
  loss: DistillLossType;
  huberC: number;
  /** Teacher guidance scale range, sampled per sample (LCM formulation w, where 0 = no guidance). */
  wMin: number;
  wMax: number;
  numDdimTimesteps: number;
  /** TDD target selection: merged K-step schedules for K in [kMin, kMax], γ offset ratio. */
  kMin: number;
  kMax: number;
  sRatio: number;
  /** PCM: sub-trajectories of the trajectory (set for --method pcm only, so other methods' checkpoints are unchanged). */
  pcmPhases?: number;
  /** PCM's adversarial loss (set only when asked for). */
  adversarial?: AdversarialConfig;
  /** DMD2's settings (set for --method dmd2 only). */
  dmd?: DmdConfig;
  /** Decoupled guidance: share of captions replaced by the empty prompt. */
  proportionEmptyPrompts: number;
  /** Target from an EMA of the student's LoRA with this decay (undefined: the live student, as the reference). */
  emaDecay?: number;
  /** Recompute the student's UNet blocks in the backward pass: less memory, ~⅓ more compute per step. */
  gradientCheckpointing: boolean;
  /** Training image size in pixels (default: the UNet's sample_size × the VAE's scale factor). */
  resolution?: number;
  seed: number;
  checkpointEvery: number;
  /** Checkpoints kept on disk (older ones are removed after a newer one is complete). */
  keepCheckpoints: number;
  /** Validation grid every N optimizer steps (0: only at the end). */
  validateEvery: number;
  validationPrompts: string[];
  /** Sampling steps shown in validation grids. */
  validationSteps: number[];
  /** Folder of the VAE latent cache (default <out>/latent-cache). */
  latentCache?: string;
  /** Continue from the latest checkpoint in <out>/checkpoints. */
  resume: boolean;
  /** Device and threads of the training step and the teacher's sessions (not a hyper-parameter: a run may resume elsewhere). */
  runtime?: RuntimeOptions;
}

export interface AdversarialConfig {
  /** Weight of the generator's hinge loss in the student's loss (the reference's adv_weight). */
  weight: number;
  /** The discriminator heads' AdamW learning rate (adv_lr). */
  lr: number;
  /** 'alternate': the discriminator updates on even optimizer steps, the student on odd ones, as the reference;
   *  'joint': both on every step. */
  schedule: 'alternate' | 'joint';
}

export const adversarialDefaults: AdversarialConfig = { weight: 0.1, lr: 1e-5, schedule: 'alternate' };

/** DMD2 (tianweiy/DMD2's SD1.5 script where it sets a value; the SDXL one-step script's conditioning timestep). */
export interface DmdConfig {
  /** The real score's CFG scale (diffusers' guidance_scale form). */
  realGuidance: number;
  /** The one-step generator's conditioning timestep: it sees pure noise and reads x0 at this timestep's ᾱ. */
  generatorTimestep: number;
  /**
   * The generator's sampling steps: 1, or N evenly spaced from the last training timestep (4: 999, 749, 499, 249),
   * trained with backward simulation.
   */
  generatorSteps: number;
  /** Fake-score (and classifier) updates per generator update (the two time-scale rule). */
  updateRatio: number;
  /** The fake score's and the classifier's learning rate (default: --lr). */
  fakeLr?: number;
  /** The fake score's LoRA rank (default: --rank); its alpha equals its rank. */
  fakeRank?: number;
  /** Weights: distribution matching and the GAN's generator term in the generator's loss, the classifier's term in the fake score's. */
  dmWeight: number;
  genWeight: number;
  discWeight: number;
  /** Inclusive range of the distribution-matching timesteps (the reference's 2 % and 98 % of 1000). */
  dmMin: number;
  dmMax: number;
}

export const dmdDefaults: DmdConfig = {
  realGuidance: 1.75,
  generatorTimestep: 399,
  generatorSteps: 1,
  updateRatio: 10,
  dmWeight: 1,
  genWeight: 1e-3,
  discWeight: 1e-2,
  dmMin: 20,
  dmMax: 980,
};

export type DistillConfigInput = Pick<DistillConfig, 'teacher' | 'data' | 'out'> &
  Partial<Omit<DistillConfig, 'dmd'>> & {
    /** DMD2's settings; those not given take dmdDefaults. */
    dmd?: Partial<DmdConfig>;
  };

export const distillDefaults = {
  method: 'tdd',
  steps: 1000,
  batch: 8,
  gradAccumulation: 1,
  lr: 1e-4,
  warmupSteps: 0,
  weightDecay: 0,
  maxGradNorm: 1,
  rank: 64,
  alpha: 8,
  loss: 'huber',
  huberC: 0.001,
  wMin: 3.5,
  wMax: 3.5,
  numDdimTimesteps: 250,
  kMin: 4,
  kMax: 8,
  sRatio: 0.3,
  proportionEmptyPrompts: 0.2,
  gradientCheckpointing: false,
  seed: 0,
  checkpointEvery: 100,
  keepCheckpoints: 2,
  validateEvery: 0,
  validationPrompts: ['a photo of a cat', 'a red apple on a table', 'a mountain landscape at sunset', 'a portrait of an astronaut'],
  validationSteps: [2, 4, 8],
  resume: false,
} as const satisfies Partial<DistillConfig>;

/** PCM's phases when --pcm-phases is not given (the reference's SD1.5 launch script). */
export const DEFAULT_PCM_PHASES = 4;

export { DistillConfigError } from './errors.js';

/** Upper bounds that keep a typo (an extra zero) from asking for terabytes before anything is checked. */
export const MAX_DISTILL_RESOLUTION = 4096;
export const MAX_DISTILL_BATCH = 1024;
export const MAX_DISTILL_RANK = 1024;

export function resolveDistillConfig(input: DistillConfigInput): DistillConfig {
  const c: DistillConfig = {
    ...distillDefaults,
    validationPrompts: [...distillDefaults.validationPrompts],
    validationSteps: [...distillDefaults.validationSteps],
    ...stripUndefined({ ...input, dmd: undefined }),
    teacher: input.teacher,
    data: input.data,
    out: input.out,
  };
  const fail = (option: string, why: string): never => {
    throw new DistillConfigError(`--${option}: ${why}`);
  };
  const int = (option: string, v: number, min: number) =>
    (Number.isInteger(v) && v >= min) || fail(option, `must be an integer ≥ ${min} (got ${v})`);
  const intIn = (option: string, v: number, lo: number, hi: number, why = '') =>
    (Number.isInteger(v) && v >= lo && v <= hi) || fail(option, `must be an integer in [${lo}, ${hi}]${why} (got ${v})`);
  const range = (option: string, v: number, lo: number, hi: number) =>
    (v >= lo && v <= hi) || fail(option, `must be in [${lo}, ${hi}] (got ${v})`);
  if (!distillMethodNames.includes(c.method)) fail('method', `must be one of ${distillMethodNames.join(', ')} (got ${c.method})`);
  if (c.loss !== 'l2' && c.loss !== 'huber') fail('loss', `must be l2 or huber (got ${c.loss})`);
  int('steps', c.steps, 1);
  intIn('batch', c.batch, 1, MAX_DISTILL_BATCH);
  int('grad-accumulation', c.gradAccumulation, 1);
  int('warmup-steps', c.warmupSteps, 0);
  intIn('rank', c.rank, 1, MAX_DISTILL_RANK);
  int('num-ddim-timesteps', c.numDdimTimesteps, 1);
  int('k-min', c.kMin, 1);
  int('k-max', c.kMax, c.kMin);
  if (c.method === 'pcm') {
    c.pcmPhases ??= DEFAULT_PCM_PHASES;
    intIn('pcm-phases', c.pcmPhases, 1, c.numDdimTimesteps, ' (at most --num-ddim-timesteps)');
  } else if (c.pcmPhases !== undefined) fail('pcm-phases', `only --method pcm has phases (method ${c.method})`);
  if (c.adversarial !== undefined) {
    if (c.method !== 'pcm') fail('adversarial', `the adversarial loss is PCM's (method ${c.method})`);
    c.adversarial = { ...adversarialDefaults, ...stripUndefined(c.adversarial) };
    range('adv-weight', c.adversarial.weight, 0, 1e3);
    if (!(c.adversarial.lr > 0)) fail('adv-lr', `must be > 0 (got ${c.adversarial.lr})`);
    if (c.adversarial.schedule !== 'alternate' && c.adversarial.schedule !== 'joint')
      fail('adv-schedule', `must be alternate or joint (got ${c.adversarial.schedule})`);
  }
  if (c.method === 'dmd2') {
    c.dmd = { ...dmdDefaults, ...stripUndefined(input.dmd ?? {}) };
    const d = c.dmd;
    // The validation grid shows the generator's own step count unless other counts are asked for.
    if (input.validationSteps === undefined) c.validationSteps = [d.generatorSteps];
    if (c.emaDecay !== undefined) fail('ema-decay', 'DMD2 has no consistency target to average (method dmd2)');
    range('real-guidance', d.realGuidance, 0, 100);
    intIn('generator-timestep', d.generatorTimestep, 0, 999);
    intIn('generator-steps', d.generatorSteps, 1, 50);
    if (d.generatorSteps > 1 && input.dmd?.generatorTimestep !== undefined)
      fail('generator-timestep', `sets the one-step generator's timestep; ${d.generatorSteps} steps start at the last training timestep`);
    intIn('update-ratio', d.updateRatio, 1, 1000);
    if (d.fakeLr !== undefined && !(d.fakeLr > 0)) fail('fake-lr', `must be > 0 (got ${d.fakeLr})`);
    if (d.fakeRank !== undefined) intIn('fake-rank', d.fakeRank, 1, MAX_DISTILL_RANK);
    for (const [option, v] of [
      ['dm-weight', d.dmWeight],
      ['gan-gen-weight', d.genWeight],
      ['gan-disc-weight', d.discWeight],
    ] as const)
      range(option, v, 0, 1e3);
    intIn('dm-min', d.dmMin, 0, 999);
    intIn('dm-max', d.dmMax, d.dmMin, 999, ' (at least --dm-min)');
  } else if (input.dmd !== undefined) fail('method', `DMD2 settings need --method dmd2 (method ${c.method})`);
  int('seed', c.seed, 0);
  int('checkpoint-every', c.checkpointEvery, 1);
  int('keep-checkpoints', c.keepCheckpoints, 1);
  int('validate-every', c.validateEvery, 0);
  for (const s of c.validationSteps) intIn('validation-steps', s, 1, 1000);
  if (c.resolution !== undefined)
    intIn(
      'resolution',
      c.resolution,
      8,
      MAX_DISTILL_RESOLUTION,
      " and a multiple of the model's size factor (VAE factor × the UNet's downsampling)",
    );
  if (!(c.lr > 0)) fail('lr', `must be > 0 (got ${c.lr})`);
  if (!(c.alpha > 0)) fail('alpha', `must be > 0 (got ${c.alpha})`);
  if (!(c.huberC > 0)) fail('huber-c', `must be > 0 (got ${c.huberC})`);
  if (!(c.maxGradNorm > 0)) fail('max-grad-norm', `must be > 0 (got ${c.maxGradNorm})`);
  range('weight-decay', c.weightDecay, 0, 1);
  range('s-ratio', c.sRatio, 0, 1);
  range('proportion-empty-prompts', c.proportionEmptyPrompts, 0, 1);
  if (c.emaDecay !== undefined) range('ema-decay', c.emaDecay, 0, 1);
  if (!(c.wMin >= 0 && c.wMax >= c.wMin)) fail('w-min', `need 0 ≤ w-min ≤ w-max (got ${c.wMin}, ${c.wMax})`);
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The settings that define the training run (a resumed run must match them), for checkpoints and LoRA metadata. */
export function trainingHyperParameters(c: DistillConfig): Record<string, unknown> {
  const {
    teacher: _t,
    data: _d,
    out: _o,
    resume: _r,
    latentCache: _l,
    validateEvery: _v,
    validationPrompts: _p,
    validationSteps: _s,
    checkpointEvery: _c,
    keepCheckpoints: _k,
    steps: _n,
    runtime: _rt,
    ...rest
  } = c;
  return rest;
}
