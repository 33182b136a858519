// The `tdd` command line. Each command lives in its own module; this file wires them up and turns
// expected errors (bad arguments, bad config) into one-line messages.
import { Command, CommanderError } from 'commander';
import { SchedulerConfigError } from '../schedulers/index.js';
import { UsageError } from './errors.js';
import { registerScheduleCommand } from './schedule-command.js';
import { registerInfoCommand } from './info-command.js';
import { registerGenerateCommand } from './generate-command.js';
import { registerDistillCommand } from './distill-command.js';
import { DistillConfigError } from '../distill/config.js';
import { DistillError } from '../distill/trainer.js';
import { CheckpointError } from '../train/checkpoint.js';
import { DatasetError } from '../data/errors.js';
import { registerServeCommand } from './serve-command.js';
import { registerTrainTeacherCommand } from './train-teacher-command.js';
import { registerEvalCommand } from './eval-command.js';
import { TeacherConfigError } from '../teacher/config.js';
import { TrainingDivergedError } from '../train/training-loop.js';
import { TokenizerError } from '../tokenizer/errors.js';
import { UNetConfigError } from '../models/unet/config.js';
import { VaeConfigError } from '../models/vae/config-fields.js';
import { ClipConfigError } from '../models/clip/config.js';
import { ControlNetConfigError } from '../models/controlnet/config.js';
import { LoaderError } from '../loaders/errors.js';
import { SafetensorsError } from '../weights/errors.js';
import { packageVersion } from '../util/package-root.js';
import { ModelMemoryError } from '../pipelines/memory.js';
import { DeviceUnavailableError } from '../runtime/errors.js';

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

/** Errors that are the user's input or files at fault: one-line message (no stack), exit code 2. */
const EXPECTED_ERRORS = [UsageError, SchedulerConfigError, RangeError, LoaderError, SafetensorsError, TokenizerError, UNetConfigError, VaeConfigError, ClipConfigError, ControlNetConfigError, DistillConfigError, DistillError, CheckpointError, DatasetError, TeacherConfigError, TrainingDivergedError, ModelMemoryError, DeviceUnavailableError];

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (EXPECTED_ERRORS.some((kind) => e instanceof kind)) {
      // RangeError covers GenerationError (bad sizes, steps), SafetensorsError covers LoraError.
      process.stderr.write(`error: ${(e as Error).message}\n`);
      return 2;
    }
    if (e instanceof Error && /^unknown scheduler/.test(e.message)) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
