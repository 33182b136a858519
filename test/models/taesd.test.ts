import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { evaluate } from '../../src/interp/index.js';
import { hostArray } from '../../src/ir/index.js';
import {
  parseAutoencoderTinyConfig,
  taesdDecode,
  taesdEncode,
  taesdLatentsFromUnitRange,
  taesdLatentsToUnitRange,
  VaeConfigError,
  type AutoencoderTinyConfig,
} from '../../src/models/vae/index.js';
import { Scope } from '../../src/nn/index.js';
import { createGraph } from '../../src/ops/index.js';
import { SafetensorsFile } from '../../src/weights/index.js';
import { compare, f32, runOrt } from '../helpers/model-parity.js';

/** Goldens made by scripts/golden/taesd_torch.py (diffusers AutoencoderTiny). */
const golden = (file: string): string => fileURLToPath(new URL(`../golden/${file}`, import.meta.url));

interface Golden {
  config: AutoencoderTinyConfig;
  file: SafetensorsFile;
  shapes: Record<string, number[]>;
}

function openGolden(name: string): Golden {
  const index = JSON.parse(readFileSync(golden(`taesd-${name}.json`), 'utf8'));
  const shapes = Object.fromEntries(Object.entries(index.tensors).map(([k, v]) => [k, (v as { shape: number[] }).shape]));
  return { config: parseAutoencoderTinyConfig(index.config), file: SafetensorsFile.open(golden(`taesd-${name}.safetensors`)), shapes };
}

/** The model's weights: everything in the golden file but the `taesd.*` inputs and outputs. */
const weightNames = (g: Golden): string[] => [...g.file.tensors.keys()].filter((k) => !k.startsWith('taesd.'));

function buildBoth(g: Golden) {
  const graph = createGraph();
  const scope = new Scope(graph);
  const latents = taesdEncode(scope, g.config, graph.input('image', g.shapes['taesd.in.image']));
  const sample = taesdDecode(scope, g.config, graph.input('latents', g.shapes['taesd.in.latents']));
  return { graph, latents, sample };
}

for (const name of ['tiny', 'tiny-silu']) {
  describe(`AutoencoderTiny '${name}' matches diffusers (test/golden/taesd-${name})`, () => {
    let g: Golden;
    before(() => (g = openGolden(name)));
    after(() => g.file.close());

    test('every weight is used and every parameter exists, with equal shapes', () => {
      const { graph } = buildBoth(g);
      const params = new Map(graph.params.map((p) => [p.name!, [...p.shape]]));
      assert.deepEqual([...params.keys()].sort(), weightNames(g).sort());
      for (const [key, shape] of params) assert.deepEqual(shape, g.file.info(key).shape, `shape of ${key}`);
    });

    test('encode and decode within 1e-4 + 1e-4·max|ref|', async () => {
      const built = buildBoth(g);
      const weights = new Map(built.graph.params.map((p) => [p.name!, g.file.float32(p.name!)]));
      const [latents, sample] = await runOrt(built.graph, [built.latents, built.sample], weights, {
        image: f32(g.shapes['taesd.in.image'], g.file.float32('taesd.in.image')),
        latents: f32(g.shapes['taesd.in.latents'], g.file.float32('taesd.in.latents')),
      });
      compare(`taesd-${name} encode.latents`, latents, g.file.float32('taesd.encode.latents'));
      compare(`taesd-${name} decode.sample`, sample, g.file.float32('taesd.decode.sample'));
    });

    test('latents ↔ [0, 1] mapping as scale_latents / unscale_latents', () => {
      const graph = createGraph();
      const x = graph.input('x', g.shapes['taesd.in.latents']);
      const unit = taesdLatentsToUnitRange(g.config, x);
      const back = taesdLatentsFromUnitRange(g.config, unit);
      const feeds = new Map([['x', hostArray(x.shape, 'float32', g.file.float32('taesd.in.latents'))]]);
      const [u, b] = evaluate(graph, [unit, back], feeds);
      compare(`taesd-${name} latents_unit`, Float32Array.from(u.data), g.file.float32('taesd.latents_unit'));
      compare(`taesd-${name} latents_from_unit`, Float32Array.from(b.data), g.file.float32('taesd.latents_from_unit'));
      assert.ok(u.data.some((v) => v === 0 || v === 1), 'the inputs reach the clamp');
    });
  });
}

describe('taesd graph', () => {
  test('the decoder soft-clamps its input: latents 100 and 1000 decode alike', async () => {
    const g = openGolden('tiny');
    try {
      const graph = createGraph();
      const sample = taesdDecode(new Scope(graph), g.config, graph.input('latents', [2, 4, 2, 2]));
      const weights = new Map(graph.params.map((p) => [p.name!, g.file.float32(p.name!)]));
      const data = new Float32Array(32).map((_, i) => (i < 16 ? 100 : 1000));
      const [out] = await runOrt(graph, [sample], weights, { latents: f32([2, 4, 2, 2], data) });
      const half = out.length / 2;
      compare('decode(100) vs decode(1000)', out.subarray(0, half), out.subarray(half));
    } finally {
      g.file.close();
    }
  });

  test('parameter names follow the nn.Sequential indices (activation and upsample layers take one)', () => {
    const config = parseAutoencoderTinyConfig({});
    const graph = createGraph();
    const scope = new Scope(graph);
    taesdEncode(scope, config, graph.input('image', [1, 3, 64, 64]));
    taesdDecode(scope, config, graph.input('latents', [1, 4, 8, 8]));
    const names = new Set(graph.params.map((p) => p.name!));
    // Encoder: conv, 1 block, (stride conv, 3 blocks) × 3, conv = layers 0..14; decoder: conv, act, ... = 0..18.
    for (const key of ['encoder.layers.0.bias', 'encoder.layers.1.conv.4.weight', 'encoder.layers.2.weight', 'encoder.layers.14.bias', 'decoder.layers.0.bias', 'decoder.layers.2.conv.0.weight', 'decoder.layers.6.weight', 'decoder.layers.18.bias']) {
      assert.ok(names.has(key), key);
    }
    for (const key of ['encoder.layers.2.bias', 'decoder.layers.1.weight', 'decoder.layers.5.weight', 'decoder.layers.6.bias', 'encoder.layers.15.weight', 'decoder.layers.19.weight']) {
      assert.ok(!names.has(key), key);
    }
    assert.equal(graph.params.length, 134, "the size of diffusers' AutoencoderTiny().state_dict()");
  });

  test('inputs with the wrong channel count are refused, naming the input', () => {
    const graph = createGraph();
    const config = parseAutoencoderTinyConfig({});
    assert.throws(() => taesdDecode(new Scope(graph), config, graph.input('z', [1, 3, 8, 8])), /AutoencoderTiny decode: latents: expected \[batch, 4, height, width\]/);
    assert.throws(() => taesdEncode(new Scope(graph), config, graph.input('x', [3, 64, 64])), /AutoencoderTiny encode: image/);
  });
});

describe('parseAutoencoderTinyConfig', () => {
  test('absent keys take diffusers defaults (TAESD); force_upcast is always false, as diffusers registers it', () => {
    const c = parseAutoencoderTinyConfig({ _class_name: 'AutoencoderTiny', block_out_channels: [64, 64, 64, 64], force_upcast: true });
    assert.deepEqual(c.encoder_block_out_channels, [64, 64, 64, 64]);
    assert.deepEqual(c.num_encoder_blocks, [1, 3, 3, 3]);
    assert.deepEqual(c.num_decoder_blocks, [3, 3, 3, 1]);
    assert.equal(c.act_fn, 'relu');
    assert.equal(c.upsampling_scaling_factor, 2);
    assert.equal(c.latent_magnitude, 3);
    assert.equal(c.latent_shift, 0.5);
    assert.equal(c.scaling_factor, 1);
    assert.equal(c.shift_factor, 0);
    assert.equal(c.force_upcast, false);
  });

  test('errors name the field', () => {
    const rejects = (json: object, field: string, message: RegExp): void => {
      assert.throws(() => parseAutoencoderTinyConfig(json), (e: unknown) => e instanceof VaeConfigError && e.field === field && message.test(e.message));
    };
    rejects({ num_encoder_blocks: [1, 3, 3] }, 'encoder_block_out_channels', /4 entries, num_encoder_blocks has 3/);
    rejects({ decoder_block_out_channels: [64, 32, 64, 64] }, 'decoder_block_out_channels', /one width for every stage/);
    rejects({ num_decoder_blocks: [3, -1, 3, 1] }, 'num_decoder_blocks', /integers >= 0/);
    rejects({ act_fn: 'mish' }, 'act_fn', /not supported/);
    rejects({ upsample_fn: 'bilinear' }, 'upsample_fn', /"bilinear" is not supported/);
    rejects({ upsampling_scaling_factor: 1.5 }, 'upsampling_scaling_factor', /integer/);
    rejects({ latent_magnitude: 0 }, 'latent_magnitude', /positive/);
    rejects({ force_upcast: 'yes' }, 'force_upcast', /boolean/);
    assert.throws(() => parseAutoencoderTinyConfig('x'), /AutoencoderTiny config: `\(root\)`/);
  });
});
