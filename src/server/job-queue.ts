/**
 * The job queue: one lane per model, each running one job at a time (a pipeline's sessions are not
 * re-entrant, and two runs on one model would only share its cores); different models may run side by side.
 * Waiting jobs are bounded across all lanes (a full queue answers 429), every run has a time limit, and
 * shutdown cancels what waits and gives running jobs a grace period before stopping them.
 */
import { isUserError } from '../util/user-error.js';
import { ApiError } from './errors.js';
import { Job, JobStopped } from './job.js';
import type { JobSpec } from './request-schema.js';

/** Runs one job to its end (emitting its events); a rejection becomes the job's error event. */
export type JobRunner = (job: Job) => Promise<void>;

export interface JobQueueOptions {
  /** Jobs waiting (not running) across all models; one more is refused with 429. */
  maxQueued?: number;
  /** A running job is stopped with an error after this long. */
  jobTimeoutMs?: number;
  /** Finished jobs kept for GET /api/jobs/:id (oldest dropped first). */
  maxFinishedJobs?: number;
}

export interface QueueStats {
  queued: number;
  running: number;
  maxQueued: number;
  finished: number;
}

export class JobQueue {
  readonly maxQueued: number;
  readonly jobTimeoutMs: number;
  private readonly maxFinished: number;
  private readonly jobs = new Map<string, Job>();
  private readonly lanes = new Map<string, Job[]>();
  private readonly running = new Map<string, { job: Job; done: Promise<void> }>();
  private closing = false;

  constructor(
    private readonly runner: JobRunner,
    options: JobQueueOptions = {},
  ) {
    this.maxQueued = options.maxQueued ?? 16;
    this.jobTimeoutMs = options.jobTimeoutMs ?? 10 * 60_000;
    this.maxFinished = options.maxFinishedJobs ?? 200;
  }

  get queuedCount(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.length;
    return n;
  }

  stats(): QueueStats {
    const finished = [...this.jobs.values()].filter((j) => j.finished).length;
    return { queued: this.queuedCount, running: this.running.size, maxQueued: this.maxQueued, finished };
  }

  submit(spec: JobSpec): Job {
    if (this.closing) throw new ApiError(503, 'the server is shutting down');
    const laneBusy = this.running.has(spec.model.id);
    // A job that can start at once does not wait, so it does not count against the queue.
    if (laneBusy && this.queuedCount >= this.maxQueued) {
      throw new ApiError(429, `the queue is full (${this.maxQueued} jobs waiting); try again when a job has finished`);
    }
    const job = new Job(spec);
    this.jobs.set(job.id, job);
    const lane = this.lanes.get(spec.model.id) ?? [];
    lane.push(job);
    this.lanes.set(spec.model.id, lane);
    job.emit('queued', { position: lane.length - 1 + (laneBusy ? 1 : 0) });
    this.pump(spec.model.id);
    return job;
  }

  /** The jobs running now (one per busy model). */
  runningJobs(): Job[] {
    return [...this.running.values()].map((r) => r.job);
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Jobs ahead of this one on its model (0 = next to run); undefined when it is not waiting. */
  positionOf(job: Job): number | undefined {
    const index = this.lanes.get(job.spec.model.id)?.indexOf(job) ?? -1;
    if (index < 0) return undefined;
    return index + (this.running.has(job.spec.model.id) ? 1 : 0);
  }

  /** Cancels a waiting job at once, a running one at its next step; false when it had already finished. */
  cancel(job: Job, reason = 'cancelled by the client'): boolean {
    if (job.finished) return false;
    const lane = this.lanes.get(job.spec.model.id);
    const index = lane?.indexOf(job) ?? -1;
    if (index >= 0) {
      lane!.splice(index, 1);
      job.emit('cancelled', { message: reason, step: 0 });
      this.prune();
    } else {
      job.stop(new JobStopped(reason, 'cancelled'));
    }
    return true;
  }

  /** Refuses new jobs, cancels waiting ones, lets running ones finish within `graceMs`, then stops them. */
  async shutdown(graceMs: number): Promise<void> {
    this.closing = true;
    for (const lane of this.lanes.values()) for (const job of [...lane]) this.cancel(job, 'the server is shutting down');
    const running = [...this.running.values()];
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(running.map((r) => r.done)), grace]);
    clearTimeout(timer);
    for (const { job } of this.running.values()) job.stop(new JobStopped('the server is shutting down', 'cancelled'));
    await Promise.all(running.map((r) => r.done));
  }

  private pump(modelId: string): void {
    if (this.running.has(modelId) || this.closing) return;
    const job = this.lanes.get(modelId)?.shift();
    if (!job) return;
    const done = this.run(job).finally(() => {
      this.running.delete(modelId);
      this.prune();
      this.pump(modelId);
    });
    this.running.set(modelId, { job, done });
  }

  private async run(job: Job): Promise<void> {
    job.status = 'running';
    job.startedAt = Date.now();
    job.emit('started', { queuedMs: job.startedAt - job.createdAt });
    const seconds = Math.round(this.jobTimeoutMs / 1000);
    const timer = setTimeout(
      () => job.stop(new JobStopped(`the job ran longer than the server's limit (${seconds} s)`, 'error')),
      this.jobTimeoutMs,
    );
    timer.unref(); // the server's socket keeps the process alive, not a job's deadline
    try {
      await this.runner(job);
      if (!job.finished) job.emit('error', { message: 'the job ended without a result' });
    } catch (e) {
      finishWithError(job, e);
    } finally {
      clearTimeout(timer);
    }
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => j.finished);
    for (const job of finished.slice(0, Math.max(0, finished.length - this.maxFinished))) this.jobs.delete(job.id);
  }
}

/** A stopped job ends as its stop reason says (cancelled or timed out); anything else is an error. */
function finishWithError(job: Job, e: unknown): void {
  const reason = job.signal.aborted ? job.signal.reason : undefined;
  if (reason instanceof JobStopped) {
    job.error = reason.status === 'error' ? reason.message : undefined;
    job.emit(reason.status, { message: reason.message, step: job.progress.step });
    return;
  }
  // A user error (bad model file, no memory) is the job's answer; anything else is a bug: say so, log its stack.
  const user = isUserError(e);
  if (!user) process.stderr.write(`internal error in job ${job.id}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  const message = e instanceof Error ? e.message : String(e);
  job.error = user ? message : `internal error: ${message}`;
  job.emit('error', { message: job.error, status: user ? e.httpStatus : 500 });
}
