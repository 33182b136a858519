/**
 * The run's record: one JSON line per optimizer step in `log.jsonl` and a loss curve in `loss.png`. On resume
 * the file is cut back to the checkpoint's step, so the log always describes the run that produced the LoRA.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { savePng, renderLineChart } from '../plot/index.js';
import { writeFileAtomically } from '../util/atomic-write.js';

/** The log's file name in a run or stage folder. */
export const TRAINING_LOG_FILE = 'log.jsonl';

export interface StepLogEntry {
  step: number;
  loss: number;
  lr: number;
  grad_norm?: number;
  samples_per_s: number;
  elapsed_s: number;
  /** Captions replaced by the empty prompt in this step. */
  empty_prompts?: number;
  /** Extra per-step terms a training graph reports (e.g. reconstruction and KL losses). */
  [term: string]: number | undefined;
}

export class TrainingLog {
  readonly entries: StepLogEntry[] = [];

  constructor(readonly path: string) {}

  /** The entries of a log file (none when it does not exist). */
  static read(path: string): StepLogEntry[] {
    if (!existsSync(path)) return [];
    const entries: StepLogEntry[] = [];
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        entries.push(JSON.parse(line) as StepLogEntry);
      } catch {
        // A line cut by a kill mid-write: everything after the last checkpoint is redone anyway.
      }
    }
    return entries;
  }

  /** Keeps the entries up to `step` (what a checkpoint at `step` has seen) and rewrites the file to match. */
  resumeAt(step: number): void {
    this.entries.length = 0;
    this.entries.push(...TrainingLog.read(this.path).filter((e) => e.step <= step));
    writeFileAtomically(this.path, Buffer.from(this.entries.map((e) => JSON.stringify(e) + '\n').join('')));
  }

  append(entry: StepLogEntry): void {
    this.entries.push(entry);
    appendFileSync(this.path, JSON.stringify(entry) + '\n');
  }

  async plot(path: string, title: string): Promise<void> {
    const points = this.entries.map((e): [number, number] => [e.step, e.loss]);
    const chart = renderLineChart({
      series: [{ name: 'loss', points }],
      title,
      xLabel: 'optimizer step',
      yLabel: 'loss',
      logY: points.every(([, y]) => y > 0),
      smooth: 0.9,
    });
    await savePng(chart, path);
  }
}
