/**
 * What every API that starts jobs shares (the native POST /api/generate and the OpenAI and A1111 layers):
 * reading the JSON body within the limits, admission (memory) and submission to the queue, and — for the
 * synchronous APIs — waiting for the job's end, cancelling it when the client goes away.
 */
import type { Context } from 'hono';
import type { AppDeps } from './app.js';
import { ApiError, type FieldError } from './errors.js';
import { attachImages } from './image-inputs.js';
import type { Job } from './job.js';
import { TERMINAL_EVENTS } from './job.js';
import { MAX_IMAGE_FIELD_CHARS, parseGenerateBody, resolveControlNet, resolveJobSpec, type JobSpec } from './request-schema.js';

/** A body without its images (prompt, settings). */
export const MAX_BODY_BYTES = 64 * 1024;
/** A body with its images: an init image and a mask, or a ControlNet hint, at most. */
export const MAX_REQUEST_BYTES = MAX_BODY_BYTES + 2 * MAX_IMAGE_FIELD_CHARS;

/** Characters held by the image fields `keys` of a body (strings, or arrays of strings). */
function imageChars(body: unknown, keys: readonly string[]): number {
  if (typeof body !== 'object' || body === null) return 0;
  let n = 0;
  for (const key of keys) {
    // 'controlnet.image': a field of an object field.
    const v = key
      .split('.')
      .reduce<unknown>((o, k) => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined), body);
    for (const s of Array.isArray(v) ? v : [v]) if (typeof s === 'string') n += s.length;
  }
  return n;
}

/**
 * The JSON body (415 when it is not JSON, 400 when it does not parse); 413 when what is not an image field
 * exceeds MAX_BODY_BYTES (the middleware limits the whole body to MAX_REQUEST_BYTES).
 */
export async function readJson(c: Context, imageKeys: readonly string[] = []): Promise<unknown> {
  const type = c.req.header('Content-Type') ?? '';
  if (!/^application\/json\b/i.test(type)) throw new ApiError(415, 'the body must be JSON (Content-Type: application/json)');
  const text = await c.req.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'the body is not valid JSON');
  }
  if (Buffer.byteLength(text) - imageChars(body, imageKeys) > MAX_BODY_BYTES)
    throw new ApiError(413, `the body exceeds ${MAX_BODY_BYTES} bytes${imageKeys.length ? ' (besides its images)' : ''}`);
  return body;
}

/** The size and batch a job will run at (the model's native size when the request gives none). */
export function jobShape(spec: JobSpec): { width: number; height: number; batch: number } {
  const native = spec.model.defaultSize ?? 512;
  return { width: spec.width ?? native, height: spec.height ?? native, batch: spec.batch };
}

/** Admission (422 when the job cannot fit in memory), then the queue (429 when it is full). */
export function admitAndSubmit(d: AppDeps, spec: JobSpec): Job {
  const refusal = d.admission?.refusal(spec.model, jobShape(spec));
  if (refusal) throw new ApiError(422, refusal);
  return d.queue.submit(spec);
}

/**
 * Resolves when the job has finished (done, error or cancelled). When `signal` aborts first (the client
 * disconnected), the job is cancelled and the promise still resolves at its end.
 */
export function jobFinished(d: AppDeps, job: Job, signal?: AbortSignal): Promise<Job> {
  return new Promise((resolve) => {
    const onAbort = () => d.queue.cancel(job, 'the client disconnected');
    // The job drops its listeners after the terminal event.
    job.subscribe(0, (event) => {
      if (!TERMINAL_EVENTS.has(event.type)) return;
      signal?.removeEventListener('abort', onAbort);
      resolve(job);
    });
    if (job.finished) return;
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** An ApiError whose fields are renamed (native names → the names of the API the client used). */
export function renameFields(err: unknown, names: Readonly<Record<string, string>>): unknown {
  if (!(err instanceof ApiError) || !err.fields) return err;
  const rename = (field: string) => {
    const [head, ...rest] = field.split('.');
    return [names[head] ?? head, ...rest].join('.');
  };
  const fields: FieldError[] = err.fields.map((f) => ({ field: rename(f.field), message: f.message }));
  const message = fields.map((f) => `${f.field || 'body'}: ${f.message}`).join('; ');
  return new ApiError(err.status, err.message.startsWith('invalid request: ') ? `invalid request: ${message}` : message, fields);
}

/**
 * A native request body (request-schema.ts) → a queued job: validation, the registry's checks, the images,
 * admission. Errors name fields as `names` maps them (for the compat APIs).
 */
export async function submitGenerate(d: AppDeps, raw: unknown, names: Readonly<Record<string, string>> = {}): Promise<Job> {
  try {
    const body = parseGenerateBody(raw);
    const control = resolveControlNet(body, d.registry);
    const spec = await attachImages(resolveJobSpec(body, d.registry), {
      control: control && { ...body.controlnet!, value: body.controlnet!.image, field: 'controlnet.image', entry: control },
      initImage: body.initImage === undefined ? undefined : { value: body.initImage, field: 'initImage' },
      mask: body.mask === undefined ? undefined : { value: body.mask, field: 'mask' },
      strength: body.strength,
      maskBlur: body.maskBlur,
    });
    return admitAndSubmit(d, spec);
  } catch (e) {
    throw renameFields(e, names);
  }
}
