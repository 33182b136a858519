// `tdd eval` option parsing: the flags become runEval options (with a stand-in runner), and bad --rows or
// numbers fail before any work with a message naming the flag.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Command } from 'commander';
import { registerEvalCommand, type EvalRunner } from '../../src/cli/eval-command.js';
import { UsageError } from '../../src/cli/errors.js';
import { embeddedModel } from '../../src/embedded/index.js';
import type { EvalOptions } from '../../src/eval/run-eval.js';
import type { EvalResults } from '../../src/eval/results.js';
import { sharedPath } from '../helpers/shared.js';

const model = sharedPath('fixtures', 'tiny-sd');

async function parse(args: string[]): Promise<EvalOptions[]> {
  const calls: EvalOptions[] = [];
  const runner: EvalRunner = async (options) => {
    calls.push(options);
    return { rows: [] } as unknown as EvalResults;
  };
  const program = new Command('tdd').exitOverride();
  registerEvalCommand(program, runner);
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    await program.parseAsync(['eval', ...args], { from: 'user' });
  } finally {
    process.stdout.write = write;
  }
  return calls;
}

describe('tdd eval (options)', () => {
  test('flags become runEval options', async () => {
    const [o] = await parse([
      '--model',
      model,
      '--tdd-lora',
      'a.safetensors',
      '--lcm-lora',
      'b.safetensors',
      '--tdd-no-empty-prompts-lora',
      'c.safetensors',
      '--samples',
      '8',
      '--batch',
      '4',
      '--seed',
      '3',
      '--out',
      'out-dir',
      '--rows',
      'teacher-ddim-25, tdd-4-g1.7,lcm-4',
      '--classifier-steps',
      '5',
      '--quiet',
    ]);
    assert.equal(o.model, model);
    assert.deepEqual(o.loras, { tdd: 'a.safetensors', lcm: 'b.safetensors', tddNoEmptyPrompts: 'c.safetensors' });
    assert.deepEqual([o.samples, o.batch, o.seed], [8, 4, 3]);
    assert.equal(o.out, 'out-dir');
    assert.equal(o.classifier, join('out-dir', 'classifier.safetensors'));
    assert.deepEqual(o.classifierTraining, { steps: 5 });
    assert.deepEqual(o.rows, ['teacher-ddim-25', 'tdd-4-g1.7', 'lcm-4']);
    assert.ok(o.signal instanceof AbortSignal);
  });

  test('defaults: 1000 samples, docs/eval, every row, an explicit classifier path kept', async () => {
    const [o] = await parse(['--model', model, '--classifier', 'c.safetensors', '--quiet']);
    assert.deepEqual(
      [o.samples, o.batch, o.seed, o.out, o.rows, o.classifier],
      [1000, 50, 0, join('docs', 'eval'), undefined, 'c.safetensors'],
    );
    assert.equal(o.classifierTraining, undefined);
  });

  test('--device/--threads become the runtime of every session; all cores by default', async () => {
    const [o] = await parse(['--model', model, '--device', 'cpu', '--threads', '3', '--quiet']);
    assert.deepEqual(o.runtime, { device: 'cpu', threads: 3 });
    const [d] = await parse(['--model', model, '--quiet']);
    assert.deepEqual(d.runtime, { device: 'cpu', threads: availableParallelism() });
    await assert.rejects(parse(['--model', model, '--threads', 'abc']), /^UsageError: --threads must be a positive integer \(got "abc"\)/);
  });

  test('an unknown --rows name is a usage error listing the rows', async () => {
    await assert.rejects(parse(['--model', model, '--rows', 'tdd-4-g1.7,tdd-5', '--quiet']), (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /^--rows: unknown eval row "tdd-5"; choose from: teacher-ddim-25, /);
      return true;
    });
  });

  test('--lora ROLE=FILE gives the steps table its LoRAs; a bad role or form is named', async () => {
    const [o] = await parse(['--model', model, '--lora', 'pcm4=p.safetensors', 'simplectm=s.safetensors', '--rows', 'steps', '--quiet']);
    assert.equal(o.loras?.pcm4, 'p.safetensors');
    assert.equal(o.loras?.simplectm, 's.safetensors');
    assert.deepEqual(o.rows, ['steps']);
    await assert.rejects(parse(['--model', model, '--lora', 'pcm3=x', '--quiet']), /--lora: unknown role "pcm3"/);
    await assert.rejects(parse(['--model', model, '--lora', 'pcm4', '--quiet']), /--lora: expected ROLE=FILE/);
  });

  test('bad numbers name their flag', async () => {
    await assert.rejects(parse(['--model', model, '--samples', 'ten']), /--samples must be an integer \(got "ten"\)/);
    await assert.rejects(parse(['--model', model, '--batch', '2.5']), /--batch must be an integer/);
  });

  test('without --model: the embedded model and its shipped TDD LoRA', async () => {
    const embedded = embeddedModel();
    assert.ok(embedded?.lora, 'models/emoji ships with tdd-lora.safetensors');
    const [o] = await parse(['--quiet']);
    assert.equal(o.model, embedded.dir);
    assert.equal(o.loras?.tdd, embedded.lora);
  });
});
