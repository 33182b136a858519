/**
 * Progress on stderr: the long stages (StageProgress, below) and denoising: a cli-progress bar on stderr (steps, it/s, ETA) when enabled, and step timings either
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
  private drawn = false;

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
    // Drawn at the first step: until then the stage line (encoding, compiling the UNet) is what runs.
    this.drawn = false;
  }

  /** Call after each completed step (1-based count of steps done; `total` when it differs, e.g. img2img). */
  step(done: number, total = this.total): void {
    const now = performance.now();
    if (!this.drawn) {
      this.drawn = true;
      this.total = total;
      this.bar?.start(total, 0, { rate: '-', etaText: '-' });
    }
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
    if (this.drawn) this.bar?.stop();
    this.drawn = false;
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

export interface StageProgressOptions {
  /** Draw (the CLI enables it only when stderr is a TTY and neither --quiet nor --json is given). */
  enabled: boolean;
  stream?: NodeJS.WritableStream;
  /** Redraw period of the running line (ms). */
  intervalMs?: number;
}

/**
 * The long stages before and after denoising (loading the model, fusing LoRAs, compiling and running the text
 * encoder, compiling the UNet, decoding, saving): one line per stage on stderr, redrawn with its elapsed time
 * while it runs ("loading model … 1.4s") and left as "✓ loading model 2.1s" when it ends.
 */
export class StageProgress {
  private current?: { label: string; since: number; timer?: ReturnType<typeof setInterval> };

  constructor(private readonly options: StageProgressOptions) {}

  get enabled(): boolean {
    return this.options.enabled;
  }

  private write(text: string): void {
    (this.options.stream ?? process.stderr).write(text);
  }

  private elapsed(): string {
    return `${((performance.now() - this.current!.since) / 1000).toFixed(1)}s`;
  }

  /** Starts a stage (ending the one running). */
  begin(label: string): void {
    if (!this.options.enabled) return;
    this.end();
    this.current = { label, since: performance.now() };
    this.write(`\r\x1b[2K${label} …`);
    this.current.timer = setInterval(() => this.write(`\r\x1b[2K${label} … ${this.elapsed()}`), this.options.intervalMs ?? 200);
    this.current.timer.unref?.();
  }

  /** Ends the running stage, if any. */
  end(): void {
    if (!this.current) return;
    clearInterval(this.current.timer);
    this.write(`\r\x1b[2K✓ ${this.current.label} ${this.elapsed()}\n`);
    this.current = undefined;
  }

  /** Runs `work` as a stage. */
  async run<T>(label: string, work: () => Promise<T>): Promise<T> {
    this.begin(label);
    try {
      return await work();
    } finally {
      this.end();
    }
  }
}
