/**
 * Denoising progress: a cli-progress bar on stderr (steps, it/s, ETA) when enabled, and step timings either
 * way (for --json). The rate leaves out the first step, which also compiles the model's ONNX sessions and
 * would make the ETA of every later step wrong.
 */
import { SingleBar } from 'cli-progress';

export interface StepProgressOptions {
  /** Draw a bar (the CLI enables it only when stderr is a TTY and --quiet is not given). */
  enabled: boolean;
  stream?: NodeJS.WritableStream;
  label?: string;
}

export interface StepTimings {
  /** Milliseconds of the first step (includes session compilation). */
  firstStepMs?: number;
  /** Steps per second after the first step; undefined with fewer than two steps. */
  stepsPerSecond?: number;
}

export class StepProgress {
  private readonly bar?: SingleBar;
  private startedAt = 0;
  private firstStepAt?: number;
  private lastStepAt?: number;
  private done = 0;
  private total = 0;

  constructor(options: StepProgressOptions) {
    if (!options.enabled) return;
    this.bar = new SingleBar({
      format: `${options.label ?? 'denoising'} |{bar}| {value}/{total} steps | {rate} it/s | ETA {etaText}`,
      stream: options.stream ?? process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      // Ours is the only output while it runs; drawing on every step is what users want to see.
      fps: 10,
    });
  }

  start(total: number): void {
    this.total = total;
    this.done = 0;
    this.startedAt = performance.now();
    this.firstStepAt = this.lastStepAt = undefined;
    this.bar?.start(total, 0, { rate: '-', etaText: '-' });
  }

  /** Call after each completed step (1-based count of steps done; `total` when it differs, e.g. img2img). */
  step(done: number, total = this.total): void {
    const now = performance.now();
    if (total !== this.total) {
      this.total = total;
      this.bar?.setTotal(total);
    }
    this.done = done;
    this.firstStepAt ??= now;
    this.lastStepAt = now;
    const rate = this.timings().stepsPerSecond;
    const eta = rate ? (this.total - done) / rate : undefined;
    this.bar?.update(done, { rate: rate ? rate.toFixed(2) : '-', etaText: eta === undefined ? '-' : formatSeconds(eta) });
  }

  stop(): void {
    this.bar?.stop();
  }

  timings(): StepTimings {
    if (this.firstStepAt === undefined) return {};
    const firstStepMs = Math.round(this.firstStepAt - this.startedAt);
    const later = this.done - 1;
    const span = (this.lastStepAt ?? this.firstStepAt) - this.firstStepAt;
    return { firstStepMs, stepsPerSecond: later > 0 && span > 0 ? (later * 1000) / span : undefined };
  }
}

export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
