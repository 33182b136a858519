import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hostArray, InferError, type Graph, type HostArray, type Value } from '../../src/ir/index.js';
import { emitModel, EmitError } from '../../src/onnx/emit.js';
import { createGraph, defineOp, makeRegistry, allOps } from '../../src/ops/index.js';
import { evaluate } from '../../src/interp/index.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { createSession } from '../../src/runtime/session.js';
import { float16ToFloat32, float32ToFloat16 } from '../../src/util/half.js';
import { assertAllClose } from '../helpers/assert-close.js';
import { checkOrtMatchesInterp, data, ORT_TOL, ortErrors, toHost } from '../helpers/ort-check.js';

const check = (graph: Graph, outputs: Value[], feeds: Record<string, HostArray>, inputs?: Value[]): Promise<void> =>
  checkOrtMatchesInterp(graph, outputs, feeds, { inputs });

describe('emitModel → ORT CPU matches the interpreter', () => {
  test('binary ops with broadcasting', async () => {
    const g = createGraph();
    const a = g.input('a', [2, 3, 4]);
    const b = g.input('b', [3, 1]);
    const p = g.input('p', [4]);
    const outs = [a.add(b), a.sub(b), a.mul(b), a.div(b.exp()), a.exp().pow(p), a.add(2.5)];
    await check(g, outs, { a: data([2, 3, 4]), b: data([3, 1], 'float32', -1, 1, 2), p: data([4], 'float32', -2, 2, 3) });
  });

  test('unary ops', async () => {
    const g = createGraph();
    const x = g.input('x', [3, 5]);
    const pos = x.exp();
    const outs = [x.neg(), x.relu(), x.exp(), pos.log(), pos.sqrt(), x.tanh(), x.sigmoid()];
    await check(g, outs, { x: data([3, 5], 'float32', -4, 4) });
  });

  test('cast float32 → int64 (truncates) → float32, and to bool', async () => {
    const g = createGraph();
    const x = g.input('x', [6]);
    const i = x.cast('int64');
    await check(g, [i, i.cast('float32'), x.cast('bool'), i.cast('int32')], {
      x: hostArray([6], 'float32', [-2.5, -0.5, 0, 0.75, 3.25, 7]),
    });
  });

  test('sum and mean: axes, negative axes, all axes, keepdims, empty axes', async () => {
    const g = createGraph();
    const x = g.input('x', [2, 3, 4]);
    const outs = [x.sum(1), x.sum([0, -1], true), x.sum(), x.sum(undefined, true), x.sum([]), x.mean(-1), x.mean([0, 2], true), x.mean()];
    await check(g, outs, { x: data([2, 3, 4]) });
  });

  test('reshape with -1 and transpose', async () => {
    const g = createGraph();
    const x = g.input('x', [2, 3, 4]);
    const outs = [x.reshape([-1, 4]), x.reshape([6, -1]).transpose(), x.transpose([1, 2, 0]), x.reshape([24])];
    await check(g, outs, { x: data([2, 3, 4]) });
  });

  test('matmul: 2-D, 1-D operands, batched with broadcast batch dims', async () => {
    const g = createGraph();
    const a = g.input('a', [2, 1, 3, 4]);
    const b = g.input('b', [5, 4, 2]);
    const m = g.input('m', [3, 4]);
    const v = g.input('v', [4]);
    const outs = [a.matmul(b), m.matmul(v), v.matmul(b), m.matmul(m.transpose())];
    await check(g, outs, {
      a: data([2, 1, 3, 4]),
      b: data([5, 4, 2], 'float32', -1, 1, 2),
      m: data([3, 4], 'float32', -1, 1, 3),
      v: data([4], 'float32', -1, 1, 4),
    });
  });

  test('2-layer MLP with params fed by name, explicit input order', async () => {
    const g = createGraph();
    const x = g.input('x', [4, 3]);
    const w1 = g.param('layer1.weight', [3, 8]);
    const b1 = g.param('layer1.bias', [8]);
    const w2 = g.param('layer2.weight', [8, 2]);
    const y = x.matmul(w1).add(b1).tanh().matmul(w2).named('y');
    const { inputNames, outputNames } = emitModel(g, [y]);
    assert.deepEqual(inputNames, ['x', 'layer1.weight', 'layer1.bias', 'layer2.weight']);
    assert.deepEqual(outputNames, ['y']);
    const feeds = {
      x: data([4, 3]),
      'layer1.weight': data([3, 8], 'float32', -1, 1, 2),
      'layer1.bias': data([8], 'float32', -1, 1, 3),
      'layer2.weight': data([8, 2], 'float32', -1, 1, 4),
    };
    await check(g, [y], feeds, [w2, x, b1, w1]);
  });

  test('weights baked as initializers are not graph inputs and give the same result', async () => {
    const g = createGraph();
    const x = g.input('x', [4, 3]);
    const w = g.param('w', [3, 2]);
    const y = x.matmul(w).tanh();
    const wData = data([3, 2], 'float32', -1, 1, 5);
    const { model, inputNames, outputNames } = emitModel(g, [y], { weights: new Map([['w', Float32Array.from(wData.data)]]) });
    assert.deepEqual(inputNames, ['x']);
    assert.throws(
      () => emitModel(g, [y], { weights: new Map([['w', new Float32Array(5)]]) }),
      /weight "w": expected 6 float32 values \(Float32Array\), got 5/,
    );
    const xData = data([4, 3]);
    await using session = await createSession(encodeModel(model));
    const got = await session.run({ x: toHost(xData) });
    assertAllClose(got[outputNames[0]].data as Float32Array, evaluate(g, [y], { x: xData, w: wData })[0].data, ORT_TOL, 'baked');
  });

  test('int64 graph: add/mul/sub/div exact, with int64 constants', async () => {
    const g = createGraph();
    const a = g.input('a', [2, 3], 'int64');
    const b = g.input('b', [3], 'int64');
    const outs = [a.add(b), a.mul(b), a.sub(3), a.mul(b).div(4), a.sum(0), a.neg()];
    await check(g, outs, { a: data([2, 3], 'int64', -1000, 1000), b: data([3], 'int64', -50, 50, 2) });
  });

  test('outputs that are inputs or repeated get their own names; unused branches are not emitted', async () => {
    const g = createGraph();
    const x = g.input('x', [3]);
    const unused = g.input('unused', [2]);
    unused.exp();
    const y = x.tanh();
    const { model, inputNames, outputNames } = emitModel(g, [y, x, y]);
    assert.deepEqual(inputNames, ['x']);
    assert.equal(new Set(outputNames).size, 3);
    assert.deepEqual(
      model.graph.nodes.map((n) => n.opType),
      ['Tanh', 'Identity', 'Identity'],
    );
    await check(g, [y, x, y], { x: data([3]) });
  });

  test('max observed ORT-vs-interpreter float error stays within tolerance', () => {
    assert.ok(ortErrors.max < 1e-5, `max error ${ortErrors.max}`);
    console.log(`# max |ORT - interp| (float32 outputs): ${ortErrors.max.toExponential(2)}`);
  });
});

describe('emitModel errors', () => {
  test('an op without a lower rule is named in the error', () => {
    const dummy = defineOp({
      name: 'dummy_square',
      infer: (inputs) => {
        if (inputs.length !== 1) throw new InferError('expected 1 operand');
        return [inputs[0]];
      },
      evaluate: ([x]) => [
        hostArray(
          x.shape,
          x.dtype,
          x.data.map((v) => v * v),
        ),
      ],
    });
    const ops = makeRegistry([...allOps, dummy]);
    const g = createGraph(ops);
    const y = g.apply('dummy_square', [g.input('x', [2]).exp()]);
    assert.throws(
      () => emitModel(g, [y], { ops }),
      (e: unknown) => {
        assert.ok(e instanceof EmitError);
        assert.match(e.message, /op 'dummy_square' has no ONNX lower rule/);
        return true;
      },
    );
  });

  test('explicit inputs must cover what the outputs need', () => {
    const g = createGraph();
    const x = g.input('x', [2]);
    const w = g.param('w', [2]);
    assert.throws(() => emitModel(g, [x.mul(w)], { inputs: [x] }), /absent from options\.inputs/);
  });

  test('float16 constants are emitted as binary16 initializers', async () => {
    const g = createGraph();
    const x = g.input('x', [3], 'float16');
    const y = x.add(0.5).mul(x.graph.constant(hostArray([3], 'float16', [1, 2, -3])));
    const { model, outputNames } = emitModel(g, [y]);
    await using session = await createSession(encodeModel(model));
    // x = [1, 0.25, 2]: (x + 0.5)·[1, 2, −3] = [1.5, 1.5, −7.5], all exact in float16
    const got = await session.run({ x: { dtype: 'float16', dims: [3], data: float32ToFloat16(Float32Array.of(1, 0.25, 2)) } });
    assert.deepEqual([...float16ToFloat32(got[outputNames[0]].data as Uint16Array)], [1.5, 1.5, -7.5]);
  });
});
