import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluate } from '../../src/interp/index.js';
import { hostArray } from '../../src/ir/index.js';
import { conv, embedding, linear, Scope } from '../../src/nn/index.js';
import { createGraph } from '../../src/ops/index.js';

describe('Scope and layers', () => {
  test('parameters are named by their full diffusers keys and reused on a second request', () => {
    const g = createGraph();
    const root = new Scope(g);
    const block = root.sub('down_blocks').sub(0).sub('resnets').sub(1);
    const w = block.sub('conv1').param('weight', [8, 4, 3, 3]);
    assert.equal(w.name, 'down_blocks.0.resnets.1.conv1.weight');
    assert.equal(block.sub('conv1').param('weight', [8, 4, 3, 3]), w);
    assert.throws(
      () => block.sub('conv1').param('weight', [8, 4, 1, 1]),
      /"down_blocks\.0\.resnets\.1\.conv1\.weight" requested as float32\[8,4,1,1\] but exists as param float32\[8,4,3,3\]/,
    );
  });

  test('linear uses the torch [out, in] layout: y = x·Wᵀ + b', () => {
    const g = createGraph();
    const x = g.input('x', [1, 2]);
    const y = linear(new Scope(g).sub('proj'), x, 3);
    // W = [[1,2],[3,4],[5,6]], b = [1,1,1], x = [1,1] → [4, 8, 12]
    const out = evaluate(g, [y], {
      x: hostArray([1, 2], 'float32', [1, 1]),
      'proj.weight': hostArray([3, 2], 'float32', [1, 2, 3, 4, 5, 6]),
      'proj.bias': hostArray([3], 'float32', [1, 1, 1]),
    })[0];
    assert.deepEqual([...out.data], [4, 8, 12]);
  });

  test('conv and embedding create torch-shaped parameters', () => {
    const g = createGraph();
    const s = new Scope(g);
    conv(s.sub('conv_in'), g.input('x', [1, 4, 8, 8]), 32, { kernel: 3, padding: 1 });
    embedding(s.sub('token_embedding'), g.input('ids', [1, 5], 'int64'), 1000, 32);
    assert.deepEqual(
      g.params.map((p) => `${p.name}${JSON.stringify(p.shape)}`),
      ['conv_in.weight[32,4,3,3]', 'conv_in.bias[32]', 'token_embedding.weight[1000,32]'],
    );
  });
});
