// `tdd schedule`: prints a scheduler's plan (timesteps, sigmas; TDD's intermediate targets) as a
// table or JSON, so users can see exactly which timesteps a preset will use.
import { sdNoiseDefaults } from '../schedulers/config.js';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createScheduler, schedulerNames, type SchedulerPlan, type TddPlan } from '../schedulers/index.js';
import { parsePythonJson } from '../util/python-json.js';
import { UsageError, parseInteger, parseNumber } from './errors.js';

/** Stable Diffusion 1.5's scheduler config: the base every SD-family model shares. */
export const sd15SchedulerConfig = {
  ...sdNoiseDefaults,
  set_alpha_to_one: false,
  steps_offset: 1,
  clip_sample: false,
} as const;

interface ScheduleOptions {
  scheduler: string;
  steps: number;
  eta?: number;
  specialJump?: boolean;
  tddTrainStep?: number;
  config?: string;
  json?: boolean;
}

export interface ScheduleRow {
  step: number;
  timestep: number;
  sigma?: number;
  timestep_s?: number;
  sigma_s?: number;
}

/** Reads a scheduler_config.json, or a model folder's scheduler/scheduler_config.json. */
export function readSchedulerConfig(path: string): Record<string, unknown> {
  let file = path;
  try {
    if (statSync(path).isDirectory()) file = join(path, 'scheduler', 'scheduler_config.json');
  } catch {
    throw new UsageError(`--config: ${path} does not exist`);
  }
  let parsed: unknown;
  try {
    parsed = parsePythonJson(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--config: cannot read ${file}: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`--config: ${file} is not a JSON object of scheduler settings`);
  }
  return parsed as Record<string, unknown>;
}

export function scheduleRows(options: ScheduleOptions): ScheduleRow[] {
  const base = options.config ? readSchedulerConfig(options.config) : sd15SchedulerConfig;
  const overrides: Record<string, unknown> = {};
  if (options.specialJump !== undefined) overrides.special_jump = options.specialJump;
  if (options.tddTrainStep !== undefined) overrides.tdd_train_step = options.tddTrainStep;
  if (options.scheduler !== 'tdd' && Object.keys(overrides).length > 0) {
    throw new UsageError('--special-jump and --tdd-train-step apply only to --scheduler tdd');
  }
  const scheduler = createScheduler(options.scheduler, { ...base, ...overrides });
  const plan: SchedulerPlan = scheduler.setTimesteps(options.steps);
  const rows: ScheduleRow[] = plan.timesteps.map((timestep, step) => ({ step, timestep, sigma: plan.sigmas?.[step] }));
  if (plan.sigmas) rows.push({ step: rows.length, timestep: NaN, sigma: plan.sigmas[rows.length] });
  if (options.scheduler === 'tdd') {
    const { timestepsS, sigmasS } = (plan as TddPlan).intermediate(options.eta ?? 0);
    rows.forEach((row, i) => {
      row.timestep_s = timestepsS[i];
      row.sigma_s = sigmasS[i];
    });
  }
  return rows;
}

function formatTable(rows: ScheduleRow[]): string {
  const columns = (['step', 'timestep', 'sigma', 'timestep_s', 'sigma_s'] as const).filter((c) => rows.some((r) => r[c] !== undefined));
  const cell = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : Number.isInteger(v) ? String(v) : v.toPrecision(7));
  const body = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...body.map((line) => line[i].length)));
  const line = (cells: string[]) => cells.map((s, i) => s.padStart(widths[i])).join('  ');
  return [line([...columns]), ...body.map(line)].join('\n');
}

export function registerScheduleCommand(program: Command): void {
  program
    .command('schedule')
    .description('print the timesteps (and sigmas) a scheduler uses for N steps')
    .option('-s, --scheduler <name>', `one of: ${schedulerNames.join(', ')}`, 'tdd')
    .option('-n, --steps <n>', 'number of inference steps', (v) => parseInteger('--steps', v), 4)
    .option('--eta <eta>', 'TDD: η for the intermediate timesteps s = ⌊(1−η)t⌋', (v) => parseNumber('--eta', v))
    .option('--special-jump', 'TDD: non-equidistant schedule for 5–7 steps')
    .option('--tdd-train-step <n>', 'TDD: distillation grid size (default 250)', (v) => parseInteger('--tdd-train-step', v))
    .option('--config <path>', 'scheduler_config.json or a diffusers model folder (default: the SD 1.5 schedule)')
    .option('--json', 'print JSON instead of a table')
    .action((options: ScheduleOptions) => {
      const rows = scheduleRows(options);
      process.stdout.write(
        options.json
          ? JSON.stringify({ scheduler: options.scheduler, steps: options.steps, rows }, (_k, v) => (Number.isNaN(v) ? null : v), 2) + '\n'
          : formatTable(rows) + '\n',
      );
    });
}
