// `tdd eval`: the issue-7 evaluation table (teacher, TDD and LCM LoRAs, TCD, the TDD ablations) with FD-emoji,
// alignment and seconds per image, written as <out>/README.md + chart.png + results.json. Finished rows are
// kept in <out>/rows, so running the same command again resumes; Ctrl+C stops after the current batch.
import { join } from 'node:path';
import type { Command } from 'commander';
import { embeddedModel } from '../embedded/index.js';
import { classifierTrainingDefaults } from '../eval/classifier-train.js';
import { ALL_ROWS, LORA_ROLES, selectRows, type LoraRole } from '../eval/rows.js';
import { evalDefaults, runEval, type EvalEvents, type EvalOptions } from '../eval/run-eval.js';
import type { EvalResults } from '../eval/results.js';
import { parseInteger, UsageError } from './errors.js';
import { TrainingProgress, withGracefulInterrupt } from './training-progress.js';
import { addDeviceOptions, runtimeFrom, type DeviceFlags } from './device-options.js';

interface EvalFlags extends DeviceFlags {
  model?: string;
  tddLora?: string;
  lcmLora?: string;
  tddSingleKLora?: string;
  tddNoEmptyPromptsLora?: string;
  lora?: string[];
  classifier?: string;
  classifierSteps?: number;
  samples: number;
  batch: number;
  seed: number;
  out: string;
  rows?: string;
  quiet?: boolean;
}

export type EvalRunner = (options: EvalOptions, events: EvalEvents) => Promise<EvalResults>;

const int = (flag: string) => (v: string) => parseInteger(flag, v);

/** `runner` is runEval; tests pass a stand-in to see the options the flags become. */
export function registerEvalCommand(program: Command, runner: EvalRunner = runEval): void {
  const command = program
    .command('eval')
    .description('evaluate the teacher, TDD/LCM LoRAs, TCD and the TDD ablations on held-out emoji captions (FD-emoji, alignment, s/image)')
    .option('--model <path>', 'teacher model (default: the embedded emoji model)')
    .option('--tdd-lora <path>', 'TDD LoRA (default with the embedded model: its shipped TDD LoRA)')
    .option('--lcm-lora <path>', 'LCM-LoRA baseline')
    .option('--tdd-single-k-lora <path>', 'ablation: TDD LoRA distilled without target selection (single K)')
    .option('--tdd-no-empty-prompts-lora <path>', 'ablation: TDD LoRA distilled with --proportion-empty-prompts 0')
    .option('--classifier <path>', 'emoji classifier (trained and written here when missing; default <out>/classifier.safetensors)')
    .option(
      '--classifier-steps <n>',
      `optimizer steps when the classifier has to be trained (default ${classifierTrainingDefaults.steps}, ~10 min on 2 cores)`,
      int('--classifier-steps'),
    )
    .option('--samples <n>', 'samples per row', int('--samples'), evalDefaults.samples)
    .option('--batch <n>', 'images per generation call', int('--batch'), evalDefaults.batch)
    .option('--seed <n>', 'sample i is seeded with seed + i', int('--seed'), evalDefaults.seed)
    .option('--out <dir>', 'output folder', join('docs', 'eval'))
    .option('--lora <role=file...>', `a LoRA by role, for the steps table (${LORA_ROLES.filter((r) => r !== 'none').join(', ')})`)
    .option(
      '--rows <list>',
      `comma-separated rows to run (default: all but the optional ones), or "steps" for the 1-16 step table: ${ALL_ROWS.map((r) => r.name).join(', ')}`,
    )
    .option('--quiet', 'no progress output');
  addDeviceOptions(command).action(async (flags: EvalFlags) => {
    const options = { ...evalOptionsFrom(flags), runtime: await runtimeFrom(flags) };
    const progress = new TrainingProgress(!flags.quiet, Boolean(process.stderr.isTTY));
    const events: EvalEvents = {
      onPhase: (phase, done, total) => progress.phase(phase, done, total),
      onMessage: (m) => progress.message(m),
      onClassifierProgress: (p) =>
        progress.phase(
          p.loss === undefined ? `classifier: ${p.phase}` : `classifier: training (loss ${p.loss.toFixed(3)})`,
          p.done,
          p.total,
        ),
    };
    try {
      const results = await withGracefulInterrupt(
        (signal) => runner({ ...options, signal }, events),
        'stopping after the current batch (finished rows are kept; Ctrl+C again to quit now)',
      );
      progress.stop();
      process.stdout.write(summary(results, options.out));
    } finally {
      progress.stop();
    }
  });
}

/** The flags as runEval options; unknown --rows names and a missing model fail here, before any work. */
export function evalOptionsFrom(f: EvalFlags): EvalOptions {
  const embedded = f.model === undefined ? embeddedModel() : undefined;
  const model = f.model ?? embedded?.dir;
  if (!model) throw new UsageError('--model: the embedded emoji model is not in this package yet; pass a model folder or checkpoint');
  const rows =
    f.rows === undefined
      ? undefined
      : f.rows
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  if (rows !== undefined) {
    try {
      selectRows(rows);
    } catch (e) {
      throw new UsageError(`--rows: ${(e as Error).message}`);
    }
  }
  const loras: Partial<Record<LoraRole, string>> = {
    tdd: f.tddLora ?? embedded?.lora,
    lcm: f.lcmLora,
    tddSingleK: f.tddSingleKLora,
    tddNoEmptyPrompts: f.tddNoEmptyPromptsLora,
    ...lorasByRole(f.lora ?? []),
  };
  return {
    model,
    loras: Object.fromEntries(Object.entries(loras).filter(([, v]) => v !== undefined)),
    classifier: f.classifier ?? join(f.out, 'classifier.safetensors'),
    classifierTraining: f.classifierSteps === undefined ? undefined : { steps: f.classifierSteps },
    samples: f.samples,
    batch: f.batch,
    seed: f.seed,
    out: f.out,
    rows,
  };
}

/** `--lora ROLE=FILE` values: a role this eval knows, once each. */
function lorasByRole(values: readonly string[]): Partial<Record<LoraRole, string>> {
  const out: Partial<Record<LoraRole, string>> = {};
  for (const v of values) {
    const at = v.indexOf('=');
    const role = v.slice(0, at) as LoraRole;
    if (at <= 0 || at === v.length - 1) throw new UsageError(`--lora: expected ROLE=FILE, got ${JSON.stringify(v)}`);
    if (!LORA_ROLES.includes(role) || role === 'none')
      throw new UsageError(`--lora: unknown role "${role}"; choose from: ${LORA_ROLES.filter((r) => r !== 'none').join(', ')}`);
    if (out[role] !== undefined) throw new UsageError(`--lora: ${role} given twice`);
    out[role] = v.slice(at + 1);
  }
  return out;
}

function summary(results: EvalResults, out: string): string {
  const lines = results.rows.map((r) =>
    r.status === 'skipped'
      ? `${r.name}: skipped (${r.reason})`
      : `${r.name}: FD-emoji ${r.fdData.toFixed(2)}, FD to teacher ${r.fdTeacher === null ? 'n/a' : r.fdTeacher.toFixed(2)}, alignment ${(100 * r.alignment).toFixed(1)}%, ${r.secondsPerImage.toFixed(3)} s/image${r.resumed ? ' (reused)' : ''}`,
  );
  return `${lines.join('\n')}\ntable: ${join(out, 'README.md')}\n`;
}
