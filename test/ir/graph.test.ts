import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { byteSize, Graph, GraphError, hostArray, isFloat, path, ref } from '../../src/ir/index.js';
import { createGraph } from '../../src/ops/index.js';

describe('dtype', () => {
  it('classifies and sizes dtypes', () => {
    assert.equal(isFloat('float16'), true);
    assert.equal(isFloat('int64'), false);
    assert.deepEqual((['float32', 'float16', 'int64', 'int32', 'bool'] as const).map(byteSize), [4, 2, 8, 4, 1]);
  });
});

describe('Graph', () => {
  it('records nodes in creation (topological) order with typed outputs', () => {
    const g = createGraph();
    const x = g.input('x', [2, 3]);
    const w = g.param('w', [3, 4]);
    const y = x.matmul(w).mul(0.5).tanh();
    assert.deepEqual(
      g.nodes.map((n) => n.op),
      ['matmul', 'mul', 'tanh'],
    );
    assert.deepEqual(y.shape, [2, 4]);
    assert.equal(y.dtype, 'float32');
    assert.deepEqual(g.inputs, [x]);
    assert.deepEqual(g.params, [w]);
    assert.equal(g.get('w'), w);
    // every node's inputs were created before it
    g.nodes.forEach((n) => n.inputs.forEach((v) => assert.ok(v.source.kind !== 'node' || v.source.node.id < n.id)));
  });

  it('makes scalar operands constants of the value dtype', () => {
    const g = createGraph();
    const h = g.input('x', [2], 'float16').mul(0.5);
    const c = h.source.kind === 'node' ? h.source.node.inputs[1] : undefined;
    assert.ok(c && c.source.kind === 'const');
    assert.equal(c.dtype, 'float16');
    assert.deepEqual(c.shape, []);
    assert.equal(ref(c), `%${c.id} const float16[]=0.5`);
  });

  it('describes how a value was produced', () => {
    const g = createGraph();
    const h = g.input('x', [2, 8]).exp().named('h');
    const w = g.param('w', [8, 4]);
    const y = h.matmul(w);
    assert.equal(path(y), `matmul(%1 "h" float32[2,8], %2 param "w" float32[8,4])`);
    assert.equal(path(y, 2), `matmul(exp(%0 input "x" float32[2,8]), %2 param "w" float32[8,4])`);
    assert.equal(path(w), `%2 param "w" float32[8,4]`);
  });

  it('rejects unknown ops in manually created nodes, naming operands', () => {
    const g = createGraph();
    const x = g.input('x', [2]);
    assert.throws(
      () => g.addNode('frobnicate', [x], {}),
      (e: unknown) => {
        assert.ok(e instanceof GraphError);
        assert.match(e.message, /^unknown op 'frobnicate' \(known: .*matmul.*\)/);
        assert.match(e.message, /operand 0: %0 input "x" float32\[2\]/);
        return true;
      },
    );
  });

  it('rejects values from another graph, duplicate names, bad shapes and non-JSON attrs', () => {
    const g = createGraph();
    const other = createGraph().input('x', [2]);
    assert.throws(() => g.input('y', [2]).add(other), /add: operand 1 is not a value of this graph/);
    g.param('p', [1]);
    assert.throws(() => g.input('p', [1]), /duplicate input\/parameter name "p"/);
    assert.throws(() => g.input('bad', [2, -1]), /input "bad": invalid shape \[2,-1\]/);
    const x = g.input('z', [2]);
    assert.throws(() => g.addNode('neg', [x], { f: (() => 1) as never }), /neg: attribute 'f' is not plain JSON-like data/);
    assert.throws(() => g.addNode('transpose', [x], { perm: 'no' }), /transpose: attribute 'perm' must be an array of integers/);
  });

  it('embeds constants as copies and freezes attrs', () => {
    const g = new Graph(createGraph().ops);
    const data = hostArray([2], 'float32', [1, 2]);
    const c = g.constant(data, 'c');
    data.data[0] = 99;
    assert.ok(c.source.kind === 'const');
    assert.deepEqual([...c.source.data.data], [1, 2]);
    const t = c.reshape([2, 1]);
    assert.ok(t.source.kind === 'node' && Object.isFrozen(t.source.node.attrs));
  });
});
