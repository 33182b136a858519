/**
 * `tdd train-teacher` settings: the emoji data, the architecture knobs, and one optimizer setting group per
 * stage (the autoencoder first, then the text encoder + UNet together). Defaults fit a few hours on a 2-core
 * CPU; validation names the offending option.
 */
import { UserError } from '../util/user-error.js';
import type { LatentFactor } from './architecture.js';
import type { RuntimeOptions } from '../runtime/device.js';

export interface StageSettings {
  /** Optimizer updates. */
  steps: number;
  batch: number;
  lr: number;
  warmupSteps: number;
}

export interface TeacherConfig {
  /** Training data: only the bundled emoji set ('emoji') for now. */
  data: 'emoji';
  /** The model folder written at the end (diffusers layout). */
  out: string;
  /** Checkpoints, logs and the latent cache (default `<out>-training`). */
  work: string;
  resume: boolean;
  seed: number;
  latentFactor: LatentFactor;
  /** Tokens per prompt, BOS/EOS included (the tokenizer's model_max_length). */
  maxTokens: number;
  vae: StageSettings & { klWeight: number };
  denoiser: StageSettings & {
    /** Share of captions replaced by the empty prompt, for classifier-free guidance. */
    captionDropout: number;
    /** Augmented copies of each image encoded for the latent cache (the first is the image as is). */
    augmentedCopies: number;
    /** The exported UNet and text encoder are this EMA of the trained weights. */
    emaDecay: number;
  };
  weightDecay: number;
  maxGradNorm: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  /** Validation grid of the text encoder + UNet every n steps (a multiple of checkpointEvery; 0: none). */
  validateEvery: number;
  /** Train on the first n training images only (smoke tests, quick trials); undefined: all. */
  maxImages?: number;
  /** Smaller or larger networks than the default (tests, experiments). */
  architecture?: { unetChannels?: number[]; textWidth?: number; textLayers?: number };
  /** Weights of the exported model: float16 halves the files (the loaders widen them to float32). */
  exportDtype: 'float16' | 'float32';
  /** Device and threads of every session of the run (training steps, latent encoding, scoring, validation). */
  runtime?: RuntimeOptions;
}

export type TeacherConfigInput = Pick<TeacherConfig, 'out'> &
  Partial<Omit<TeacherConfig, 'vae' | 'denoiser'>> & {
    vae?: Partial<TeacherConfig['vae']>;
    denoiser?: Partial<TeacherConfig['denoiser']>;
  };

export const teacherDefaults = {
  data: 'emoji',
  resume: false,
  seed: 0,
  latentFactor: 4,
  maxTokens: 24,
  vae: { steps: 1200, batch: 8, lr: 5e-4, warmupSteps: 100, klWeight: 1e-5 },
  denoiser: { steps: 4000, batch: 64, lr: 5e-4, warmupSteps: 200, captionDropout: 0.1, augmentedCopies: 3, emaDecay: 0.999 },
  weightDecay: 0.01,
  maxGradNorm: 1,
  checkpointEvery: 100,
  keepCheckpoints: 2,
  validateEvery: 500,
  exportDtype: 'float16',
} as const satisfies Omit<TeacherConfig, 'out' | 'work'>;

export class TeacherConfigError extends UserError {
  override name = 'TeacherConfigError';
}

export function resolveTeacherConfig(input: TeacherConfigInput): TeacherConfig {
  const d = teacherDefaults;
  const c: TeacherConfig = {
    ...d,
    ...stripUndefined(input),
    work: input.work ?? `${input.out.replace(/[\\/]+$/, '')}-training`,
    vae: { ...d.vae, ...stripUndefined(input.vae ?? {}) },
    denoiser: { ...d.denoiser, ...stripUndefined(input.denoiser ?? {}) },
  } as TeacherConfig;
  const fail = (option: string, message: string): never => {
    throw new TeacherConfigError(`--${option}: ${message}`);
  };
  if (c.data !== 'emoji') fail('data', `only the bundled emoji set is supported ("emoji"), got ${JSON.stringify(c.data)}`);
  if (c.latentFactor !== 4 && c.latentFactor !== 8) fail('latent-factor', `must be 4 or 8, got ${c.latentFactor}`);
  const positiveInt = (option: string, v: number) => (Number.isInteger(v) && v > 0) || fail(option, `must be a positive integer, got ${v}`);
  const nonNegativeInt = (option: string, v: number) =>
    (Number.isInteger(v) && v >= 0) || fail(option, `must be a non-negative integer, got ${v}`);
  const positive = (option: string, v: number) => (Number.isFinite(v) && v > 0) || fail(option, `must be a positive number, got ${v}`);
  const fraction = (option: string, v: number) => (Number.isFinite(v) && v >= 0 && v < 1) || fail(option, `must be in [0, 1), got ${v}`);
  for (const [stage, s] of [
    ['vae', c.vae],
    ['unet', c.denoiser],
  ] as const) {
    positiveInt(`${stage}-steps`, s.steps);
    positiveInt(`${stage}-batch`, s.batch);
    positive(`${stage}-lr`, s.lr);
    nonNegativeInt(`${stage}-warmup-steps`, s.warmupSteps);
  }
  if (!(c.vae.klWeight >= 0)) fail('vae-kl-weight', `must be >= 0, got ${c.vae.klWeight}`);
  fraction('caption-dropout', c.denoiser.captionDropout);
  fraction('ema-decay', c.denoiser.emaDecay);
  positiveInt('augmented-copies', c.denoiser.augmentedCopies);
  positiveInt('max-tokens', c.maxTokens);
  if (c.maxTokens < 3) fail('max-tokens', `needs room for BOS, a word and EOS, got ${c.maxTokens}`);
  nonNegativeInt('seed', c.seed);
  positiveInt('checkpoint-every', c.checkpointEvery);
  positiveInt('keep-checkpoints', c.keepCheckpoints);
  nonNegativeInt('validate-every', c.validateEvery);
  if (c.validateEvery % c.checkpointEvery !== 0)
    fail('validate-every', `must be a multiple of --checkpoint-every (${c.checkpointEvery}), got ${c.validateEvery}`);
  if (!(c.weightDecay >= 0)) fail('weight-decay', `must be >= 0, got ${c.weightDecay}`);
  positive('max-grad-norm', c.maxGradNorm);
  if (c.maxImages !== undefined) positiveInt('max-images', c.maxImages);
  if (c.exportDtype !== 'float16' && c.exportDtype !== 'float32')
    fail('export-dtype', `must be float16 or float32, got ${JSON.stringify(c.exportDtype)}`);
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
