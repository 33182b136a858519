// The `tdd` command line. Each command lives in its own module; this file wires them up and turns
// user errors (src/util/user-error.ts) into one-line messages and their exit code.
import { Command, CommanderError } from 'commander';
import { isUserError } from '../util/user-error.js';
import { registerScheduleCommand } from './schedule-command.js';
import { registerInfoCommand } from './info-command.js';
import { registerGenerateCommand } from './generate-command.js';
import { registerDistillCommand } from './distill-command.js';
import { registerServeCommand } from './serve-command.js';
import { registerTrainTeacherCommand } from './train-teacher-command.js';
import { registerEvalCommand } from './eval-command.js';
import { packageVersion } from '../util/package-root.js';

const version = packageVersion();

export function buildProgram(): Command {
  const program = new Command('tdd')
    .description('Target-Driven Distillation and few-step diffusion (TDD, TCD, LCM, DMD2) on ONNX Runtime')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerScheduleCommand(program);
  registerInfoCommand(program);
  registerGenerateCommand(program);
  registerDistillCommand(program);
  registerServeCommand(program);
  registerTrainTeacherCommand(program);
  registerEvalCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    // The user's input, files or machine are at fault: one line, no stack. Anything else is a bug: rethrown.
    if (isUserError(e)) {
      process.stderr.write(`error: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
