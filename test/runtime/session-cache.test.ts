import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { emitModel } from '../../src/onnx/emit.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { conv2d, createGraph } from '../../src/ops/index.js';
import { createCachedSession } from '../../src/runtime/session-cache.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tdd-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function model(scale: number): Uint8Array {
  const g = createGraph();
  const x = g.input('x', [1, 2, 4, 4]);
  const w = g.param('w', [2, 2, 3, 3]);
  const y = conv2d(x, w, { padding: 1 }).sigmoid().mul(x);
  const weights = new Map([['w', Float32Array.from({ length: 36 }, (_, i) => Math.sin(i) * scale)]]);
  return encodeModel(emitModel(g, [y], { weights }).model);
}

const feeds = { x: { dtype: 'float32' as const, dims: [1, 2, 4, 4], data: Float32Array.from({ length: 32 }, (_, i) => i / 32) } };

describe('session cache', () => {
  test('first creation saves the optimized model, the second loads it, results are identical', async () => {
    const bytes = model(1);
    await using miss = await createCachedSession(bytes, { cacheDir: dir });
    assert.equal(miss.cacheHit, false);
    await using hit = await createCachedSession(bytes, { cacheDir: dir });
    assert.equal(hit.cacheHit, true);
    assert.equal(hit.cachePath, miss.cachePath);
    const [a, b] = [await miss.run(feeds), await hit.run(feeds)];
    assert.deepEqual(b[hit.outputNames[0]].data, a[miss.outputNames[0]].data);
    assert.deepEqual(
      readdirSync(path.join(dir, 'sessions')).filter((f) => f.includes('.tmp')),
      [],
      'no temp files left',
    );
  });

  test('a different model or optimization level gets its own entry; cacheKey replaces hashing', async () => {
    await using a = await createCachedSession(model(1), { cacheDir: dir });
    await using b = await createCachedSession(model(2), { cacheDir: dir });
    await using c = await createCachedSession(model(1), { cacheDir: dir, graphOptimizationLevel: 'basic' });
    assert.equal(new Set([a.cachePath, b.cachePath, c.cachePath]).size, 3);
    await using k1 = await createCachedSession(model(3), { cacheDir: dir, cacheKey: 'my-model@1' });
    await using k2 = await createCachedSession(model(3), { cacheDir: dir, cacheKey: 'my-model@1' });
    assert.equal(k1.cacheHit, false);
    assert.equal(k2.cacheHit, true);
  });
});
