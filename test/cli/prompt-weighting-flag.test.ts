// `--no-prompt-weighting`: A1111 emphasis syntax is on by default in `tdd generate` and the flag turns it off.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { addGenerateOptions } from '../../src/cli/generate-options.js';

const parse = (args: string[]) => {
  const command = addGenerateOptions(new Command().argument('[prompt]'))
    .exitOverride()
    .action(() => {});
  command.parse(['node', 'tdd', ...args]);
  return command.opts();
};

test('prompt weighting is on unless --no-prompt-weighting', () => {
  assert.equal(parse(['a (cat:1.5)']).promptWeighting, true);
  assert.equal(parse(['a (cat:1.5)', '--no-prompt-weighting']).promptWeighting, false);
});
