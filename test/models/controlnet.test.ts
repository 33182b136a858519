import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Value } from '../../src/ir/index.js';
import {
  controlNetConfigFromUNet,
  ControlNetConfigError,
  controlNetImageFactor,
  controlNetModel,
  isZeroInitialisedKey,
  parseControlNetConfig,
  type ControlNetConfig,
} from '../../src/models/controlnet/index.js';
import { parseUNetConfig, unet2DConditionModel } from '../../src/models/unet/index.js';
import { Scope } from '../../src/nn/index.js';
import { createGraph } from '../../src/ops/index.js';
import type { HostTensor } from '../../src/runtime/tensors.js';
import { SafetensorsFile } from '../../src/weights/index.js';
import { compare, f32, fixture, runOrt } from '../helpers/model-parity.js';

/** Goldens made by scripts/golden/controlnet_torch.py (diffusers ControlNetModel.from_unet on the fixture UNets). */
const golden = (file: string): string => fileURLToPath(new URL(`../golden/${file}`, import.meta.url));
const readJson = (path: string): Record<string, any> => JSON.parse(readFileSync(path, 'utf8'));
const tinyUNetConfig = (dir = 'tiny-sd'): Record<string, unknown> => readJson(fixture(dir, 'unet', 'config.json'));

interface Golden {
  index: Record<string, any>;
  config: ControlNetConfig;
  file: SafetensorsFile;
  unet: SafetensorsFile;
  shape: (name: string) => number[];
}

function openGolden(name: string): Golden {
  const index = readJson(golden(`controlnet-${name}.json`));
  return {
    index,
    config: parseControlNetConfig(index.config),
    file: SafetensorsFile.open(golden(`controlnet-${name}.safetensors`)),
    unet: SafetensorsFile.open(fixture(index.unet_fixture, 'unet', 'diffusion_pytorch_model.safetensors')),
    shape: (n) => index.tensors[n].shape,
  };
}

/** The ControlNet with every golden input as a graph input; the scale is a [] input too. */
function build(g: Golden) {
  const graph = createGraph();
  const input = (name: string): Value => graph.input(name, g.shape(`controlnet.in.${name}`));
  const has = (name: string): boolean => `controlnet.in.${name}` in g.index.tensors;
  const out = controlNetModel(new Scope(graph), g.config, {
    sample: input('sample'),
    timestep: input('timestep'),
    encoderHiddenStates: input('encoder_hidden_states'),
    controlCond: input('controlnet_cond'),
    conditioningScale: graph.input('conditioning_scale', []),
    textEmbeds: has('text_embeds') ? input('text_embeds') : undefined,
    timeIds: has('time_ids') ? input('time_ids') : undefined,
  });
  return { graph, outputs: [...out.downBlockResiduals, out.midBlockResidual] };
}

function feedsOf(g: Golden, scale: number): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = { conditioning_scale: f32([], Float32Array.of(scale)) };
  for (const key of Object.keys(g.index.tensors).filter((k) => k.startsWith('controlnet.in.'))) {
    feeds[key.slice('controlnet.in.'.length)] = f32(g.shape(key), g.file.float32(key));
  }
  return feeds;
}

/** ControlNet-only weights from the golden, the rest (copied by from_unet) from the fixture UNet. */
const weightsFor = (g: Golden, params: readonly Value[]): Map<string, Float32Array> =>
  new Map(params.map((p) => [p.name!, (p.name!.startsWith('controlnet_') ? g.file : g.unet).float32(p.name!)]));

/** A pooled reference [B,C,1,1] broadcast to the full residual shape (the graph expands it for the UNet add). */
function broadcastLike(ref: Float32Array, refShape: number[], shape: readonly number[]): Float32Array {
  if (refShape.join() === shape.join()) return ref;
  const plane = shape[2] * shape[3];
  return Float32Array.from({ length: ref.length * plane }, (_, i) => ref[Math.floor(i / plane)]);
}

for (const name of ['tiny-sd', 'tiny-sdxl']) {
  describe(`ControlNetModel '${name}' matches diffusers (test/golden/controlnet-${name})`, () => {
    let g: Golden;
    before(() => (g = openGolden(name)));
    after(() => {
      g.file.close();
      g.unet.close();
    });

    test('parameters are exactly diffusers state-dict keys and shapes', () => {
      const { graph } = build(g);
      const params = Object.fromEntries(graph.params.map((p) => [p.name!, [...p.shape]]));
      assert.deepEqual(Object.keys(params).sort(), Object.keys(g.index.state_dict).sort());
      for (const [key, shape] of Object.entries(params)) assert.deepEqual(shape, g.index.state_dict[key], `shape of ${key}`);
    });

    test('isZeroInitialisedKey names exactly the parameters diffusers zero-initialises', () => {
      assert.deepEqual(Object.keys(g.index.state_dict).filter(isZeroInitialisedKey).sort(), [...g.index.zero_initialised].sort());
    });

    test('residuals within 1e-4 + 1e-4·max|ref|; scale 0 gives zeros', async () => {
      const { graph, outputs } = build(g);
      const weights = weightsFor(g, graph.params);
      const results = await runOrt(graph, outputs, weights, feedsOf(g, g.index.conditioning_scale));
      const names = [...outputs.keys()].map((i) => (i < outputs.length - 1 ? `controlnet.out.down.${i}` : 'controlnet.out.mid'));
      names.forEach((n, i) => compare(n, results[i], broadcastLike(g.file.float32(n), g.shape(n), outputs[i].shape)));
      const zero = await runOrt(graph, outputs, weights, feedsOf(g, 0));
      for (const r of zero) assert.ok(r.every((v) => v === 0), 'conditioning scale 0 must give zero residuals');
    });
  });
}

describe('ControlNet config', () => {
  test('controlNetConfigFromUNet copies the UNet fields as ControlNetModel.from_unet', () => {
    for (const name of ['tiny-sd', 'tiny-sdxl']) {
      const reference = readJson(golden(`controlnet-${name}.json`)).config;
      const ours = controlNetConfigFromUNet(tinyUNetConfig(name), {
        conditioningEmbeddingOutChannels: reference.conditioning_embedding_out_channels,
        channelOrder: reference.controlnet_conditioning_channel_order,
      });
      // The tiny-sdxl golden turned global pooling on after from_unet.
      ours.global_pool_conditions = reference.global_pool_conditions;
      for (const [key, value] of Object.entries(ours)) assert.deepEqual(value, reference[key], `${name}: ${key}`);
      assert.deepEqual(parseControlNetConfig(ours), parseControlNetConfig(reference));
    }
  });

  test('defaults are diffusers ControlNetModel defaults', () => {
    const c = parseControlNetConfig({});
    assert.deepEqual(c.conditioning_embedding_out_channels, [16, 32, 96, 256]);
    assert.equal(controlNetImageFactor(c), 8);
    assert.equal(c.conditioning_channels, 3);
    assert.equal(c.controlnet_conditioning_channel_order, 'rgb');
    assert.deepEqual(c.block_out_channels, [320, 640, 1280, 1280]);
    assert.equal(c.mid_block_type, 'UNetMidBlock2DCrossAttn');
  });

  test('fields a ControlNetModel does not read cannot change the model', () => {
    const c = parseControlNetConfig({ ...tinyUNetConfig(), conv_in_kernel: 5, center_input_sample: true, timestep_post_act: 'silu' });
    assert.equal(c.conv_in_kernel, 3);
    assert.equal(c.center_input_sample, false);
    assert.equal(c.timestep_post_act, null);
  });

  const rejects = (patch: Record<string, unknown>, field: string) =>
    assert.throws(() => parseControlNetConfig({ ...tinyUNetConfig(), ...patch }), (e: unknown) => e instanceof ControlNetConfigError && e.field === field && e.message.includes(`\`${field}\``) && e.message.startsWith('ControlNet config'));

  test('invalid values are refused naming the field (UNet fields included)', () => {
    rejects({ controlnet_conditioning_channel_order: 'rgba' }, 'controlnet_conditioning_channel_order');
    rejects({ conditioning_embedding_out_channels: [] }, 'conditioning_embedding_out_channels');
    rejects({ conditioning_embedding_out_channels: null }, 'conditioning_embedding_out_channels');
    rejects({ conditioning_channels: 0 }, 'conditioning_channels');
    rejects({ global_pool_conditions: 'yes' }, 'global_pool_conditions');
    rejects({ layers_per_block: [2, 2] }, 'layers_per_block');
    rejects({ mid_block_type: null }, 'mid_block_type');
    rejects({ class_embed_type: 'timestep' }, 'class_embed_type');
    rejects({ block_out_channels: [32] }, 'block_out_channels');
  });
});

describe('ControlNet shapes on the tiny-sd layout', () => {
  const config = parseControlNetConfig(controlNetConfigFromUNet(tinyUNetConfig(), { conditioningEmbeddingOutChannels: [16, 32] }));

  test('two embedding widths downsample by 2, the tiny VAE factor: 64×64 image ↔ 32×32 latents', () => {
    assert.equal(controlNetImageFactor(config), 2);
  });

  test('residuals fit the UNet skip connections and mid block (the UNet checks each shape)', () => {
    const graph = createGraph();
    const sample = graph.input('sample', [2, 4, 32, 32]);
    const timestep = graph.input('timestep', []);
    const encoderHiddenStates = graph.input('encoder_hidden_states', [2, 77, 32]);
    const control = controlNetModel(new Scope(graph, 'controlnet'), config, { sample, timestep, encoderHiddenStates, controlCond: graph.input('image', [2, 3, 64, 64]) });
    const shapes = control.downBlockResiduals.map((r) => [...r.shape]);
    assert.deepEqual(shapes, [[2, 32, 32, 32], [2, 32, 32, 32], [2, 32, 32, 32], [2, 32, 16, 16], [2, 64, 16, 16], [2, 64, 16, 16]]);
    assert.deepEqual([...control.midBlockResidual.shape], [2, 64, 16, 16]);
    const out = unet2DConditionModel(new Scope(graph), parseUNetConfig(tinyUNetConfig()), {
      sample, timestep, encoderHiddenStates,
      downBlockAdditionalResiduals: control.downBlockResiduals,
      midBlockAdditionalResidual: control.midBlockResidual,
    });
    assert.deepEqual([...out.shape], [2, 4, 32, 32]);
  });

  test('a control image of the wrong size is refused with the factor', () => {
    const graph = createGraph();
    assert.throws(
      () => controlNetModel(new Scope(graph), config, {
        sample: graph.input('sample', [1, 4, 32, 32]),
        timestep: graph.input('timestep', []),
        encoderHiddenStates: graph.input('encoder_hidden_states', [1, 77, 32]),
        controlCond: graph.input('image', [1, 3, 32, 32]),
      }),
      /controlCond must be \[1, 3, 64, 64\] \(the conditioning embedding downsamples by 2\)/,
    );
  });
});
