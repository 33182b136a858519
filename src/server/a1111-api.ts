/**
 * The subset of AUTOMATIC1111's web UI API (`--api`) that clients use, with its field names and answers:
 *   POST /sdapi/v1/txt2img, /sdapi/v1/img2img   → { images: [base64 PNG], parameters, info: JSON text }
 *   GET  /sdapi/v1/sd-models, /samplers, /loras, /progress;  POST /sdapi/v1/interrupt
 * Requests become jobs on the same queue as POST /api/generate (same validation, limits and memory admission)
 * and are answered when they end (a client that disconnects cancels its job). A1111's rules: seed -1 is
 * random; image i of the run gets seed + i (over batch_size × n_iter, each n_iter round one job);
 * `<lora:name:w>` tags are taken out of the prompt and applied (with the model's default LoRAs); sampler
 * names map to our schedulers (SAMPLERS; 'Euler a' runs as Euler: there is no ancestral sampler here); the
 * first enabled sd-webui-controlnet unit in `alwayson_scripts.controlnet.args` (module "none" or "canny") is our ControlNet.
 * Fields that mean nothing here (styles, restore_faces, hires fix, scripts ...) are ignored. Errors are
 * `{ error, detail, body, errors }` as A1111's API answers them.
 */
import { randomInt } from 'node:crypto';
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { samplerLabel } from '../pipelines/metadata.js';
import { batchSeeds, seedToJson } from '../pipelines/seeds.js';
import { schedulerNames } from '../schedulers/index.js';
import { isUserError } from '../util/user-error.js';
import type { AppDeps } from './app.js';
import { ApiError, fieldError } from './errors.js';
import type { Job } from './job.js';
import { jobFinished, readJson, submitGenerate } from './job-submit.js';
import { extractLoraTags, resolveLoraTags } from './lora-tags.js';
import type { ModelEntry } from './model-registry.js';

/** A1111 sampler names (and ours) → our schedulers. */
export const SAMPLERS: Readonly<Record<string, string>> = {
  'Euler a': 'euler',
  Euler: 'euler',
  DDIM: 'ddim',
  LCM: 'lcm',
  'DPM++ 2M': 'dpmsolver++',
  'DPM++ 2M Karras': 'dpmsolver++',
  'DPM++ 2S a': 'dpmsolver-singlestep',
  TCD: 'tcd',
  TDD: 'tdd',
  DMD2: 'dmd',
};
const MAX_ITERATIONS = 16;

const image = z.string();
const common = {
  prompt: z.string().default(''),
  negative_prompt: z.string().optional(),
  steps: z.number().optional(),
  cfg_scale: z.number().optional(),
  sampler_name: z.string().optional(),
  sampler_index: z.string().optional(),
  scheduler: z.string().optional(),
  seed: z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  batch_size: z.number().int().min(1).optional(),
  n_iter: z.number().int().min(1).max(MAX_ITERATIONS).optional(),
  eta: z.number().optional(),
  override_settings: z.record(z.string(), z.unknown()).optional(),
  send_images: z.boolean().optional(),
  /** sd-webui-controlnet's unit (the first enabled one): { model, image | input_image, weight, module }. */
  alwayson_scripts: z
    .object({
      controlnet: z
        .object({
          args: z.array(
            z.object({
              enabled: z.boolean().optional(),
              model: z.string().optional(),
              image: z.string().nullish(),
              input_image: z.string().nullish(),
              weight: z.number().optional(),
              module: z.string().optional(),
              /** canny's low and high thresholds (-1 or absent: 100 and 200, sd-webui-controlnet's defaults). */
              threshold_a: z.number().optional(),
              threshold_b: z.number().optional(),
            }),
          ),
        })
        .optional(),
    })
    .optional(),
};
const txt2imgSchema = z.object(common);
const img2imgSchema = z.object({
  ...common,
  init_images: z.array(image).min(1, 'needs one image').max(1, 'one init image per request here'),
  denoising_strength: z.number().optional(),
  mask: image.nullish(),
  mask_blur: z.number().optional(),
});
type Txt2ImgBody = z.infer<typeof txt2imgSchema>;
type Img2ImgBody = z.infer<typeof img2imgSchema>;

/** Our field names → A1111's, for error messages. */
const FIELD_NAMES: Record<string, string> = {
  negativePrompt: 'negative_prompt',
  guidance: 'cfg_scale',
  batch: 'batch_size',
  initImage: 'init_images.0',
  strength: 'denoising_strength',
  maskBlur: 'mask_blur',
  loras: 'prompt',
  model: 'override_settings.sd_model_checkpoint',
};

interface ControlNetUnit {
  id: string;
  image: string;
  scale?: number;
  preprocessor: 'none' | 'canny';
  low?: number;
  high?: number;
  field: string;
}

/** The first enabled sd-webui-controlnet unit as our `controlnet` field (module none, or canny run here). */
function controlNetFor(d: AppDeps, body: Txt2ImgBody): ControlNetUnit | undefined {
  const units = body.alwayson_scripts?.controlnet?.args ?? [];
  const index = units.findIndex((u) => u.enabled !== false && u.model && u.model !== 'None');
  if (index < 0) return undefined;
  const unit = units[index];
  const field = `alwayson_scripts.controlnet.args.${index}`;
  const preprocessor = unit.module ?? 'none';
  if (preprocessor !== 'none' && preprocessor !== 'canny')
    throw fieldError(
      `${field}.module`,
      `only "canny" runs here (got ${JSON.stringify(unit.module)}): send the preprocessed hint image itself with module "none"`,
    );
  const threshold = (key: 'threshold_a' | 'threshold_b'): number | undefined => {
    const v = unit[key];
    if (preprocessor !== 'canny' || v === undefined || v === -1) return undefined;
    if (!(v >= 0 && v <= 1020)) throw fieldError(`${field}.${key}`, 'must be a canny threshold from 0 to 1020 (or -1 for the default)');
    return v;
  };
  const [low, high] = [threshold('threshold_a'), threshold('threshold_b')];
  const name = unit.model!.replace(/ \[[0-9a-f]+\]$/, '');
  const entry = d.registry.controlnet(name) ?? d.registry.controlnets.find((c) => c.name === name);
  if (!entry) throw fieldError(`${field}.model`, `no ControlNet ${JSON.stringify(unit.model)} (see GET /api/models)`);
  const image = unit.image ?? unit.input_image;
  if (!image) throw fieldError(`${field}.image`, 'the unit needs its hint image');
  return { id: entry.id, image, scale: unit.weight, preprocessor, low, high, field };
}

/** An error as A1111's API (FastAPI) answers it. */
export function a1111ErrorBody(err: unknown): { status: ContentfulStatusCode; body: unknown } {
  const status = (err instanceof ApiError ? err.status : isUserError(err) ? err.httpStatus : 500) as ContentfulStatusCode;
  const message =
    err instanceof Error ? (status === 500 && !isUserError(err) ? `internal error: ${err.message}` : err.message) : String(err);
  const name = status === 400 || status === 422 ? 'ValidationError' : status >= 500 ? 'RuntimeError' : 'HTTPException';
  return { status, body: { error: name, detail: message, body: '', errors: err instanceof ApiError ? (err.fields ?? '') : '' } };
}

function schedulerFor(body: Txt2ImgBody): string | undefined {
  // A1111 1.9+ sends `scheduler` as the noise schedule ('Automatic', 'Karras'): only our names override.
  if (body.scheduler && (schedulerNames as readonly string[]).includes(body.scheduler)) return body.scheduler;
  const name = body.sampler_name ?? body.sampler_index;
  if (name === undefined || name === '') return undefined;
  const scheduler = SAMPLERS[name] ?? (schedulerNames as readonly string[]).find((s) => s === name.toLowerCase());
  if (!scheduler)
    throw fieldError(
      body.sampler_name === undefined ? 'sampler_index' : 'sampler_name',
      `unknown sampler ${JSON.stringify(name)}; one of ${Object.keys(SAMPLERS).join(', ')}`,
    );
  return scheduler;
}

/** override_settings.sd_model_checkpoint: a model by id, name or title (undefined: the default model). */
function modelFor(d: AppDeps, body: Txt2ImgBody): ModelEntry | undefined {
  const wanted = body.override_settings?.sd_model_checkpoint;
  if (wanted === undefined || wanted === null || wanted === '') return undefined;
  const name = String(wanted);
  const model = d.registry.model(name) ?? d.registry.models.find((m) => m.name === name || m.name === name.replace(/ \[[0-9a-f]+\]$/, ''));
  if (!model) throw fieldError('override_settings.sd_model_checkpoint', `no model ${JSON.stringify(name)} (see GET /sdapi/v1/sd-models)`);
  return model;
}

/** What /sdapi/v1/progress reports: the A1111 run in progress (its rounds), else any running job. */
interface Task {
  jobs: number;
  jobNo: number;
  job?: Job;
  startedAt: number;
  interrupted: boolean;
}

export function a1111Routes(d: AppDeps): Hono {
  const api = new Hono();
  const tasks = new Set<Task>();

  async function run(c: Context, mode: 'txt2img' | 'img2img') {
    const controlImages = [0, 1, 2, 3].flatMap((i) => ['image', 'input_image'].map((k) => `alwayson_scripts.controlnet.args.${i}.${k}`));
    const raw = await readJson(c, mode === 'img2img' ? ['init_images', 'mask', ...controlImages] : controlImages);
    const parsed = (mode === 'img2img' ? img2imgSchema : txt2imgSchema).safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw fieldError(issue.path.join('.') || 'body', issue.message);
    }
    const body = parsed.data as Txt2ImgBody & Partial<Img2ImgBody>;
    const model = modelFor(d, body) ?? d.registry.models[0];
    const { prompt, tags } = extractLoraTags(body.prompt, 'prompt');
    const negative = body.negative_prompt ? extractLoraTags(body.negative_prompt, 'negative_prompt').prompt : undefined;
    let loras: { id: string; weight: number }[] | undefined;
    if (tags.length) {
      const tagged = resolveLoraTags(d.registry, tags, 'prompt');
      const defaults = (model?.defaultLoras ?? []).filter((l) => !tagged.some((t) => t.id === l.id));
      loras = [...defaults, ...tagged];
    }
    const batch = body.batch_size ?? 1;
    const iterations = body.n_iter ?? 1;
    const seed = body.seed === undefined || body.seed === -1 ? BigInt(randomInt(0, 2 ** 32)) : BigInt(body.seed);
    const allSeeds = batchSeeds(seed, batch * iterations);
    const scheduler = schedulerFor(body);
    const controlnet = controlNetFor(d, body);
    const native = (roundSeed: bigint) =>
      Object.fromEntries(
        Object.entries({
          prompt,
          negativePrompt: negative,
          steps: body.steps,
          guidance: body.cfg_scale,
          scheduler,
          eta: body.eta,
          seed: seedToJson(roundSeed),
          width: body.width,
          height: body.height,
          batch,
          model: model && model !== d.registry.models[0] ? model.id : undefined,
          loras,
          initImage: body.init_images?.[0],
          strength: body.denoising_strength ?? (mode === 'img2img' ? 0.75 : undefined),
          mask: body.mask ?? undefined,
          maskBlur: body.mask ? (body.mask_blur ?? 4) : undefined,
          controlnet: controlnet && {
            id: controlnet.id,
            image: controlnet.image,
            scale: controlnet.scale,
            preprocessor: controlnet.preprocessor,
            low: controlnet.low,
            high: controlnet.high,
          },
        }).filter(([, v]) => v !== undefined),
      );
    const task: Task = { jobs: iterations, jobNo: 0, startedAt: Date.now(), interrupted: false };
    tasks.add(task);
    const jobs: Job[] = [];
    try {
      for (let i = 0; i < iterations && !task.interrupted; i++) {
        task.jobNo = i;
        const job = await submitGenerate(d, native(allSeeds[i * batch]), {
          ...FIELD_NAMES,
          ...(controlnet && { controlnet: controlnet.field }),
        });
        task.job = job;
        await jobFinished(d, job, c.req.raw.signal);
        if (job.status === 'error') throw new ApiError(500, job.error ?? 'the job failed');
        if (job.status !== 'done' && !task.interrupted) throw new ApiError(503, job.error ?? `the job was ${job.status}`);
        jobs.push(job);
      }
    } finally {
      tasks.delete(task);
    }
    const refs = jobs.flatMap((j) => j.images);
    const images = refs.map((ref) => {
      const png = d.images.get(ref.id)?.png;
      if (!png) throw new ApiError(500, `image ${ref.id} is no longer stored`);
      return Buffer.from(png).toString('base64');
    });
    const first = jobs[0]?.spec;
    const seeds = allSeeds.slice(0, refs.length).map(seedToJson);
    const infotexts = jobs.flatMap((j) => {
      const text = String(j.parameters.text ?? '');
      return j.images.map((ref) => d.images.get(ref.id)?.parameters ?? text);
    });
    const sampling = first?.sampling;
    const info = {
      prompt,
      all_prompts: refs.map(() => prompt),
      negative_prompt: negative ?? '',
      all_negative_prompts: refs.map(() => negative ?? ''),
      seed: seedToJson(seed),
      all_seeds: seeds,
      subseed: -1,
      all_subseeds: seeds.map(() => -1),
      subseed_strength: 0,
      width: refs[0]?.width ?? body.width ?? null,
      height: refs[0]?.height ?? body.height ?? null,
      sampler_name: sampling ? samplerLabel(sampling.scheduler) : null,
      cfg_scale: sampling?.guidanceScale ?? null,
      steps: sampling?.steps ?? null,
      batch_size: batch,
      n_iter: iterations,
      denoising_strength: first?.init?.strength ?? null,
      sd_model_name: first?.model.name ?? null,
      sd_model_hash: null,
      loras: first?.loras.map((l) => ({ name: l.entry.name, weight: l.weight })) ?? [],
      restore_faces: false,
      styles: [],
      clip_skip: 1,
      extra_generation_params: {},
      index_of_first_image: 0,
      infotexts,
      job_timestamp: timestamp(task.startedAt),
      interrupted: task.interrupted,
      is_using_inpainting_conditioning: false,
      version: d.version,
    };
    const { init_images: _init, mask: _mask, alwayson_scripts: _scripts, ...echo } = body;
    const parameters = {
      ...echo,
      seed: seedToJson(seed),
      steps: info.steps,
      cfg_scale: info.cfg_scale,
      sampler_name: info.sampler_name,
      ...(mode === 'img2img' && { init_images: null, mask: null, denoising_strength: info.denoising_strength }),
    };
    return c.json({ images: body.send_images === false ? [] : images, parameters, info: JSON.stringify(info) });
  }

  api.post('/txt2img', (c) => run(c, 'txt2img'));
  api.post('/img2img', (c) => run(c, 'img2img'));
  api.post('/interrupt', (c) => {
    for (const task of tasks) {
      task.interrupted = true;
      if (task.job) d.queue.cancel(task.job, 'interrupted (POST /sdapi/v1/interrupt)');
    }
    return c.json({});
  });
  api.get('/sd-models', (c) =>
    c.json(
      d.registry.models.map((m) => ({
        title: m.name,
        model_name: m.name,
        hash: null,
        sha256: null,
        filename: m.id,
        config: null,
      })),
    ),
  );
  api.get('/samplers', (c) => c.json(Object.entries(SAMPLERS).map(([name, scheduler]) => ({ name, aliases: [scheduler], options: {} }))));
  api.get('/loras', (c) =>
    c.json(d.registry.view().loras.map((l) => ({ name: l.name, alias: l.name, path: `${l.name}.safetensors`, metadata: {} }))),
  );
  api.get('/progress', (c) => {
    const task = [...tasks].at(-1);
    const job = task?.job ?? d.queue.runningJobs()[0];
    const jobs = task?.jobs ?? (job ? 1 : 0);
    const jobNo = task?.jobNo ?? 0;
    const { step = 0, steps = 0 } = job && !job.finished ? job.progress : {};
    const progress = jobs === 0 ? 0 : Math.min(1, (jobNo + (steps ? step / steps : 0)) / jobs);
    const started = task?.startedAt ?? job?.startedAt ?? Date.now();
    const elapsed = (Date.now() - started) / 1000;
    return c.json({
      progress,
      eta_relative: progress > 0 ? (elapsed / progress) * (1 - progress) : 0,
      state: {
        skipped: false,
        interrupted: task?.interrupted ?? false,
        stopping_generation: false,
        job: job ? `${job.id}` : '',
        job_count: jobs,
        job_timestamp: timestamp(started),
        job_no: jobNo,
        sampling_step: step,
        sampling_steps: steps,
      },
      current_image: null,
      textinfo: job ? `${job.status}: step ${step} of ${steps}` : null,
      current_task: job?.id ?? null,
    });
  });
  return api;
}

/** A1111's job_timestamp: YYYYMMDDhhmmss (UTC here). */
function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}
