// POST /api/generate with an init image (img2img) and a mask (inpainting): the images' limits, 400s naming
// the field, admission at the image's size; GET /api/images: the history, newest first, paged, and kept in
// the --out folder across a restart.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { parseA1111Parameters } from '../../src/pipelines/metadata.js';
import { readPngText } from '../../src/util/png.js';
import { smallRequest, testServer, waitForJob, type TestServer } from './helpers.js';

async function pngBase64(width: number, height: number, color = { r: 200, g: 80, b: 40 }): Promise<string> {
  const png = await sharp({ create: { width, height, channels: 3, background: color } })
    .png()
    .toBuffer();
  return png.toString('base64');
}

/** A mask: black (keep) with a white (repaint) square in the middle. */
async function maskBase64(size: number): Promise<string> {
  const square = await sharp({ create: { width: size / 2, height: size / 2, channels: 3, background: '#fff' } })
    .png()
    .toBuffer();
  const png = await sharp({ create: { width: size, height: size, channels: 3, background: '#000' } })
    .composite([{ input: square, left: size / 4, top: size / 4 }])
    .png()
    .toBuffer();
  return png.toString('base64');
}

async function generate(server: TestServer, body: Record<string, unknown>) {
  const res = await server.postJson('/api/generate', body);
  const json = await res.json();
  return { status: res.status, json };
}

describe('img2img and inpainting in POST /api/generate', () => {
  let server: TestServer;
  let outDir: string;
  before(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'tdd-hist-'));
    server = await testServer({ outDir, previews: false });
  });
  after(async () => {
    await server.stop();
    rmSync(outDir, { recursive: true, force: true });
  });

  test('img2img: an init image (base64) with strength makes an image of its size, written with Denoising strength', async () => {
    const initImage = await pngBase64(64, 64);
    const { status, json } = await generate(server, smallRequest({ initImage, strength: 0.5, steps: 4 }));
    assert.equal(status, 202, JSON.stringify(json));
    const job = await waitForJob(server, json.id);
    assert.equal(job.status, 'done', job.error);
    assert.equal(job.images[0].width, 64);
    const png = new Uint8Array(await (await server.api(job.images[0].url)).arrayBuffer());
    const params = parseA1111Parameters(readPngText(png).parameters);
    assert.equal(params.fields['Denoising strength'], '0.5');
  });

  test('without width and height the job runs at the init image size (rounded to the model size multiple); data URLs work', async () => {
    const initImage = `data:image/png;base64,${await pngBase64(49, 30)}`;
    const body = { prompt: 'a cat', steps: 2, seed: 3, initImage };
    const { status, json } = await generate(server, body);
    assert.equal(status, 202, JSON.stringify(json));
    const job = await waitForJob(server, json.id);
    assert.equal(job.status, 'done', job.error);
    assert.deepEqual([job.params.width, job.params.height], [48, 28]);
    assert.deepEqual([job.images[0].width, job.images[0].height], [48, 28]);
  });

  test('inpainting: a mask with mask blur; batches run image by image with seed + i', async () => {
    const body = smallRequest({ initImage: await pngBase64(64, 64), mask: await maskBase64(64), maskBlur: 2, batch: 2, seed: 10 });
    const { status, json } = await generate(server, body);
    assert.equal(status, 202, JSON.stringify(json));
    const job = await waitForJob(server, json.id);
    assert.equal(job.status, 'done', job.error);
    assert.equal(job.images.length, 2);
    const seeds = [];
    for (const image of job.images) {
      const png = new Uint8Array(await (await server.api(image.url)).arrayBuffer());
      seeds.push(parseA1111Parameters(readPngText(png).parameters).fields.Seed);
    }
    assert.deepEqual(seeds, ['10', '11']);
  });

  test('bad images are 400s naming the field', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ initImage: 'not base64!' }, 'initImage', /base64/],
      [{ initImage: Buffer.from('hello, not an image').toString('base64') }, 'initImage', /cannot decode/],
      [{ mask: await pngBase64(8, 8) }, 'mask', /needs an init image/],
      [{ initImage: await pngBase64(8, 8), mask: 'AAAA' }, 'mask', /decode/],
      [{ initImage: await pngBase64(2049, 2049) }, 'initImage', /at most 4194304 pixels/],
      [{ initImage: await pngBase64(8, 8), strength: 1.5 }, 'strength', /1/],
      [{ initImage: await pngBase64(3, 3) }, 'initImage', /at least 4 pixels/],
    ];
    for (const [extra, field, message] of cases) {
      const { status, json } = await generate(server, { prompt: 'x', steps: 1, ...extra });
      assert.equal(status, 400, `${field}: ${JSON.stringify(json)}`);
      assert.equal(json.fields[0].field, field, JSON.stringify(json));
      assert.match(json.message, message);
    }
  });

  test('an image over the byte limit is refused naming the field; a large prompt is still 413', async () => {
    const huge = 'A'.repeat(12 * 2 ** 20);
    const { status, json } = await generate(server, { prompt: 'x', initImage: huge });
    assert.equal(status, 400);
    assert.equal(json.fields[0].field, 'initImage');
    assert.match(json.message, /exceeds 8388608 bytes/);
    assert.equal((await server.postJson('/api/generate', { prompt: 'x'.repeat(70_000), initImage: 'AAAA' })).status, 413);
  });

  test('GET /api/images lists the history newest first, paged', async () => {
    const all = await (await server.api('/api/images?limit=500')).json();
    assert.ok(all.total >= 4, JSON.stringify(all));
    const times = all.images.map((i: { createdAt: string }) => Date.parse(i.createdAt));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );
    const page = await (await server.api('/api/images?offset=1&limit=2')).json();
    assert.deepEqual(
      page.images.map((i: { id: string }) => i.id),
      all.images.slice(1, 3).map((i: { id: string }) => i.id),
    );
    assert.equal(page.total, all.total);
    assert.match(all.images[0].parameters, /Steps: /);
    assert.equal((await server.api('/api/images?limit=-1')).status, 400);
  });
});

test('the history survives a restart (index in the --out folder)', async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'tdd-hist-'));
  try {
    let server = await testServer({ outDir, previews: false });
    const ids: string[] = [];
    try {
      for (const seed of [1, 2]) {
        const { json } = await generate(server, smallRequest({ seed, steps: 1 }));
        const job = await waitForJob(server, json.id);
        ids.push(job.images[0].id);
      }
    } finally {
      await server.stop();
    }
    server = await testServer({ outDir, previews: false });
    try {
      const list = await (await server.api('/api/images')).json();
      assert.deepEqual(
        list.images.map((i: { id: string }) => i.id),
        [...ids].reverse(),
      );
      const res = await server.api(`/api/images/${ids[0]}.png`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      assert.match(readPngText(new Uint8Array(await res.arrayBuffer())).parameters, /Seed: 1,/);
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});

test('memory admission counts the init image size when the request gives none', async () => {
  const server = await testServer({ usableMemoryBytes: 700 * 2 ** 20, previews: false });
  try {
    const { status, json } = await generate(server, { prompt: 'x', steps: 1, initImage: await pngBase64(2048, 2048) });
    assert.equal(status, 422, JSON.stringify(json));
    assert.match(json.message, /2048×2048/);
  } finally {
    await server.stop();
  }
});
