/**
 * The HTTP API and the page, as a hono app (server.ts binds it to a socket):
 *   GET    /api/health               liveness + version
 *   GET    /api/status               queue, loaded models, memory
 *   GET    /api/models               models and LoRAs by id, presets, schedulers, limits
 *   POST   /api/generate             JSON body (request-schema.ts) → 202 { id, status, position, links }
 *   GET    /api/jobs/:id             the job (status, params, progress, images, error)
 *   GET    /api/jobs/:id/events      Server-Sent Events (job-events.ts)
 *   DELETE /api/jobs/:id             cancel (waiting: at once; running: at the next step)
 *   GET    /api/images               the history, newest first (?offset=&limit=; persisted with --out)
 *   GET    /api/images/:id.png       the PNG, with A1111 `parameters` text
 *   /v1/...                          the OpenAI Images API (openai-api.ts)
 *   /sdapi/v1/...                    the AUTOMATIC1111 API subset (a1111-api.ts)
 *   GET    /, /app.js, /style.css    the page (static-files.ts)
 * Errors are JSON `{ message, fields? }` (under /v1 OpenAI's `{ error: { message, type, param, code } }`, under
 * /sdapi A1111's `{ error, detail, body, errors }`). Requests whose Host is not in the allow-list are refused (DNS
 * rebinding; every bind has one, see allowedHostsFor), state-changing requests (POST/PUT/PATCH/DELETE) with
 * an Origin whose host is not allowed are refused, and POST bodies must be JSON (a cross-site form cannot
 * send that without a CORS preflight). These checks run before every route, the compat APIs' included.
 */
import { isUserError } from '../util/user-error.js';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { presetNames, presets } from '../pipelines/presets.js';
import { schedulerNames } from '../schedulers/index.js';
import { ApiError, fieldError } from './errors.js';
import { IMAGE_ID_PATTERN, type ImageStore } from './image-store.js';
import { jobEventStream } from './job-events.js';
import type { JobQueue } from './job-queue.js';
import type { MemoryAdmission } from './memory-estimate.js';
import type { ModelRegistry } from './model-registry.js';
import type { PipelinePool } from './pipeline-pool.js';
import { MAX_REQUEST_BYTES, readJson, submitGenerate } from './job-submit.js';
import { a1111ErrorBody, a1111Routes } from './a1111-api.js';
import { openAiErrorBody, openAiRoutes } from './openai-api.js';
import { MAX_BATCH, MAX_LORAS, MAX_PROMPT_LENGTH, MAX_SIZE, MAX_STEPS, TEACHER_PRESET } from './request-schema.js';
import { PAGE_SECURITY_HEADERS, type StaticFiles } from './static-files.js';

export interface AppDeps {
  registry: ModelRegistry;
  queue: JobQueue;
  images: ImageStore;
  pool: PipelinePool;
  page: StaticFiles;
  version: string;
  /** Refuses jobs whose memory estimate exceeds what the server can give a job (422). */
  admission?: MemoryAdmission;
  /** Host header names accepted (lower case, without port, IPv6 in brackets); undefined accepts any (tests only). */
  allowedHosts?: ReadonlySet<string>;
}

function hostName(header: string | undefined): string {
  if (!header) return '';
  const host = header.toLowerCase();
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The host of an Origin header ('' when it is not a URL, e.g. "null"). */
function originHost(origin: string): string {
  try {
    return hostName(new URL(origin).host);
  } catch {
    return '';
  }
}

function modelsView(d: AppDeps) {
  return {
    ...d.registry.view(),
    presets: [
      ...presetNames.map((name) => ({ ...presets[name] })),
      {
        name: TEACHER_PRESET,
        scheduler: 'ddim',
        steps: MAX_STEPS,
        guidanceScale: 7.5,
        eta: 0,
        summary: 'the base model without a distillation LoRA (DDIM, 50 steps, guidance 7.5)',
      },
    ],
    schedulers: schedulerNames,
    limits: {
      maxSteps: MAX_STEPS,
      maxSize: MAX_SIZE,
      sizeMultiple: 8,
      maxPromptLength: MAX_PROMPT_LENGTH,
      maxLoras: MAX_LORAS,
      maxBatch: MAX_BATCH,
      maxQueued: d.queue.maxQueued,
    },
  };
}

function apiRoutes(d: AppDeps): Hono {
  const api = new Hono();
  const jobOr404 = (id: string) => {
    const job = IMAGE_ID_PATTERN.test(id) ? d.queue.get(id) : undefined;
    if (!job) throw new ApiError(404, `no job ${JSON.stringify(id)} (finished jobs are kept for a while, then forgotten)`);
    return job;
  };
  api.get('/health', (c) => c.json({ ok: true, version: d.version }));
  api.get('/status', (c) =>
    c.json({
      version: d.version,
      queue: d.queue.stats(),
      loadedModels: d.pool.info(),
      runtime: d.pool.runtime(),
      warnings: d.pool.warnings,
      images: d.images.size,
      memory: process.memoryUsage(),
      ...(d.admission && { admission: { usableBytes: d.admission.usableBytes, jobLimitBytes: d.admission.jobLimitBytes() } }),
    }),
  );
  api.get('/models', (c) => c.json(modelsView(d)));
  api.post('/generate', async (c) => {
    const job = await submitGenerate(d, await readJson(c, ['initImage', 'mask', 'controlnet.image']));
    c.header('Location', `/api/jobs/${job.id}`);
    return c.json(
      {
        id: job.id,
        status: job.status,
        position: d.queue.positionOf(job) ?? null,
        links: { self: `/api/jobs/${job.id}`, events: `/api/jobs/${job.id}/events` },
      },
      202,
    );
  });
  api.get('/jobs/:id', (c) => {
    const job = jobOr404(c.req.param('id'));
    return c.json(job.toJSON(d.queue.positionOf(job)));
  });
  api.get('/jobs/:id/events', (c) => jobEventStream(c, jobOr404(c.req.param('id'))));
  api.delete('/jobs/:id', (c) => {
    const job = jobOr404(c.req.param('id'));
    if (!d.queue.cancel(job)) throw new ApiError(409, `job ${job.id} has already finished (${job.status})`);
    return c.json({ id: job.id, status: job.status === 'cancelled' ? 'cancelled' : 'cancelling' }, 202);
  });
  api.get('/images', (c) => {
    const number = (name: string, fallback: number, max: number) => {
      const raw = c.req.query(name);
      if (raw === undefined) return fallback;
      if (!/^\d{1,9}$/.test(raw) || Number(raw) > max) throw fieldError(name, `must be an integer from 0 to ${max}`);
      return Number(raw);
    };
    const offset = number('offset', 0, 1e9);
    const limit = number('limit', 50, 500);
    const { total, images } = d.images.list(offset, limit);
    return c.json({
      total,
      offset,
      limit,
      images: images.map((r) => ({
        id: r.id,
        url: `/api/images/${r.id}.png`,
        width: r.width,
        height: r.height,
        jobId: r.jobId || null,
        createdAt: new Date(r.createdAt).toISOString(),
        parameters: r.parameters ?? null,
      })),
    });
  });
  api.get('/images/:file', (c) => {
    const match = /^(.+)\.png$/.exec(c.req.param('file'));
    const image = match && IMAGE_ID_PATTERN.test(match[1]) ? d.images.get(match[1]) : undefined;
    if (!image) throw new ApiError(404, `no image ${JSON.stringify(c.req.param('file'))}`);
    return c.body(image.png as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': 'image/png',
      'Cache-Control': 'private, max-age=31536000, immutable',
      'Content-Disposition': `inline; filename="${image.id}.png"`,
    });
  });
  return api;
}

export function createApp(d: AppDeps): Hono {
  const app = new Hono();
  const answerError = (err: Error, c: Context) => {
    if (c.req.path.startsWith('/v1/')) {
      const { status, body } = openAiErrorBody(err);
      if (status === 500) process.stderr.write(`internal error on ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}\n`);
      return c.json(body, status);
    }
    if (c.req.path.startsWith('/sdapi/')) {
      const { status, body } = a1111ErrorBody(err);
      if (status === 500) process.stderr.write(`internal error on ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}\n`);
      return c.json(body, status);
    }
    if (err instanceof ApiError) return c.json(err.body, err.status);
    // The same mapping as the CLI's: a user error answers its status; anything else is a bug, logged with its stack.
    if (isUserError(err)) return c.json({ message: err.message }, err.httpStatus as ContentfulStatusCode);
    process.stderr.write(`internal error on ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}\n`);
    return c.json({ message: `internal error: ${err.message}` }, 500);
  };
  app.onError(answerError);
  app.notFound((c) => answerError(new ApiError(404, `no route ${c.req.method} ${c.req.path}`), c));
  if (d.allowedHosts) {
    const allowed = d.allowedHosts;
    app.use('*', async (c, next) => {
      if (!allowed.has(hostName(c.req.header('Host'))))
        throw new ApiError(
          403,
          `Host ${JSON.stringify(c.req.header('Host') ?? '')} is not this server; open it as http://localhost:<port>/ or start it with --allowed-host <name>`,
        );
      const origin = c.req.header('Origin');
      if (origin !== undefined && STATE_CHANGING.has(c.req.method) && !allowed.has(originHost(origin))) {
        throw new ApiError(
          403,
          `Origin ${JSON.stringify(origin)} may not change this server's state (cross-site request); start it with --allowed-host <name> to allow that host`,
        );
      }
      await next();
    });
  }
  for (const path of ['/api/*', '/v1/*', '/sdapi/*'])
    app.use(
      path,
      bodyLimit({
        maxSize: MAX_REQUEST_BYTES,
        onError: () => {
          throw new ApiError(413, `the body exceeds ${MAX_REQUEST_BYTES} bytes`);
        },
      }),
    );
  app.route('/api', apiRoutes(d));
  app.route('/v1', openAiRoutes(d));
  app.route('/sdapi/v1', a1111Routes(d));
  app.get('*', (c) => {
    if (/^\/(api|v1|sdapi)\//.test(c.req.path)) throw new ApiError(404, `no route GET ${c.req.path}`);
    const file = d.page.get(c.req.path);
    if (!file) return c.text('not found', 404);
    return c.body(file.body as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': file.contentType,
      'Cache-Control': 'no-cache',
      ...PAGE_SECURITY_HEADERS,
    });
  });
  return app;
}
