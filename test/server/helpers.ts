// Shared by the server tests: a real server on loopback over a temp --models folder, JSON requests, and an
// incremental Server-Sent Events reader.
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer, type ServeOptions } from '../../src/server/index.js';
import { sharedPath } from '../helpers/shared.js';

/**
 * The model the server tests generate with, and the size they ask for. When the embedded model ships, the
 * swap is this one line: `{ embedded: embeddedModel()!, size: <its sample size> }` (see testServer).
 */
export const TEST_MODEL: { dir?: string; embedded?: import('../../src/embedded/index.js').EmbeddedModel; size: number } = { dir: sharedPath('fixtures', 'tiny-sd'), size: 64 };
export const TEST_LORA = sharedPath('fixtures', 'lora', 'tiny-sd-lora-kohya.safetensors');

export interface TestServer extends RunningServer {
  modelsDir: string;
  /** The id GET /api/models gives the test model. */
  modelId: string;
  /** The id of the LoRA in the models folder. */
  loraId: string;
  api(path: string, init?: RequestInit): Promise<Response>;
  postJson(path: string, body: unknown): Promise<Response>;
  /** Closes the server and removes its temp folder. */
  stop(graceMs?: number): Promise<void>;
}

/** A server on 127.0.0.1 (free port) with the test model linked and the LoRA copied into a temp folder. */
export async function testServer(options: ServeOptions = {}): Promise<TestServer> {
  const modelsDir = mkdtempSync(join(tmpdir(), 'tdd-serve-'));
  if (TEST_MODEL.dir) symlinkSync(TEST_MODEL.dir, join(modelsDir, 'tiny-sd'));
  copyFileSync(TEST_LORA, join(modelsDir, 'tiny-lora.safetensors'));
  const server = await startServer({ port: 0, modelDirs: [modelsDir], embedded: TEST_MODEL.embedded ?? null, hashCacheFile: null, shutdownGraceMs: 2000, ...options });
  const api = (path: string, init?: RequestInit) => fetch(server.url + path, init);
  const catalog = await (await api('/api/models')).json();
  return {
    ...server,
    modelsDir,
    modelId: catalog.models[0].id,
    loraId: catalog.loras.find((l: { name: string }) => l.name === 'tiny-lora')?.id,
    api,
    postJson: (path, body) => api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
    async stop(graceMs?: number) {
      try {
        await server.close(graceMs);
      } finally {
        rmSync(modelsDir, { recursive: true, force: true });
      }
    },
  };
}

/** A small, fast request for the test model. */
export function smallRequest(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { prompt: 'a photo of a cat', width: TEST_MODEL.size, height: TEST_MODEL.size, steps: 2, seed: 1, ...extra };
}

export interface SseEvent {
  event: string;
  id: string;
  data: any;
}

/**
 * Reads an event stream, calling `onEvent` for each event as it arrives, until the server ends the stream
 * (or `stopAfter` returns true). Resolves with every event read.
 */
export async function readEvents(url: string, { onEvent, stopAfter }: { onEvent?: (e: SseEvent) => void | Promise<void>; stopAfter?: (e: SseEvent) => boolean } = {}): Promise<SseEvent[]> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  if (res.status !== 200 || !res.headers.get('content-type')?.startsWith('text/event-stream')) throw new Error(`not an event stream: ${res.status} ${await res.text()}`);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = res.body!.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return events;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]));
      if (!fields.event) continue;
      const event: SseEvent = { event: fields.event, id: fields.id, data: JSON.parse(fields.data) };
      events.push(event);
      await onEvent?.(event);
      if (stopAfter?.(event)) {
        controller.abort();
        return events;
      }
    }
  }
}

/** Polls GET /api/jobs/:id until the job has finished. */
export async function waitForJob(server: TestServer, id: string, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await (await server.api(`/api/jobs/${id}`)).json();
    if (['done', 'error', 'cancelled'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
