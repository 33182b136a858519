// Memory admission control: jobs whose estimate (memory-estimate.ts) exceeds what the server can give a job
// are refused with 422 before they run; the estimator grows with size and batch.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readComponentConfig } from '../../src/loaders/diffusers-folder.js';
import { embeddedModel } from '../../src/embedded/index.js';
import { estimateJobBytes, formatGiB, memoryConfigFrom, SD15_MEMORY_CONFIG } from '../../src/server/memory-estimate.js';
import { testServer, type TestServer } from './helpers.js';

const emojiDir = embeddedModel()!.dir;
const emoji = memoryConfigFrom(readComponentConfig(join(emojiDir, 'unet')), readComponentConfig(join(emojiDir, 'vae')));
const USABLE = 640 * 2 ** 20;

describe('memory estimator', () => {
  test('reads the attention levels and channels from the configs', () => {
    assert.deepEqual(emoji, {
      vaeFactor: 4,
      unetChannels: [64, 128, 128],
      vaeChannels: [32, 64, 64],
      heads: [8, 8, 8],
      attentionLevels: [1, 2],
      vaeTile: 16,
    });
  });

  test('grows strictly with width, height and batch (CPU and materialized attention, emoji and SD 1.x)', () => {
    for (const config of [emoji, SD15_MEMORY_CONFIG]) {
      for (const attentionScores of [false, true]) {
        const est = (width: number, height: number, batch: number) =>
          estimateJobBytes(config, { width, height, batch }, { attentionScores });
        for (let s = 64; s < 2048; s += 64) {
          for (let batch = 1; batch <= 4; batch++) {
            assert.ok(est(s + 64, s, batch) > est(s, s, batch), `width ${s}`);
            assert.ok(est(s, s + 64, batch) > est(s, s, batch), `height ${s}`);
            if (batch < 4) assert.ok(est(s, s, batch + 1) > est(s, s, batch), `batch ${batch}`);
          }
        }
        assert.ok(est(512, 512, 1) <= est(512, 512, 1), 'deterministic');
      }
    }
  });
});

describe('memory admission', () => {
  let server: TestServer;
  before(async () => {
    server = await testServer({ model: 'embedded', usableMemoryBytes: USABLE, previews: false });
  });
  after(() => server.stop());

  const post = (width: number, height: number, batch: number) =>
    server.postJson('/api/generate', { prompt: 'a cat', width, height, batch, steps: 1, seed: 1 });

  test('2048×2048, batch 4 on the built-in model is refused with the estimate and the limit', async () => {
    const res = await post(2048, 2048, 4);
    assert.equal(res.status, 422);
    const { message } = await res.json();
    const need = formatGiB(estimateJobBytes(emoji, { width: 2048, height: 2048, batch: 4 }, { attentionScores: false }));
    assert.equal(
      message,
      `this job needs about ${need} (2048×2048, batch 4); the server can give a job ${formatGiB(USABLE)}: lower the size or the batch`,
    );
    assert.equal((await server.api('/api/status')).status, 200, 'the server keeps answering');
  });

  test('the largest square request that fits is accepted, the next size up is refused', async () => {
    const status = await (await server.api('/api/status')).json();
    const limit = status.admission.jobLimitBytes;
    assert.equal(status.admission.usableBytes, USABLE);
    let largest = 0;
    for (let s = 8; s <= 2048; s += 8)
      if (estimateJobBytes(emoji, { width: s, height: s, batch: 1 }, { attentionScores: false }) <= limit) largest = s;
    assert.ok(largest >= 64 && largest < 2048, `largest ${largest}`);
    const tooBig = await post(largest + 8, largest + 8, 1);
    assert.equal(tooBig.status, 422, `${largest + 8} px`);
    const fits = await post(largest, largest, 1);
    assert.equal(fits.status, 202, `${largest} px`);
    const { id } = await fits.json();
    // Cancelled at once, or already ended: once the model is loaded it holds memory too, and the runner's
    // second check may stop the job with the same message rather than let it run out of memory.
    const cancel = await server.api(`/api/jobs/${id}`, { method: 'DELETE' });
    if (cancel.status === 409) {
      const job = await (await server.api(`/api/jobs/${id}`)).json();
      if (job.status === 'error') assert.match(job.error, /^this job needs about .* the server can give a job/);
    } else assert.equal(cancel.status, 202);
  });
});
