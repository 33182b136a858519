/**
 * POST /api/generate bodies: the zod schema (shape and ranges, unknown fields refused), then the checks that
 * need the registry (model and LoRA ids, sizes vs. the model's VAE factor, steps vs. the scheduler). Every
 * error names the field at fault. Models and LoRAs are chosen by id only: an id is matched against
 * ID_PATTERN before any lookup, so a path (`../x`, `/models/a.safetensors`) is refused as such.
 */
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { presetNames, resolveSampling, type ResolvedSampling } from '../pipelines/presets.js';
import { createScheduler, schedulerNames } from '../schedulers/index.js';
import { ApiError, fieldError, type FieldError } from './errors.js';
import { ID_PATTERN, type LoraEntry, type ModelEntry, type ModelRegistry } from './model-registry.js';

export const MAX_STEPS = 50;
export const MAX_SIZE = 2048;
export const MAX_PROMPT_LENGTH = 2000;
export const MAX_LORAS = 8;
export const MAX_BATCH = 4;
/** The undistilled base model: diffusers' defaults for an ordinary sampler, and no default LoRA. */
export const TEACHER_PRESET = 'teacher';
const TEACHER_SCHEDULER = 'ddim';
/** Encoded bytes of one request image (init image, mask); image-inputs.ts checks the bytes and pixels. */
export const MAX_IMAGE_BYTES = 8 * 2 ** 20;
/** Hint preprocessors the server runs (A1111's ControlNet modules of the same names). */
export const CONTROLNET_PREPROCESSORS = ['none', 'canny'] as const;
export type ControlNetPreprocessor = (typeof CONTROLNET_PREPROCESSORS)[number];
/** Characters of one base64 image field (its bytes, base64-encoded, plus a data URL prefix). */
export const MAX_IMAGE_FIELD_CHARS = Math.ceil(MAX_IMAGE_BYTES / 3) * 4 + 100;

const id = (what: string) => z.string().regex(ID_PATTERN, `must be a ${what} id from GET /api/models (not a path)`);
const size = z
  .number()
  .int()
  .min(8)
  .max(MAX_SIZE)
  .refine((v) => v % 8 === 0, 'must be a multiple of 8');
/** -1 (or "-1") means a random seed, as in A1111 and `tdd generate --seed -1`. */
const seed = z.union([
  z.number().int().min(-1, 'must be a non-negative integer, or -1 for a random seed').max(Number.MAX_SAFE_INTEGER),
  z.literal('-1'),
  z
    .string()
    .regex(/^\d{1,20}$/, 'must be a non-negative integer')
    .refine((s) => !/^\d+$/.test(s) || BigInt(s) < 1n << 64n, 'must be below 2^64'),
]);

export const generateRequestSchema = z.strictObject({
  prompt: z.string().min(1, 'must not be empty').max(MAX_PROMPT_LENGTH),
  negativePrompt: z.string().max(MAX_PROMPT_LENGTH).optional(),
  preset: z.enum([...presetNames, TEACHER_PRESET]).optional(),
  scheduler: z.enum(schedulerNames as [string, ...string[]]).optional(),
  steps: z.number().int().min(1).max(MAX_STEPS).optional(),
  guidance: z.number().min(0).max(30).optional(),
  eta: z.number().min(0).max(1).optional(),
  seed: seed.optional(),
  width: size.optional(),
  height: size.optional(),
  batch: z.number().int().min(1).max(MAX_BATCH).optional(),
  model: id('model').optional(),
  loras: z
    .array(z.strictObject({ id: id('LoRA'), weight: z.number().min(-4).max(4).default(1) }))
    .max(MAX_LORAS)
    .optional(),
  /** img2img / inpainting: a base64 PNG, JPEG or WebP (or a data URL); checked by image-inputs.ts. */
  initImage: z.string().max(MAX_IMAGE_FIELD_CHARS, `the image exceeds ${MAX_IMAGE_BYTES} bytes`).optional(),
  strength: z.number().min(0).max(1).optional(),
  /** Inpainting: white = repaint, black = keep. */
  mask: z.string().max(MAX_IMAGE_FIELD_CHARS, `the image exceeds ${MAX_IMAGE_BYTES} bytes`).optional(),
  maskBlur: z.number().min(0).max(64).optional(),
  /** Text-to-image conditioned by a ControlNet from GET /api/models (`image`: the hint, base64 as initImage). */
  controlnet: z
    .strictObject({
      id: id('ControlNet'),
      image: z.string().max(MAX_IMAGE_FIELD_CHARS, `the image exceeds ${MAX_IMAGE_BYTES} bytes`),
      scale: z.number().min(0).max(2).default(1),
      /** 'canny': the server turns the image into its canny edges first (cannyEdges, thresholds low/high). */
      preprocessor: z.enum(CONTROLNET_PREPROCESSORS).default('none'),
      low: z.number().min(0).max(1020).optional(),
      high: z.number().min(0).max(1020).optional(),
    })
    .optional(),
});

export type GenerateRequestBody = z.infer<typeof generateRequestSchema>;

/** A validated request with its model, LoRAs and sampling settings resolved. */
export interface JobSpec {
  prompt: string;
  negativePrompt?: string;
  preset: string | null;
  sampling: ResolvedSampling;
  seed: bigint;
  randomSeed: boolean;
  width?: number;
  height?: number;
  batch: number;
  model: ModelEntry;
  loras: { entry: LoraEntry; weight: number }[];
  /** img2img (and inpainting with a mask), decoded and checked by image-inputs.ts. */
  init?: InitImage;
  /** A ControlNet and its hint image (decoded and checked by image-inputs.ts). */
  control?: { entry: LoraEntry; scale: number; image: Uint8Array; preprocessor?: ControlPreprocessing };
}

/** A preprocessor the server ran on the hint image (recorded in the PNG as A1111's unit Module). */
export interface ControlPreprocessing {
  module: Exclude<ControlNetPreprocessor, 'none'>;
  low: number;
  high: number;
}

export interface InitImage {
  /** Encoded image bytes (PNG, JPEG or WebP) and their size. */
  image: Uint8Array;
  imageWidth: number;
  imageHeight: number;
  strength: number;
  mask?: Uint8Array;
  maskBlur?: number;
}

function zodFields(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => ({ field: [...issue.path, key].join('.'), message: 'unknown field' }));
    return [{ field: issue.path.join('.'), message: issue.message }];
  });
}

export function parseGenerateBody(body: unknown): GenerateRequestBody {
  const result = generateRequestSchema.safeParse(body);
  if (result.success) return result.data;
  const fields = zodFields(result.error);
  throw new ApiError(400, `invalid request: ${fields.map((f) => `${f.field || 'body'}: ${f.message}`).join('; ')}`, fields);
}

function resolveModel(registry: ModelRegistry, modelId: string | undefined): ModelEntry {
  const model = modelId === undefined ? registry.models[0] : registry.model(modelId);
  if (!model)
    throw fieldError(
      'model',
      modelId === undefined
        ? 'this server has no models (start it with --models DIR)'
        : `no model with id "${modelId}" (see GET /api/models)`,
    );
  return model;
}

function resolveLoras(registry: ModelRegistry, body: GenerateRequestBody, model: ModelEntry, teacher: boolean): JobSpec['loras'] {
  const chosen = body.loras ?? (teacher ? [] : model.defaultLoras);
  const seen = new Set<string>();
  return chosen.map((choice, i) => {
    const entry = registry.lora(choice.id);
    if (!entry) throw fieldError(`loras.${i}.id`, `no LoRA with id "${choice.id}" (see GET /api/models)`);
    if (seen.has(choice.id)) throw fieldError(`loras.${i}.id`, `LoRA "${choice.id}" is listed twice`);
    seen.add(choice.id);
    return { entry, weight: choice.weight };
  });
}

/** Steps the scheduler cannot plan (e.g. DMD2 with 3 steps) are a 400 now rather than a failed job later. */
function checkSteps(model: ModelEntry, sampling: ResolvedSampling): void {
  try {
    const { steps, timesteps } = sampling;
    createScheduler(sampling.scheduler, { ...(model.schedulerConfig ?? {}) }).setTimesteps(steps, { timesteps });
  } catch (e) {
    throw fieldError('steps', `${sampling.steps} steps with the ${sampling.scheduler} scheduler: ${(e as Error).message}`);
  }
}

export function resolveJobSpec(body: GenerateRequestBody, registry: ModelRegistry): JobSpec {
  const model = resolveModel(registry, body.model);
  const teacher = body.preset === TEACHER_PRESET;
  const sampling = resolveSampling({
    preset: teacher ? undefined : body.preset,
    scheduler: body.scheduler ?? (teacher ? TEACHER_SCHEDULER : undefined),
    steps: body.steps,
    guidanceScale: body.guidance,
    eta: body.eta,
  });
  if (sampling.steps > MAX_STEPS) sampling.steps = MAX_STEPS; // undistilled defaults ask for 50 at most today; stay in range
  for (const field of ['width', 'height'] as const) {
    const v = body[field];
    if (v !== undefined && model.vaeFactor && v % model.vaeFactor !== 0)
      throw fieldError(field, `must be a multiple of ${model.vaeFactor} for model "${model.id}"`);
  }
  checkSteps(model, sampling);
  const randomSeed = body.seed === undefined || body.seed === -1 || body.seed === '-1';
  return {
    prompt: body.prompt,
    negativePrompt: body.negativePrompt,
    preset: teacher ? TEACHER_PRESET : (sampling.preset ?? null),
    sampling,
    seed: randomSeed ? BigInt(randomInt(0, 2 ** 32)) : BigInt(body.seed!),
    randomSeed,
    width: body.width,
    height: body.height,
    batch: body.batch ?? 1,
    model,
    loras: resolveLoras(registry, body, model, teacher),
  };
}

/** The request's ControlNet entry (400 naming `controlnet.id` when unknown, `controlnet` with an init image). */
export function resolveControlNet(body: GenerateRequestBody, registry: ModelRegistry): LoraEntry | undefined {
  if (!body.controlnet) return undefined;
  if (body.initImage !== undefined) throw fieldError('controlnet', 'works with text-to-image only (not with initImage)');
  const entry = registry.controlnet(body.controlnet.id);
  if (!entry) throw fieldError('controlnet.id', `no ControlNet with id "${body.controlnet.id}" (see GET /api/models)`);
  return entry;
}
