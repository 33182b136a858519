import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { evaluate } from '../../src/interp/index.js';
import { hostArray, type HostArray } from '../../src/ir/index.js';
import {
  parseAutoencoderKLConfig,
  scaleLatents,
  unscaleLatents,
  vaeDecode,
  vaeEncode,
  VaeConfigError,
  type AutoencoderKLConfig,
} from '../../src/models/vae/index.js';
import { Scope } from '../../src/nn/index.js';
import { createGraph } from '../../src/ops/index.js';
import { SafetensorsFile } from '../../src/weights/index.js';
import { assertWeightsMatch, compare, f32, fixture, loadWeights, runOrt } from '../helpers/model-parity.js';

const tinySdConfig = (): AutoencoderKLConfig => parseAutoencoderKLConfig(JSON.parse(readFileSync(fixture('tiny-sd', 'vae', 'config.json'), 'utf8')));

function buildEncode(config: AutoencoderKLConfig, shape = [1, 3, 64, 64]) {
  const graph = createGraph();
  const image = graph.input('image', shape);
  return { graph, image, ...vaeEncode(new Scope(graph), config, image) };
}

function buildDecode(config: AutoencoderKLConfig, shape = [1, 4, 32, 32]) {
  const graph = createGraph();
  const latents = graph.input('latents', shape);
  return { graph, latents, sample: vaeDecode(new Scope(graph), config, latents) };
}

describe('parseAutoencoderKLConfig', () => {
  test('tiny-sd config', () => {
    const c = tinySdConfig();
    assert.deepEqual(c.block_out_channels, [32, 64]);
    assert.deepEqual(c.down_block_types, ['DownEncoderBlock2D', 'DownEncoderBlock2D']);
    assert.equal(c.layers_per_block, 2);
    assert.equal(c.scaling_factor, 0.18215);
    assert.equal(c.shift_factor, null);
    assert.equal(c.mid_block_add_attention, true);
  });

  test('absent keys take diffusers defaults; unknown keys are ignored', () => {
    const c = parseAutoencoderKLConfig({ _class_name: 'AutoencoderKL', some_future_key: 1 });
    assert.deepEqual(c.block_out_channels, [64]);
    assert.deepEqual(c.down_block_types, ['DownEncoderBlock2D']);
    assert.deepEqual(c.up_block_types, ['UpDecoderBlock2D']);
    assert.equal(c.layers_per_block, 1);
    assert.equal(c.latent_channels, 4);
    assert.equal(c.norm_num_groups, 32);
    assert.equal(c.sample_size, 32);
    assert.equal(c.scaling_factor, 0.18215);
    assert.equal(c.shift_factor, null);
    assert.equal(c.force_upcast, true);
    assert.equal(c.use_quant_conv && c.use_post_quant_conv && c.mid_block_add_attention, true);
    assert.equal(c.act_fn, 'silu');
    assert.equal(parseAutoencoderKLConfig({ shift_factor: 0.0609 }).shift_factor, 0.0609);
  });

  test('errors name the field', () => {
    const rejects = (json: object, field: string, message: RegExp): void => {
      assert.throws(() => parseAutoencoderKLConfig(json), (e: unknown) => e instanceof VaeConfigError && e.field === field && message.test(e.message));
    };
    rejects({ down_block_types: ['AttnDownEncoderBlock2D'] }, 'down_block_types', /unsupported block type "AttnDownEncoderBlock2D"/);
    rejects({ up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D'] }, 'up_block_types', /2 entries, block_out_channels has 1/);
    rejects({ block_out_channels: [32, 64] }, 'down_block_types', /1 entries, block_out_channels has 2/);
    rejects({ block_out_channels: [] }, 'block_out_channels', /non-empty list/);
    rejects({ norm_num_groups: 24 }, 'norm_num_groups', /does not divide the block width 64/);
    rejects({ act_fn: 'mish' }, 'act_fn', /not supported/);
    rejects({ scaling_factor: 0 }, 'scaling_factor', /positive finite number/);
    rejects({ shift_factor: 'x' }, 'shift_factor', /finite number/);
    rejects({ use_quant_conv: 1 }, 'use_quant_conv', /boolean/);
    rejects({ latents_mean: [0, 1] }, 'latents_mean', /2 entries, latent_channels is 4/);
    rejects({ sample_size: [64] }, 'sample_size', /\[height, width\]/);
    assert.throws(() => parseAutoencoderKLConfig(null), /AutoencoderKL config: `\(root\)` must be a JSON object/);
  });
});

describe('latent scaling', () => {
  test('scaleLatents / unscaleLatents are inverse: (z − shift)·scale and z/scale + shift', () => {
    const graph = createGraph();
    const z = graph.input('z', [3]);
    const config = { scaling_factor: 0.5, shift_factor: 0.25 };
    const scaled = scaleLatents(config, z);
    const back = unscaleLatents(config, scaled);
    const [s, b] = evaluate(graph, [scaled, back], new Map([['z', hostArray([3], 'float32', [1, 2, -3])]]));
    assert.deepEqual([...s.data], [0.375, 0.875, -1.625]);
    assert.deepEqual([...b.data], [1, 2, -3]);
  });
});

describe('tiny-sd AutoencoderKL matches diffusers (tiny-sd-reference)', () => {
  let weights: SafetensorsFile;
  let ref: SafetensorsFile;
  before(() => {
    weights = SafetensorsFile.open(fixture('tiny-sd', 'vae', 'diffusion_pytorch_model.safetensors'));
    ref = SafetensorsFile.open(fixture('tiny-sd-reference.safetensors'));
  });
  after(() => {
    weights.close();
    ref.close();
  });

  test('every weight is used and every parameter exists (encode + decode)', () => {
    const graph = createGraph();
    const scope = new Scope(graph);
    vaeEncode(scope, tinySdConfig(), graph.input('image', [1, 3, 64, 64]));
    vaeDecode(scope, tinySdConfig(), graph.input('latents', [1, 4, 32, 32]));
    assertWeightsMatch(weights, graph.params, weights.tensors.size);
    assert.equal(graph.params.length, 156);
  });

  test('encode: mean, logvar, std within the README tolerance', async () => {
    const built = buildEncode(tinySdConfig());
    const outs = await runOrt(built.graph, [built.mean, built.logvar, built.std], loadWeights(weights, built.graph.params), {
      image: f32([1, 3, 64, 64], ref.float32('vae.in.image')),
    });
    ['mean', 'logvar', 'std'].forEach((n, i) => compare(`vae.encode.${n}`, outs[i], ref.float32(`vae.encode.${n}`)));
  });

  test('decode: sample within the README tolerance', async () => {
    const built = buildDecode(tinySdConfig());
    const [sample] = await runOrt(built.graph, [built.sample], loadWeights(weights, built.graph.params), {
      latents: f32([1, 4, 32, 32], ref.float32('vae.in.latents')),
    });
    compare('vae.decode.sample', sample, ref.float32('vae.decode.sample'));
  });

  test('float64 interpreter: decode matches diffusers', () => {
    const built = buildDecode(tinySdConfig());
    const feeds = new Map<string, HostArray>(built.graph.params.map((p) => [p.name!, hostArray(p.shape, 'float32', weights.float32(p.name!))]));
    feeds.set('latents', hostArray([1, 4, 32, 32], 'float32', ref.float32('vae.in.latents')));
    const [out] = evaluate(built.graph, [built.sample], feeds);
    compare('interpreter vae.decode.sample', Float32Array.from(out.data), ref.float32('vae.decode.sample'));
  });
});

describe('graph structure', () => {
  test('without quant convs or mid attention: no such parameters, both mid resnets kept', () => {
    const config = parseAutoencoderKLConfig({
      block_out_channels: [8, 16],
      down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D'],
      up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D'],
      norm_num_groups: 4,
      latent_channels: 2,
      use_quant_conv: false,
      use_post_quant_conv: false,
      mid_block_add_attention: false,
    });
    const graph = createGraph();
    const scope = new Scope(graph);
    const { mean } = vaeEncode(scope, config, graph.input('image', [1, 3, 9, 9]));
    const sample = vaeDecode(scope, config, graph.input('latents', [1, 2, 5, 5]));
    const names = graph.params.map((p) => p.name!);
    assert.ok(!names.some((n) => n.includes('quant_conv') || n.includes('attentions')));
    assert.ok(names.includes('encoder.mid_block.resnets.1.conv2.weight') && names.includes('decoder.mid_block.resnets.1.conv2.weight'));
    assert.ok(names.includes('decoder.up_blocks.1.resnets.1.conv2.weight') && !names.includes('decoder.up_blocks.1.resnets.2.conv2.weight'));
    // Downsample2D pads right/bottom by one before the 3×3 stride-2 conv: 9 → 10 → 4, as torch.
    assert.deepEqual([...mean.shape], [1, 2, 4, 4]);
    assert.deepEqual([...sample.shape], [1, 3, 10, 10]);
  });

  test('inputs with the wrong channel count are refused, naming the input', () => {
    assert.throws(() => buildEncode(tinySdConfig(), [1, 4, 64, 64]), /AutoencoderKL encode: image: expected \[batch, 3, height, width\], got \[1,4,64,64\]/);
    assert.throws(() => buildDecode(tinySdConfig(), [1, 8, 32]), /AutoencoderKL decode: latents: expected \[batch, 4, height, width\]/);
  });
});
