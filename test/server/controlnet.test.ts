// POST /api/generate with a ControlNet from the --models folders (a diffusers ControlNetModel folder, listed
// by GET /api/models): the hint image conditions text-to-image and is recorded in the PNG; unknown ids and
// ControlNet with an init image are 400s naming the field.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { parseA1111Parameters } from '../../src/pipelines/metadata.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { readPngText } from '../../src/util/png.js';
import { TEST_MODELS, tinyControlNetFolder } from './helpers.js';

let server: RunningServer;
let modelsDir: string;
before(async () => {
  modelsDir = mkdtempSync(join(tmpdir(), 'tdd-serve-cn-'));
  symlinkSync(TEST_MODELS['tiny-sd'].dir, join(modelsDir, 'tiny-sd'));
  tinyControlNetFolder(join(modelsDir, 'tiny-controlnet'));
  server = await startServer({ port: 0, modelDirs: [modelsDir], embedded: null, hashCacheFile: null, previews: false });
});
after(async () => {
  await server.close();
  rmSync(modelsDir, { recursive: true, force: true });
});

const post = async (body: unknown) => {
  const res = await fetch(server.url + '/api/generate', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
};

async function waitDone(id: string): Promise<any> {
  for (;;) {
    const job = await (await fetch(`${server.url}/api/jobs/${id}`)).json();
    if (['done', 'error', 'cancelled'].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('ControlNet in POST /api/generate', () => {
  test('GET /api/models lists the ControlNet; a job with its hint image records the unit', async () => {
    const catalog = await (await fetch(server.url + '/api/models')).json();
    assert.deepEqual(
      catalog.controlnets.map((c: { name: string }) => c.name),
      ['tiny-controlnet'],
    );
    assert.equal(catalog.models.length, 1);
    const hint = (
      await sharp({ create: { width: 64, height: 64, channels: 3, background: '#fff' } })
        .png()
        .toBuffer()
    ).toString('base64');
    const { status, json } = await post({
      prompt: 'a cat',
      steps: 2,
      seed: 1,
      controlnet: { id: catalog.controlnets[0].id, image: hint, scale: 0.7 },
    });
    assert.equal(status, 202, JSON.stringify(json));
    const job = await waitDone(json.id);
    assert.equal(job.status, 'done', job.error);
    assert.deepEqual([job.images[0].width, job.images[0].height], [64, 64]);
    const png = new Uint8Array(await (await fetch(server.url + job.images[0].url)).arrayBuffer());
    const params = parseA1111Parameters(readPngText(png).parameters);
    assert.equal(params.fields['ControlNet 0'], 'Module: none, Model: tiny-controlnet, Weight: 0.7');
  });

  test("preprocessor 'canny': the server draws the hint's edges first and records Module: canny", async () => {
    const catalog = await (await fetch(server.url + '/api/models')).json();
    // A grey square on black: its canny edges are an outline, a different hint from the filled square.
    const square = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#000' } })
      .composite([
        {
          input: await sharp({ create: { width: 32, height: 32, channels: 3, background: '#888' } })
            .png()
            .toBuffer(),
          left: 16,
          top: 16,
        },
      ])
      .png()
      .toBuffer();
    const run = async (controlnet: Record<string, unknown>) => {
      const { status, json } = await post({
        prompt: 'a cat',
        steps: 2,
        seed: 1,
        controlnet: { id: catalog.controlnets[0].id, image: square.toString('base64'), scale: 2, ...controlnet },
      });
      assert.equal(status, 202, JSON.stringify(json));
      const job = await waitDone(json.id);
      assert.equal(job.status, 'done', job.error);
      const png = new Uint8Array(await (await fetch(server.url + job.images[0].url)).arrayBuffer());
      return { pixels: await sharp(png).raw().toBuffer(), unit: parseA1111Parameters(readPngText(png).parameters).fields['ControlNet 0'] };
    };
    const canny = await run({ preprocessor: 'canny', low: 50, high: 150 });
    assert.equal(canny.unit, 'Module: canny, Model: tiny-controlnet, Weight: 2, Threshold A: 50, Threshold B: 150');
    const asGiven = await run({});
    assert.equal(asGiven.unit, 'Module: none, Model: tiny-controlnet, Weight: 2');
    assert.ok(!canny.pixels.equals(asGiven.pixels), 'the edges condition the image, not the square as given');
  });

  test('unknown ids, bad hint images and ControlNet with an init image are 400s naming the field', async () => {
    const catalog = await (await fetch(server.url + '/api/models')).json();
    const id = catalog.controlnets[0].id;
    const hint = (
      await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } })
        .png()
        .toBuffer()
    ).toString('base64');
    const cases: [Record<string, unknown>, string][] = [
      [{ controlnet: { id: 'nope', image: hint } }, 'controlnet.id'],
      [{ controlnet: { id: '../x', image: hint } }, 'controlnet.id'],
      [{ controlnet: { id, image: 'AAAA' } }, 'controlnet.image'],
      [{ controlnet: { id, image: hint }, initImage: hint }, 'controlnet'],
      [{ controlnet: { id, image: hint, scale: 5 } }, 'controlnet.scale'],
      [{ controlnet: { id, image: hint, preprocessor: 'depth' } }, 'controlnet.preprocessor'],
      [{ controlnet: { id, image: hint, preprocessor: 'canny', low: -1 } }, 'controlnet.low'],
    ];
    for (const [extra, field] of cases) {
      const { status, json } = await post({ prompt: 'x', steps: 1, ...extra });
      assert.equal(status, 400, JSON.stringify(json));
      assert.equal(json.fields[0].field, field, JSON.stringify(json));
    }
  });

  test('A1111: the first enabled sd-webui-controlnet unit of alwayson_scripts (module none or canny)', async () => {
    const hint = (
      await sharp({ create: { width: 64, height: 64, channels: 3, background: '#fff' } })
        .png()
        .toBuffer()
    ).toString('base64');
    const request = (unit: Record<string, unknown>) =>
      fetch(server.url + '/sdapi/v1/txt2img', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          prompt: 'a cat',
          steps: 2,
          seed: 1,
          width: 64,
          height: 64,
          alwayson_scripts: { controlnet: { args: [{ enabled: false, model: 'other' }, unit] } },
        }),
      });
    const res = await request({ model: 'tiny-controlnet [0123abcd]', image: hint, weight: 0.5, module: 'none' });
    const json = await res.json();
    assert.equal(res.status, 200, JSON.stringify(json));
    assert.match(JSON.parse(json.info).infotexts[0], /ControlNet 0: "Module: none, Model: tiny-controlnet, Weight: 0.5"/);
    const canny = await request({ model: 'tiny-controlnet', image: hint, module: 'canny', threshold_a: -1, threshold_b: 150 });
    const cannyJson = await canny.json();
    assert.equal(canny.status, 200, JSON.stringify(cannyJson));
    assert.match(
      JSON.parse(cannyJson.info).infotexts[0],
      /ControlNet 0: "Module: canny, Model: tiny-controlnet, Weight: 1, Threshold A: 100, Threshold B: 150"/,
    );
    const depth = await request({ model: 'tiny-controlnet', image: hint, module: 'depth_midas' });
    assert.equal(depth.status, 400);
    assert.match((await depth.json()).detail, /args\.1\.module: only "canny" runs here/);
    const badHint = await request({ model: 'tiny-controlnet', image: 'AAAA' });
    assert.equal(badHint.status, 400);
    assert.match((await badHint.json()).detail, /^alwayson_scripts\.controlnet\.args\.1\.image: /);
  });
});
