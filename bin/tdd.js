#!/usr/bin/env node
// Runs the compiled CLI (npm ci / npm run build produce dist/).
//
// ONNX Runtime reads /proc/self/cmdline when it loads, and crashes the process (SIGSEGV, exit 139, no
// message) once the command line passes roughly 30 KB — a long prompt is enough. So before anything
// imports onnxruntime-node (the CLI is imported dynamically below), a long command line is moved into a
// private temp file and the CLI re-runs itself with a short one; the child reads the arguments back and
// deletes the file. `--prompt-file <file>` (or `-` for stdin) is the documented way to pass long text.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ARGV_FILE_ENV = 'TDD_ARGV_FILE';
const LONG_ARGV_BYTES = 8192;

let args = process.argv.slice(2);
const argvFile = process.env[ARGV_FILE_ENV];
if (argvFile) {
  delete process.env[ARGV_FILE_ENV];
  try {
    args = JSON.parse(readFileSync(argvFile, 'utf8'));
  } finally {
    rmSync(dirname(argvFile), { recursive: true, force: true });
  }
  await run(args);
} else if (args.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0) > LONG_ARGV_BYTES) {
  const dir = mkdtempSync(join(tmpdir(), 'tdd-argv-'));
  const file = join(dir, 'argv.json');
  try {
    writeFileSync(file, JSON.stringify(args), { mode: 0o600 });
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]], {
      stdio: 'inherit',
      env: { ...process.env, [ARGV_FILE_ENV]: file },
    });
    if (child.error) {
      process.stderr.write(
        `error: could not re-run tdd for a long command line (${child.error.message}); pass long text with --prompt-file\n`,
      );
      process.exitCode = 2;
    } else if (child.signal) {
      process.stderr.write(`error: tdd was killed by ${child.signal}\n`);
      process.exitCode = 2;
    } else {
      process.exitCode = child.status ?? 2;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  await run(args);
}

async function run(argv) {
  const { main } = await import('../dist/src/cli/main.js');
  process.exitCode = await main(argv);
}
