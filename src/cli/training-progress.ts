// Progress of a training command on stderr: a bar with loss and samples/s on terminals, a line every 10 steps
// (and at phase ends) otherwise. Ctrl+C asks the run to stop after the current step with a checkpoint; a
// second Ctrl+C exits at once.
import { SingleBar } from 'cli-progress';
import type { StepLogEntry } from '../train/training-log.js';

export class TrainingProgress {
  private bar?: SingleBar;
  private barLabel?: string;

  constructor(
    private readonly enabled: boolean,
    private readonly tty: boolean,
  ) {}

  phase(phase: string, done: number, total: number): void {
    if (!this.enabled) return;
    if (done === 0 || done === total || this.tty)
      process.stderr.write(`${phase}: ${done}/${total}${this.tty && done < total ? '\r' : '\n'}`);
  }

  message(m: string): void {
    if (this.enabled) process.stderr.write(`${m}\n`);
  }

  /** One optimizer step of the stage called `label` ("distilling", "autoencoder", ...). */
  step(label: string, e: StepLogEntry, total: number): void {
    if (!this.enabled) return;
    const values = { loss: e.loss.toPrecision(4), rate: e.samples_per_s.toFixed(1) };
    if (!this.tty) {
      if (e.step % 10 === 0 || e.step === total)
        process.stderr.write(`${label}: step ${e.step}/${total} loss ${values.loss} ${values.rate} samples/s\n`);
      return;
    }
    if (this.barLabel !== label) this.stop();
    if (!this.bar) {
      this.bar = new SingleBar({
        format: `${label} |{bar}| {value}/{total} steps | loss {loss} | {rate} samples/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        fps: 5,
      });
      this.bar.start(total, e.step - 1, values);
      this.barLabel = label;
    }
    this.bar.update(e.step, values);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
    this.barLabel = undefined;
  }
}

/** Runs `work` with a signal that the first Ctrl+C aborts (the run stops cleanly, saying `notice`); a second exits. */
export async function withGracefulInterrupt<T>(
  work: (signal: AbortSignal) => Promise<T>,
  notice = 'stopping after this step (a checkpoint will be written; Ctrl+C again to quit now)',
): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${notice}\n`);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
