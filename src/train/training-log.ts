/**
 * The run's record: one JSON line per optimizer step in `log.jsonl` and a loss curve in `loss.png`. On resume
 * the file is cut back to the checkpoint's step, so the log always describes the run that produced the LoRA.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { savePng, renderLineChart } from '../plot/index.js';
import { writeFileAtomically } from '../util/atomic-write.js';

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

  /** Keeps the entries up to `step` (what a checkpoint at `step` has seen) and rewrites the file to match. */
  resumeAt(step: number): void {
    this.entries.length = 0;
    if (existsSync(this.path)) {
      for (const line of readFileSync(this.path, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          const e = JSON.parse(line) as StepLogEntry;
          if (e.step <= step) this.entries.push(e);
        } catch {
          // A line cut by a kill mid-write: everything after the checkpoint is redone anyway.
        }
      }
    }
    writeFileAtomically(this.path, Buffer.from(this.entries.map((e) => JSON.stringify(e) + '\n').join('')));
  }

  append(entry: StepLogEntry): void {
    this.entries.push(entry);
    appendFileSync(this.path, JSON.stringify(entry) + '\n');
  }

  async plot(path: string, title: string): Promise<void> {
    const points = this.entries.map((e): [number, number] => [e.step, e.loss]);
    const raster = renderLineChart({ series: [{ name: 'loss', points }], title, xLabel: 'optimizer step', yLabel: 'loss', logY: points.every(([, y]) => y > 0), smooth: 0.9 });
    await savePng(raster, path);
  }
}
