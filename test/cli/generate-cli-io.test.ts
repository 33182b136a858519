// `tdd generate` command-line and file-system edges (issue 19): long prompts (ONNX Runtime crashes on a
// ~30 KB /proc/self/cmdline, so bin/tdd.js re-runs itself with a short one), --prompt-file / stdin, and
// one-line errors for outputs. Runs the built binary (npm run build first) on the tiny-sd fixture.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseA1111Parameters } from '../../src/pipelines/metadata.js';
import { readPngText } from '../../src/util/png.js';
import { sharedPath } from '../helpers/shared.js';

const bin = fileURLToPath(new URL('../../bin/tdd.js', import.meta.url));
const model = sharedPath('fixtures', 'tiny-sd');

function tdd(args: string[], { input, cwd = mkdtempSync(join(tmpdir(), 'tdd-io-')) }: { input?: string; cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    input,
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: join(cwd, 'cache') },
  });
  return { ...r, cwd };
}

const parameters = (path: string) => parseA1111Parameters(readPngText(readFileSync(path)).parameters);

test('a 40,000-character prompt on the command line runs (no segfault) and leaves no argv temp file', () => {
  const prompt = 'a'.repeat(40_000);
  const before = readdirSync(tmpdir()).filter((n) => n.startsWith('tdd-argv-')).length;
  const r = tdd(['generate', prompt, '-m', model, '--steps', '1', '--seed', '1', '-q', '-o', 'long.png']);
  assert.equal(r.status, 0, `exit ${r.status} signal ${r.signal}: ${r.stderr}`);
  assert.equal(parameters(join(r.cwd, 'long.png')).prompt, prompt);
  assert.equal(readdirSync(tmpdir()).filter((n) => n.startsWith('tdd-argv-')).length, before);
});

test('--prompt-file and "-" (stdin) give the prompt, recorded in the PNG like an argument prompt', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tdd-io-'));
  writeFileSync(join(cwd, 'prompt.txt'), 'a red apple, studio light\n');
  writeFileSync(join(cwd, 'negative.txt'), 'blurry\n');
  const fromFile = tdd(
    [
      'generate',
      '--prompt-file',
      'prompt.txt',
      '--negative-file',
      'negative.txt',
      '-m',
      model,
      '--steps',
      '1',
      '--seed',
      '1',
      '-q',
      '-o',
      'file.png',
    ],
    { cwd },
  );
  assert.equal(fromFile.status, 0, fromFile.stderr);
  const p = parameters(join(cwd, 'file.png'));
  assert.equal(p.prompt, 'a red apple, studio light');
  assert.equal(p.negativePrompt, 'blurry');
  const fromStdin = tdd(['generate', '-', '-m', model, '--steps', '1', '--seed', '1', '-q', '-o', 'stdin.png'], {
    cwd,
    input: 'a red apple, studio light\n',
  });
  assert.equal(fromStdin.status, 0, fromStdin.stderr);
  assert.equal(parameters(join(cwd, 'stdin.png')).prompt, 'a red apple, studio light');
});

test('prompt-source mistakes are one-line usage errors', () => {
  const missing = tdd(['generate', '-m', model, '-q']);
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr, 'error: missing prompt: give it as the argument, "-" for stdin, or --prompt-file <file>\n');
  const both = tdd(['generate', 'x', '--prompt-file', 'p.txt', '-m', model, '-q']);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /^error: give the prompt either as the argument or with --prompt-file, not both\n$/);
  const absent = tdd(['generate', '--prompt-file', 'nope.txt', '-m', model, '-q']);
  assert.equal(absent.status, 2);
  assert.match(absent.stderr, /^error: --prompt-file: cannot read nope\.txt \(ENOENT\)\n$/);
});

test('an output on a read-only file system is one line naming the path and the reason (exit 2)', (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'tdd-io-'));
  // chmod 0500 does not stop root: a read-only tmpfs does, where mounting is allowed.
  const ro = join(cwd, 'ro');
  mkdirSync(ro);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]).status === 0;
  if (!mounted) {
    t.diagnostic('read-only tmpfs case skipped: mount failed (not root or no CAP_SYS_ADMIN)');
  } else {
    try {
      const r = tdd(['generate', 'x', '-m', model, '--steps', '1', '-q', '-o', join(ro, 'x.png')], { cwd });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, `error: cannot write ${join(ro, 'x.png')}: read-only file system (EROFS)\n`);
    } finally {
      spawnSync('umount', [ro]);
    }
  }
  // /proc takes no new files, for root too.
  const proc = tdd(['generate', 'x', '-m', model, '--steps', '1', '-q', '-o', '/proc/tdd-out.png'], { cwd });
  assert.equal(proc.status, 2, proc.stderr);
  assert.match(proc.stderr, /^error: cannot write \/proc\/tdd-out\.png: [^\n]+\n$/);
});

test('-W 100 on the built-in model: one line with the real size multiple (VAE factor × UNet downsampling)', () => {
  const r = tdd(['generate', 'x', '-W', '100', '-q']);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(
    r.stderr,
    "error: --width must be a positive multiple of 16 for this model (its VAE factor 4 × the UNet's downsampling 4) (got 100)\n",
  );
});

test('tdd info on a FIFO refuses with one line instead of hanging', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tdd-io-'));
  const fifo = join(cwd, 'pipe.safetensors');
  if (spawnSync('mkfifo', [fifo]).status !== 0) return;
  const r = spawnSync(process.execPath, [bin, 'info', fifo], { cwd, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 2, `exit ${r.status} signal ${r.signal}: ${r.stderr}`);
  assert.equal(r.stderr, `error: ${fifo}: not a regular file or folder\n`);
});

test('-o on an existing file is refused with one line unless --overwrite', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tdd-io-'));
  writeFileSync(join(cwd, 'old.png'), 'keep me');
  const refused = tdd(['generate', 'x', '-m', model, '--steps', '1', '-q', '-o', 'old.png'], { cwd });
  assert.equal(refused.status, 2);
  assert.equal(refused.stderr, 'error: --out: old.png already exists; pass --overwrite to replace it\n');
  assert.equal(readFileSync(join(cwd, 'old.png'), 'utf8'), 'keep me');
  const replaced = tdd(['generate', 'x', '-m', model, '--steps', '1', '-q', '-o', 'old.png', '--overwrite'], { cwd });
  assert.equal(replaced.status, 0, replaced.stderr);
  assert.equal(parameters(join(cwd, 'old.png')).prompt, 'x');
});

test('--tokenizer with a diffusers folder warns that it is ignored', () => {
  const r = tdd(['generate', 'x', '-m', model, '--steps', '1', '--tokenizer', tmpdir(), '--json', '-o', 'x.png']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(JSON.parse(r.stdout).warnings.some((w: string) => w.startsWith('--tokenizer is ignored for a diffusers folder')));
});
