// `tdd info <model-dir | file.safetensors>`: what a model folder, checkpoint or LoRA holds, from headers
// and configs only (no tensor data is read), as text or JSON.
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { inspectPath } from './inspect-path.js';
import { formatReport } from '../loaders/inspect.js';
import { UsageError } from './errors.js';

interface InfoOptions {
  model?: string;
  variant?: string;
  json?: boolean;
}

export function registerInfoCommand(program: Command): void {
  program
    .command('info')
    .description('show what a diffusers model folder, a single-file checkpoint or a LoRA file contains')
    .argument('<path>', 'a diffusers pipeline folder, a component folder, or a .safetensors file')
    .option('--model <dir>', 'for a LoRA: the base model to match its keys against')
    .option('--variant <name>', 'weights variant to inspect (e.g. fp16)')
    .option('--json', 'print the report as JSON')
    .action((path: string, options: InfoOptions) => {
      let stat;
      try {
        stat = statSync(path);
      } catch {
        throw new UsageError(`${path}: no such file or directory`);
      }
      // A FIFO, socket or device would block (or never end) when read: refuse before opening it.
      if (!stat.isFile() && !stat.isDirectory()) throw new UsageError(`${path}: not a regular file or folder`);
      const report = inspectPath(path, { model: options.model, variant: options.variant });
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    });
}
