// Issue 20: the server shares the CLI's A1111 batch rule: image i of a batch is seeded seed + i, says so in its
// PNG, and is the image that seed gives alone; the model and LoRA are named as the CLI names them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { parseA1111Parameters } from '../../src/pipelines/metadata.js';
import { readPngText } from '../../src/util/png.js';
import { smallRequest, testServer, waitForJob, type TestServer } from './helpers.js';

let server: TestServer;
before(async () => {
  server = await testServer();
});
after(() => server.stop());

async function images(extra: Record<string, unknown>) {
  const { id } = await (await server.postJson('/api/generate', smallRequest(extra))).json();
  const job = await waitForJob(server, id);
  return Promise.all(
    job.images.map(async (image: { url: string }) => {
      const png = Buffer.from(await (await server.api(image.url)).arrayBuffer());
      return { pixels: await sharp(png).raw().toBuffer(), parsed: parseA1111Parameters(readPngText(png).parameters) };
    }),
  );
}

test('image 2 of a batch seeded 5 is seed 7, remade alone pixel for pixel', async () => {
  const batch = await images({ seed: 5, batch: 3 });
  assert.deepEqual(
    batch.map((i) => i.parsed.fields.Seed),
    ['5', '6', '7'],
  );
  const [alone] = await images({ seed: Number(batch[2].parsed.fields.Seed), batch: 1 });
  assert.ok(alone.pixels.equals(batch[2].pixels));
  assert.equal(alone.parsed.fields.Model, 'tiny-sd', "the model folder's name, as the CLI writes it");
});

test('seed -1 (or "-1") is a random seed: the job and every PNG report the seed drawn', async () => {
  for (const seed of [-1, '-1']) {
    const { id } = await (await server.postJson('/api/generate', smallRequest({ seed, batch: 2 }))).json();
    const job = await waitForJob(server, id);
    assert.equal(job.status, 'done');
    assert.equal(job.params.randomSeed, true);
    assert.match(job.params.seed, /^\d+$/);
    const drawn = BigInt(job.params.seed);
    for (const [i, image] of job.images.entries()) {
      const png = Buffer.from(await (await server.api((image as { url: string }).url)).arrayBuffer());
      assert.equal(parseA1111Parameters(readPngText(png).parameters).fields.Seed, String(drawn + BigInt(i)));
    }
  }
});
