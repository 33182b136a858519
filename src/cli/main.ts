// The `tdd` command line. Each command lives in its own module; this file wires them up and turns
// expected errors (bad arguments, bad config) into one-line messages.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { SchedulerConfigError } from '../schedulers/index.js';
import { UsageError } from './errors.js';
import { registerScheduleCommand } from './schedule-command.js';
import { registerInfoCommand } from './info-command.js';
import { LoaderError } from '../loaders/errors.js';
import { SafetensorsError } from '../weights/errors.js';

const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('tdd')
    .description('Target-Driven Distillation and few-step diffusion (TDD, TCD, LCM, DMD2) on ONNX Runtime')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerScheduleCommand(program);
  registerInfoCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError || e instanceof SchedulerConfigError || e instanceof RangeError || e instanceof LoaderError || e instanceof SafetensorsError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    if (e instanceof Error && /^unknown scheduler/.test(e.message)) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
