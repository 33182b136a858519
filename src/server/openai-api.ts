/**
 * The OpenAI Images API, for clients written against it (the `openai` SDKs, tools with an "OpenAI-compatible
 * base URL" setting):
 *   POST /v1/images/generations   { prompt, n, size: 'WxH' | 'auto', response_format: 'b64_json' | 'url', model,
 *                                   and ours: negative_prompt, steps, guidance_scale, seed, scheduler, preset,
 *                                   loras: [{ id | name, weight }] }
 *                                 → { created, data: [{ b64_json | url, revised_prompt }] }
 *   GET  /v1/models               { object: 'list', data: [{ id, object: 'model', created, owned_by }] }
 * Synchronous: the request is a job on the same queue (same validation, limits and memory admission as
 * POST /api/generate), answered when the job ends; a client that disconnects first cancels it. `url` is the
 * absolute URL of /api/images/<id>.png. Fields OpenAI defines that mean nothing here (quality, style, user,
 * background, moderation, output_format ...) are ignored; errors are OpenAI's `{ error: { message, type, param, code } }`.
 */
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { isUserError } from '../util/user-error.js';
import type { AppDeps } from './app.js';
import { ApiError, fieldError } from './errors.js';
import { jobFinished, readJson, submitGenerate } from './job-submit.js';
import { findLora } from './lora-tags.js';

const started = Math.floor(Date.now() / 1000);
/** OpenAI's model names: clients send them by default; they mean the server's default model. */
const OPENAI_MODEL_NAMES = /^(dall-e-[23]|gpt-image-.*|default)$/;

const requestSchema = z.object({
  prompt: z.string({ error: 'is required' }),
  n: z.number().int().optional(),
  size: z.string().optional(),
  response_format: z.enum(['b64_json', 'url']).optional(),
  model: z.string().optional(),
  negative_prompt: z.string().optional(),
  steps: z.number().optional(),
  guidance_scale: z.number().optional(),
  seed: z.union([z.number(), z.string()]).optional(),
  scheduler: z.string().optional(),
  preset: z.string().optional(),
  loras: z.array(z.object({ id: z.string().optional(), name: z.string().optional(), weight: z.number().optional() })).optional(),
});

/** Our field names → OpenAI's, for error messages. */
const FIELD_NAMES: Record<string, string> = {
  batch: 'n',
  width: 'size',
  height: 'size',
  guidance: 'guidance_scale',
  negativePrompt: 'negative_prompt',
};

/** An error as OpenAI's API answers it. */
export function openAiErrorBody(err: unknown): { status: ContentfulStatusCode; body: unknown } {
  const status = (err instanceof ApiError ? err.status : isUserError(err) ? err.httpStatus : 500) as ContentfulStatusCode;
  const message =
    err instanceof Error ? (status === 500 && !isUserError(err) ? `internal error: ${err.message}` : err.message) : String(err);
  const type =
    status === 429 ? 'rate_limit_error' : status === 403 ? 'permission_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  const param = err instanceof ApiError ? (err.fields?.[0]?.field ?? null) : null;
  const code = status === 404 && param === 'model' ? 'model_not_found' : status === 429 ? 'rate_limit_exceeded' : null;
  return { status, body: { error: { message, type, param, code } } };
}

function nativeBody(d: AppDeps, body: z.infer<typeof requestSchema>): Record<string, unknown> {
  let width: number | undefined;
  let height: number | undefined;
  if (body.size !== undefined && body.size !== 'auto') {
    const m = /^(\d{1,5})x(\d{1,5})$/.exec(body.size);
    if (!m) throw fieldError('size', `must be "WIDTHxHEIGHT" (e.g. "512x512") or "auto", not ${JSON.stringify(body.size)}`);
    [width, height] = [Number(m[1]), Number(m[2])];
  }
  let model: string | undefined;
  if (body.model !== undefined && !OPENAI_MODEL_NAMES.test(body.model)) {
    if (!d.registry.model(body.model))
      throw new ApiError(404, `no model ${JSON.stringify(body.model)} (see GET /v1/models)`, [
        { field: 'model', message: 'unknown model' },
      ]);
    model = body.model;
  }
  const loras = body.loras?.map((l, i) => {
    const name = l.id ?? l.name;
    const entry = name === undefined ? undefined : findLora(d.registry, name);
    if (!entry) throw fieldError(`loras.${i}`, `no LoRA ${JSON.stringify(name ?? '')} (give id or name from GET /api/models)`);
    return { id: entry.id, weight: l.weight ?? 1 };
  });
  return {
    prompt: body.prompt,
    negativePrompt: body.negative_prompt,
    batch: body.n,
    width,
    height,
    model,
    steps: body.steps,
    guidance: body.guidance_scale,
    seed: body.seed,
    scheduler: body.scheduler,
    preset: body.preset,
    loras,
  };
}

export function openAiRoutes(d: AppDeps): Hono {
  const api = new Hono();
  api.get('/models', (c) =>
    c.json({
      object: 'list',
      data: d.registry.models.map((m) => ({ id: m.id, object: 'model', created: started, owned_by: 'tdd-diffusion' })),
    }),
  );
  api.get('/models/:id', (c) => {
    const m = d.registry.model(c.req.param('id'));
    if (!m) throw new ApiError(404, `no model ${JSON.stringify(c.req.param('id'))}`, [{ field: 'model', message: 'unknown model' }]);
    return c.json({ id: m.id, object: 'model', created: started, owned_by: 'tdd-diffusion' });
  });
  api.post('/images/generations', async (c) => {
    const parsed = requestSchema.safeParse(await readJson(c));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw fieldError(issue.path.join('.') || 'body', issue.message);
    }
    const body = parsed.data;
    const native = Object.fromEntries(Object.entries(nativeBody(d, body)).filter(([, v]) => v !== undefined));
    const job = await submitGenerate(d, native, FIELD_NAMES);
    await jobFinished(d, job, c.req.raw.signal);
    if (job.status !== 'done') throw new ApiError(job.status === 'cancelled' ? 503 : 500, job.error ?? `the job was ${job.status}`);
    const origin = new URL(c.req.url).origin;
    const data = job.images.map((ref) => {
      if ((body.response_format ?? 'b64_json') === 'url') return { url: origin + ref.url, revised_prompt: job.spec.prompt };
      const png = d.images.get(ref.id)?.png;
      if (!png) throw new ApiError(500, `image ${ref.id} is no longer stored`);
      return { b64_json: Buffer.from(png).toString('base64'), revised_prompt: job.spec.prompt };
    });
    return c.json({ created: Math.floor((job.finishedAt ?? Date.now()) / 1000), data });
  });
  return api;
}
