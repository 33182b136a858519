// The OpenAI Images API (/v1) with the official `openai` client against a real server: b64_json and url
// answers, models, OpenAI-style errors, the same validation and Host checks, and cancellation when the
// client goes away.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import sharp from 'sharp';
import { readPngText } from '../../src/util/png.js';
import { testServer, waitForJob, type TestServer } from './helpers.js';

let server: TestServer;
let client: OpenAI;
before(async () => {
  server = await testServer({ previews: false, allowedHosts: [] });
  client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'x', maxRetries: 0 });
});
after(() => server.stop());

describe('OpenAI Images API', () => {
  test('images.generate with response_format b64_json answers a PNG of the size asked for', async () => {
    const res = await client.images.generate({ prompt: 'a photo of a cat', n: 1, size: '64x64' as '256x256', response_format: 'b64_json' });
    assert.ok(res.created > 0);
    assert.equal(res.data?.length, 1);
    const png = Buffer.from(res.data![0].b64_json!, 'base64');
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 64, 64]);
    assert.match(readPngText(new Uint8Array(png)).parameters, /^a photo of a cat\n/);
  });

  test('url answers an absolute URL of /api/images/<id>.png; n, model, and our extra fields (steps, guidance_scale, seed, loras)', async () => {
    const models = await client.models.list();
    assert.equal(models.data[0].id, server.modelId);
    assert.equal(models.data[0].object, 'model');
    const res = await client.images.generate({
      prompt: 'a cat',
      n: 2,
      size: '64x64' as '256x256',
      response_format: 'url',
      model: server.modelId,
      // @ts-expect-error fields OpenAI does not define
      steps: 2,
      guidance_scale: 1,
      seed: 5,
      loras: [{ name: server.loraName, weight: 0.5 }],
    });
    assert.equal(res.data?.length, 2);
    const seeds = [];
    for (const item of res.data!) {
      assert.match(item.url!, new RegExp(`^${server.url}/api/images/[0-9a-f-]{36}\\.png$`));
      const text = readPngText(new Uint8Array(await (await fetch(item.url!)).arrayBuffer())).parameters;
      assert.match(text, /Steps: 2, .*CFG scale: 1,/);
      assert.match(text, new RegExp(`<lora:${server.loraName}:0.5>`));
      seeds.push(/Seed: (\d+)/.exec(text)![1]);
    }
    assert.deepEqual(seeds, ['5', '6']);
    // OpenAI's own model names mean the default model.
    const dalle = await client.images.generate({ prompt: 'x', size: '64x64' as '256x256', model: 'dall-e-2', response_format: 'b64_json' });
    assert.equal(dalle.data?.length, 1);
  });

  test('errors are OpenAI-shaped and name the parameter', async () => {
    const cases: [Record<string, unknown>, number, string | null, RegExp][] = [
      [{ prompt: '' }, 400, 'prompt', /empty/],
      [{ prompt: 'x', size: 'big' }, 400, 'size', /WIDTHxHEIGHT/],
      [{ prompt: 'x', size: '63x64' }, 400, 'size', /multiple of 8/],
      [{ prompt: 'x', n: 9 }, 400, 'n', /4/],
      [{ prompt: 'x', model: 'no-such-model' }, 404, 'model', /no model/],
      [{ prompt: 'x', response_format: 'jpeg' }, 400, 'response_format', /b64_json/],
      [{ prompt: 'x', steps: 500 }, 400, 'steps', /50/],
      [{ prompt: 'x', loras: [{ name: 'nope' }] }, 400, 'loras.0', /no LoRA/],
    ];
    for (const [body, status, param, message] of cases) {
      const res = await server.postJson('/v1/images/generations', body);
      const json = await res.json();
      assert.equal(res.status, status, JSON.stringify(json));
      assert.equal(json.error.param, param, JSON.stringify(json));
      assert.equal(json.error.type, 'invalid_request_error');
      assert.match(json.error.message, message);
    }
    await assert.rejects(
      client.images.generate({ prompt: 'x', size: '64x64' as '256x256', model: 'no-such-model' }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404 && e.code === 'model_not_found',
    );
    const unknown = await server.api('/v1/nothing');
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error.type, 'invalid_request_error');
  });

  test('the Host and Origin checks cover /v1', async () => {
    const { request } = await import('node:http');
    const status = (headers: Record<string, string>, method = 'GET', path = '/v1/models') =>
      new Promise<number>((resolve, reject) => {
        const req = request(server.url + path, { method, headers }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end(method === 'POST' ? '{"prompt":"x"}' : undefined);
      });
    assert.equal(await status({ Host: 'evil.example' }), 403);
    assert.equal(
      await status({ Origin: 'http://evil.example', 'Content-Type': 'application/json' }, 'POST', '/v1/images/generations'),
      403,
    );
    assert.equal(await status({}), 200);
  });

  test('a client that disconnects cancels its job', async () => {
    const controller = new AbortController();
    const pending = fetch(server.url + '/v1/images/generations', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'slow', size: '64x64', steps: 50, scheduler: 'ddim' }),
      signal: controller.signal,
    }).catch(() => undefined);
    let job: { id: string } | undefined;
    for (let i = 0; i < 400 && !job; i++) {
      job = server.queue.runningJobs()[0];
      if (!job) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(job, 'the job started');
    controller.abort();
    await pending;
    const done = await waitForJob(server, job.id);
    assert.equal(done.status, 'cancelled');
  });
});
