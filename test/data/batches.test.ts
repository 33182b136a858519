import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EpochSampler, torchRandperm, type SamplerPosition } from '../../src/data/index.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';

const isPermutation = (order: number[], n: number): boolean =>
  order.length === n && [...order].sort((a, b) => a - b).every((v, i) => v === i);

test('torchRandperm: a permutation driven by one 32-bit draw per step (n − 1 draws)', () => {
  for (const n of [1, 2, 7, 100]) {
    const generator = new TorchGenerator(3);
    const order = torchRandperm(n, generator);
    assert.ok(isPermutation(order, n), `n=${n}`);
    // The swap loop consumes exactly n − 1 draws: the generator then continues where n − 1 randint draws leave it.
    const reference = new TorchGenerator(3);
    for (let i = 0; i < n - 1; i++) reference.randint(0, 2, [1]);
    assert.deepEqual(generator.randint(0, 1000, [4]), reference.randint(0, 1000, [4]), `n=${n}`);
  }
  assert.deepEqual(torchRandperm(50, new TorchGenerator(9)), torchRandperm(50, new TorchGenerator(9)));
  assert.notDeepEqual(torchRandperm(50, new TorchGenerator(9)), torchRandperm(50, new TorchGenerator(10)));
});

test('each epoch is a fresh permutation; batches cross epoch boundaries without dropping', () => {
  const sampler = new EpochSampler(7, 42);
  const stream = [sampler.next(3), sampler.next(3), sampler.next(3), sampler.next(5)].flat(); // 14 = two epochs
  assert.ok(isPermutation(stream.slice(0, 7), 7));
  assert.ok(isPermutation(stream.slice(7, 14), 7));
  assert.notDeepEqual(stream.slice(0, 7), stream.slice(7, 14));
  assert.deepEqual(sampler.position, { epoch: 2, offset: 0 });

  const again = new EpochSampler(7, 42);
  assert.deepEqual(again.next(14), stream, 'same seed, same stream, whatever the batch sizes');
  assert.deepEqual(stream.slice(0, 7), torchRandperm(7, new TorchGenerator(42)), 'epoch 0 is randperm of the seeded generator');
  assert.notDeepEqual(new EpochSampler(7, 43).next(14), stream);
  assert.deepEqual(new EpochSampler(1, 0).next(3), [0, 0, 0]);
});

test('restore at every position continues with the identical stream', () => {
  for (const [count, seed] of [
    [5, 1],
    [13, 2024],
    [1, 7],
  ] as const) {
    const reference = new EpochSampler(count, seed);
    const stream = reference.next(count * 4 + 3);
    const walker = new EpochSampler(count, seed);
    for (let consumed = 0; consumed < count * 3; consumed++) {
      const position: SamplerPosition = JSON.parse(JSON.stringify(walker.position)); // as a checkpoint stores it
      assert.deepEqual(position, { epoch: Math.floor(consumed / count), offset: consumed % count });
      const restored = EpochSampler.restore(count, seed, position);
      assert.deepEqual(restored.position, position);
      assert.deepEqual(restored.next(count + 3), stream.slice(consumed, consumed + count + 3), `count ${count}, after ${consumed}`);
      walker.next(1);
    }
  }
});

test('mixed batch sizes: resuming mid-run matches an uninterrupted run', () => {
  const sizes = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
  const straight = new EpochSampler(11, 99);
  const expected = sizes.map((s) => straight.next(s));
  let sampler = new EpochSampler(11, 99);
  const got: number[][] = [];
  for (const size of sizes) {
    got.push(sampler.next(size));
    sampler = EpochSampler.restore(11, 99, sampler.position); // a crash and resume after every step
  }
  assert.deepEqual(got, expected);
});

test('bad arguments fail clearly', () => {
  assert.throws(() => new EpochSampler(0, 1), /count must be an integer/);
  assert.throws(() => new EpochSampler(2.5, 1), /count must be an integer/);
  assert.throws(() => EpochSampler.restore(5, 1, { epoch: -1, offset: 0 }), /position\.epoch/);
  assert.throws(() => EpochSampler.restore(5, 1, { epoch: 0, offset: 5 }), /position\.offset must be an integer in \[0, 5\)/);
  assert.throws(() => new EpochSampler(5, 1).next(0), /batchSize must be a positive integer/);
});
