import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Graph } from '../../src/ir/index.js';
import { DiffusersFolder } from '../../src/loaders/diffusers-folder.js';
import {
  keyMapperFor,
  openSingleFile,
  readSingleFile,
  SingleFileError,
  toSingleFile,
  writeSingleFile,
  type Architecture,
  type ComponentName,
  type DiffusersComponent,
  type OpenSingleFileOptions,
  type SingleFileCheckpoint,
} from '../../src/loaders/single-file/index.js';
import { clipTextModel, clipTextModelWithProjection, parseClipTextConfig } from '../../src/models/clip/index.js';
import { parseUNetConfig, unet2DConditionModel } from '../../src/models/unet/index.js';
import { parseAutoencoderKLConfig, vaeDecode, vaeEncode } from '../../src/models/vae/index.js';
import { Scope } from '../../src/nn/index.js';
import { createGraph } from '../../src/ops/index.js';
import {
  FileTensorSource,
  loadParams,
  MemoryTensorSource,
  PickleRefusedError,
  writeSafetensors,
  type TensorSource,
} from '../../src/weights/index.js';
import { fixture } from '../helpers/model-parity.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tdd-single-file-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const COMPONENTS: Record<'tiny-sd' | 'tiny-sdxl', ComponentName[]> = {
  'tiny-sd': ['unet', 'vae', 'text_encoder'],
  'tiny-sdxl': ['unet', 'vae', 'text_encoder', 'text_encoder_2'],
};

function folderComponents(name: 'tiny-sd' | 'tiny-sdxl'): Partial<Record<ComponentName, DiffusersComponent>> {
  const folder = DiffusersFolder.open(fixture(name));
  return Object.fromEntries(COMPONENTS[name].map((c) => [c, { source: folder.weights(c), config: folder.config(c) }]));
}

function closeAll(components: Partial<Record<ComponentName, DiffusersComponent>>): void {
  for (const c of Object.values(components)) c.source.close();
}

/** Same keys, shapes and float32 bits. */
function assertSameTensors(actual: TensorSource, expected: TensorSource): void {
  assert.deepEqual(actual.keys().sort(), expected.keys().sort(), `${actual.origin}: key set`);
  for (const key of expected.keys()) {
    assert.deepEqual([...actual.shape(key)], [...expected.shape(key)], `shape of ${key}`);
    const [a, b] = [actual.float32(key), expected.float32(key)];
    assert.ok(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
      `data of ${key}`,
    );
  }
}

const paramList = (graph: Graph): string[] => graph.params.map((p) => `${p.name} [${p.shape.join(',')}]`).sort();
const fileList = (source: TensorSource): string[] =>
  source
    .keys()
    .map((k) => `${k} [${source.shape(k).join(',')}]`)
    .sort();

/** The graph built from `config` has exactly the source's tensors as parameters, and they load. */
function assertGraphMatches(graph: Graph, source: TensorSource): void {
  assert.deepEqual(paramList(graph), fileList(source));
  assert.deepEqual(loadParams(source, graph.params).unused, []);
}

function unetGraph(json: Record<string, unknown>): Graph {
  const config = parseUNetConfig(json);
  const graph = createGraph();
  const cross = config.cross_attention_dim as number;
  const textTime = config.addition_embed_type === 'text_time';
  unet2DConditionModel(new Scope(graph), config, {
    sample: graph.input('sample', [1, config.in_channels, 32, 32]),
    timestep: graph.input('timestep', [1]),
    encoderHiddenStates: graph.input('ehs', [1, 77, cross]),
    textEmbeds: textTime
      ? graph.input('text_embeds', [1, config.projection_class_embeddings_input_dim! - 6 * config.addition_time_embed_dim!])
      : undefined,
    timeIds: textTime ? graph.input('time_ids', [1, 6]) : undefined,
  });
  return graph;
}

function vaeGraph(json: Record<string, unknown>): Graph {
  const config = parseAutoencoderKLConfig(json);
  const graph = createGraph();
  vaeEncode(new Scope(graph), config, graph.input('image', [1, config.in_channels, 64, 64]));
  vaeDecode(new Scope(graph), config, graph.input('latents', [1, config.latent_channels, 32, 32]));
  return graph;
}

function clipGraph(json: Record<string, unknown>, withProjection: boolean): Graph {
  const config = parseClipTextConfig(json);
  const graph = createGraph();
  (withProjection ? clipTextModelWithProjection : clipTextModel)(new Scope(graph), config, graph.input('ids', [1, 77], 'int64'));
  return graph;
}

const readFixtureConfig = (name: string, component: string): Record<string, unknown> =>
  JSON.parse(readFileSync(fixture(name, component, 'config.json'), 'utf8'));
const withoutSampleSize = (c: object): object => ({ ...c, sample_size: null });

/** Writes a fixture folder as a single file of `architecture`, then opens it. */
function roundTrip(
  name: 'tiny-sd' | 'tiny-sdxl',
  architecture: Architecture,
  options: OpenSingleFileOptions,
): { path: string; checkpoint: SingleFileCheckpoint; folder: Partial<Record<ComponentName, DiffusersComponent>> } {
  const folder = folderComponents(name);
  const path = join(dir, `${name}.safetensors`);
  writeSingleFile(path, folder, architecture);
  return { path, checkpoint: openSingleFile(path, options), folder };
}

const CLIP_HEADS = { num_attention_heads: 4 }; // 32-wide hidden: not a multiple of the family's 64-wide heads

describe('single-file SD-1 round trip (tiny-sd)', () => {
  let path: string;
  let checkpoint: SingleFileCheckpoint;
  let folder: Partial<Record<ComponentName, DiffusersComponent>>;
  before(() => ({ path, checkpoint, folder } = roundTrip('tiny-sd', 'sd1', { configOverrides: { text_encoder: CLIP_HEADS } })));
  after(() => {
    checkpoint.close();
    closeAll(folder);
  });

  test('the file uses LDM names and nothing is left over', () => {
    const file = FileTensorSource.open(path);
    const names = file.keys();
    assert.deepEqual(file.shape('first_stage_model.encoder.mid.attn_1.q.weight'), [64, 64, 1, 1], 'LDM VAE attention is 1×1 convs');
    file.close();
    for (const k of [
      'model.diffusion_model.input_blocks.3.0.op.weight',
      'model.diffusion_model.output_blocks.2.2.conv.weight',
      'model.diffusion_model.middle_block.2.in_layers.0.weight',
      'first_stage_model.decoder.up.0.block.0.nin_shortcut.weight',
      'first_stage_model.decoder.up.1.upsample.conv.weight',
      'first_stage_model.encoder.mid.attn_1.proj_out.weight',
      'cond_stage_model.transformer.text_model.final_layer_norm.weight',
    ]) {
      assert.ok(names.includes(k), k);
    }
    assert.ok(!names.some((k) => k.includes('down_blocks') || k.includes('resnets')));
    assert.equal(checkpoint.architecture, 'sd1');
    assert.deepEqual(checkpoint.unmatched, []);
    assert.deepEqual(checkpoint.ignored, []);
    assert.deepEqual(Object.keys(checkpoint.components).sort(), ['text_encoder', 'unet', 'vae']);
  });

  test('converted sources hold exactly the diffusers tensors, bit for bit', () => {
    for (const name of COMPONENTS['tiny-sd']) assertSameTensors(checkpoint.components[name]!.source, folder[name]!.source);
  });

  test('inferred configs rebuild the same graphs', () => {
    const { unet, vae, text_encoder } = checkpoint.components;
    assert.deepEqual(
      withoutSampleSize(parseUNetConfig(unet!.config)),
      withoutSampleSize(parseUNetConfig(readFixtureConfig('tiny-sd', 'unet'))),
    );
    assertGraphMatches(unetGraph(unet!.config), unet!.source);
    assert.deepEqual(unet!.assumed, ['sample_size', 'attention_head_dim']);
    assert.deepEqual(
      { ...parseAutoencoderKLConfig(vae!.config), sample_size: 64 },
      parseAutoencoderKLConfig(readFixtureConfig('tiny-sd', 'vae')),
    );
    assertGraphMatches(vaeGraph(vae!.config), vae!.source);
    assert.deepEqual(parseClipTextConfig(text_encoder!.config), parseClipTextConfig(readFixtureConfig('tiny-sd', 'text_encoder')));
    assertGraphMatches(clipGraph(text_encoder!.config, false), text_encoder!.source);
  });
});

describe('single-file SDXL round trip (tiny-sdxl, OpenCLIP text_encoder_2)', () => {
  let path: string;
  let checkpoint: SingleFileCheckpoint;
  let folder: Partial<Record<ComponentName, DiffusersComponent>>;
  const overrides = {
    unet: { attention_head_dim: [2, 4] },
    text_encoder: CLIP_HEADS,
    text_encoder_2: { ...CLIP_HEADS, hidden_act: 'quick_gelu' }, // the fixture keeps CLIP-L's activation
  };
  before(() => ({ path, checkpoint, folder } = roundTrip('tiny-sdxl', 'sdxl', { configOverrides: overrides })));
  after(() => {
    checkpoint.close();
    closeAll(folder);
  });

  test('text_encoder_2 is stored in OpenCLIP layout: fused in_proj, transposed text_projection', () => {
    const file = FileTensorSource.open(path);
    const te2 = folder.text_encoder_2!.source;
    const p = 'conditioner.embedders.1.model.';
    assert.deepEqual(file.shape(`${p}transformer.resblocks.1.attn.in_proj_weight`), [96, 32]);
    const fused = file.float32(`${p}transformer.resblocks.1.attn.in_proj_bias`);
    const [q, k, v] = ['q', 'k', 'v'].map((n) => te2.float32(`text_model.encoder.layers.1.self_attn.${n}_proj.bias`));
    assert.deepEqual(fused, Float32Array.from([...q, ...k, ...v]));
    const projection = file.float32(`${p}text_projection`); // [hidden, proj]
    const weight = te2.float32('text_projection.weight'); // [proj, hidden]
    assert.equal(projection[3 * 32 + 5], weight[5 * 32 + 3]);
    assert.ok(
      file.has('model.diffusion_model.label_emb.0.0.weight') &&
        file.has('conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight'),
    );
    assert.ok(!file.keys().some((key) => key.includes('q_proj') && key.startsWith(p)));
    file.close();
  });

  test('converted sources equal the folder bit for bit; nothing left over', () => {
    assert.equal(checkpoint.architecture, 'sdxl');
    assert.deepEqual(checkpoint.unmatched, []);
    assert.deepEqual(checkpoint.ignored, []);
    for (const name of COMPONENTS['tiny-sdxl']) assertSameTensors(checkpoint.components[name]!.source, folder[name]!.source);
  });

  test('inferred configs (heads overridden) rebuild the same graphs', () => {
    const { unet, vae, text_encoder, text_encoder_2 } = checkpoint.components;
    assert.equal(unet!.config.addition_time_embed_dim, 8, 'from label_emb width 80 − pooled width 32, over 6 time ids');
    assert.ok(!unet!.assumed.includes('addition_time_embed_dim') && !unet!.assumed.includes('attention_head_dim'));
    assert.deepEqual(
      withoutSampleSize(parseUNetConfig(unet!.config)),
      withoutSampleSize(parseUNetConfig(readFixtureConfig('tiny-sdxl', 'unet'))),
    );
    assertGraphMatches(unetGraph(unet!.config), unet!.source);
    assert.equal(vae!.config.scaling_factor, 0.13025, 'the SDXL family rule (the fixture keeps 0.18215)');
    assertGraphMatches(vaeGraph(vae!.config), vae!.source);
    assert.deepEqual(parseClipTextConfig(text_encoder!.config), parseClipTextConfig(readFixtureConfig('tiny-sdxl', 'text_encoder')));
    assert.deepEqual(parseClipTextConfig(text_encoder_2!.config), parseClipTextConfig(readFixtureConfig('tiny-sdxl', 'text_encoder_2')));
    assert.deepEqual(text_encoder_2!.config.architectures, ['CLIPTextModelWithProjection']);
    assertGraphMatches(clipGraph(text_encoder!.config, false), text_encoder!.source);
    assertGraphMatches(clipGraph(text_encoder_2!.config, true), text_encoder_2!.source);
  });

  test('a diffusers config.json replaces inferred fields; overrides win over it', () => {
    const reopened = openSingleFile(path, {
      configFiles: { unet: fixture('tiny-sdxl', 'unet', 'config.json'), vae: fixture('tiny-sdxl', 'vae', 'config.json') },
      configOverrides: { ...overrides, unet: { sample_size: 48 } },
    });
    assert.deepEqual(reopened.components.unet!.config.attention_head_dim, [2, 4]);
    assert.equal(reopened.components.unet!.config.sample_size, 48);
    assert.deepEqual(reopened.components.unet!.assumed, []);
    assert.equal(reopened.components.vae!.config.scaling_factor, 0.18215);
    reopened.close();
  });

  test('heads the family rule cannot give must be overridden, and the error says how', () => {
    assert.throws(
      () => openSingleFile(path, { configOverrides: { ...overrides, text_encoder_2: {} } }),
      (err: Error) =>
        err instanceof SingleFileError &&
        err.message.includes(path) &&
        err.message.includes('num_attention_heads') &&
        err.message.includes('configOverrides.text_encoder_2'),
    );
  });
});

describe('single-file leftovers, partial files, layouts', () => {
  /** tiny-sd as an SD-1 single file plus `extra` tensors. */
  function sd1With(name: string, extra: Record<string, number[]>, keep: (key: string) => boolean = () => true): string {
    const folder = folderComponents('tiny-sd');
    const { source } = toSingleFile(folder, 'sd1');
    const tensors = source
      .keys()
      .filter(keep)
      .map((k) => ({ name: k, dtype: 'F32' as const, shape: [...source.shape(k)], data: source.float32(k) }));
    for (const [k, shape] of Object.entries(extra))
      tensors.push({ name: k, dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    const path = join(dir, name);
    writeSafetensors(path, tensors);
    closeAll(folder);
    return path;
  }

  test('EMA weights and buffers are ignored with a reason; other unknown keys are listed', () => {
    const path = sd1With('leftovers.safetensors', {
      'model_ema.diffusion_modelout2weight': [4],
      'model_ema.num_updates': [],
      alphas_cumprod: [1000],
      'cond_stage_model.transformer.text_model.embeddings.position_ids': [1, 77],
      'model.diffusion_model.extra_head.weight': [2],
      'some_tool.state': [1],
    });
    const ck = openSingleFile(path, { configOverrides: { text_encoder: CLIP_HEADS } });
    assert.deepEqual(ck.ignored.map((i) => i.key).sort(), [
      'alphas_cumprod',
      'cond_stage_model.transformer.text_model.embeddings.position_ids',
      'model_ema.diffusion_modelout2weight',
      'model_ema.num_updates',
    ]);
    assert.ok(ck.ignored.every((i) => i.reason.length > 10));
    assert.deepEqual(ck.unmatched.sort(), ['model.diffusion_model.extra_head.weight', 'some_tool.state']);
    assert.equal(ck.components.unet!.source.keys().length, 304);
    ck.close();
  });

  test('a UNet-only file and a bare VAE file', () => {
    const unetOnly = openSingleFile(sd1With('unet-only.safetensors', {}, (k) => k.startsWith('model.diffusion_model.')));
    assert.equal(unetOnly.architecture, 'sd1');
    assert.deepEqual(Object.keys(unetOnly.components), ['unet']);
    unetOnly.close();
    const folder = folderComponents('tiny-sd');
    const { source } = toSingleFile({ vae: folder.vae }, 'sd1');
    const path = join(dir, 'bare-vae.safetensors');
    writeSafetensors(
      path,
      source.keys().map((k) => ({
        name: k.slice('first_stage_model.'.length),
        dtype: 'F32' as const,
        shape: [...source.shape(k)],
        data: source.float32(k),
      })),
    );
    const bare = openSingleFile(path);
    assert.equal(bare.architecture, null);
    assert.equal(bare.components.vae!.prefix, '');
    assert.equal(bare.components.vae!.config.scaling_factor, 0.18215);
    assertSameTensors(bare.components.vae!.source, folder.vae!.source);
    bare.close();
    const asSdxl = openSingleFile(path, { architecture: 'sdxl' });
    assert.equal(asSdxl.components.vae!.config.scaling_factor, 0.13025);
    asSdxl.close();
    closeAll(folder);
  });

  test('SD-1.5 and SDXL block numbering (diffusers reference layout)', () => {
    const sd15 = keyMapperFor('ldm-unet', { block_out_channels: [320, 640, 1280, 1280], cross_attention_dim: 768 }, 'sd15');
    const sdxl = keyMapperFor(
      'ldm-unet',
      {
        down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
        up_block_types: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
        block_out_channels: [320, 640, 1280],
        transformer_layers_per_block: [1, 2, 10],
        attention_head_dim: [5, 10, 20],
        cross_attention_dim: 2048,
        use_linear_projection: true,
        addition_embed_type: 'text_time',
        addition_time_embed_dim: 256,
        projection_class_embeddings_input_dim: 2816,
      },
      'sdxl',
    );
    const cases: [typeof sd15, string, string][] = [
      [sd15, 'input_blocks.3.0.op.weight', 'down_blocks.0.downsamplers.0.conv.weight'],
      [sd15, 'input_blocks.11.0.in_layers.0.weight', 'down_blocks.3.resnets.1.norm1.weight'],
      [sd15, 'input_blocks.8.1.proj_in.weight', 'down_blocks.2.attentions.1.proj_in.weight'],
      [sd15, 'middle_block.2.emb_layers.1.bias', 'mid_block.resnets.1.time_emb_proj.bias'],
      [sd15, 'output_blocks.2.1.conv.weight', 'up_blocks.0.upsamplers.0.conv.weight'],
      [sd15, 'output_blocks.5.2.conv.bias', 'up_blocks.1.upsamplers.0.conv.bias'],
      [sd15, 'output_blocks.11.0.skip_connection.weight', 'up_blocks.3.resnets.2.conv_shortcut.weight'],
      [
        sdxl,
        'input_blocks.7.1.transformer_blocks.9.attn2.to_k.weight',
        'down_blocks.2.attentions.0.transformer_blocks.9.attn2.to_k.weight',
      ],
      [sdxl, 'label_emb.0.2.weight', 'add_embedding.linear_2.weight'],
      [sdxl, 'output_blocks.2.2.conv.weight', 'up_blocks.0.upsamplers.0.conv.weight'],
      [sdxl, 'output_blocks.8.0.out_layers.3.weight', 'up_blocks.2.resnets.2.conv2.weight'],
    ];
    for (const [mapper, file, diffusers] of cases) {
      assert.deepEqual(mapper.toDiffusers(file)?.diffusers, [diffusers], file);
      assert.equal(mapper.toFile(diffusers)?.file, file, diffusers);
    }
    assert.equal(sd15.toDiffusers('input_blocks.12.0.in_layers.0.weight'), null);
  });

  test('OpenCLIP: q/k/v rows in order, projection transposed, SD-2 drops the last layer', () => {
    const t = (shape: number[], start = 0) => ({
      shape,
      data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => start + i),
    });
    const p = 'cond_stage_model.model.';
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {
      [`${p}token_embedding.weight`]: t([10, 64]),
      [`${p}positional_embedding`]: t([5, 64]),
      [`${p}text_projection`]: t([64, 3]),
      [`${p}ln_final.weight`]: t([64]),
      [`${p}ln_final.bias`]: t([64]),
      [`${p}logit_scale`]: t([]),
    };
    for (const layer of [0, 1]) {
      const r = `${p}transformer.resblocks.${layer}.`;
      Object.assign(tensors, {
        [`${r}attn.in_proj_weight`]: t([192, 64]),
        [`${r}attn.in_proj_bias`]: t([192]),
        [`${r}attn.out_proj.weight`]: t([64, 64]),
        [`${r}attn.out_proj.bias`]: t([64]),
        [`${r}ln_1.weight`]: t([64]),
        [`${r}ln_1.bias`]: t([64]),
        [`${r}ln_2.weight`]: t([64]),
        [`${r}ln_2.bias`]: t([64]),
        [`${r}mlp.c_fc.weight`]: t([100, 64]),
        [`${r}mlp.c_fc.bias`]: t([100]),
        [`${r}mlp.c_proj.weight`]: t([64, 100]),
        [`${r}mlp.c_proj.bias`]: t([64]),
      });
    }
    const sd2 = readSingleFile(new MemoryTensorSource(tensors, 'sd2-text.safetensors'));
    const te = sd2.components.text_encoder!;
    assert.equal(sd2.architecture, 'sd2');
    assert.deepEqual(
      te.source.float32('text_model.encoder.layers.0.self_attn.k_proj.bias'),
      Float32Array.from({ length: 64 }, (_, i) => 64 + i),
    );
    assert.equal(te.source.float32('text_model.encoder.layers.0.self_attn.v_proj.weight')[0], 128 * 64);
    assert.equal(te.config.num_hidden_layers, 1);
    assert.equal(te.config.hidden_act, 'gelu');
    assert.deepEqual(te.config.architectures, ['CLIPTextModel']);
    assert.deepEqual(
      sd2.ignored.map((i) => i.key).filter((k) => !k.endsWith('logit_scale')).length,
      13,
      'resblocks.1 (12 tensors) and text_projection',
    );
    assert.deepEqual(sd2.unmatched, []);
    const { [`${p}text_projection`]: _, ...fromDiffusers } = tensors; // what writeSingleFile makes of diffusers' SD-2 encoder
    assert.equal(readSingleFile(new MemoryTensorSource(fromDiffusers, 'sd2-written')).components.text_encoder!.config.num_hidden_layers, 2);
    const asSdxl = readSingleFile(
      new MemoryTensorSource(
        Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k.replace(p, 'conditioner.embedders.1.model.'), v])),
        'sdxl-text',
      ),
    );
    const te2 = asSdxl.components.text_encoder_2!.source;
    assert.deepEqual(te2.shape('text_projection.weight'), [3, 64]);
    assert.equal(te2.float32('text_projection.weight')[1 * 64 + 7], 7 * 3 + 1);
    assert.equal(asSdxl.components.text_encoder_2!.config.num_hidden_layers, 2);
  });

  test('inverse: components a layout has no place for, and tensors no table places, are refused', () => {
    const folder = folderComponents('tiny-sdxl');
    assert.throws(() => toSingleFile({ text_encoder_2: folder.text_encoder_2 }, 'sd1'), /no place for a "text_encoder_2"/);
    const extra = new MemoryTensorSource({
      'conv_in.weight': { shape: [1], data: new Float32Array(1) },
      'new_module.weight': { shape: [1], data: new Float32Array(1) },
    });
    const { unmatched } = toSingleFile({ vae: { source: extra, config: folder.vae!.config } }, 'sd1');
    assert.deepEqual(unmatched, [
      { component: 'vae', key: 'conv_in.weight' },
      { component: 'vae', key: 'new_module.weight' },
    ]);
    assert.throws(
      () => writeSingleFile(join(dir, 'refused.safetensors'), { vae: { source: extra, config: folder.vae!.config } }, 'sd1'),
      SingleFileError,
    );
    closeAll(folder);
  });
});

/** Keys and shapes of a graph's parameters, no data: real-size layouts without real-size memory. */
class ShapeOnlySource implements TensorSource {
  private readonly shapes: Map<string, readonly number[]>;
  constructor(
    graph: Graph,
    readonly origin: string,
  ) {
    this.shapes = new Map(graph.params.map((p) => [p.name!, p.shape]));
  }
  keys = (): string[] => [...this.shapes.keys()];
  has = (key: string): boolean => this.shapes.has(key);
  shape = (key: string): readonly number[] => this.shapes.get(key)!;
  dtype = (): 'F16' => 'F16';
  float32 = (): Float32Array => assert.fail('shape-only source');
  close = (): void => {};
}

describe('single-file layouts at real size (shapes only)', () => {
  const sdVae = {
    block_out_channels: [128, 256, 512, 512],
    down_block_types: Array(4).fill('DownEncoderBlock2D'),
    up_block_types: Array(4).fill('UpDecoderBlock2D'),
    layers_per_block: 2,
  };
  const clipL = {
    hidden_size: 768,
    intermediate_size: 3072,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    projection_dim: 768,
    hidden_act: 'quick_gelu',
    vocab_size: 49408,
  };
  const bigG = {
    hidden_size: 1280,
    intermediate_size: 5120,
    num_hidden_layers: 32,
    num_attention_heads: 20,
    projection_dim: 1280,
    hidden_act: 'gelu',
    vocab_size: 49408,
  };
  const openClipH = {
    hidden_size: 1024,
    intermediate_size: 4096,
    num_hidden_layers: 24,
    num_attention_heads: 16,
    projection_dim: 1024,
    hidden_act: 'gelu',
    vocab_size: 49408,
  };
  const sdxlUNet = {
    down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
    up_block_types: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
    block_out_channels: [320, 640, 1280],
    transformer_layers_per_block: [1, 2, 10],
    attention_head_dim: [5, 10, 20],
    cross_attention_dim: 2048,
    use_linear_projection: true,
    addition_embed_type: 'text_time',
    addition_time_embed_dim: 256,
    projection_class_embeddings_input_dim: 2816,
  };
  const families: [Architecture, Partial<Record<ComponentName, Record<string, unknown>>>][] = [
    ['sd1', { unet: { cross_attention_dim: 768 }, vae: sdVae, text_encoder: clipL }],
    [
      'sd2',
      {
        unet: { cross_attention_dim: 1024, attention_head_dim: [5, 10, 20, 20], use_linear_projection: true },
        vae: sdVae,
        text_encoder: openClipH,
      },
    ],
    ['sdxl', { unet: sdxlUNet, vae: sdVae, text_encoder: clipL, text_encoder_2: bigG }],
    [
      'sdxl-refiner',
      {
        unet: {
          ...sdxlUNet,
          down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
          up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
          block_out_channels: [384, 768, 1536, 1536],
          transformer_layers_per_block: [1, 4, 4, 4],
          attention_head_dim: [6, 12, 24, 24],
          cross_attention_dim: 1280,
          projection_class_embeddings_input_dim: 2560,
        },
        vae: sdVae,
        text_encoder_2: bigG,
      },
    ],
  ];
  const graphOf = (name: ComponentName, config: Record<string, unknown>): Graph =>
    name === 'unet' ? unetGraph(config) : name === 'vae' ? vaeGraph(config) : clipGraph(config, config !== clipL);

  for (const [architecture, configs] of families) {
    test(`${architecture}: detected, configs inferred, every tensor placed`, () => {
      const components = Object.fromEntries(
        Object.entries(configs).map(([name, config]) => [
          name,
          { source: new ShapeOnlySource(graphOf(name as ComponentName, config), name), config },
        ]),
      );
      const exported = toSingleFile(components, architecture);
      assert.deepEqual(exported.unmatched, []);
      const ck = readSingleFile(exported.source);
      assert.equal(ck.architecture, architecture);
      assert.deepEqual(ck.unmatched, []);
      assert.deepEqual(withoutSampleSize(parseUNetConfig(ck.components.unet!.config)), withoutSampleSize(parseUNetConfig(configs.unet!)));
      assert.deepEqual(
        { ...parseAutoencoderKLConfig(ck.components.vae!.config), sample_size: 0, scaling_factor: 0 },
        { ...parseAutoencoderKLConfig(sdVae), sample_size: 0, scaling_factor: 0 },
      );
      for (const name of Object.keys(configs) as ComponentName[]) {
        if (architecture !== 'sd2' || name !== 'text_encoder')
          assert.deepEqual(fileList(ck.components[name]!.source), fileList(components[name].source), name);
      }
      const te = ck.components.text_encoder ?? ck.components.text_encoder_2!;
      const expected = parseClipTextConfig(configs.text_encoder ?? configs.text_encoder_2);
      const actual = parseClipTextConfig(te.config);
      const fields = [
        'hidden_size',
        'intermediate_size',
        'num_attention_heads',
        'hidden_act',
        'vocab_size',
        'max_position_embeddings',
      ] as const;
      for (const f of fields) assert.equal(actual[f], expected[f], f);
      // SD-2 drops the last OpenCLIP layer and the projection (diffusers' SD-2 text encoder has 23 layers).
      assert.equal(actual.num_hidden_layers, expected.num_hidden_layers - (architecture === 'sd2' ? 1 : 0));
      assert.equal(ck.ignored.length, architecture === 'sd2' ? 13 : 0);
    });
  }
});

describe('single-file errors name the file', () => {
  test('truncated and corrupt files', () => {
    const folder = folderComponents('tiny-sd');
    const path = join(dir, 'truncated.safetensors');
    writeSingleFile(path, { vae: folder.vae }, 'sd1');
    closeAll(folder);
    truncateSync(path, 5000);
    assert.throws(
      () => openSingleFile(path),
      (err: Error) => err.message.includes(path),
    );
    const corrupt = join(dir, 'corrupt.safetensors');
    writeFileSync(corrupt, Buffer.concat([Buffer.from([16, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a": [1, 2, 3}}')]));
    assert.throws(
      () => openSingleFile(corrupt),
      (err: Error) => err.message.includes(corrupt),
    );
  });

  test('pickle checkpoints are refused', () => {
    const ckpt = join(dir, 'model.ckpt');
    writeFileSync(ckpt, Buffer.from([0x80, 0x02, 0x7d, 0x71]));
    assert.throws(() => openSingleFile(ckpt), PickleRefusedError);
    const disguised = join(dir, 'disguised.safetensors');
    writeFileSync(disguised, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0, 0]));
    assert.throws(
      () => openSingleFile(disguised),
      (err: Error) => err instanceof PickleRefusedError && err.message.includes(disguised),
    );
  });

  test('a UNet missing a tensor the inference needs', () => {
    const folder = folderComponents('tiny-sd');
    const { source } = toSingleFile({ unet: folder.unet }, 'sd1');
    const path = join(dir, 'no-conv-out.safetensors');
    writeSafetensors(
      path,
      source
        .keys()
        .filter((k) => !k.includes('.out.2.'))
        .map((k) => ({ name: k, dtype: 'F32' as const, shape: [...source.shape(k)], data: source.float32(k) })),
    );
    closeAll(folder);
    assert.throws(
      () => openSingleFile(path),
      (err: Error) =>
        err instanceof SingleFileError && err.message.includes(path) && err.message.includes('model.diffusion_model.out.2.weight'),
    );
  });
});
