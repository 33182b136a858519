// Shared by the server tests: a real server on loopback over a temp --models folder, JSON requests, and an
// incremental Server-Sent Events reader.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer, type ServeOptions } from '../../src/server/index.js';
import { embeddedModel } from '../../src/embedded/index.js';
import { SafetensorsFile } from '../../src/weights/index.js';
import { writeSafetensors } from '../../src/weights/safetensors-writer.js';
import { sharedPath } from '../helpers/shared.js';

/**
 * The models the server tests generate with, and the size they ask for: the tiny-sd fixture (API semantics,
 * with a kohya LoRA made for it) and the embedded emoji model (the page and the load test, as users run them;
 * its TDD LoRA is also copied into the models folder as an ordinary LoRA).
 */
export const TEST_MODELS = {
  'tiny-sd': {
    dir: sharedPath('fixtures', 'tiny-sd'),
    lora: sharedPath('fixtures', 'lora', 'tiny-sd-lora-kohya.safetensors'),
    loraName: 'tiny-lora',
    size: 64,
  },
  embedded: { embedded: embeddedModel(), lora: embeddedModel()?.lora, loraName: 'emoji-tdd', size: 64 },
} as const;
export type TestModelName = keyof typeof TEST_MODELS;

export interface TestServer extends RunningServer {
  modelsDir: string;
  /** The id GET /api/models gives the test model. */
  modelId: string;
  /** The id and file name of the LoRA in the models folder. */
  loraId: string;
  loraName: string;
  size: number;
  api(path: string, init?: RequestInit): Promise<Response>;
  postJson(path: string, body: unknown): Promise<Response>;
  /** Closes the server and removes its temp folder. */
  stop(graceMs?: number): Promise<void>;
}

/** A server on 127.0.0.1 (free port) over a temp models folder holding the test model and a LoRA for it. */
export async function testServer(
  options: ServeOptions & { model?: TestModelName; extraLoras?: string[]; prepare?: (modelsDir: string) => void } = {},
): Promise<TestServer> {
  const { model = 'tiny-sd', extraLoras = [], prepare, ...serveOptions } = options;
  const spec = TEST_MODELS[model];
  if (!spec.lora) throw new Error(`the ${model} test model is missing from this checkout`);
  const modelsDir = mkdtempSync(join(tmpdir(), 'tdd-serve-'));
  if ('dir' in spec) symlinkSync(spec.dir, join(modelsDir, 'tiny-sd'));
  copyFileSync(spec.lora, join(modelsDir, `${spec.loraName}.safetensors`));
  for (const lora of extraLoras) copyFileSync(lora, join(modelsDir, basename(lora)));
  prepare?.(modelsDir);
  const embedded = 'embedded' in spec ? spec.embedded : null;
  const server = await startServer({
    port: 0,
    modelDirs: [modelsDir],
    embedded,
    hashCacheFile: null,
    shutdownGraceMs: 2000,
    ...serveOptions,
  });
  const api = (path: string, init?: RequestInit) => fetch(server.url + path, init);
  const catalog = await (await api('/api/models')).json();
  return {
    ...server,
    modelsDir,
    modelId: catalog.models[0].id,
    loraId: catalog.loras.find((l: { name: string }) => l.name === spec.loraName)?.id,
    loraName: spec.loraName,
    size: spec.size,
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
  return { prompt: 'a photo of a cat', width: 64, height: 64, steps: 2, seed: 1, ...extra };
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
export async function readEvents(
  url: string,
  { onEvent, stopAfter }: { onEvent?: (e: SseEvent) => void | Promise<void>; stopAfter?: (e: SseEvent) => boolean } = {},
): Promise<SseEvent[]> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  if (res.status !== 200 || !res.headers.get('content-type')?.startsWith('text/event-stream'))
    throw new Error(`not an event stream: ${res.status} ${await res.text()}`);
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
      const fields = Object.fromEntries(
        block
          .split('\n')
          .filter((l) => !l.startsWith(':'))
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]),
      );
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

/** A diffusers ControlNet folder for tiny-sd (as test/cli/generate-command.test.ts builds it). */
export function tinyControlNetFolder(dir: string): void {
  const golden = (ext: string) => fileURLToPath(new URL(`../golden/controlnet-tiny-sd.${ext}`, import.meta.url));
  const index = JSON.parse(readFileSync(golden('json'), 'utf8'));
  mkdirSync(dir);
  const own = SafetensorsFile.open(golden('safetensors'));
  const unet = SafetensorsFile.open(sharedPath('fixtures', 'tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors'));
  const tensors = Object.entries(index.state_dict as Record<string, number[]>).map(([name, shape]) => ({
    name,
    shape,
    dtype: 'F32' as const,
    data: (own.has(name) ? own : unet).float32(name),
  }));
  writeSafetensors(join(dir, 'diffusion_pytorch_model.safetensors'), tensors);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(index.config));
  own.close();
  unet.close();
}
