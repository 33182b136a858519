/**
 * One generation job: its state, and the ordered events that Server-Sent Events replay to every client that
 * connects (late or reconnecting with Last-Event-ID). Only the newest preview stays in the history, so a long
 * run's history does not hold one image per step.
 */
import { randomUUID } from 'node:crypto';
import type { JobSpec } from './request-schema.js';

export type JobStatus = 'queued' | 'running' | 'done' | 'error' | 'cancelled';
export type JobEventType = 'queued' | 'started' | 'step' | 'preview' | 'done' | 'error' | 'cancelled';
export const TERMINAL_EVENTS: ReadonlySet<JobEventType> = new Set(['done', 'error', 'cancelled']);

export interface JobEvent {
  /** 1, 2, ... in emission order (the SSE id). */
  seq: number;
  type: JobEventType;
  data: Record<string, unknown>;
}

export interface ImageRef {
  id: string;
  url: string;
  width: number;
  height: number;
}

export interface JobProgress {
  step: number;
  steps: number;
  itPerSec: number | null;
}

/** Why a job stopped early: the client (DELETE), its time limit, or the server shutting down. */
export class JobStopped extends Error {
  override name = 'JobStopped';
  constructor(
    message: string,
    readonly status: 'cancelled' | 'error',
  ) {
    super(message);
  }
}

type Listener = (event: JobEvent) => void;

export class Job {
  readonly id = randomUUID();
  readonly controller = new AbortController();
  readonly createdAt = Date.now();
  status: JobStatus = 'queued';
  startedAt?: number;
  finishedAt?: number;
  progress: JobProgress = { step: 0, steps: 0, itPerSec: null };
  images: ImageRef[] = [];
  error?: string;
  /** Extra facts for clients (warnings from resolving the preset, the PNG parameters text). */
  parameters: Record<string, unknown> = {};
  warnings: string[] = [];
  private readonly history: JobEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private seq = 0;

  constructor(readonly spec: JobSpec) {
    this.progress.steps = spec.sampling.steps;
    this.warnings = [...spec.sampling.warnings];
  }

  get finished(): boolean {
    return this.status === 'done' || this.status === 'error' || this.status === 'cancelled';
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  emit(type: JobEventType, data: Record<string, unknown> = {}): void {
    if (this.finished) return; // nothing follows the terminal event
    const event: JobEvent = { seq: ++this.seq, type, data };
    if (type === 'preview') {
      const older = this.history.findIndex((e) => e.type === 'preview');
      if (older >= 0) this.history.splice(older, 1);
    }
    this.history.push(event);
    if (TERMINAL_EVENTS.has(type)) {
      this.status = type as 'done' | 'error' | 'cancelled';
      this.finishedAt = Date.now();
    }
    for (const listener of [...this.listeners]) listener(event);
    if (this.finished) this.listeners.clear();
  }

  /** Events after `afterSeq`, then live ones until the terminal event; returns the unsubscribe function. */
  subscribe(afterSeq: number, listener: Listener): () => void {
    for (const event of this.history) if (event.seq > afterSeq) listener(event);
    if (this.finished) return () => {};
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops a queued or running job; a running one stops at its next step boundary. */
  stop(reason: JobStopped): void {
    if (this.finished) return;
    this.controller.abort(reason);
  }

  toJSON(position?: number): Record<string, unknown> {
    const { spec } = this;
    return {
      id: this.id,
      status: this.status,
      position: this.status === 'queued' ? (position ?? null) : null,
      model: spec.model.id,
      params: {
        prompt: spec.prompt,
        negativePrompt: spec.negativePrompt ?? '',
        preset: spec.preset,
        scheduler: spec.sampling.scheduler,
        steps: spec.sampling.steps,
        guidance: spec.sampling.guidanceScale,
        eta: spec.sampling.eta ?? null,
        seed: String(spec.seed),
        randomSeed: spec.randomSeed,
        width: spec.width ?? spec.model.defaultSize ?? null,
        height: spec.height ?? spec.model.defaultSize ?? null,
        batch: spec.batch,
        loras: spec.loras.map((l) => ({ id: l.entry.id, name: l.entry.name, weight: l.weight })),
        mode: spec.init ? (spec.init.mask ? 'inpaint' : 'img2img') : 'txt2img',
        strength: spec.init?.strength ?? null,
      },
      progress: this.progress,
      images: this.images,
      error: this.error ?? null,
      warnings: this.warnings,
      parameters: this.parameters,
      createdAt: new Date(this.createdAt).toISOString(),
      startedAt: this.startedAt === undefined ? null : new Date(this.startedAt).toISOString(),
      finishedAt: this.finishedAt === undefined ? null : new Date(this.finishedAt).toISOString(),
    };
  }
}
