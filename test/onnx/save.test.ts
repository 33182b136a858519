import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { evaluate } from '../../src/interp/index.js';
import { emitModel } from '../../src/onnx/emit.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { saveModel } from '../../src/onnx/save.js';
import { conv2d, createGraph } from '../../src/ops/index.js';
import { createSession } from '../../src/runtime/session.js';
import { assertAllClose } from '../helpers/assert-close.js';
import { data, toHost } from '../helpers/ort-check.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tdd-save-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('saveModel: external data', () => {
  test('large initializers go to an aligned side file; ORT loads the pair and computes the same result', async () => {
    const g = createGraph();
    const x = g.input('x', [1, 8, 6, 6]);
    const w = g.param('w', [16, 8, 3, 3]);
    const b = g.param('b', [16]);
    const y = conv2d(x, w, { bias: b, padding: 1 }).tanh();
    const wData = data([16, 8, 3, 3], 'float32', -0.5, 0.5, 2);
    const bData = data([16], 'float32', -0.5, 0.5, 3);
    const { model, outputNames } = emitModel(g, [y], {
      weights: new Map([
        ['w', Float32Array.from(wData.data)],
        ['b', Float32Array.from(bData.data)],
      ]),
    });
    const file = path.join(dir, 'conv.onnx');
    const dataFile = saveModel(model, file, { minExternalBytes: 1024 });
    assert.equal(dataFile, `${file}.data`);
    assert.equal(statSync(dataFile).size, 16 * 8 * 9 * 4, 'only w (4608 bytes) is external; b (64 bytes) stays inline');
    assert.ok(statSync(file).size < encodeModel(model).length - 4000, 'the graph file no longer holds the weights');
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('.tmp')),
      [],
    );
    const xData = data([1, 8, 6, 6]);
    await using session = await createSession(file);
    const got = await session.run({ x: toHost(xData) });
    const expected = evaluate(g, [y], { x: xData, w: wData, b: bData })[0];
    assertAllClose(got[outputNames[0]].data as Float32Array, expected.data, { atol: 1e-5, rtol: 1e-5 }, 'external');
  });

  test('without large initializers no data file is written', () => {
    const g = createGraph();
    const x = g.input('x', [2]);
    const { model } = emitModel(g, [x.exp()]);
    const file = path.join(dir, 'small.onnx');
    assert.equal(saveModel(model, file), null);
    assert.equal(existsSync(`${file}.data`), false);
  });
});
