// The method table is the one place a distillation method is named: every method name has an entry under
// its own name, with a sampler preset that exists and a summary the CLI's --help shows.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { distillMethods } from '../../src/distill/method-table.js';
import { distillMethodNames, isDistillMethodName } from '../../src/distill/method.js';
import { presets } from '../../src/pipelines/presets.js';

describe('distillation method table', () => {
  test('every method has its entry, a known preset and a summary', () => {
    assert.deepEqual(Object.keys(distillMethods).sort(), [...distillMethodNames].sort());
    for (const name of distillMethodNames) {
      const entry = distillMethods[name];
      assert.equal(entry.name, name);
      assert.ok(Object.hasOwn(presets, entry.preset), `${name}: preset ${entry.preset}`);
      assert.ok(entry.summary.length > 10, `${name}: summary`);
    }
    assert.equal(isDistillMethodName('tdd'), true);
    assert.equal(isDistillMethodName('pcm-x'), false);
  });
});
