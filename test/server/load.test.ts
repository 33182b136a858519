// A small version of scripts/serve-load-test.ts: concurrent clients against one model with a short queue.
// Every request must end as a finished image or a 429, none lost, and memory must not grow with the jobs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { formatLoadTest, percentile, runLoadTest } from '../../scripts/serve-load-test.js';
import { smallRequest, testServer, type TestServer } from './helpers.js';

let server: TestServer;
before(async () => {
  server = await testServer({ model: 'embedded', maxQueued: 2 });
});
after(() => server.stop());

test('percentile takes the nearest rank', () => {
  assert.equal(percentile([10, 20, 30, 40], 0.5), 20);
  assert.equal(percentile([10, 20, 30, 40], 0.95), 40);
  assert.equal(percentile([7], 0.95), 7);
});

test('20 requests from 4 clients: each completes or gets 429, none lost, memory stable', async () => {
  const body = smallRequest({ steps: 1 });
  await runLoadTest({ url: server.url, requests: 2, clients: 1, body }); // load and compile outside the numbers
  const r = await runLoadTest({ url: server.url, requests: 20, clients: 4, body });
  console.log(formatLoadTest(r, 4));
  assert.deepEqual(r.failed, []);
  assert.equal(r.completed + r.rejected, 20);
  assert.ok(r.completed >= 4, `at least one round of clients got through (${r.completed})`);
  assert.ok(r.latencyMs.p50 > 0 && r.latencyMs.p50 <= r.latencyMs.p95);
  assert.ok(r.rssMiB.after - r.rssMiB.before < 100, `RSS grew ${(r.rssMiB.after - r.rssMiB.before).toFixed(0)} MiB`);
  assert.deepEqual([server.queue.stats().queued, server.queue.stats().running], [0, 0]);
});
