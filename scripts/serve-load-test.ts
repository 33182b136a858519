/**
 * A short, bounded load test of `tdd serve` on loopback: N requests from C concurrent clients. Each client
 * submits, then follows its job's events to the end; a 429 (queue full) counts as an answer, not a loss,
 * and the client moves on to its next request after a short pause. Prints throughput, p50/p95 latency
 * (submit → done) and the server's memory before, at peak and after.
 *
 *   node --import tsx scripts/serve-load-test.ts [--url http://127.0.0.1:7860] [--models DIR]
 *        [--requests 50] [--clients 5] [--steps 4] [--size 64] [--max-queue 3] [--prompt TEXT]
 *
 * Without --url it starts its own server (loopback, free port) on --models (default: only the embedded model).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServer } from '../src/server/index.js';

export interface LoadTestOptions {
  url: string;
  requests: number;
  clients: number;
  /** The POST /api/generate body each request sends. */
  body: Record<string, unknown>;
  /** Pause after a 429 before the client's next request. */
  backoffMs?: number;
}

export interface LoadTestResult {
  requests: number;
  completed: number;
  rejected: number;
  /** Accepted jobs that ended as error/cancelled, or requests with no answer at all. */
  failed: { request: number; reason: string }[];
  wallSeconds: number;
  throughputPerSecond: number;
  latencyMs: { p50: number; p95: number; max: number };
  rssMiB: { before: number; peak: number; after: number };
}

/** The value below which `q` of the sorted samples fall (nearest rank). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

async function serverRssMiB(url: string): Promise<number> {
  const status = await (await fetch(`${url}/api/status`)).json();
  return status.memory.rss / 2 ** 20;
}

/** Reads the job's event stream to its terminal event. */
async function finalEvent(url: string): Promise<string> {
  const res = await fetch(url);
  const text = await res.text(); // the server ends the stream after the terminal event
  const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
  return events.at(-1) ?? 'none';
}

async function oneRequest(
  o: LoadTestOptions,
  index: number,
  result: { latencies: number[]; rejected: number; failed: LoadTestResult['failed'] },
): Promise<void> {
  const started = performance.now();
  try {
    const res = await fetch(`${o.url}/api/generate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...o.body, seed: index }),
    });
    if (res.status === 429) {
      await res.body?.cancel();
      result.rejected++;
      await new Promise((r) => setTimeout(r, o.backoffMs ?? 50));
      return;
    }
    const reply = await res.json();
    if (res.status !== 202) return void result.failed.push({ request: index, reason: `HTTP ${res.status}: ${reply.message}` });
    const last = await finalEvent(`${o.url}${reply.links.events}`);
    const job = await (await fetch(`${o.url}/api/jobs/${reply.id}`)).json();
    if (last !== 'done' || job.status !== 'done' || job.images.length === 0)
      return void result.failed.push({ request: index, reason: `ended with ${last} / ${job.status}: ${job.error ?? ''}` });
    result.latencies.push(performance.now() - started);
  } catch (e) {
    result.failed.push({ request: index, reason: (e as Error).message });
  }
}

export async function runLoadTest(o: LoadTestOptions): Promise<LoadTestResult> {
  const before = await serverRssMiB(o.url);
  let peak = before;
  const sampler = setInterval(
    () =>
      void serverRssMiB(o.url).then(
        (m) => (peak = Math.max(peak, m)),
        () => {},
      ),
    200,
  );
  const acc = { latencies: [] as number[], rejected: 0, failed: [] as LoadTestResult['failed'] };
  let next = 0;
  const t0 = performance.now();
  const client = async () => {
    for (let i = next++; i < o.requests; i = next++) await oneRequest(o, i, acc);
  };
  try {
    await Promise.all(Array.from({ length: o.clients }, client));
  } finally {
    clearInterval(sampler);
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  const after = await serverRssMiB(o.url);
  const sorted = [...acc.latencies].sort((a, b) => a - b);
  return {
    requests: o.requests,
    completed: sorted.length,
    rejected: acc.rejected,
    failed: acc.failed,
    wallSeconds,
    throughputPerSecond: sorted.length / wallSeconds,
    latencyMs: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), max: sorted.at(-1) ?? NaN },
    rssMiB: { before, peak: Math.max(peak, after), after },
  };
}

export function formatLoadTest(r: LoadTestResult, clients: number): string {
  const f = (x: number) => x.toFixed(0);
  return [
    `${r.requests} requests from ${clients} clients in ${r.wallSeconds.toFixed(1)} s: ${r.completed} completed, ${r.rejected} got 429, ${r.failed.length} failed or lost`,
    `throughput ${r.throughputPerSecond.toFixed(2)} images/s; latency p50 ${f(r.latencyMs.p50)} ms, p95 ${f(r.latencyMs.p95)} ms, max ${f(r.latencyMs.max)} ms`,
    `server RSS ${f(r.rssMiB.before)} MiB before, ${f(r.rssMiB.peak)} MiB peak, ${f(r.rssMiB.after)} MiB after`,
    ...r.failed.map((x) => `  request ${x.request}: ${x.reason}`),
  ].join('\n');
}

function flag(args: string[], name: string, fallback: string): string {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1] : fallback;
}

async function main(args: string[]): Promise<number> {
  const requests = Number(flag(args, '--requests', '50'));
  const clients = Number(flag(args, '--clients', '5'));
  const size = Number(flag(args, '--size', '64'));
  const body = {
    prompt: flag(args, '--prompt', 'grinning face, smileys and emotion, face smiling, twemoji style'),
    steps: Number(flag(args, '--steps', '4')),
    width: size,
    height: size,
  };
  let url = flag(args, '--url', '');
  let stop = async () => {};
  if (!url) {
    // Without --models the server has only the embedded model, which requests then get by default.
    const models = flag(args, '--models', '');
    const server = await startServer({
      port: 0,
      modelDirs: models ? [models] : [],
      maxQueued: Number(flag(args, '--max-queue', '3')),
      hashCacheFile: null,
    });
    url = server.url;
    stop = () => server.close();
    // One job first, so model loading and session compilation are not in the numbers.
    await runLoadTest({ url, requests: 1, clients: 1, body });
  }
  try {
    const result = await runLoadTest({ url, requests, clients, body });
    process.stdout.write(`${formatLoadTest(result, clients)}\n`);
    return result.failed.length === 0 && result.completed + result.rejected === requests ? 0 : 1;
  } finally {
    await stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
