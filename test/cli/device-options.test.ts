// --device and --threads on every command that runs a model, through main() in this process (no model work:
// each case fails before loading anything): a bad value is exit 2 with one line naming the flag.
import { captureStderr } from '../helpers/capture-stderr.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { parseThreads } from '../../src/cli/device-options.js';
import { UsageError } from '../../src/cli/errors.js';
import { deviceProblem } from '../../src/runtime/device.js';
import { sharedPath } from '../helpers/shared.js';

const model = sharedPath('fixtures', 'tiny-sd');
const dir = mkdtempSync(join(tmpdir(), 'tdd-device-'));

/** Each command with the arguments it needs to reach its action. */
const commands: Record<string, string[]> = {
  generate: ['generate', 'a cat', '--model', model, '--out', join(dir, 'gen')],
  serve: ['serve', '--port', '0', '--models', dir],
  distill: ['distill', '--teacher', model, '--data', join(dir, 'data'), '--out', join(dir, 'distill')],
  eval: ['eval', '--model', model, '--out', join(dir, 'eval')],
  'train-teacher': ['train-teacher', '--out', join(dir, 'teacher')],
};

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const { result: code, stderr } = await captureStderr(() => main(args));
  return { code, stderr };
}

describe('--device / --threads', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--threads takes a positive integer', () => {
    assert.equal(parseThreads('1'), 1);
    assert.equal(parseThreads('16'), 16);
    for (const bad of ['0', '-2', '1.5', 'abc', '', ' '])
      assert.throws(
        () => parseThreads(bad),
        (e: Error) => e instanceof UsageError && /^--threads must be a positive integer/.test(e.message),
        bad,
      );
  });

  for (const [name, args] of Object.entries(commands)) {
    test(`tdd ${name}: bad --threads and --device values exit 2 with one line naming the flag`, async () => {
      for (const [extra, message] of [
        [['--threads', '0'], /^error: --threads must be a positive integer \(got "0"\)\n$/],
        [['--threads', 'abc'], /^error: --threads must be a positive integer \(got "abc"\)\n$/],
        [['--device', 'bogus'], /^error: option '--device <name>' argument 'bogus' is invalid\. Allowed choices are cpu, webgpu, cuda\./],
      ] as const) {
        const r = await run([...args, ...extra]);
        assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, message, extra.join(' '));
      }
    });
  }

  test('--device cuda without the CUDA files: every command exits 2 with one line saying how to install them', async (t) => {
    if (!deviceProblem('cuda')) return t.skip('CUDA provider files are installed here');
    for (const [name, args] of Object.entries(commands)) {
      const r = await run([...args, '--device', 'cuda']);
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.equal(r.stderr.split('\n').length, 2, `${name}: one line: ${r.stderr}`);
      assert.match(r.stderr, /^error: --device cuda: /, name);
      if (process.platform === 'linux' && process.arch === 'x64') assert.match(r.stderr, /npm ci --onnxruntime-node-install=cuda12/, name);
    }
  });
});
