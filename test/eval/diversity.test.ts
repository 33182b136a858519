// Diversity across seeds: mean pairwise feature distance among samples of one caption, averaged over captions
// that recur; a collapsed sampler (same image for every seed) scores 0, captions seen once do not count.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seedDiversity } from '../../src/eval/diversity.js';
import { EvalError } from '../../src/eval/errors.js';

test('mean pairwise distance per recurring caption, averaged over captions', () => {
  const f = (...x: number[]) => Float32Array.from(x);
  // caption a: three samples, pairwise distances 5, 10, 5 (mean 20/3); caption b: two identical samples (0);
  // caption c: once only (ignored).
  const features = [f(0, 0), f(3, 4), f(6, 8), f(1, 1), f(1, 1), f(9, 9)];
  const captions = ['a', 'a', 'a', 'b', 'b', 'c'];
  assert.ok(Math.abs(seedDiversity(features, captions)! - (20 / 3 + 0) / 2) < 1e-12);
  assert.equal(seedDiversity([f(1), f(1)], ['x', 'x']), 0);
  assert.equal(seedDiversity([f(1), f(2)], ['x', 'y']), null);
  assert.throws(() => seedDiversity([f(1)], ['x', 'y']), EvalError);
});
