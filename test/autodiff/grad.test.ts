import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkpoint, grad } from '../../src/autodiff/index.js';
import { evaluate } from '../../src/interp/index.js';
import { hostArray, InferError, liveSet, type Value } from '../../src/ir/index.js';
import { allOps, createGraph, defineOp, makeRegistry } from '../../src/ops/index.js';
import { checkOrtGradients, gradcheck } from '../helpers/gradcheck.js';
import { assertAllClose } from '../helpers/assert-close.js';
import { data } from '../helpers/ort-check.js';

const pos = (shape: number[], seed = 1) => data(shape, 'float32', 0.5, 2, seed);

describe('grad: hand-derived cases', () => {
  test('d/dx sum(x·x) = 2x; a value used twice accumulates', () => {
    const g = createGraph();
    const x = g.input('x', [3]);
    const [dx] = grad(x.mul(x).sum(), [x]);
    const feeds = { x: hostArray([3], 'float32', [1, -2, 0.5]) };
    assert.deepEqual([...evaluate(g, [dx], feeds)[0].data], [2, -4, 1]);
  });

  test('stop_gradient: d/dx sum(x · sg(x)) = sg(x) = x, not 2x', () => {
    const g = createGraph();
    const x = g.input('x', [3]);
    const [dx] = grad(x.mul(x.stopGradient()).sum(), [x]);
    const feeds = { x: hostArray([3], 'float32', [1, -2, 0.5]) };
    assert.deepEqual([...evaluate(g, [dx], feeds)[0].data], [1, -2, 0.5]);
  });

  test('broadcast operand: d/db sum(a + b) for a [2,3], b [3] counts the 2 rows', () => {
    const g = createGraph();
    const a = g.input('a', [2, 3]);
    const b = g.input('b', [3]);
    const [db] = grad(a.add(b).sum(), [b]);
    assert.deepEqual([...db.shape], [3]);
    assert.deepEqual([...evaluate(g, [db], { a: data([2, 3]), b: data([3]) })[0].data], [2, 2, 2]);
  });

  test('a wrt that does not reach the output gets zeros of its shape', () => {
    const g = createGraph();
    const x = g.input('x', [2]);
    const unused = g.input('u', [2, 2]);
    const [du] = grad(x.sum(), [unused]);
    assert.deepEqual([...evaluate(g, [du], { u: data([2, 2]) })[0].data], [0, 0, 0, 0]);
  });
});

describe('grad: finite differences (float64 interpreter) and ORT', () => {
  const binaries = ['add', 'sub', 'mul', 'div', 'pow'] as const;
  for (const op of binaries) {
    test(`${op} with broadcasting`, async () => {
      const g = createGraph();
      const a = g.input('a', [2, 3]);
      const b = g.input('b', [3]);
      const c = { graph: g, output: g.apply(op, [a, b]), wrt: [a, b], feeds: { a: pos([2, 3]), b: pos([3], 2) } };
      gradcheck(c);
      await checkOrtGradients(c);
    });
  }

  const unaries = ['neg', 'relu', 'exp', 'log', 'sqrt', 'tanh', 'sigmoid'] as const;
  for (const op of unaries) {
    test(op, async () => {
      const g = createGraph();
      const x = g.input('x', [2, 4]);
      // log/sqrt need x > 0; relu is checked away from its kink.
      const feeds = { x: ['log', 'sqrt'].includes(op) ? pos([2, 4]) : data([2, 4], 'float32', -2, 2) };
      if (op === 'relu') feeds.x = hostArray([2, 4], 'float32', [-1.5, -0.2, 0.3, 1.1, 2, -3, 0.7, -0.9]);
      const c = { graph: g, output: g.apply(op, [x]), wrt: [x], feeds };
      gradcheck(c);
      await checkOrtGradients(c);
    });
  }

  test('sum and mean over axes with and without keepdims', async () => {
    const g = createGraph();
    const x = g.input('x', [2, 3, 4]);
    const out = x
      .sum(1)
      .add(x.mean([0, 2], true).reshape([3]).sum())
      .add(x.mean(-1, true).sum([1, 2]).reshape([2, 1]));
    const c = { graph: g, output: out, wrt: [x], feeds: { x: data([2, 3, 4]) } };
    gradcheck(c);
    await checkOrtGradients(c);
  });

  test('reshape and transpose', async () => {
    const g = createGraph();
    const x = g.input('x', [2, 3, 4]);
    const out = x
      .transpose([2, 0, 1])
      .reshape([4, 6])
      .mul(x.reshape([4, 6]));
    const c = { graph: g, output: out, wrt: [x], feeds: { x: data([2, 3, 4]) } };
    gradcheck(c);
    await checkOrtGradients(c);
  });

  test('matmul: 2-D, batched with broadcast batch dims, 1-D left and right', async () => {
    const g = createGraph();
    const a = g.input('a', [2, 1, 3, 4]);
    const b = g.input('b', [5, 4, 2]);
    const m = g.input('m', [3, 4]);
    const v = g.input('v', [4]);
    const out = a.matmul(b).sum().add(m.matmul(v).sum()).add(v.matmul(b).sum()).add(v.matmul(v)).add(m.matmul(m.transpose()).sum());
    const feeds = {
      a: data([2, 1, 3, 4]),
      b: data([5, 4, 2], 'float32', -1, 1, 2),
      m: data([3, 4], 'float32', -1, 1, 3),
      v: data([4], 'float32', -1, 1, 4),
    };
    const c = { graph: g, output: out.tanh(), wrt: [a, b, m, v], feeds };
    gradcheck(c);
    await checkOrtGradients(c);
  });

  test('cast float32 → float16 → float32 passes gradients through', () => {
    const g = createGraph();
    const x = g.input('x', [3]);
    gradcheck({ graph: g, output: x.cast('float16').cast('float32').exp(), wrt: [x], feeds: { x: data([3]) } });
  });

  test('2-layer MLP: gradients for every parameter', async () => {
    const g = createGraph();
    const x = g.input('x', [4, 3]);
    const w1 = g.param('w1', [3, 5]);
    const b1 = g.param('b1', [5]);
    const w2 = g.param('w2', [5, 2]);
    const y = x.matmul(w1).add(b1).tanh().matmul(w2).sigmoid();
    const feeds = {
      x: data([4, 3]),
      w1: data([3, 5], 'float32', -1, 1, 2),
      b1: data([5], 'float32', -1, 1, 3),
      w2: data([5, 2], 'float32', -1, 1, 4),
    };
    const c = { graph: g, output: y, wrt: [w1, b1, w2, x], feeds };
    gradcheck(c);
    await checkOrtGradients(c);
  });

  test('a composite op without a VJP is differentiated through its decomposition', () => {
    const softplus = defineOp({
      name: 'test_softplus',
      infer: (inputs) => [inputs[0]],
      evaluate: ([x]) => [
        hostArray(
          x.shape,
          x.dtype,
          x.data.map((v) => Math.log1p(Math.exp(v))),
        ),
      ],
      decompose: ([x]) => [x.exp().add(1).log()],
    });
    const ops = makeRegistry([...allOps, softplus]);
    const g = createGraph(ops);
    const x = g.input('x', [5]);
    gradcheck({ graph: g, output: g.apply('test_softplus', [x]).mul(x), wrt: [x], feeds: { x: data([5]) }, ops });
  });
});

describe('grad: errors', () => {
  test('non-scalar output without a seed', () => {
    const g = createGraph();
    const x = g.input('x', [3]);
    assert.throws(() => grad(x.exp(), [x]), /output must be a scalar without a seed, got \[3\]/);
  });

  test('integer wrt', () => {
    const g = createGraph();
    const i = g.input('i', [3], 'int64');
    assert.throws(() => grad(i.cast('float32').sum(), [i]), /cannot differentiate w\.r\.t\. int64 value/);
  });

  test('an op with neither VJP nor decomposition is named', () => {
    const opaque = defineOp({
      name: 'test_opaque',
      infer: (inputs) => {
        if (inputs.length !== 1) throw new InferError('one operand');
        return [inputs[0]];
      },
      evaluate: ([x]) => [x],
    });
    const ops = makeRegistry([...allOps, opaque]);
    const g = createGraph(ops);
    const x = g.input('x', [2]);
    assert.throws(() => grad(g.apply('test_opaque', [x]).sum(), [x], { ops }), /op 'test_opaque' has no VJP rule or decomposition/);
  });
});

describe('grad: checkpointed segments', () => {
  function network(useCheckpoint: boolean) {
    const g = createGraph();
    const x = g.input('x', [3, 4]);
    const w1 = g.param('w1', [4, 4]);
    const w2 = g.param('w2', [4, 4]);
    const block = ([h]: readonly Value[]) => [h.matmul(w1).tanh().matmul(w2).sigmoid().add(h)];
    const h = useCheckpoint ? checkpoint([x], block)[0] : block([x])[0];
    const y = checkpoint([h], ([v]) => [v.mul(v).exp()])[0].matmul(w2);
    return { g, x, w1, w2, y };
  }
  const feeds = { x: data([3, 4]), w1: data([4, 4], 'float32', -1, 1, 2), w2: data([4, 4], 'float32', -1, 1, 3) };

  test('recomputed segments give the same gradients as plain ones, also through ORT', async () => {
    const plain = network(false);
    const ckpt = network(true);
    const gp = grad(plain.y.sum(), [plain.x, plain.w1, plain.w2]);
    const gc = grad(ckpt.y.sum(), [ckpt.x, ckpt.w1, ckpt.w2]);
    const a = evaluate(plain.g, gp, feeds);
    const b = evaluate(ckpt.g, gc, feeds);
    a.forEach((t, i) => assertAllClose(b[i].data, t.data, { atol: 1e-12, rtol: 1e-12 }, `grad ${i}`));
    gradcheck({ graph: ckpt.g, output: ckpt.y, wrt: [ckpt.x, ckpt.w1, ckpt.w2], feeds });
    await checkOrtGradients({ graph: ckpt.g, output: ckpt.y, wrt: [ckpt.x, ckpt.w1, ckpt.w2], feeds });
  });

  test('the backward pass reads no value computed inside a segment: it uses a recomputed copy', () => {
    const ckpt = network(true);
    const forwardNodes = ckpt.g.nodes.length;
    const [dw1] = grad(ckpt.y.sum(), [ckpt.w1]);
    const internals = new Set(
      ckpt.g.nodes
        .slice(0, forwardNodes)
        .filter((n) => n.op === 'tanh' || n.op === 'sigmoid') // internal to the first segment
        .flatMap((n) => n.outputs),
    );
    const { nodes } = liveSet([dw1]);
    const backward = [...nodes].filter((n) => n.id >= forwardNodes);
    assert.ok(
      backward.some((n) => n.op === 'tanh'),
      'tanh is recomputed in the backward pass',
    );
    for (const n of backward) {
      for (const x of n.inputs) assert.ok(!internals.has(x), `backward node ${n.op}#${n.id} reads a forward internal`);
    }
  });
});
