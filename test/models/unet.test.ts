import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { evaluate } from '../../src/interp/index.js';
import { hostArray, type Graph, type HostArray, type Value } from '../../src/ir/index.js';
import {
  parseUNetConfig,
  randomUNetWeights,
  resolveUNetLayout,
  timestepFrequencies,
  unet2DConditionModel,
  UNetConfigError,
  type UNetConfig,
  type UNetInputs,
} from '../../src/models/unet/index.js';
import { Scope } from '../../src/nn/index.js';
import { createGraph } from '../../src/ops/index.js';
import type { HostTensor } from '../../src/runtime/tensors.js';
import { SafetensorsFile } from '../../src/weights/index.js';
import { assertWeightsMatch, compare, f32, fixture, loadWeights, runOrt } from '../helpers/model-parity.js';

const readConfig = (dir: string): UNetConfig => parseUNetConfig(JSON.parse(readFileSync(fixture(dir, 'unet', 'config.json'), 'utf8')));

// --- graph + ORT plumbing ---

interface BuiltUNet {
  graph: Graph;
  scope: Scope;
  out: Value;
  activations: Map<string, Value>;
}

type InputShapes = Partial<Record<'timestep' | 'textEmbeds' | 'timeIds', number[]>>;

/** Builds the UNet with graph inputs shaped like the reference tensors. */
function buildUNet(config: UNetConfig, batch: number, hw: number, ehsShape: number[], shapes: InputShapes = {}): BuiltUNet {
  const graph = createGraph();
  const scope = new Scope(graph);
  const inputs: UNetInputs = {
    sample: graph.input('sample', [batch, config.in_channels, hw, hw]),
    timestep: graph.input('timestep', shapes.timestep ?? [batch]),
    encoderHiddenStates: graph.input('encoder_hidden_states', ehsShape),
  };
  if (shapes.textEmbeds) inputs.textEmbeds = graph.input('text_embeds', shapes.textEmbeds);
  if (shapes.timeIds) inputs.timeIds = graph.input('time_ids', shapes.timeIds);
  const activations = new Map<string, Value>();
  const out = unet2DConditionModel(scope, config, inputs, { activations });
  return { graph, scope, out, activations };
}

/** The integer timesteps of the reference as the float32 graph input. */
const timestepsAsFloat = (ref: SafetensorsFile): Float32Array => Float32Array.from(ref.int64('unet.in.timesteps'), Number);

/** Runs the full model plus every `unet.act.*` the reference has, and compares them all. */
async function checkParity(built: BuiltUNet, weightsFile: SafetensorsFile, ref: SafetensorsFile, feeds: Record<string, HostTensor>): Promise<void> {
  const actNames = [...ref.tensors.keys()].filter((k) => k.startsWith('unet.act.')).map((k) => k.slice('unet.act.'.length));
  const missing = actNames.filter((n) => !built.activations.has(n));
  assert.deepEqual(missing, [], 'reference activations the build did not record');
  const outputs = [built.out, ...actNames.map((n) => built.activations.get(n)!)];
  const results = await runOrt(built.graph, outputs, loadWeights(weightsFile, built.graph.params), feeds);
  actNames.forEach((n, i) => compare(`unet.act.${n}`, results[i + 1], ref.float32(`unet.act.${n}`)));
  compare('unet.out', results[0], ref.float32('unet.out'));
}

// --- config ---

describe('parseUNetConfig', () => {
  test('tiny-sd config: legacy attention_head_dim = 8 means 8 heads', () => {
    const c = readConfig('tiny-sd');
    assert.deepEqual(c.down_block_types, ['DownBlock2D', 'CrossAttnDownBlock2D']);
    const layout = resolveUNetLayout(c);
    assert.equal(layout.timestepInputDim, 32);
    assert.equal(layout.timeEmbedDim, 128);
    assert.equal(layout.down[1].attention?.heads, 8);
    assert.equal(layout.mid?.attention?.heads, 8);
    assert.deepEqual(layout.up.map((b) => [b.prevOutputChannels, b.inChannels, b.outChannels, b.layers]), [
      [64, 32, 64, 3],
      [64, 32, 32, 3],
    ]);
  });

  test('absent keys take diffusers defaults (the SD-1.5 UNet)', () => {
    const c = parseUNetConfig({ _class_name: 'UNet2DConditionModel', some_future_key: 1 });
    assert.deepEqual(c.block_out_channels, [320, 640, 1280, 1280]);
    assert.equal(c.cross_attention_dim, 1280);
    assert.deepEqual(parseUNetConfig({ down_block_types: ['UNetResDownBlock2D', 'DownBlock2D', 'DownBlock2D', 'DownBlock2D'] }).down_block_types[0], 'DownBlock2D');
    const layout = resolveUNetLayout(c);
    assert.deepEqual(layout.down.map((b) => [b.type, b.inChannels, b.outChannels, b.addDownsample]), [
      ['CrossAttnDownBlock2D', 320, 320, true],
      ['CrossAttnDownBlock2D', 320, 640, true],
      ['CrossAttnDownBlock2D', 640, 1280, true],
      ['DownBlock2D', 1280, 1280, false],
    ]);
    assert.deepEqual(layout.up.map((b) => [b.type, b.prevOutputChannels, b.inChannels, b.outChannels]), [
      ['UpBlock2D', 1280, 1280, 1280],
      ['CrossAttnUpBlock2D', 1280, 640, 1280],
      ['CrossAttnUpBlock2D', 1280, 320, 640],
      ['CrossAttnUpBlock2D', 640, 320, 320],
    ]);
    assert.equal(layout.timeEmbedDim, 1280);
  });

  test('tiny-sdxl: per-block heads and transformer depths, reversed for the up path', () => {
    const layout = resolveUNetLayout(readConfig('tiny-sdxl'));
    assert.deepEqual(layout.down[1].attention, { heads: 4, crossAttentionDim: 64, onlyCrossAttention: false, depths: [2, 2] });
    assert.deepEqual(layout.mid?.attention?.depths, [2]);
    assert.deepEqual(layout.up[0].attention, { heads: 4, crossAttentionDim: 64, onlyCrossAttention: false, depths: [2, 2, 2] });
    assert.equal(layout.up[1].attention, null);
  });

  const rejects = (patch: Record<string, unknown>, field: string, detail: RegExp): void => {
    assert.throws(
      () => parseUNetConfig(patch),
      (e: unknown) => e instanceof UNetConfigError && e.field === field && e.message.includes(`\`${field}\``) && detail.test(e.message),
    );
  };

  test('unsupported values are errors naming the field', () => {
    rejects({ down_block_types: ['DownBlock2D', 'AttnDownBlock2D'] }, 'down_block_types', /entry 1: unknown or unsupported block type "AttnDownBlock2D"/);
    rejects({ up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'SimpleCrossAttnUpBlock2D', 'UpBlock2D'] }, 'up_block_types', /SimpleCrossAttnUpBlock2D/);
    rejects({ mid_block_type: 'UNetMidBlock2DSimpleCrossAttn' }, 'mid_block_type', /unsupported block type/);
    rejects({ attention_type: 'gated' }, 'attention_type', /"gated" is not supported/);
    rejects({ class_embed_type: 'timestep' }, 'class_embed_type', /class embeddings/);
    rejects({ num_class_embeds: 10 }, 'num_class_embeds', /class embeddings/);
    rejects({ encoder_hid_dim_type: 'text_proj', encoder_hid_dim: 4 }, 'encoder_hid_dim_type', /not supported/);
    rejects({ resnet_time_scale_shift: 'scale_shift' }, 'resnet_time_scale_shift', /scale_shift/);
    rejects({ time_embedding_type: 'fourier' }, 'time_embedding_type', /Fourier/);
    rejects({ num_attention_heads: 8 }, 'num_attention_heads', /attention_head_dim/);
    rejects({ addition_embed_type: 'text' }, 'addition_embed_type', /"text" is not supported/);
    rejects({ act_fn: 'mish' }, 'act_fn', /"mish" is not supported/);
    rejects({ dual_cross_attention: true }, 'dual_cross_attention', /DualTransformer2DModel/);
  });

  test('inconsistent values are errors naming the field', () => {
    rejects({ up_block_types: ['UpBlock2D'] }, 'up_block_types', /1 entries, down_block_types has 4/);
    rejects({ block_out_channels: [32, 64] }, 'block_out_channels', /2 entries/);
    rejects({ attention_head_dim: [8, 8] }, 'attention_head_dim', /2 entries but there are 4 down blocks/);
    rejects({ layers_per_block: 0 }, 'layers_per_block', /invalid: 0/);
    rejects({ conv_in_kernel: 2 }, 'conv_in_kernel', /must be odd/);
    rejects({ norm_eps: -1 }, 'norm_eps', /positive finite number/);
    rejects({ addition_embed_type: 'text_time', projection_class_embeddings_input_dim: 80 }, 'addition_time_embed_dim', /required/);
    rejects({ transformer_layers_per_block: [1, [1, 2], 1, 1] }, 'reverse_transformer_layers_per_block', /asymmetric/);
    assert.throws(() => parseUNetConfig([]), UNetConfigError);
  });
});

describe('timestep embedding', () => {
  test('frequencies exp(−ln(10000)·i/(half − shift)) in float32', () => {
    // half 4, shift 0: exp(−ln(1e4)·i/4) = 1, 0.1, 0.01, 0.001 (to float32 rounding of each step)
    const close = (a: number, e: number): boolean => Math.abs(a - e) <= 1e-6 * e;
    const f = timestepFrequencies(4, 0);
    [1, 0.1, 0.01, 0.001].forEach((e, i) => assert.ok(close(f[i], e), `freq ${i}: ${f[i]}`));
    // shift 1 (diffusers' default downscale_freq_shift): exp(−ln(1e4)·i/3), last = 1e-4
    assert.ok(close(timestepFrequencies(4, 1)[3], 1e-4));
  });
});

// --- parity with diffusers ---

describe('tiny-sd UNet matches diffusers (tiny-sd-reference)', () => {
  let weights: SafetensorsFile;
  let ref: SafetensorsFile;
  const config = (): UNetConfig => readConfig('tiny-sd');
  before(() => {
    weights = SafetensorsFile.open(fixture('tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors'));
    ref = SafetensorsFile.open(fixture('tiny-sd-reference.safetensors'));
  });
  after(() => {
    weights.close();
    ref.close();
  });

  const baseFeeds = (): Record<string, HostTensor> => ({
    sample: f32([2, 4, 32, 32], ref.float32('unet.in.sample')),
    encoder_hidden_states: f32([2, 77, 32], ref.float32('unet.in.encoder_hidden_states')),
  });

  test('the 304 weights and the graph parameters are the same set', () => {
    const built = buildUNet(config(), 2, 32, [2, 77, 32]);
    assertWeightsMatch(weights, built.graph.params, 304);
  });

  test('output and every intermediate within the README tolerance (timesteps [999, 250])', async () => {
    const built = buildUNet(config(), 2, 32, [2, 77, 32]);
    await checkParity(built, weights, ref, { ...baseFeeds(), timestep: f32([2], timestepsAsFloat(ref)) });
  });

  test('a 0-d timestep (500) is broadcast over the batch (unet.out_t500_scalar)', async () => {
    const built = buildUNet(config(), 2, 32, [2, 77, 32], { timestep: [] });
    const [out] = await runOrt(built.graph, [built.out], loadWeights(weights, built.graph.params), { ...baseFeeds(), timestep: f32([], Float32Array.of(500)) });
    compare('unet.out_t500_scalar', out, ref.float32('unet.out_t500_scalar'));
  });
});

describe('tiny-sdxl UNet (text_time added conditions) matches diffusers (tiny-sdxl-reference)', () => {
  let weights: SafetensorsFile;
  let ref: SafetensorsFile;
  before(() => {
    weights = SafetensorsFile.open(fixture('tiny-sdxl', 'unet', 'diffusion_pytorch_model.safetensors'));
    ref = SafetensorsFile.open(fixture('tiny-sdxl-reference.safetensors'));
  });
  after(() => {
    weights.close();
    ref.close();
  });
  const build = (): BuiltUNet => buildUNet(readConfig('tiny-sdxl'), 2, 32, [2, 77, 64], { textEmbeds: [2, 32], timeIds: [2, 6] });

  test('every weight is used and every parameter exists', () => {
    const built = build();
    assertWeightsMatch(weights, built.graph.params, weights.tensors.size);
    assert.ok(weights.has('add_embedding.linear_1.weight') && weights.has('down_blocks.1.attentions.0.transformer_blocks.1.ff.net.2.bias'));
  });

  test('output and every intermediate within the README tolerance', async () => {
    await checkParity(build(), weights, ref, {
      sample: f32([2, 4, 32, 32], ref.float32('unet.in.sample')),
      timestep: f32([2], timestepsAsFloat(ref)),
      encoder_hidden_states: f32([2, 77, 64], ref.float32('unet.in.encoder_hidden_states')),
      text_embeds: f32([2, 32], ref.float32('unet.in.text_embeds')),
      time_ids: f32([2, 6], ref.float32('unet.in.time_ids')),
    });
  });

  test('text_time without textEmbeds/timeIds is an error', () => {
    assert.throws(() => buildUNet(readConfig('tiny-sdxl'), 2, 32, [2, 77, 64]), /needs inputs textEmbeds and timeIds/);
  });
});

describe('float64 interpreter', () => {
  test('tiny-sd forward (batch 1, t = 999) matches diffusers', () => {
    const weights = SafetensorsFile.open(fixture('tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors'));
    const ref = SafetensorsFile.open(fixture('tiny-sd-reference.safetensors'));
    try {
      const built = buildUNet(readConfig('tiny-sd'), 1, 32, [1, 77, 32]);
      const feeds = new Map<string, HostArray>(built.graph.params.map((p) => [p.name!, hostArray(p.shape, 'float32', weights.float32(p.name!))]));
      feeds.set('sample', hostArray([1, 4, 32, 32], 'float32', ref.float32('unet.in.sample').subarray(0, 4 * 32 * 32)));
      feeds.set('timestep', hostArray([1], 'float32', [999]));
      feeds.set('encoder_hidden_states', hostArray([1, 77, 32], 'float32', ref.float32('unet.in.encoder_hidden_states').subarray(0, 77 * 32)));
      const [out] = evaluate(built.graph, [built.out], feeds);
      compare('interpreter unet.out[0]', Float32Array.from(out.data), ref.float32('unet.out').subarray(0, 4 * 32 * 32));
    } finally {
      weights.close();
      ref.close();
    }
  });
});

describe('ControlNet residuals', () => {
  // Skip connections of tiny-sd at 32×32: conv_in, 2 resnets, downsampler (level 0); 2 resnets (level 1).
  const skipShapes = [[2, 32, 32, 32], [2, 32, 32, 32], [2, 32, 32, 32], [2, 32, 16, 16], [2, 64, 16, 16], [2, 64, 16, 16]];
  const midShape = [2, 64, 16, 16];

  function buildWithResiduals(shapes = skipShapes): BuiltUNet {
    const graph = createGraph();
    const scope = new Scope(graph);
    const out = unet2DConditionModel(scope, readConfig('tiny-sd'), {
      sample: graph.input('sample', [2, 4, 32, 32]),
      timestep: graph.input('timestep', [2]),
      encoderHiddenStates: graph.input('encoder_hidden_states', [2, 77, 32]),
      downBlockAdditionalResiduals: shapes.map((s, i) => graph.input(`down_residual_${i}`, s)),
      midBlockAdditionalResidual: graph.input('mid_residual', midShape),
    });
    return { graph, scope, out, activations: new Map() };
  }

  test('zero residuals leave the output unchanged; non-zero ones change it', async () => {
    const weights = SafetensorsFile.open(fixture('tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors'));
    const ref = SafetensorsFile.open(fixture('tiny-sd-reference.safetensors'));
    try {
      const built = buildWithResiduals();
      const feedsWith = (fill: (shape: number[], i: number) => Float32Array): Record<string, HostTensor> => ({
        sample: f32([2, 4, 32, 32], ref.float32('unet.in.sample')),
        timestep: f32([2], timestepsAsFloat(ref)),
        encoder_hidden_states: f32([2, 77, 32], ref.float32('unet.in.encoder_hidden_states')),
        mid_residual: f32(midShape, fill(midShape, 99)),
        ...Object.fromEntries(skipShapes.map((s, i) => [`down_residual_${i}`, f32(s, fill(s, i))])),
      });
      const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
      const w = loadWeights(weights, built.graph.params);
      const [zero] = await runOrt(built.graph, [built.out], w, feedsWith((s) => new Float32Array(size(s))));
      compare('unet.out with zero residuals', zero, ref.float32('unet.out'));
      const [shifted] = await runOrt(built.graph, [built.out], w, feedsWith((s, i) => new Float32Array(size(s)).fill(0.1 * (i + 1))));
      const moved = shifted.reduce((m, v, i) => Math.max(m, Math.abs(v - zero[i])), 0);
      assert.ok(moved > 1e-2, `residuals moved the output by only ${moved}`);
    } finally {
      weights.close();
      ref.close();
    }
  });

  test('residual count and shapes are checked against the skip connections', () => {
    assert.throws(() => buildWithResiduals(skipShapes.slice(1)), /has 5 tensors, the down path has 6 skip connections/);
    const swapped = [...skipShapes];
    [swapped[3], swapped[4]] = [swapped[4], swapped[3]];
    assert.throws(() => buildWithResiduals(swapped), /downBlockAdditionalResiduals\[3\] is \[2, 64, 16, 16\], skip 3 is \[2, 32, 16, 16\]/);
  });

  test('a down residual list without the mid residual is refused', () => {
    const graph = createGraph();
    const inputs: UNetInputs = {
      sample: graph.input('sample', [2, 4, 32, 32]),
      timestep: graph.input('timestep', [2]),
      encoderHiddenStates: graph.input('ehs', [2, 77, 32]),
      downBlockAdditionalResiduals: skipShapes.map((s, i) => graph.input(`r${i}`, s)),
    };
    assert.throws(() => unet2DConditionModel(new Scope(graph), readConfig('tiny-sd'), inputs), /need both downBlockAdditionalResiduals and midBlockAdditionalResidual/);
  });
});

describe('less common config paths', () => {
  // only_cross_attention, linear projections, timestep_cond (LCM), a resnet-only mid block, downsample_padding 0,
  // 1×1 conv_in, centred input, time_embedding_act_fn / timestep_post_act, 'swish'.
  const variant = parseUNetConfig({
    block_out_channels: [32, 64],
    down_block_types: ['CrossAttnDownBlock2D', 'DownBlock2D'],
    up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'],
    mid_block_type: 'UNetMidBlock2D',
    layers_per_block: 1,
    cross_attention_dim: 16,
    attention_head_dim: [4, 2],
    norm_num_groups: 8,
    only_cross_attention: true,
    use_linear_projection: true,
    time_cond_proj_dim: 12,
    center_input_sample: true,
    downsample_padding: 0,
    conv_in_kernel: 1,
    act_fn: 'swish',
    time_embedding_act_fn: 'silu',
    timestep_post_act: 'gelu',
  });

  function build(): BuiltUNet & { graphInputs: Value[] } {
    const graph = createGraph();
    const scope = new Scope(graph);
    const graphInputs = [graph.input('sample', [1, 4, 8, 8]), graph.input('timestep', [1]), graph.input('ehs', [1, 5, 16]), graph.input('cond', [1, 12])];
    const [sample, timestep, encoderHiddenStates, timestepCond] = graphInputs;
    const out = unet2DConditionModel(scope, variant, { sample, timestep, encoderHiddenStates, timestepCond });
    return { graph, scope, out, activations: new Map(), graphInputs };
  }

  test('parameters carry the diffusers names and shapes of these modules', () => {
    const shapes = new Map(build().graph.params.map((p) => [p.name!, [...p.shape]]));
    const block = 'down_blocks.0.attentions.0';
    assert.deepEqual(shapes.get('time_embedding.cond_proj.weight'), [32, 12]);
    assert.deepEqual(shapes.get(`${block}.proj_in.weight`), [32, 32]);
    assert.deepEqual(shapes.get(`${block}.transformer_blocks.0.attn1.to_k.weight`), [32, 16]);
    assert.deepEqual(shapes.get(`${block}.transformer_blocks.0.ff.net.0.proj.weight`), [256, 32]);
    assert.deepEqual(shapes.get('up_blocks.1.attentions.1.transformer_blocks.0.attn2.to_v.weight'), [32, 16]);
    assert.deepEqual(shapes.get('conv_in.weight'), [32, 4, 1, 1]);
    assert.ok(shapes.has('mid_block.resnets.0.conv1.weight') && !shapes.has('mid_block.resnets.1.conv1.weight'));
    assert.ok(![...shapes.keys()].some((k) => k.startsWith('mid_block.attentions')));
    assert.deepEqual(shapes.get('down_blocks.0.downsamplers.0.conv.weight'), [32, 32, 3, 3]);
    assert.equal(shapes.get('up_blocks.0.upsamplers.0.conv.weight')?.[0], 64);
  });

  test('ORT and the float64 interpreter agree (random weights)', async () => {
    const built = build();
    const weights = randomUNetWeights(built.graph.params, 3, 0.2);
    const feedData = [
      Float32Array.from({ length: 256 }, (_, i) => Math.sin(i)),
      Float32Array.of(37),
      Float32Array.from({ length: 80 }, (_, i) => Math.cos(i)),
      Float32Array.from({ length: 12 }, (_, i) => i / 12),
    ];
    const feeds = Object.fromEntries(built.graphInputs.map((v, i) => [v.name!, f32([...v.shape], feedData[i])]));
    const [ort] = await runOrt(built.graph, [built.out], weights, feeds);
    const interpFeeds = new Map<string, HostArray>([...weights].map(([k, d]) => [k, hostArray(built.graph.get(k)!.shape, 'float32', d)]));
    built.graphInputs.forEach((v, i) => interpFeeds.set(v.name!, hostArray(v.shape, 'float32', feedData[i])));
    const [ref] = evaluate(built.graph, [built.out], interpFeeds);
    assert.ok(ort.every(Number.isFinite));
    compare('variant UNet ORT vs interpreter', ort, Float32Array.from(ref.data));
  });

  test('timestepCond without time_cond_proj_dim, and bad sample sizes, are errors', () => {
    const graph = createGraph();
    const base = { sample: graph.input('s', [1, 4, 31, 32]), timestep: graph.input('t', [1]), encoderHiddenStates: graph.input('e', [1, 77, 32]) };
    assert.throws(() => unet2DConditionModel(new Scope(graph), readConfig('tiny-sd'), base), /multiples of 2/);
    const ok = { ...base, sample: graph.input('s2', [1, 4, 32, 32]), timestepCond: graph.input('c', [1, 4]) };
    assert.throws(() => unet2DConditionModel(new Scope(graph), readConfig('tiny-sd'), ok), /no time_cond_proj_dim/);
  });
});

describe('randomUNetWeights', () => {
  test('deterministic per seed; norms are 1/0, biases 0, other weights N(0, std²)', () => {
    const { graph } = buildUNet(readConfig('tiny-sd'), 1, 32, [1, 77, 32]);
    const a = randomUNetWeights(graph.params, 5);
    const b = randomUNetWeights(graph.params, 5);
    assert.equal(a.size, 304);
    assert.deepEqual(a.get('conv_in.weight'), b.get('conv_in.weight'));
    assert.notDeepEqual(randomUNetWeights(graph.params, 6).get('conv_in.weight'), a.get('conv_in.weight'));
    assert.ok(a.get('down_blocks.1.attentions.0.norm.weight')!.every((x) => x === 1));
    assert.ok(a.get('conv_norm_out.bias')!.every((x) => x === 0));
    assert.ok(a.get('down_blocks.1.attentions.0.transformer_blocks.0.norm3.weight')!.every((x) => x === 1));
    assert.ok(a.get('conv_in.bias')!.every((x) => x === 0));
    const w = a.get('up_blocks.0.resnets.0.conv1.weight')!;
    const std = Math.sqrt(w.reduce((s, x) => s + x * x, 0) / w.length);
    assert.ok(Math.abs(std - 0.02) < 0.001, `std ${std}`);
  });
});

test('a float16 scope builds the UNet with float16 parameters (time embedding cast as diffusers does)', () => {
  const graph = createGraph();
  const scope = new Scope(graph, '', 'float16');
  const out = unet2DConditionModel(scope, readConfig('tiny-sdxl'), {
    sample: graph.input('sample', [1, 4, 16, 16], 'float16'),
    timestep: graph.input('timestep', [1]),
    encoderHiddenStates: graph.input('ehs', [1, 77, 64], 'float16'),
    textEmbeds: graph.input('text_embeds', [1, 32], 'float16'),
    timeIds: graph.input('time_ids', [1, 6]),
  });
  assert.equal(out.dtype, 'float16');
  assert.ok(graph.params.every((p) => p.dtype === 'float16'));
});
