/**
 * GET /api/jobs/:id/events: the job's events as Server-Sent Events (`event: <type>`, `id: <seq>`, JSON data),
 * replayed from the start (or after Last-Event-ID) and then live until the terminal event (done, error or
 * cancelled), when the stream ends. A client that reads slowly gets only the newest of the previews it has
 * not read yet; a comment every 15 s keeps idle connections open through proxies.
 */
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { TERMINAL_EVENTS, type Job, type JobEvent } from './job.js';

const HEARTBEAT_MS = 15_000;

function lastEventId(c: Context): number {
  const raw = c.req.header('Last-Event-ID') ?? c.req.query('after') ?? '0';
  const n = Number(raw);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

async function pumpEvents(stream: SSEStreamingApi, job: Job, after: number): Promise<void> {
  const pending: JobEvent[] = [];
  let writing = false;
  let unsubscribe = () => {};
  let finish = () => {};
  const ended = new Promise<void>((resolve) => (finish = resolve));
  const drain = async () => {
    if (writing) return;
    writing = true;
    try {
      while (pending.length > 0) {
        const event = pending.shift()!;
        await stream.writeSSE({ event: event.type, id: String(event.seq), data: JSON.stringify(event.data) });
        if (TERMINAL_EVENTS.has(event.type)) finish();
      }
    } catch {
      finish(); // the client went away
    } finally {
      writing = false;
    }
  };
  const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => finish()), HEARTBEAT_MS);
  stream.onAbort(() => finish());
  unsubscribe = job.subscribe(after, (event) => {
    if (event.type === 'preview') {
      const stale = pending.findIndex((e) => e.type === 'preview');
      if (stale >= 0) pending.splice(stale, 1);
    }
    pending.push(event);
    void drain();
  });
  try {
    await ended;
  } finally {
    clearInterval(heartbeat);
    unsubscribe();
  }
}

export function jobEventStream(c: Context, job: Job): Response {
  const after = lastEventId(c);
  c.header('X-Accel-Buffering', 'no');
  return streamSSE(c, (stream) => pumpEvents(stream, job, after));
}
