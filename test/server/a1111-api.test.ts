// The AUTOMATIC1111 API subset (/sdapi/v1) over real HTTP with the tiny fixture model: txt2img and img2img
// with A1111's field names, answers and seed rules, <lora:...> tags, samplers, the catalog endpoints, progress
// and interrupt, and A1111-shaped errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { extractLoraTags } from '../../src/server/lora-tags.js';
import { readPngText } from '../../src/util/png.js';
import { testServer, type TestServer } from './helpers.js';

let server: TestServer;
before(async () => {
  server = await testServer({ previews: false });
});
after(() => server.stop());

const png = async (size: number, background: string) =>
  (
    await sharp({ create: { width: size, height: size, channels: 3, background } })
      .png()
      .toBuffer()
  ).toString('base64');

async function post(path: string, body: unknown) {
  const res = await server.postJson(path, body);
  return { status: res.status, json: await res.json() };
}

describe('A1111 API', () => {
  test('lora tags are taken out of the prompt', () => {
    assert.deepEqual(extractLoraTags('a cat, <lora:tiny-lora:0.5> on a mat <lora:other>'), {
      prompt: 'a cat, on a mat',
      tags: [
        { name: 'tiny-lora', weight: 0.5 },
        { name: 'other', weight: 1 },
      ],
    });
  });

  test('sd-models, samplers and loras list what the server has', async () => {
    const models = await (await server.api('/sdapi/v1/sd-models')).json();
    assert.equal(models.length, 1);
    assert.equal(models[0].model_name, 'tiny-sd');
    assert.equal(models[0].title, 'tiny-sd');
    const samplers = await (await server.api('/sdapi/v1/samplers')).json();
    const names = samplers.map((s: { name: string }) => s.name);
    for (const name of ['Euler a', 'Euler', 'DDIM', 'LCM', 'DPM++ 2M', 'TCD', 'TDD']) assert.ok(names.includes(name), name);
    const loras = await (await server.api('/sdapi/v1/loras')).json();
    assert.deepEqual(
      loras.map((l: { name: string }) => l.name),
      [server.loraName],
    );
  });

  test('txt2img: batch_size × n_iter images with seeds seed + i, lora tags applied, info as JSON text', async () => {
    const { status, json } = await post('/sdapi/v1/txt2img', {
      prompt: `a cat <lora:${server.loraName}:0.5>`,
      negative_prompt: 'blurry',
      steps: 2,
      cfg_scale: 2,
      sampler_name: 'Euler',
      seed: 7,
      width: 64,
      height: 64,
      batch_size: 2,
      n_iter: 2,
      styles: [],
      restore_faces: false,
    });
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.images.length, 4);
    const info = JSON.parse(json.info);
    assert.equal(info.prompt, 'a cat');
    assert.deepEqual(info.all_seeds, [7, 8, 9, 10]);
    assert.equal(info.seed, 7);
    assert.equal(info.sampler_name, 'Euler');
    assert.deepEqual([info.width, info.height, info.steps, info.cfg_scale, info.batch_size], [64, 64, 2, 2, 2]);
    assert.equal(info.infotexts.length, 4);
    assert.equal(json.parameters.seed, 7);
    for (const [i, image] of json.images.entries()) {
      const text = readPngText(new Uint8Array(Buffer.from(image, 'base64'))).parameters;
      assert.match(text, new RegExp(`^a cat <lora:${server.loraName}:0.5>\\nNegative prompt: blurry\\n`));
      assert.match(text, new RegExp(`Sampler: Euler, CFG scale: 2, Seed: ${7 + i},`));
      assert.equal(info.infotexts[i], text);
    }
  });

  test('seed -1 is random; our TDD sampler by name', async () => {
    const { status, json } = await post('/sdapi/v1/txt2img', {
      prompt: 'x',
      seed: -1,
      steps: 2,
      width: 64,
      height: 64,
      sampler_name: 'TDD',
    });
    assert.equal(status, 200, JSON.stringify(json));
    const info = JSON.parse(json.info);
    assert.ok(info.seed >= 0);
    assert.deepEqual(info.all_seeds, [info.seed]);
    assert.equal(info.sampler_name, 'TDD');
  });

  test('img2img with init_images, denoising_strength and a mask', async () => {
    const { status, json } = await post('/sdapi/v1/img2img', {
      prompt: 'x',
      init_images: [await png(64, '#c84'), 'unused'].slice(0, 1),
      mask: `data:image/png;base64,${await png(64, '#fff')}`,
      mask_blur: 4,
      denoising_strength: 0.5,
      steps: 4,
      seed: 3,
      sampler_name: 'DDIM',
    });
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.images.length, 1);
    const info = JSON.parse(json.info);
    assert.equal(info.denoising_strength, 0.5);
    assert.deepEqual([info.width, info.height], [64, 64]);
    assert.match(readPngText(new Uint8Array(Buffer.from(json.images[0], 'base64'))).parameters, /Denoising strength: 0.5/);
    assert.equal(json.parameters.init_images, null);
  });

  test('errors are A1111-shaped and name the field', async () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['/sdapi/v1/txt2img', { prompt: 'x', sampler_name: 'Heun' }, /sampler_name: unknown sampler "Heun"/],
      ['/sdapi/v1/txt2img', { prompt: 'x <lora:nope:1>' }, /prompt: <lora:nope>: no LoRA/],
      ['/sdapi/v1/txt2img', { prompt: 'x', cfg_scale: 99 }, /cfg_scale/],
      ['/sdapi/v1/txt2img', { prompt: 'x', batch_size: 9 }, /batch_size/],
      ['/sdapi/v1/img2img', { prompt: 'x', init_images: ['!!'] }, /init_images\.0: /],
      ['/sdapi/v1/img2img', { prompt: 'x' }, /init_images/],
      ['/sdapi/v1/txt2img', { prompt: 'x', override_settings: { sd_model_checkpoint: 'nope' } }, /sd_model_checkpoint/],
    ];
    for (const [path, body, detail] of cases) {
      const { status, json } = await post(path, body);
      assert.equal(status, 400, JSON.stringify(json));
      assert.match(json.detail, detail);
      assert.equal(typeof json.error, 'string');
    }
  });

  test('the Host and Origin checks cover /sdapi', async () => {
    const { request } = await import('node:http');
    const status = (headers: Record<string, string>, method = 'GET', path = '/sdapi/v1/sd-models') =>
      new Promise<number>((resolve, reject) => {
        const req = request(server.url + path, { method, headers }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end(method === 'POST' ? '{"prompt":"x"}' : undefined);
      });
    assert.equal(await status({ Host: 'evil.example' }), 403);
    assert.equal(await status({ Origin: 'http://evil.example', 'Content-Type': 'application/json' }, 'POST', '/sdapi/v1/txt2img'), 403);
    assert.equal(await status({}), 200);
  });

  test('progress reports a running request (0..1, eta_relative, state); interrupt stops it', async () => {
    const idle = await (await server.api('/sdapi/v1/progress')).json();
    assert.equal(idle.progress, 0);
    assert.equal(idle.state.job_count, 0);
    const pending = post('/sdapi/v1/txt2img', { prompt: 'slow', steps: 50, sampler_name: 'DDIM', width: 64, height: 64, seed: 1 });
    let progress: any;
    for (let i = 0; i < 500; i++) {
      progress = await (await server.api('/sdapi/v1/progress')).json();
      if (progress.state.sampling_step >= 2) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(progress.progress > 0 && progress.progress < 1, JSON.stringify(progress));
    assert.equal(progress.state.sampling_steps, 50);
    assert.ok(progress.eta_relative >= 0);
    assert.equal((await server.postJson('/sdapi/v1/interrupt', {})).status, 200);
    const { status, json } = await pending;
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.images.length, 0);
    assert.equal(JSON.parse(json.info).interrupted, true);
  });
});
