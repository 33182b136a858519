// The job queue's scheduling rules (with a controllable fake runner) and the pipeline pool's memory-bounded
// LRU (with real, lazily loaded tiny-sd pipelines: loading reads configs and headers only).
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, test } from 'node:test';
import { Job, JobQueue, JobStopped, PipelinePool, type JobSpec, type ModelEntry } from '../../src/server/index.js';
import { ApiError } from '../../src/server/errors.js';
import { sharedPath } from '../helpers/shared.js';
import { sessionOptionsFor } from '../../src/runtime/device.js';

const entry = (id: string): ModelEntry => ({ id, name: id, kind: 'diffusers', path: sharedPath('fixtures', 'tiny-sd'), defaultLoras: [] });
const spec = (model: string): JobSpec => ({
  prompt: 'x',
  preset: 'tdd',
  seed: 0n,
  randomSeed: false,
  batch: 1,
  loras: [],
  model: entry(model),
  sampling: { scheduler: 'tdd', steps: 4, guidanceScale: 1, warnings: [] },
});

/** A runner whose jobs finish only when the test says so. */
function gatedRunner() {
  const gates = new Map<string, () => void>();
  const started: string[] = [];
  const runner = (job: Job) =>
    new Promise<void>((resolve, reject) => {
      started.push(job.id);
      job.signal.addEventListener('abort', () => reject(job.signal.reason));
      gates.set(job.id, () => {
        job.emit('done', {});
        resolve();
      });
    });
  const finish = async (job: Job) => {
    gates.get(job.id)!();
    await new Promise((r) => setImmediate(r));
  };
  return { runner, started, finish };
}

describe('JobQueue', () => {
  test('one job at a time per model, models side by side, FIFO within a model', async () => {
    const { runner, started, finish } = gatedRunner();
    const q = new JobQueue(runner, { maxQueued: 10 });
    const a1 = q.submit(spec('a'));
    const a2 = q.submit(spec('a'));
    const b1 = q.submit(spec('b'));
    assert.deepEqual(started, [a1.id, b1.id]);
    assert.deepEqual([a1.status, a2.status, q.positionOf(a2)], ['running', 'queued', 1]);
    await finish(a1);
    assert.deepEqual(started, [a1.id, b1.id, a2.id]);
    await finish(a2);
    await finish(b1);
    assert.deepEqual(q.stats(), { queued: 0, running: 0, maxQueued: 10, finished: 3 });
  });

  test('the waiting bound counts only waiting jobs; a full queue is a 429 ApiError', async () => {
    const { runner } = gatedRunner();
    const q = new JobQueue(runner, { maxQueued: 1 });
    const running = q.submit(spec('a'));
    q.submit(spec('a'));
    assert.throws(
      () => q.submit(spec('a')),
      (e) => e instanceof ApiError && e.status === 429,
    );
    const other = q.submit(spec('b')); // can start at once on its own model, so it does not wait
    assert.equal(other.status, 'running');
    await q.shutdown(0);
    assert.deepEqual([running.status, other.status], ['cancelled', 'cancelled']);
  });

  test('cancel: a waiting job at once, a running one through its signal; timeouts end as errors', async () => {
    const { runner } = gatedRunner();
    const q = new JobQueue(runner, { maxQueued: 5, jobTimeoutMs: 30 });
    const running = q.submit(spec('a'));
    const waiting = q.submit(spec('a'));
    assert.equal(q.cancel(waiting), true);
    assert.equal(waiting.status, 'cancelled');
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(running.status, 'error');
    assert.match(running.error!, /longer than the server's limit/);
    assert.equal(q.cancel(running), false);
    const next = q.submit(spec('a'));
    q.cancel(next);
    await new Promise((r) => setImmediate(r));
    assert.equal(next.status, 'cancelled');
  });

  test('shutdown cancels waiting jobs, waits for running ones within the grace, then stops them', async () => {
    const { runner, finish } = gatedRunner();
    const q = new JobQueue(runner);
    const a = q.submit(spec('a'));
    const b = q.submit(spec('b'));
    const waiting = q.submit(spec('a'));
    const closing = q.shutdown(50);
    assert.equal(waiting.status, 'cancelled');
    await finish(a); // finishes within the grace period
    await closing;
    assert.deepEqual([a.status, b.status], ['done', 'cancelled']);
    assert.throws(
      () => q.submit(spec('a')),
      (e) => e instanceof ApiError && e.status === 503,
    );
    assert.ok(b.signal.reason instanceof JobStopped);
  });
});

describe('PipelinePool', () => {
  test('releases the least recently used idle model to stay in its memory budget, never a busy one', async () => {
    const probe = new PipelinePool();
    const one = await probe.acquire(entry('probe'));
    const bytes = probe.info()[0].estimatedBytes;
    one.release();
    await probe.releaseAll();
    assert.ok(bytes > 1e6, `tiny-sd weighs a few MB as float32, twice (${bytes})`);

    const pool = new PipelinePool({ memoryBudgetBytes: 2.5 * bytes });
    const a = await pool.acquire(entry('a'));
    const b = await pool.acquire(entry('b'));
    assert.equal(a.loaded, true);
    const again = await pool.acquire(entry('a'));
    assert.equal(again.loaded, false, 'a loaded model is reused');
    assert.equal(again.pipe, a.pipe);
    again.release();
    a.release();
    b.release();
    (await pool.acquire(entry('a'))).release(); // a is now the most recently used
    const c = await pool.acquire(entry('c'));
    assert.deepEqual(
      pool
        .info()
        .map((m) => m.id)
        .sort(),
      ['a', 'c'],
      'b, least recently used, was released',
    );
    const d = await pool.acquire(entry('d')); // a is idle → released; c is busy → kept
    assert.deepEqual(
      pool
        .info()
        .map((m) => m.id)
        .sort(),
      ['c', 'd'],
    );
    const e = await pool.acquire(entry('e')); // both busy: over budget rather than release a model in use
    assert.deepEqual(
      pool
        .info()
        .map((m) => m.id)
        .sort(),
      ['c', 'd', 'e'],
    );
    for (const lease of [c, d, e]) lease.release();
    await pool.releaseAll();
    assert.deepEqual(pool.info(), []);
  });

  test('its runtime (tdd serve --device/--threads) reaches the sessions of every pipeline it loads', async () => {
    assert.deepEqual(new PipelinePool().runtime(), { device: 'cpu', threads: availableParallelism() });
    const one = new PipelinePool({ loadOptions: sessionOptionsFor({ device: 'cpu', threads: 1 }) });
    assert.deepEqual(one.runtime(), { device: 'cpu', threads: 1 });
    // A thread count no session accepts shows the options got there: the first session refuses it.
    const bad = new PipelinePool({ loadOptions: sessionOptionsFor({ threads: 0 }) });
    const lease = await bad.acquire(entry('bad'));
    try {
      await assert.rejects(
        lease.pipe.encodeImages(new Float32Array(3 * 64 * 64), 1, 64, 64),
        /intraOpThreads must be a positive integer \(got 0\)/,
      );
    } finally {
      lease.release();
      await bad.releaseAll();
    }
  });
});
