import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { grad } from '../../src/autodiff/index.js';
import { evaluate } from '../../src/interp/index.js';
import { hostArray, type Graph, type HostArray, type Value } from '../../src/ir/index.js';
import { clipTextModel, parseClipTextConfig } from '../../src/models/clip/index.js';
import { parseUNetConfig, unet2DConditionModel } from '../../src/models/unet/index.js';
import {
  conv,
  fuseLora,
  fusedWeight,
  initLoraWeights,
  linear,
  LoraAdapterSet,
  loraModulesFromWeights,
  loraScaleFeeds,
  loraSlotFromMatch,
  loraSlotWeights,
  loraTrainingSlot,
  Scope,
  splitLoraParams,
  UnfusedLora,
  type LoraSlotSpec,
} from '../../src/nn/index.js';
import { emitModel } from '../../src/onnx/emit.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { createGraph } from '../../src/ops/index.js';
import { createSession } from '../../src/runtime/session.js';
import type { HostTensor } from '../../src/runtime/tensors.js';
import {
  FileTensorSource,
  loadParams,
  LoraError,
  matchLora,
  parseLora,
  SafetensorsFile,
  writeLora,
  type LoraComponent,
  type LoraTarget,
} from '../../src/weights/index.js';
import { compare, f32, fixture } from '../helpers/model-parity.js';

type Matched = Map<string, LoraTarget>;

/** A model graph (UNet or text encoder) with its base weights, inputs and output. */
interface Model {
  graph: Graph;
  out: Value;
  base: Map<string, Float32Array>;
  feeds: Record<string, HostTensor>;
  lora?: UnfusedLora;
}

let ref: SafetensorsFile; // tiny-sd-reference: inputs and base outputs
let loraRef: SafetensorsFile; // lora-reference: fused weights and outputs
const adapters: Record<'kohya' | 'peft', Record<'unet' | 'text_encoder', Matched>> = {} as never;

function loadBase(graph: Graph, ...path: string[]): Map<string, Float32Array> {
  const source = FileTensorSource.open(fixture(...path));
  try {
    const { weights, unused } = loadParams(
      source,
      graph.params.filter((p) => !p.name!.startsWith('lora.')),
    );
    assert.deepEqual(unused, []);
    return weights;
  } finally {
    source.close();
  }
}

function buildUNet(slots: LoraSlotSpec[] = []): Model {
  const graph = createGraph();
  const root = new Scope(graph);
  const lora = slots.length ? new UnfusedLora(root, slots) : undefined;
  const config = parseUNetConfig(JSON.parse(readFileSync(fixture('tiny-sd', 'unet', 'config.json'), 'utf8')));
  const out = unet2DConditionModel(lora ? lora.attach(root) : root, config, {
    sample: graph.input('sample', [2, 4, 32, 32]),
    timestep: graph.input('timestep', [2]),
    encoderHiddenStates: graph.input('ehs', [2, 77, 32]),
  });
  lora?.assertApplied();
  const feeds = {
    sample: f32([2, 4, 32, 32], ref.float32('unet.in.sample')),
    timestep: f32([2], Float32Array.from(ref.int64('unet.in.timesteps'), Number)),
    ehs: f32([2, 77, 32], ref.float32('unet.in.encoder_hidden_states')),
  };
  return { graph, out, base: loadBase(graph, 'tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors'), feeds, lora };
}

function buildTextEncoder(slots: LoraSlotSpec[] = []): Model {
  const graph = createGraph();
  const root = new Scope(graph);
  const lora = slots.length ? new UnfusedLora(root, slots) : undefined;
  const config = parseClipTextConfig(JSON.parse(readFileSync(fixture('tiny-sd', 'text_encoder', 'config.json'), 'utf8')));
  const { lastHiddenState } = clipTextModel(lora ? lora.attach(root) : root, config, graph.input('input_ids', [2, 77], 'int64'));
  lora?.assertApplied();
  const feeds: Record<string, HostTensor> = { input_ids: { dtype: 'int64', dims: [2, 77], data: ref.int64('te.in.input_ids') } };
  return { graph, out: lastHiddenState, base: loadBase(graph, 'tiny-sd', 'text_encoder', 'model.safetensors'), feeds, lora };
}

/** One ORT session: `baked` weights are initializers, every other parameter is fed per run with the inputs. */
async function withSession(
  model: Model,
  baked: ReadonlyMap<string, Float32Array> | undefined,
  use: (run: (fed: ReadonlyMap<string, Float32Array>, extra?: Record<string, HostTensor>) => Promise<Float32Array>) => Promise<void>,
): Promise<void> {
  const { model: onnx, outputNames } = emitModel(model.graph, [model.out], { weights: baked });
  await using session = await createSession(encodeModel(onnx));
  await use(async (fed, extra = {}) => {
    const feeds: Record<string, HostTensor> = { ...model.feeds, ...extra };
    for (const [name, data] of fed) feeds[name] = f32([...model.graph.get(name)!.shape], data);
    return (await session.run(feeds))[outputNames[0]].data as Float32Array;
  });
}

const refOut = (component: LoraComponent, scale: string): Float32Array =>
  loraRef.float32(component === 'unet' ? `scale_${scale}.unet.out` : `scale_${scale}.te.last_hidden_state`);
const baseOut = (component: LoraComponent): Float32Array => ref.float32(component === 'unet' ? 'unet.out' : 'te.last_hidden_state');

before(() => {
  ref = SafetensorsFile.open(fixture('tiny-sd-reference.safetensors'));
  loraRef = SafetensorsFile.open(fixture('lora-reference.safetensors'));
  const shapes = (...path: string[]): Map<string, readonly number[]> => {
    const file = SafetensorsFile.open(fixture(...path));
    const map = new Map([...file.tensors.keys()].map((k) => [k, file.info(k).shape]));
    file.close();
    return map;
  };
  const unet = shapes('tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors');
  const te = shapes('tiny-sd', 'text_encoder', 'model.safetensors');
  for (const format of ['kohya', 'peft'] as const) {
    const source = FileTensorSource.open(fixture('lora', `tiny-sd-lora-${format}.safetensors`));
    const adapter = parseLora(source);
    source.close();
    adapters[format] = {
      unet: matchLora(adapter, 'unet', unet, { strict: true }).matched,
      text_encoder: matchLora(adapter, 'text_encoder', te, { strict: true }).matched,
    };
  }
});
after(() => {
  ref.close();
  loraRef.close();
});

describe('fused LoRA', () => {
  test('fused weights equal the reference fused_weight.* (kohya and peft)', () => {
    const unet = loadBase(buildUNet().graph, 'tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors');
    for (const module of ['down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', 'down_blocks.0.resnets.0.conv1']) {
      const expected = loraRef.float32(`fused_weight.unet.${module}`);
      for (const format of ['kohya', 'peft'] as const) {
        const key = `${module}.weight`;
        const fused = fusedWeight(unet.get(key)!, [{ target: adapters[format].unet.get(key)!, scale: 1 }]);
        const maxRef = expected.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        const maxDiff = fused.reduce((m, x, i) => Math.max(m, Math.abs(x - expected[i])), 0);
        console.log(`  ${format} fused ${module}: max|diff| ${maxDiff.toExponential(2)} (max|ref| ${maxRef.toFixed(3)})`);
        assert.ok(maxDiff <= 1e-6 * maxRef, `${format} ${module}: ${maxDiff}`);
      }
    }
  });

  for (const [component, build] of [
    ['unet', buildUNet],
    ['text_encoder', buildTextEncoder],
  ] as const) {
    test(`${component}: outputs with the LoRA fused at scale 1.0 and 0.5 (both files); unfuse restores the exact weights`, async () => {
      const model = build();
      const weights = new Map(model.base);
      await withSession(model, undefined, async (run) => {
        compare(`${component} base`, await run(weights), baseOut(component));
        for (const format of ['kohya', 'peft'] as const) {
          for (const scale of ['1.0', '0.5']) {
            const fused = fuseLora(weights, adapters[format][component], Number(scale));
            compare(`${component} ${format} fused at ${scale}`, await run(weights), refOut(component, scale));
            fused.unfuse();
          }
        }
      });
      for (const [key, array] of model.base) assert.equal(weights.get(key), array, `${key} is not the original array after unfuse`);
    });
  }

  test('stacked fusions unfuse in reverse order only; the originals come back bit-exact', () => {
    const weights = new Map(buildUNet().base);
    const copies = new Map([...weights].map(([k, v]) => [k, v.slice()]));
    const a = fuseLora(weights, adapters.kohya.unet, 1);
    const b = fuseLora(weights, adapters.peft.unet, -1);
    assert.throws(() => a.unfuse(), /changed since this LoRA was fused/);
    b.unfuse();
    a.unfuse();
    for (const [k, v] of copies) assert.deepEqual(weights.get(k), v, k);
  });
});

describe('LoraAdapterSet (set_adapters)', () => {
  test('two adapters with weights 0.25 + 0.25 reproduce the scale-0.5 output; disable gives back the base arrays', async () => {
    const model = buildUNet();
    const set = new LoraAdapterSet(model.base).add('kohya', adapters.kohya.unet).add('peft', adapters.peft.unet);
    set.setAdapters(['kohya', 'peft'], [0.25, 0.25]);
    await withSession(model, undefined, async (run) => {
      compare('unet kohya·0.25 + peft·0.25', await run(set.weights), refOut('unet', '0.5'));
    });
    set.disable();
    for (const [key, array] of model.base) assert.equal(set.weights.get(key), array, key);
  });

  test('mixing a second, different adapter: each touched weight is W + Σ s·(α/r)·up·down', () => {
    const base = buildUNet().base;
    const q = 'down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight';
    const other: LoraTarget = {
      ...adapters.kohya.unet.get(q)!,
      alpha: 1,
      up: { shape: [64, 4], data: Float32Array.from({ length: 256 }, (_, i) => Math.sin(i)) },
    };
    const set = new LoraAdapterSet(base).add('a', adapters.kohya.unet).add('b', new Map([[q, other]]));
    set.setAdapters(['a', 'b'], [1, 0.3]);
    const a = adapters.kohya.unet.get(q)!;
    const w = base.get(q)!;
    const naive = w.map((x, i) => {
      const [o, c] = [Math.floor(i / 64), i % 64];
      let d = 0;
      for (let r = 0; r < 4; r++)
        d += 0.5 * a.up.data[o * 4 + r] * a.down.data[r * 64 + c] + 0.3 * 0.25 * other.up.data[o * 4 + r] * other.down.data[r * 64 + c];
      return x + d;
    });
    assert.ok(set.weights.get(q)!.every((x, i) => Math.abs(x - naive[i]) <= 1e-6 * Math.abs(naive[i]) + 1e-7));
    set.setAdapters('b', 0.3); // only b: the conv weight a touched is back to the base array
    assert.equal(set.weights.get('down_blocks.0.resnets.0.conv1.weight'), base.get('down_blocks.0.resnets.0.conv1.weight'));
    assert.throws(() => set.setAdapters(['a', 'c']), /unknown adapter\(s\) "c" \(loaded: a, b\)/);
    set.delete('b');
    assert.equal(set.weights.get(q), base.get(q));
  });
});

describe('unfused LoRA (graph inputs)', () => {
  for (const [component, build] of [
    ['unet', buildUNet],
    ['text_encoder', buildTextEncoder],
  ] as const) {
    test(`${component}: one compiled model serves scales 1.0 / 0.5 / 0, both files, and two adapters mixed`, async () => {
      const model = build([loraSlotFromMatch('a', adapters.kohya[component]), loraSlotFromMatch('b', adapters.kohya[component])]);
      const lora = model.lora!;
      const { base, lora: loraParams } = splitLoraParams(model.graph.params);
      assert.equal(loraParams.length, 2 * 2 * adapters.kohya[component].size);
      assert.equal(base.length, model.base.size);
      const kohyaA = loraSlotWeights(lora, 'a', adapters.kohya[component]);
      const peftB = loraSlotWeights(lora, 'b', adapters.peft[component]);
      const both = new Map([...kohyaA, ...peftB]);
      await withSession(model, model.base, async (run) => {
        const scaled = async (a: number, b: number) => run(both, loraScaleFeeds(lora, { a, b }));
        compare(`${component} unfused kohya at 1.0`, await scaled(1, 0), refOut(component, '1.0'));
        compare(`${component} unfused peft at 0.5`, await scaled(0, 0.5), refOut(component, '0.5'));
        compare(`${component} unfused kohya·0.25 + peft·0.25`, await scaled(0.25, 0.25), refOut(component, '0.5'));
        compare(`${component} unfused at scale 0`, await scaled(0, 0), baseOut(component));
        const swapped = new Map([...loraSlotWeights(lora, 'a', adapters.peft[component]), ...loraSlotWeights(lora, 'b', new Map())]);
        compare(
          `${component} unfused, peft fed into slot a`,
          await run(swapped, loraScaleFeeds(lora, { a: 1, b: 1 })),
          refOut(component, '1.0'),
        );
      });
    });
  }

  test('float16 weights: LoRA parameters and scale stay float32, ΔW is cast to the weight dtype', () => {
    const graph = createGraph();
    const root = new Scope(graph, '', 'float16');
    const lora = new UnfusedLora(root, [loraTrainingSlot('t', ['proj.weight'], { rank: 2 })]);
    const y = linear(lora.attach(root).sub('proj'), graph.input('x', [1, 3], 'float16'), 4);
    assert.equal(y.dtype, 'float16');
    assert.deepEqual(
      lora.params.map((p) => `${p.name} ${p.dtype} [${p.shape.join(', ')}]`),
      ['lora.t.proj.weight.down float32 [2, 3]', 'lora.t.proj.weight.up float32 [4, 2]'],
    );
  });

  test('slots and feeds are checked against the model and the adapter', () => {
    const q = 'down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight';
    assert.throws(
      () => buildUNet([loraTrainingSlot('t', [q, 'no.such.weight'], { rank: 2 })]),
      /LoRA slot "t": the model has no parameter no\.such\.weight/,
    );
    const model = buildUNet([loraTrainingSlot('t', [q], { rank: 2 })]);
    assert.throws(
      () => loraSlotWeights(model.lora!, 't', new Map([[q, adapters.kohya.unet.get(q)!]])),
      /rank 4; slot "t" has rank 2 for down_blocks\.1\..*to_q\.weight/,
    );
    assert.throws(() => loraSlotWeights(model.lora!, 't', adapters.kohya.unet), /slot "t" has no place for .* and 27 more/);
    assert.throws(() => loraScaleFeeds(model.lora!, { x: 1 }), /unknown slot x, no scale for slot t/);
    assert.throws(() => loraSlotWeights(model.lora!, 'u', new Map()), LoraError);
  });
});

describe('training a new LoRA and exporting it', () => {
  /** A small model: a Linear and a 3×3 Conv, both LoRA targets. */
  function tiny(slot: LoraSlotSpec): { graph: Graph; y: Value; lora: UnfusedLora; base: Map<string, HostArray> } {
    const graph = createGraph();
    const root = new Scope(graph);
    const lora = new UnfusedLora(root, [slot]);
    const s = lora.attach(root);
    const h = linear(s.sub('proj'), graph.input('x', [1, 2, 2, 6]), 5);
    const y = conv(s.sub('conv'), h, 3, { kernel: 3, padding: 1 });
    lora.assertApplied();
    const values = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(i * k));
    const base = new Map<string, HostArray>([['x', hostArray([1, 2, 2, 6], 'float32', values(24, 1.3))]]);
    for (const p of splitLoraParams(graph.params).base)
      base.set(
        p.name!,
        hostArray(
          p.shape,
          'float32',
          values(
            p.shape.reduce((a, b) => a * b, 1),
            0.7,
          ),
        ),
      );
    return { graph, y, lora, base };
  }
  const keys = ['proj.weight', 'conv.weight'];
  const feedsOf = (
    base: Map<string, HostArray>,
    lora: UnfusedLora,
    arrays: Map<string, Float32Array>,
    scale: number,
  ): Map<string, HostArray> => {
    const feeds = new Map(base);
    for (const [name, data] of arrays) feeds.set(name, hostArray(lora.params.find((p) => p.name === name)!.shape, 'float32', data));
    for (const [name, t] of Object.entries(loraScaleFeeds(lora, Object.fromEntries([...lora.slots.keys()].map((n) => [n, scale])))))
      feeds.set(name, hostArray([], 'float32', t.data as Float32Array));
    return feeds;
  };

  test('peft init starts at the base model with a gradient on up; export → parse → feed reproduces the trained model', () => {
    const m = tiny(loraTrainingSlot('train', keys, { rank: 2, alpha: 4 }));
    const init = initLoraWeights(m.lora, 'train', 1);
    const down = init.get('lora.train.conv.weight.down')!;
    assert.ok(down.every((x) => Math.abs(x) <= 1 / Math.sqrt(2 * 3 * 3)) && down.some((x) => x !== 0));
    assert.ok(init.get('lora.train.conv.weight.up')!.every((x) => x === 0));
    const noLora = evaluate(m.graph, [m.y], feedsOf(m.base, m.lora, init, 0))[0].data;
    assert.deepEqual(evaluate(m.graph, [m.y], feedsOf(m.base, m.lora, init, 1))[0].data, noLora);
    const [gUp] = grad(m.y.sum(), [m.lora.params.find((p) => p.name === 'lora.train.conv.weight.up')!]);
    assert.ok(evaluate(m.graph, [gUp], feedsOf(m.base, m.lora, init, 1))[0].data.some((x) => x !== 0));

    const trained = new Map([...init].map(([k, v]) => [k, v.map((_, i) => Math.cos(i + k.length) * 0.3)]));
    const expected = evaluate(m.graph, [m.y], feedsOf(m.base, m.lora, trained, 0.7))[0].data;
    const dir = mkdtempSync(join(tmpdir(), 'lora-train-'));
    try {
      for (const format of ['kohya', 'peft'] as const) {
        const path = join(dir, `${format}.safetensors`);
        writeLora(path, { unet: loraModulesFromWeights(m.lora, 'train', trained) }, format);
        const source = FileTensorSource.open(path);
        const adapter = parseLora(source);
        source.close();
        assert.deepEqual(
          adapter.targets.map((t) => t.alpha),
          format === 'kohya' ? [4, 4] : [null, null],
        );
        const matched = matchLora(adapter, 'unet', splitLoraParams(m.graph.params).base, { strict: true }).matched;
        const inference = tiny(loraSlotFromMatch('loaded', matched));
        const y = evaluate(
          inference.graph,
          [inference.y],
          feedsOf(inference.base, inference.lora, loraSlotWeights(inference.lora, 'loaded', matched), 0.7),
        )[0].data;
        const maxDiff = y.reduce((d, v, i) => Math.max(d, Math.abs(v - expected[i])), 0);
        assert.ok(maxDiff <= 1e-5, `${format} round trip: max|diff| ${maxDiff}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
