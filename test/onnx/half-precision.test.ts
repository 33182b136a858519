/**
 * The float16 rewrite (used on GPUs): its structure (a float32 interface, float16 inside, Resize's scales left
 * in float32), and its numbers: the tiny UNet and a full generation in float16, run by ORT (on CPU, which casts
 * where it lacks float16 kernels), stay within float16's precision of float32.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toHalfPrecision } from '../../src/onnx/half-precision.js';
import { OnnxDataType, type OnnxModel } from '../../src/onnx/model.js';
import { loadPipeline } from '../../src/pipelines/index.js';
import { fixture } from '../helpers/model-parity.js';

const F = OnnxDataType.FLOAT;
const H = OnnxDataType.FLOAT16;

describe('toHalfPrecision', () => {
  const model: OnnxModel = {
    graph: {
      name: 'g',
      inputs: [
        { name: 'x', dataType: F, shape: [1, 2, 2, 2] },
        { name: 'ids', dataType: OnnxDataType.INT64, shape: [1] },
      ],
      outputs: [{ name: 'y', dataType: F, shape: [1, 2, 4, 4] }],
      initializers: [
        { name: 'w', dataType: F, dims: [2], data: Float32Array.of(1.5, -2) },
        { name: 'scales', dataType: F, dims: [4], data: Float32Array.of(1, 1, 2, 2) },
        { name: 'deferred', dataType: F, dims: [2], data: new Float32Array(0) },
      ],
      nodes: [
        { opType: 'Resize', inputs: ['x', '', 'scales'], outputs: ['r'] },
        { opType: 'Cast', inputs: ['ids'], outputs: ['idsf'], attributes: { to: { kind: 'int', value: F } } },
        { opType: 'Mul', inputs: ['r', 'idsf'], outputs: ['y'] },
      ],
    },
  };

  test('float inputs and outputs keep float32 through casts; float initializers and casts become float16', () => {
    const { model: half, replaced } = toHalfPrecision(model);
    const g = half.graph;
    assert.deepEqual(g.inputs, model.graph.inputs);
    assert.deepEqual(g.outputs, model.graph.outputs);
    assert.deepEqual(g.nodes[0], {
      opType: 'Cast',
      name: 'x__f16_cast',
      inputs: ['x'],
      outputs: ['x__f16'],
      attributes: { to: { kind: 'int', value: H } },
    });
    assert.deepEqual(g.nodes[1].inputs, ['x__f16', '', 'scales']);
    assert.deepEqual(g.nodes[2].attributes, { to: { kind: 'int', value: H } });
    assert.deepEqual(g.nodes[3].outputs, ['y__f16']);
    assert.deepEqual(g.nodes.at(-1), {
      opType: 'Cast',
      name: 'y__f16_cast',
      inputs: ['y__f16'],
      outputs: ['y'],
      attributes: { to: { kind: 'int', value: F } },
    });
    const byName = new Map(g.initializers.map((t) => [t.name, t]));
    assert.equal(byName.get('w')!.dataType, H);
    assert.deepEqual(byName.get('w')!.data, Uint16Array.of(0x3e00, 0xc000));
    assert.equal(byName.get('scales')!.dataType, F, "Resize's scales are float32 in every model");
    assert.equal(byName.get('deferred')!.dataType, H);
    assert.equal(byName.get('deferred')!.data.length, 0, 'deferred data is produced later');
    assert.equal(replaced.get(model.graph.initializers[2]), byName.get('deferred'));
    assert.ok(!replaced.has(model.graph.initializers[1]));
  });
});

describe('float16 pipeline', () => {
  test('UNet noise prediction and a 2-step generation stay within float16 precision of float32', async () => {
    await using full = await loadPipeline(fixture('tiny-sd'), { offload: 'none' });
    await using half = await loadPipeline(fixture('tiny-sd'), { offload: 'none', precision: 'float16' });
    const emb = await full.encodePrompts(['a photo of a cat']);
    const latents = Float32Array.from({ length: 4 * 8 * 8 }, (_, i) => Math.sin(i * 0.7));
    const cond = { embeds: emb.embeds, dims: emb.dims as [number, number, number] };
    const a = await full.predictNoise(latents, 1, 8, 8, 500, cond);
    const b = await half.predictNoise(latents, 1, 8, 8, 500, cond);
    const scale = a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const err = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    assert.ok(scale > 0.1, 'a non-trivial prediction');
    assert.ok(err / scale < 1e-2, `max |fp32 − fp16| = ${err} against max |ε| = ${scale}`);
    assert.ok(err > 0, 'the float16 model really computed in float16');
    const request = { prompt: 'a photo of a cat', steps: 2, guidanceScale: 1.7, eta: 0.2, seed: 3, width: 64, height: 64 };
    const x = (await full.txt2img(request)).images[0].pixels;
    const y = (await half.txt2img(request)).images[0].pixels;
    const meanAbs = x.reduce((s, v, i) => s + Math.abs(v - y[i]), 0) / x.length;
    assert.ok(meanAbs < 2, `mean |Δpixel| = ${meanAbs} of 255`);
  });
});
