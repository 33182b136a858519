import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeModel, resolveOpsets } from '../../src/onnx/encode.js';
import { OnnxDataType as DT, type OnnxGraph } from '../../src/onnx/model.js';
import { OnnxEncodeError } from '../../src/onnx/validate.js';
import { float16ToFloat32, float32ToFloat16 } from '../../src/runtime/tensors.js';
import { assertAllClose } from '../helpers/assert-close.js';
import { f32, runGraph, seq } from './run-model.js';

const io = (name: string, shape: (number | string)[], dataType: (typeof DT)[keyof typeof DT] = DT.FLOAT) => ({ name, dataType, shape });

describe('encodeModel runs in ORT CPU', () => {
  test('Add broadcasts [2,3] + [3]', async () => {
    const a = seq(6);
    const b = new Float32Array([10, 20, 30]);
    const graph: OnnxGraph = {
      name: 'add',
      nodes: [{ opType: 'Add', inputs: ['a', 'b'], outputs: ['y'] }],
      inputs: [io('a', [2, 3]), io('b', [3])],
      outputs: [io('y', [2, 3])],
      initializers: [],
    };
    const out = await runGraph(graph, { a: { dtype: 'float32', dims: [2, 3], data: a }, b: { dtype: 'float32', dims: [3], data: b } });
    assert.deepEqual(out.y.dims, [2, 3]);
    assert.deepEqual([...f32(out.y)], [10, 21, 32, 13, 24, 35]);
  });

  test('MatMul with an initializer weight', async () => {
    const x = seq(2 * 3, 0.5, -1);
    const w = seq(3 * 4, 0.25, -1);
    const expected = new Float32Array(8);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 3; k++) expected[i * 4 + j] += x[i * 3 + k] * w[k * 4 + j];
    const graph: OnnxGraph = {
      name: 'matmul',
      nodes: [{ opType: 'MatMul', name: 'mm', inputs: ['x', 'w'], outputs: ['y'] }],
      inputs: [io('x', [2, 3])],
      outputs: [io('y', [2, 4])],
      initializers: [{ name: 'w', dataType: DT.FLOAT, dims: [3, 4], data: w }],
    };
    const out = await runGraph(graph, { x: { dtype: 'float32', dims: [2, 3], data: x } });
    assertAllClose(f32(out.y), expected, { atol: 1e-5 });
  });

  test('Conv 2D with pads, strides (int lists) and bias', async () => {
    const [H, W, K, C] = [5, 5, 3, 2];
    const x = seq(H * W, 0.1);
    const w = seq(C * K * K, 0.3, -2);
    const bias = new Float32Array([0.5, -1]);
    const OH = Math.floor((H + 2 - K) / 2) + 1;
    const OW = Math.floor((W + 2 - K) / 2) + 1;
    const expected = new Float32Array(C * OH * OW);
    for (let c = 0; c < C; c++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let acc = bias[c];
          for (let ky = 0; ky < K; ky++)
            for (let kx = 0; kx < K; kx++) {
              const iy = oy * 2 - 1 + ky;
              const ix = ox * 2 - 1 + kx;
              if (iy >= 0 && iy < H && ix >= 0 && ix < W) acc += x[iy * W + ix] * w[c * K * K + ky * K + kx];
            }
          expected[c * OH * OW + oy * OW + ox] = acc;
        }
    const graph: OnnxGraph = {
      name: 'conv',
      nodes: [
        {
          opType: 'Conv',
          inputs: ['x', 'w', 'b'],
          outputs: ['y'],
          attributes: {
            pads: { kind: 'ints', value: [1, 1, 1, 1] },
            strides: { kind: 'ints', value: [2, 2] },
            kernel_shape: { kind: 'ints', value: [K, K] },
          },
        },
      ],
      inputs: [io('x', [1, 1, H, W])],
      outputs: [io('y', [1, C, OH, OW])],
      initializers: [
        { name: 'w', dataType: DT.FLOAT, dims: [C, 1, K, K], data: w },
        { name: 'b', dataType: DT.FLOAT, dims: [C], data: bias },
      ],
    };
    const out = await runGraph(graph, { x: { dtype: 'float32', dims: [1, 1, H, W], data: x } });
    assert.deepEqual(out.y.dims, [1, C, OH, OW]);
    assertAllClose(f32(out.y), expected, { atol: 1e-4 });
  });

  test('Gemm with float attributes alpha/beta and transB', async () => {
    const a = seq(6, 1, -2); // [2,3]
    const b = seq(12, 0.5, -3); // [4,3], transposed
    const c = new Float32Array([1, 2, 3, 4]);
    const expected = new Float32Array(8);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 4; j++) {
        let acc = 0;
        for (let k = 0; k < 3; k++) acc += a[i * 3 + k] * b[j * 3 + k];
        expected[i * 4 + j] = 0.5 * acc + 2 * c[j];
      }
    const graph: OnnxGraph = {
      name: 'gemm',
      nodes: [
        {
          opType: 'Gemm',
          inputs: ['a', 'b', 'c'],
          outputs: ['y'],
          attributes: { alpha: { kind: 'float', value: 0.5 }, beta: { kind: 'float', value: 2 }, transB: { kind: 'int', value: 1 } },
        },
      ],
      inputs: [io('a', [2, 3])],
      outputs: [io('y', [2, 4])],
      initializers: [
        { name: 'b', dataType: DT.FLOAT, dims: [4, 3], data: b },
        { name: 'c', dataType: DT.FLOAT, dims: [4], data: c },
      ],
    };
    const out = await runGraph(graph, { a: { dtype: 'float32', dims: [2, 3], data: a } });
    assertAllClose(f32(out.y), expected, { atol: 1e-5 });
  });

  test('Resize with string attributes (nearest, asymmetric, floor) and an omitted optional input', async () => {
    const x = new Float32Array([1, 2, 3, 4]);
    const graph: OnnxGraph = {
      name: 'resize',
      nodes: [
        {
          opType: 'Resize',
          inputs: ['x', '', 'scales'],
          outputs: ['y'],
          attributes: {
            mode: { kind: 'string', value: 'nearest' },
            coordinate_transformation_mode: { kind: 'string', value: 'asymmetric' },
            nearest_mode: { kind: 'string', value: 'floor' },
          },
        },
      ],
      inputs: [io('x', [1, 1, 2, 2])],
      outputs: [io('y', [1, 1, 4, 4])],
      initializers: [{ name: 'scales', dataType: DT.FLOAT, dims: [4], data: new Float32Array([1, 1, 2, 2]) }],
    };
    const out = await runGraph(graph, { x: { dtype: 'float32', dims: [1, 1, 2, 2], data: x } });
    const expected = Array.from({ length: 16 }, (_, i) => x[Math.floor(Math.floor(i / 4) / 2) * 2 + Math.floor((i % 4) / 2)]);
    assert.deepEqual([...f32(out.y)], expected);
  });

  test('com.microsoft Gelu gets its opset import automatically', async () => {
    const graph: OnnxGraph = {
      name: 'gelu',
      nodes: [{ opType: 'Gelu', domain: 'com.microsoft', inputs: ['x'], outputs: ['y'] }],
      inputs: [io('x', [5])],
      outputs: [io('y', [5])],
      initializers: [],
    };
    assert.deepEqual(resolveOpsets({ graph }), [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ]);
    const x = new Float32Array([-3, -1, 0, 0.5, 2]);
    const out = await runGraph(graph, { x: { dtype: 'float32', dims: [5], data: x } });
    // Reference values of 0.5*x*(1+erf(x/sqrt 2)).
    assertAllClose(f32(out.y), [-0.00404969, -0.15865525, 0, 0.34573123, 1.95449974], { atol: 1e-5 });
  });

  test('Cast to float16 and back matches the TS float16 rounding', async () => {
    const x = new Float32Array([0, 1 / 3, -2.7182817, 65504, 70000, 1e-6, -1e-8, 1024.5]);
    const graph: OnnxGraph = {
      name: 'cast',
      nodes: [
        { opType: 'Cast', inputs: ['x'], outputs: ['h'], attributes: { to: { kind: 'int', value: DT.FLOAT16 } } },
        { opType: 'Cast', inputs: ['h'], outputs: ['y'], attributes: { to: { kind: 'int', value: DT.FLOAT } } },
      ],
      inputs: [io('x', [8])],
      outputs: [io('h', [8], DT.FLOAT16), io('y', [8])],
      initializers: [],
    };
    const out = await runGraph(graph, { x: { dtype: 'float32', dims: [8], data: x } });
    const half = float32ToFloat16(x);
    assert.equal(out.h.dtype, 'float16');
    assert.deepEqual([...(out.h.data as Uint16Array)], [...half]);
    assert.deepEqual([...f32(out.y)], [...float16ToFloat32(half)]);
  });

  test('int64 initializer (Reshape shape with -1), negative int attribute and a tensor attribute', async () => {
    const graph: OnnxGraph = {
      name: 'reshape',
      nodes: [
        { opType: 'Reshape', inputs: ['x', 'shape'], outputs: ['r'] },
        {
          opType: 'Constant',
          inputs: [],
          outputs: ['k'],
          attributes: {
            value: { kind: 'tensor', value: { name: 'kv', dataType: DT.FLOAT, dims: [3, 1], data: new Float32Array([7, 8, 9]) } },
          },
        },
        { opType: 'Concat', inputs: ['r', 'k'], outputs: ['y'], attributes: { axis: { kind: 'int', value: -1 } } },
      ],
      inputs: [io('x', [2, 3])],
      outputs: [io('y', [3, 3])],
      initializers: [{ name: 'shape', dataType: DT.INT64, dims: [2], data: new BigInt64Array([3n, -1n]) }],
    };
    const out = await runGraph(graph, { x: { dtype: 'float32', dims: [2, 3], data: seq(6) } });
    assert.deepEqual(out.y.dims, [3, 3]);
    assert.deepEqual([...f32(out.y)], [0, 1, 7, 2, 3, 8, 4, 5, 9]);
  });

  test('symbolic batch dim runs at two batch sizes', async () => {
    const graph: OnnxGraph = {
      name: 'batch',
      nodes: [
        { opType: 'Mul', inputs: ['x', 's'], outputs: ['m'] },
        { opType: 'ReduceSum', inputs: ['m', 'axes'], outputs: ['y'], attributes: { keepdims: { kind: 'int', value: 0 } } },
      ],
      inputs: [io('x', ['batch', 3])],
      outputs: [io('y', ['batch'])],
      initializers: [
        { name: 's', dataType: DT.FLOAT, dims: [3], data: new Float32Array([1, 10, 100]) },
        { name: 'axes', dataType: DT.INT64, dims: [1], data: new BigInt64Array([1n]) },
      ],
      valueInfo: [io('m', ['batch', 3])],
    };
    for (const batch of [1, 4]) {
      const x = seq(batch * 3);
      const out = await runGraph(graph, { x: { dtype: 'float32', dims: [batch, 3], data: x } });
      const expected = Array.from({ length: batch }, (_, i) => x[i * 3] + 10 * x[i * 3 + 1] + 100 * x[i * 3 + 2]);
      assert.deepEqual(out.y.dims, [batch]);
      assert.deepEqual([...f32(out.y)], expected);
    }
  });

  test('Constant with floats/ints attributes and explicit opset/irVersion', async () => {
    const graph: OnnxGraph = {
      name: 'const',
      nodes: [
        { opType: 'Constant', inputs: [], outputs: ['f'], attributes: { value_floats: { kind: 'floats', value: [1.5, -2] } } },
        { opType: 'Constant', inputs: [], outputs: ['i'], attributes: { value_ints: { kind: 'ints', value: [2 ** 40, -3] } } },
      ],
      inputs: [],
      outputs: [io('f', [2]), io('i', [2], DT.INT64)],
      initializers: [],
    };
    const out = await runGraph(graph, {}, { irVersion: 9, opsetImports: [{ domain: '', version: 19 }], producerName: 'test' });
    assert.deepEqual([...f32(out.f)], [1.5, -2]);
    assert.deepEqual([...(out.i.data as BigInt64Array)], [2n ** 40n, -3n]);
  });
});

describe('encodeModel validation', () => {
  const base = (): OnnxGraph => ({
    name: 'g',
    nodes: [{ opType: 'Relu', name: 'relu1', inputs: ['x'], outputs: ['y'] }],
    inputs: [io('x', [2])],
    outputs: [io('y', [2])],
    initializers: [],
  });

  test('duplicate value names are reported with both definitions', () => {
    const g = base();
    g.nodes.push({ opType: 'Relu', inputs: ['x'], outputs: ['y'] });
    assert.throws(
      () => encodeModel({ graph: g }),
      (e: Error) => e instanceof OnnxEncodeError && /duplicate value name 'y'.*relu1/.test(e.message),
    );
    const g2 = base();
    g2.inputs.push(io('x', [3]));
    assert.throws(() => encodeModel({ graph: g2 }), /duplicate value name 'x'/);
  });

  test('dangling and out-of-order node inputs are reported', () => {
    const g = base();
    g.nodes[0].inputs = ['nope'];
    assert.throws(() => encodeModel({ graph: g }), /node #0 \(Relu 'relu1'\): input 'nope' is not a graph input/);
    const g2 = base();
    g2.nodes.unshift({ opType: 'Neg', inputs: ['y'], outputs: ['z'] });
    assert.throws(() => encodeModel({ graph: g2 }), /node #0 \(Neg\): input 'y'/);
    const g3 = base();
    g3.outputs.push(io('missing', [1]));
    assert.throws(() => encodeModel({ graph: g3 }), /graph output 'missing'/);
  });

  test('tensor data length and array type must match', () => {
    const g = base();
    g.initializers.push({ name: 'w', dataType: DT.FLOAT, dims: [2, 3], data: new Float32Array(5) });
    assert.throws(() => encodeModel({ graph: g }), /initializer 'w': data has 5 elements but dims \[2, 3\] need 6/);
    const g2 = base();
    g2.initializers.push({ name: 'w', dataType: DT.INT64, dims: [1], data: new Int32Array(1) });
    assert.throws(() => encodeModel({ graph: g2 }), /INT64 data must be a BigInt64Array/);
    const g3 = base();
    g3.nodes[0].attributes = { t: { kind: 'tensor', value: { name: 't', dataType: DT.FLOAT, dims: [2], data: new Float32Array(1) } } };
    assert.throws(() => encodeModel({ graph: g3 }), /attribute 't': data has 1 elements/);
  });

  test('initializer may share a graph input name (overridable default)', () => {
    const g = base();
    g.initializers.push({ name: 'x', dataType: DT.FLOAT, dims: [2], data: new Float32Array(2) });
    assert.ok(encodeModel({ graph: g }).length > 0);
  });
});
