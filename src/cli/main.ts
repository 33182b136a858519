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

export interface ProgramOptions {
  /** --json was given: commander's own errors are not printed (main prints them as JSON). */
  jsonErrors?: boolean;
}

export function buildProgram({ jsonErrors = false }: ProgramOptions = {}): Command {
  const program = new Command('tdd')
    .description('Target-Driven Distillation and few-step diffusion (TDD, TCD, LCM, DMD2) on ONNX Runtime')
    .version(version)
    .showHelpAfterError(jsonErrors ? false : '(run with --help for usage)')
    .exitOverride();
  if (jsonErrors) program.configureOutput({ outputError: () => {} });
  registerScheduleCommand(program);
  registerInfoCommand(program);
  registerGenerateCommand(program);
  registerDistillCommand(program);
  registerServeCommand(program);
  registerTrainTeacherCommand(program);
  registerEvalCommand(program);
  return program;
}

/** `--json` anywhere before a `--` end of options: errors are printed as JSON too. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Under --json a failure is one JSON object on stdout, where the command's result would have been, so a caller
 * reads one stream and tells the two apart by the `error` key and the exit code:
 * `{"error": {"message": "...", "exitCode": 2, "kind": "usage"}}` (kind: usage = a commander parse error,
 * user = the input, files or machine are at fault, internal = a bug, whose stack still goes to stderr).
 */
export function jsonError(message: string, exitCode: number, kind: 'usage' | 'user' | 'internal'): string {
  return `${JSON.stringify({ error: { message, exitCode, kind } })}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const json = wantsJson(argv);
  try {
    await buildProgram({ jsonErrors: json }).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      const exitCode = e.exitCode === 0 ? 0 : 2;
      if (json && exitCode !== 0) process.stdout.write(jsonError(e.message.replace(/^error: /, ''), exitCode, 'usage'));
      return exitCode;
    }
    // The user's input, files or machine are at fault: one line, no stack. Anything else is a bug: rethrown.
    if (isUserError(e)) {
      if (json) process.stdout.write(jsonError(e.message, e.exitCode, 'user'));
      else process.stderr.write(`error: ${e.message}\n`);
      return e.exitCode;
    }
    if (json) process.stdout.write(jsonError(e instanceof Error ? e.message : String(e), 1, 'internal'));
    throw e;
  }
}
