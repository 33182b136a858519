// The HTTP API over real HTTP on loopback, generating with the tiny fixture model at 64×64.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { parseA1111Parameters } from '../../src/pipelines/metadata.js';
import { readPngText } from '../../src/util/png.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../src/server/index.js';
import { writeSafetensors } from '../../src/weights/safetensors-writer.js';
import { sharedPath } from '../helpers/shared.js';
import { readEvents, smallRequest, testServer, TEST_MODELS, waitForJob, type SseEvent, type TestServer } from './helpers.js';

let server: TestServer;
before(async () => {
  server = await testServer({ maxQueued: 1 });
});
after(() => server.stop());

/** Starts a long job and resolves once its first step has run. */
async function runningJob(steps = 50): Promise<{ id: string; events: Promise<SseEvent[]> }> {
  const res = await server.postJson('/api/generate', smallRequest({ steps }));
  assert.equal(res.status, 202);
  const { id, links } = await res.json();
  let started!: () => void;
  const firstStep = new Promise<void>((resolve) => (started = resolve));
  const events = readEvents(server.url + links.events, { onEvent: (e) => void (e.event === 'step' && started()) });
  await Promise.race([firstStep, events]);
  return { id, events };
}

describe('tdd serve API', () => {
  test('GET /api/models lists the model and the LoRA by opaque ids, never by path', async () => {
    const res = await server.api('/api/models');
    assert.equal(res.status, 200);
    const text = await res.text();
    const catalog = JSON.parse(text);
    assert.equal(catalog.models.length, 1);
    assert.match(server.modelId, /^[a-z0-9][a-z0-9-]*-[0-9a-f]{8}$/);
    assert.equal(catalog.models[0].defaultSize, server.size);
    assert.equal(catalog.loras.length, 1);
    assert.match(server.loraId, /^tiny-lora-[0-9a-f]{8}$/);
    assert.ok(!text.includes(server.modelsDir) && !text.includes('/fixtures/'), 'no server path leaks into the listing');
    assert.deepEqual(
      catalog.presets.map((p: { name: string }) => p.name),
      ['tdd', 'tcd', 'lcm', 'dmd2', 'pcm', 'teacher'],
    );
  });

  test('bad requests get 400 naming each field at fault, and the server keeps working', async () => {
    const cases: [Record<string, unknown>, string[]][] = [
      [{ prompt: '' }, ['prompt']],
      [{ prompt: 'x'.repeat(2001) }, ['prompt']],
      [smallRequest({ steps: 0 }), ['steps']],
      [smallRequest({ steps: 51 }), ['steps']],
      [smallRequest({ steps: 2.5 }), ['steps']],
      [smallRequest({ width: 60, height: 4096 }), ['width', 'height']],
      [smallRequest({ guidance: -1, eta: 1.5 }), ['guidance', 'eta']],
      [smallRequest({ seed: -2 }), ['seed']],
      [smallRequest({ seed: '12ab' }), ['seed']],
      [smallRequest({ seed: '18446744073709551616' }), ['seed']],
      [smallRequest({ scheduler: 'nope', preset: 'fast' }), ['scheduler', 'preset']],
      [smallRequest({ batch: 9 }), ['batch']],
      [smallRequest({ modelPath: '/etc' }), ['modelPath']],
      [smallRequest({ loras: [{ id: server.loraId, weight: 99 }] }), ['loras.0.weight']],
      [{ steps: 4 }, ['prompt']],
    ];
    for (const [body, fields] of cases) {
      const res = await server.postJson('/api/generate', body);
      const reply = await res.json();
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
      assert.equal(typeof reply.message, 'string');
      assert.deepEqual(reply.fields.map((f: { field: string }) => f.field).sort(), [...fields].sort(), JSON.stringify(reply));
    }
    const notJson = await server.api('/api/generate', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"prompt": ',
    });
    assert.equal(notJson.status, 400);
    assert.match((await notJson.json()).message, /not valid JSON/);
    const form = await server.api('/api/generate', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'prompt=x',
    });
    assert.equal(form.status, 415);
    const huge = await server.postJson('/api/generate', { prompt: 'x'.repeat(70_000) });
    assert.equal(huge.status, 413);
    assert.equal((await server.api('/api/health')).status, 200);
  });

  test('path-like or unknown model and LoRA ids are refused before any lookup', async () => {
    const pathLike = [
      TEST_MODELS['tiny-sd'].dir,
      '../tiny-sd',
      'tiny-sd/../../etc',
      'C:\\models\\x.safetensors',
      'file:///etc/passwd',
      `${server.modelId}/..`,
      '',
    ];
    for (const model of pathLike) {
      const reply = await (await server.postJson('/api/generate', smallRequest({ model }))).json();
      assert.deepEqual(reply.fields, [{ field: 'model', message: 'must be a model id from GET /api/models (not a path)' }], model);
    }
    const unknown = await server.postJson('/api/generate', smallRequest({ model: 'tiny-sd-00000000' }));
    assert.equal(unknown.status, 400);
    assert.match((await unknown.json()).message, /no model with id "tiny-sd-00000000"/);
    const lora = await (await server.postJson('/api/generate', smallRequest({ loras: [{ id: `../${server.loraId}` }] }))).json();
    assert.equal(lora.fields[0].field, 'loras.0.id');
  });

  test('a job streams queued, started, a step per step with previews, then done; its PNG carries the parameters', async () => {
    const res = await server.postJson(
      '/api/generate',
      smallRequest({ steps: 3, seed: 11, model: server.modelId, loras: [{ id: server.loraId, weight: 0.5 }] }),
    );
    assert.equal(res.status, 202);
    const { id, links } = await res.json();
    assert.equal(res.headers.get('location'), `/api/jobs/${id}`);
    const events = await readEvents(server.url + links.events);
    const types = events.map((e) => e.event);
    assert.deepEqual(
      types.filter((t) => t !== 'preview'),
      ['queued', 'started', 'step', 'step', 'step', 'done'],
    );
    assert.deepEqual(
      events.map((e) => Number(e.id)),
      events.map((_, i) => i + 1),
      'ids count up from 1',
    );
    assert.deepEqual(
      events.filter((e) => e.event === 'step').map((e) => e.data.step),
      [1, 2, 3],
    );
    for (const step of events.filter((e) => e.event === 'step')) assert.ok(step.data.itPerSec > 0 && step.data.steps === 3);
    const previews = events.filter((e) => e.event === 'preview');
    assert.ok(previews.length >= 1, 'the first step is always previewed');
    for (const p of previews) {
      const before = events.findIndex((e) => e.event === 'step' && e.data.step === p.data.step);
      assert.equal(events[events.indexOf(p) - 1], events[before], 'a preview follows its own step');
      assert.ok(p.data.step < 3, 'the last step has no preview');
      const jpeg = Buffer.from(p.data.image.replace(/^data:image\/jpeg;base64,/, ''), 'base64');
      const meta = await sharp(jpeg).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', p.data.width, p.data.height]);
    }
    const done = events.at(-1)!.data;
    const job = await (await server.api(`/api/jobs/${id}`)).json();
    assert.equal(job.status, 'done');
    assert.deepEqual(job.images, done.images);
    const png = await server.api(job.images[0].url);
    assert.equal(png.headers.get('content-type'), 'image/png');
    const bytes = new Uint8Array(await png.arrayBuffer());
    const image = sharp(bytes);
    assert.deepEqual([(await image.metadata()).width, (await image.metadata()).height], [server.size, server.size]);
    const stats = await image.stats();
    assert.ok(
      stats.channels.some((c) => c.stdev > 1),
      'not a blank image',
    );
    const parsed = parseA1111Parameters(readPngText(bytes).parameters);
    assert.equal(parsed.prompt, 'a photo of a cat <lora:tiny-lora:0.5>');
    assert.deepEqual(
      [parsed.fields.Steps, parsed.fields.Seed, parsed.fields.Size, parsed.fields.Sampler],
      ['3', '11', `${server.size}x${server.size}`, 'TDD'],
    );
    assert.equal(readPngText(bytes).parameters, done.parameters);
    // A client that connects after the end gets the whole history, and Last-Event-ID resumes after an event.
    const replay = await readEvents(server.url + links.events);
    assert.deepEqual(
      replay.map((e) => e.event),
      types.filter((t, i) => t !== 'preview' || i === types.lastIndexOf('preview')),
    );
    const resumed = await readEvents(`${server.url}${links.events}?after=${events.at(-2)!.id}`);
    assert.deepEqual(
      resumed.map((e) => e.event),
      ['done'],
    );
  });

  test('the same seed gives the same image; another seed another', async () => {
    const pixels = async (seed: number) => {
      const { id } = await (await server.postJson('/api/generate', smallRequest({ seed }))).json();
      const job = await waitForJob(server, id);
      return sharp(Buffer.from(await (await server.api(job.images[0].url)).arrayBuffer()))
        .raw()
        .toBuffer();
    };
    const [a, b, c] = [await pixels(3), await pixels(3), await pixels(4)];
    assert.ok(a.equals(b));
    assert.ok(!a.equals(c));
  });

  test('DELETE cancels a running job at its next step; a finished job cannot be cancelled', async () => {
    const { id, events } = await runningJob();
    const res = await server.api(`/api/jobs/${id}`, { method: 'DELETE' });
    assert.equal(res.status, 202);
    assert.equal((await res.json()).status, 'cancelling');
    const all = await events;
    const last = all.at(-1)!;
    assert.equal(last.event, 'cancelled');
    assert.ok(last.data.step >= 1 && last.data.step < 50, `stopped mid-run (at step ${last.data.step})`);
    const job = await (await server.api(`/api/jobs/${id}`)).json();
    assert.deepEqual([job.status, job.images], ['cancelled', []]);
    assert.equal((await server.api(`/api/jobs/${id}`, { method: 'DELETE' })).status, 409);
  });

  test('a full queue answers 429; a waiting job can be cancelled; the queue accepts again afterwards', async () => {
    const running = await runningJob();
    const waiting = await server.postJson('/api/generate', smallRequest());
    assert.equal(waiting.status, 202);
    const queued = await waiting.json();
    assert.deepEqual([queued.status, queued.position], ['queued', 1]);
    const full = await server.postJson('/api/generate', smallRequest());
    assert.equal(full.status, 429);
    assert.match((await full.json()).message, /queue is full/);
    assert.equal((await server.api(`/api/jobs/${queued.id}`, { method: 'DELETE' })).status, 202);
    assert.equal((await waitForJob(server, queued.id)).status, 'cancelled');
    await server.api(`/api/jobs/${running.id}`, { method: 'DELETE' });
    assert.equal((await running.events).at(-1)!.event, 'cancelled');
    const again = await server.postJson('/api/generate', smallRequest());
    assert.equal(again.status, 202);
    assert.equal((await waitForJob(server, (await again.json()).id)).status, 'done');
  });

  test('unknown jobs, images and routes are JSON 404s; foreign Host headers are refused', async () => {
    for (const path of [
      '/api/jobs/00000000-0000-0000-0000-000000000000',
      '/api/jobs/..%2F..%2Fetc',
      '/api/images/00000000-0000-0000-0000-000000000000.png',
      '/api/images/..%2Fx.png',
      '/api/nothing',
    ]) {
      const res = await server.api(path);
      assert.equal(res.status, 404, path);
      assert.equal(typeof (await res.json()).message, 'string');
    }
    assert.equal((await server.api('/../package.json')).status, 404);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/api/models`, { headers: { Host: 'attacker.example' } }, (res) => resolve(res.statusCode!));
      req.on('error', reject).end();
    });
    assert.equal(status, 403);
  });

  test('GET / serves the page without external resources', async () => {
    const res = await server.api('/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy')!, /default-src 'self'/);
    const html = await res.text();
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
    assert.equal((await server.api('/app.js')).headers.get('content-type'), 'text/javascript; charset=utf-8');
  });
});

describe('tdd serve limits and shutdown', () => {
  test('a job over the time limit ends with an error event', async () => {
    const s = await testServer({ jobTimeoutMs: 400 });
    try {
      const { links } = await (await s.postJson('/api/generate', smallRequest({ steps: 50 }))).json();
      const last = (await readEvents(s.url + links.events)).at(-1)!;
      assert.equal(last.event, 'error');
      assert.match(last.data.message, /longer than the server's limit/);
    } finally {
      await s.stop();
    }
  });

  test('a TAESD that does not fit leaves previews to the VAE; a model that fails to load fails its job, not the server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tdd-serve-taesd-'));
    const model = join(dir, 'tiny-with-taesd');
    mkdirSync(join(model, 'taesd'), { recursive: true });
    for (const part of ['model_index.json', 'unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler'])
      symlinkSync(join(sharedPath('fixtures', 'tiny-sd'), part), join(model, part));
    // The golden TAESD upsamples ×4; tiny-sd's VAE ×2.
    const golden = JSON.parse(readFileSync(fileURLToPath(new URL('../golden/taesd-tiny.json', import.meta.url)), 'utf8'));
    writeFileSync(join(model, 'taesd', 'config.json'), JSON.stringify(golden.config));
    // Looks like a checkpoint from its header, but holds no UNet.
    writeSafetensors(join(dir, 'broken.safetensors'), [
      { name: 'model.diffusion_model.out.2.weight', shape: [1], dtype: 'F32', data: new Float32Array(1) },
    ]);
    const s = await startServer({ port: 0, modelDirs: [dir], embedded: null, hashCacheFile: null });
    try {
      const catalog = await (await fetch(`${s.url}/api/models`)).json();
      const withTaesd = catalog.models.find((m: { name: string }) => m.name === 'tiny-with-taesd');
      assert.equal(withTaesd.previews, 'taesd');
      const res = await fetch(`${s.url}/api/generate`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(smallRequest({ steps: 2, model: withTaesd.id })),
      });
      const events = await readEvents(s.url + (await res.json()).links.events);
      assert.equal(events.at(-1)!.event, 'done');
      assert.equal(events.find((e) => e.event === 'preview')!.data.decoder, 'vae');
      const status = await (await fetch(`${s.url}/api/status`)).json();
      assert.match(status.warnings[0], /tiny decoder was refused/);
      const broken = catalog.models.find((m: { name: string }) => m.name === 'broken');
      const failed = await fetch(`${s.url}/api/generate`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(smallRequest({ model: broken.id })),
      });
      const last = (await readEvents(s.url + (await failed.json()).links.events)).at(-1)!;
      assert.equal(last.event, 'error');
      assert.match(last.data.message, /broken\.safetensors/);
      assert.equal((await fetch(`${s.url}/api/health`)).status, 200);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('shutdown lets a running job finish within the grace period and cancels waiting ones', async () => {
    const s = await testServer();
    const first = await (await s.postJson('/api/generate', smallRequest({ steps: 4 }))).json();
    const second = await (await s.postJson('/api/generate', smallRequest({ steps: 4 }))).json();
    await s.stop(20_000);
    assert.equal(s.queue.get(first.id)!.status, 'done');
    assert.equal(s.queue.get(second.id)!.status, 'cancelled');
    await assert.rejects(fetch(`${s.url}/api/health`));
  });

  test('shutdown stops a running job that outlasts the grace period', async () => {
    const s = await testServer();
    const job = await (await s.postJson('/api/generate', smallRequest({ steps: 50 }))).json();
    await readEvents(s.url + job.links.events, { stopAfter: (e) => e.event === 'step' });
    await s.stop(0);
    const stopped = s.queue.get(job.id)!;
    assert.equal(stopped.status, 'cancelled');
    assert.ok(stopped.progress.step < 50);
  });
});
