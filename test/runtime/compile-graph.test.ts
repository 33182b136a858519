import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { evaluate } from '../../src/interp/index.js';
import { conv2d, createGraph } from '../../src/ops/index.js';
import { compileGraph, type CompileGraphOptions } from '../../src/runtime/compile-graph.js';
import { assertAllClose } from '../helpers/assert-close.js';
import { data, toHost } from '../helpers/ort-check.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tdd-compile-graph-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** y = tanh(conv(x, w) + b): every path must compute what the interpreter does. */
function conv() {
  const g = createGraph();
  const x = g.input('x', [1, 4, 5, 5]);
  const y = conv2d(x, g.param('w', [8, 4, 3, 3]), { bias: g.param('b', [8]), padding: 1 }).tanh();
  const w = data([8, 4, 3, 3], 'float32', -0.5, 0.5, 2);
  const b = data([8], 'float32', -0.5, 0.5, 3);
  const xData = data([1, 4, 5, 5]);
  const expected = evaluate(g, [y], { x: xData, w, b })[0].data;
  const f32 = new Map([
    ['w', Float32Array.from(w.data)],
    ['b', Float32Array.from(b.data)],
  ]);
  return { g, y, xData, expected, f32 };
}

async function check(options: (f32: Map<string, Float32Array>) => CompileGraphOptions, tol = 1e-5): Promise<void> {
  const { g, y, xData, expected, f32 } = conv();
  const { session, outputNames } = await compileGraph(g, [y], options(f32));
  try {
    assert.deepEqual(session.inputNames, ['x'], 'weights are baked, not fed');
    const got = await session.run({ x: toHost(xData) });
    assertAllClose(got[outputNames[0]].data as Float32Array, expected, { atol: tol, rtol: tol }, 'compiled');
  } finally {
    await session.release();
  }
}

describe('compileGraph', () => {
  test('weights baked from memory', () => check((f32) => ({ weights: f32 })));

  test('streamed weights, encoded in memory; the byte count is reported first', async () => {
    let seen = -1;
    await check((f32) => ({ streamWeights: (k) => f32.get(k)!, checkWeightBytes: (b) => (seen = b) }));
    assert.equal(seen, (8 * 4 * 9 + 8) * 4);
  });

  test('streamed weights staged as external data: the staging folder is removed after loading', async () => {
    const staging = path.join(dir, 'staging');
    await check((f32) => ({ streamWeights: (k) => f32.get(k)!, inMemoryLimitBytes: 0, stagingDir: staging, label: 'conv' }));
    assert.deepEqual(readdirSync(staging), []);
  });

  test('a refusal from checkWeightBytes stops before any weight is read', async () => {
    const { g, y } = conv();
    const read: string[] = [];
    const refuse = () => {
      throw new Error('too big');
    };
    await assert.rejects(
      compileGraph(g, [y], { streamWeights: (k) => (read.push(k), new Float32Array(0)), checkWeightBytes: refuse }),
      /too big/,
    );
    assert.deepEqual(read, []);
  });

  test('float16 precision keeps the float32 interface', () =>
    check((f32) => ({ streamWeights: (k) => f32.get(k)!, precision: 'float16' }), 2e-2));
});
