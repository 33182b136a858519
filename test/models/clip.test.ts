import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { evaluate } from '../../src/interp/index.js';
import { hostArray, type Graph, type HostArray, type Value } from '../../src/ir/index.js';
import {
  clipInputIdsTensor,
  clipPoolingIndex,
  clipTextModel,
  clipTextModelWithProjection,
  ClipConfigError,
  parseClipTextConfig,
  poolingOneHot,
  type ClipTextConfig,
  type ClipTextOutputs,
  type ClipTextProjectionOutputs,
} from '../../src/models/clip/index.js';
import { Scope } from '../../src/nn/index.js';
import { createGraph } from '../../src/ops/index.js';
import type { HostTensor } from '../../src/runtime/tensors.js';
import { SafetensorsFile } from '../../src/weights/index.js';
import { checkOrtGradients, gradcheck } from '../helpers/gradcheck.js';
import { assertWeightsMatch, compare, fixture, loadWeights, runOrt } from '../helpers/model-parity.js';
import { data } from '../helpers/ort-check.js';

const readConfig = (...dir: string[]): ClipTextConfig => parseClipTextConfig(JSON.parse(readFileSync(fixture(...dir, 'config.json'), 'utf8')));

/** Token-id rows of a reference tensor ([2, 77] int64). */
function idRows(ref: SafetensorsFile, name: string): number[][] {
  const flat = Array.from(ref.int64(name), Number);
  return [flat.slice(0, 77), flat.slice(77)];
}

interface Built<T extends ClipTextOutputs> {
  graph: Graph;
  ids: Value;
  out: T;
}

function build<T extends ClipTextOutputs>(model: (s: Scope, c: ClipTextConfig, ids: Value) => T, config: ClipTextConfig, shape = [2, 77]): Built<T> {
  const graph = createGraph();
  const ids = graph.input('input_ids', shape, 'int64');
  return { graph, ids, out: model(new Scope(graph), config, ids) };
}

describe('parseClipTextConfig', () => {
  test('tiny-sd text_encoder config', () => {
    const c = readConfig('tiny-sd', 'text_encoder');
    assert.deepEqual(
      [c.hidden_size, c.intermediate_size, c.num_hidden_layers, c.num_attention_heads, c.vocab_size, c.max_position_embeddings, c.hidden_act, c.layer_norm_eps, c.eos_token_id],
      [32, 37, 2, 4, 1000, 77, 'quick_gelu', 1e-5, 999],
    );
  });

  test('absent keys take CLIPTextConfig defaults; unknown keys are ignored', () => {
    const c = parseClipTextConfig({ architectures: ['CLIPTextModel'], torch_dtype: 'float16', some_future_key: 1 });
    assert.deepEqual(c, {
      vocab_size: 49408,
      hidden_size: 512,
      intermediate_size: 2048,
      projection_dim: 512,
      num_hidden_layers: 12,
      num_attention_heads: 8,
      max_position_embeddings: 77,
      hidden_act: 'quick_gelu',
      layer_norm_eps: 1e-5,
      attention_dropout: 0,
      pad_token_id: 1,
      bos_token_id: 49406,
      eos_token_id: 49407,
    });
  });

  test('errors name the field', () => {
    const rejects = (raw: unknown, field: string, message: RegExp): void => {
      assert.throws(() => parseClipTextConfig(raw), (e: unknown) => e instanceof ClipConfigError && e.field === field && message.test(e.message));
    };
    rejects({ hidden_act: 'swiglu' }, 'hidden_act', /"swiglu" is not supported \(supported: quick_gelu, gelu/);
    rejects({ hidden_size: 0 }, 'hidden_size', /integer >= 1, got 0/);
    rejects({ num_hidden_layers: 2.5 }, 'num_hidden_layers', /integer >= 1, got 2.5/);
    rejects({ hidden_size: 32, num_attention_heads: 5 }, 'num_attention_heads', /must divide hidden_size 32, got 5/);
    rejects({ layer_norm_eps: 0 }, 'layer_norm_eps', /positive finite number, got 0/);
    rejects({ eos_token_id: '2' }, 'eos_token_id', /integer >= 0, got "2"/);
    rejects([], '(root)', /JSON object/);
  });
});

describe('pooling position (transformers rule)', () => {
  const rows = [
    [998, 5, 999, 999, 999], // first <|endoftext|> at 2
    [998, 999, 0, 0, 0], // tokenizer_2 padding with "!" = 0: still 1
    [998, 5, 6, 7, 8], // no <|endoftext|>: 0, as argmax of all-false
  ];

  test('clipPoolingIndex: first eos_token_id, or argmax(ids) when eos_token_id is 2', () => {
    assert.deepEqual(clipPoolingIndex(rows, { eos_token_id: 999 }), [2, 1, 0]);
    // Legacy rule: the largest id wins, first occurrence on ties (row 2: 998 at 0).
    assert.deepEqual(clipPoolingIndex(rows, { eos_token_id: 2 }), [2, 1, 0]);
    assert.deepEqual(clipPoolingIndex([[49406, 320, 49407, 49407], [3, 9, 4, 9]], { eos_token_id: 2 }), [2, 1]);
    assert.deepEqual(clipPoolingIndex([[49406, 320, 49407, 49407]], { eos_token_id: 320 }), [1]);
  });

  test('the in-graph one-hot picks the same positions as the host helper (interpreter)', () => {
    const cases: [number[][], number][] = [
      [rows, 999],
      [rows, 2],
      [[[49406, 320, 49407, 49407], [3, 9, 4, 9]], 2],
      [[[1, 2, 3, 4], [4, 4, 4, 4]], 4],
    ];
    for (const [ids, eos] of cases) {
      const graph = createGraph();
      const input = graph.input('ids', [ids.length, ids[0].length], 'int64');
      const [hot] = evaluate(graph, [poolingOneHot(input, { eos_token_id: eos })], { ids: hostArray(input.shape, 'int64', ids.flat()) });
      const picked = ids.map((row, b) => row.map((_, j) => hot.data[b * row.length + j]));
      assert.deepEqual(picked, clipPoolingIndex(ids, { eos_token_id: eos }).map((p, b) => ids[b].map((_, j) => (j === p ? 1 : 0))), `eos ${eos}`);
    }
  });
});

describe('tiny-sd CLIPTextModel matches the reference (tiny-sd-reference te.*)', () => {
  let weights: SafetensorsFile;
  let ref: SafetensorsFile;
  const config = (): ClipTextConfig => readConfig('tiny-sd', 'text_encoder');
  before(() => {
    weights = SafetensorsFile.open(fixture('tiny-sd', 'text_encoder', 'model.safetensors'));
    ref = SafetensorsFile.open(fixture('tiny-sd-reference.safetensors'));
  });
  after(() => {
    weights.close();
    ref.close();
  });
  const feeds = (): Record<string, HostTensor> => ({ input_ids: clipInputIdsTensor(idRows(ref, 'te.in.input_ids')) });

  test('the 36 weights and the graph parameters are the same set', () => {
    const { graph } = build(clipTextModel, config());
    assertWeightsMatch(weights, graph.params, 36);
  });

  test('last_hidden_state, pooler_output and hidden_states.{0,1,2} within the README tolerance (ORT)', async () => {
    const { graph, out } = build(clipTextModel, config());
    assert.equal(out.hiddenStates.length, 3);
    const results = await runOrt(graph, [out.lastHiddenState, out.pooled, ...out.hiddenStates], loadWeights(weights, graph.params), feeds());
    compare('te.last_hidden_state', results[0], ref.float32('te.last_hidden_state'));
    compare('te.pooler_output', results[1], ref.float32('te.pooler_output'));
    out.hiddenStates.forEach((_, i) => compare(`te.hidden_states.${i}`, results[2 + i], ref.float32(`te.hidden_states.${i}`)));
  });

  test('the legacy pooling rule (eos_token_id 2 → argmax) and a host-computed poolingIndex pool the same rows', async () => {
    const rows = idRows(ref, 'te.in.input_ids');
    const legacy = build(clipTextModel, { ...config(), eos_token_id: 2 });
    const [pooled] = await runOrt(legacy.graph, [legacy.out.pooled], loadWeights(weights, legacy.graph.params), feeds());
    compare('te.pooler_output (argmax rule)', pooled, ref.float32('te.pooler_output'));

    const graph = createGraph();
    const ids = graph.input('input_ids', [2, 77], 'int64');
    const index = graph.input('pooling_index', [2], 'int64');
    const out = clipTextModel(new Scope(graph), config(), ids, { poolingIndex: index });
    const positions = clipPoolingIndex(rows, config());
    assert.deepEqual(positions, [6, 1]);
    const indexFeed: HostTensor = { dtype: 'int64', dims: [2], data: BigInt64Array.from(positions, BigInt) };
    const [hostPooled] = await runOrt(graph, [out.pooled], loadWeights(weights, graph.params), { ...feeds(), pooling_index: indexFeed });
    compare('te.pooler_output (host poolingIndex)', hostPooled, ref.float32('te.pooler_output'));
  });

  test('float64 interpreter forward matches the reference (causal attention kernel included)', () => {
    const { graph, out } = build(clipTextModel, config());
    const interpFeeds = new Map<string, HostArray>(graph.params.map((p) => [p.name!, hostArray(p.shape, 'float32', weights.float32(p.name!))]));
    interpFeeds.set('input_ids', hostArray([2, 77], 'int64', idRows(ref, 'te.in.input_ids').flat()));
    const [last, pooled] = evaluate(graph, [out.lastHiddenState, out.pooled], interpFeeds);
    compare('interpreter te.last_hidden_state', Float32Array.from(last.data), ref.float32('te.last_hidden_state'));
    compare('interpreter te.pooler_output', Float32Array.from(pooled.data), ref.float32('te.pooler_output'));
  });

  test('shorter sequences use the first position embeddings; bad input ids are refused', () => {
    const { graph, out } = build(clipTextModel, config(), [1, 8]);
    assert.deepEqual([...out.lastHiddenState.shape], [1, 8, 32]);
    assert.ok(graph.params.some((p) => p.name === 'text_model.embeddings.position_embedding.weight' && p.shape[0] === 77));
    assert.throws(() => build(clipTextModel, config(), [1, 78]), /78 tokens exceed max_position_embeddings 77/);
    const g = createGraph();
    assert.throws(() => clipTextModel(new Scope(g), config(), g.input('f', [1, 77])), /input_ids must be int64 or int32 \[batch, tokens\], got float32 \[1, 77\]/);
    const ids = g.input('ids', [2, 77], 'int64');
    assert.throws(() => clipTextModel(new Scope(g), config(), ids, { poolingIndex: g.input('p', [3], 'int64') }), /poolingIndex must be \[2\], got \[3\]/);
  });

  test('gradients flow through the causal attention and the pooling (text-encoder LoRA training)', async () => {
    const { graph, out } = build(clipTextModelWithProjection, { ...config(), eos_token_id: 999 }, [1, 8]);
    const feeds: Record<string, HostArray> = Object.fromEntries(
      graph.params.map((p) => [p.name!, hostArray(p.shape, 'float32', p.name === 'text_projection.weight' ? data(p.shape, 'float32', -0.3, 0.3, 5).data : weights.float32(p.name!))]),
    );
    feeds.input_ids = hostArray([1, 8], 'int64', [998, 320, 1, 2, 999, 999, 999, 999]);
    const wrt = ['text_model.encoder.layers.0.self_attn.q_proj.bias', 'text_model.final_layer_norm.weight'].map((n) => graph.get(n)!);
    const c = { graph, output: out.textEmbeds, wrt, feeds };
    gradcheck(c);
    await checkOrtGradients(c);
  });

  test('hidden_act selects the MLP activation (gelu_new → tanh GELU, gelu → erf GELU)', () => {
    const gelus = (act: string): unknown[] => {
      const { graph } = build(clipTextModel, { ...config(), hidden_act: act as ClipTextConfig['hidden_act'] });
      return graph.nodes.filter((n) => n.op === 'gelu').map((n) => n.attrs.approximate);
    };
    assert.deepEqual(gelus('gelu_new'), ['tanh', 'tanh']);
    assert.deepEqual(gelus('gelu_pytorch_tanh'), ['tanh', 'tanh']);
    assert.deepEqual(gelus('gelu'), ['none', 'none']);
    assert.deepEqual(gelus('quick_gelu'), []);
  });
});

describe('tiny-sdxl text encoders match the reference (tiny-sdxl-reference te1.*, te2.*)', () => {
  let te1: SafetensorsFile;
  let te2: SafetensorsFile;
  let ref: SafetensorsFile;
  before(() => {
    te1 = SafetensorsFile.open(fixture('tiny-sdxl', 'text_encoder', 'model.safetensors'));
    te2 = SafetensorsFile.open(fixture('tiny-sdxl', 'text_encoder_2', 'model.safetensors'));
    ref = SafetensorsFile.open(fixture('tiny-sdxl-reference.safetensors'));
  });
  after(() => {
    te1.close();
    te2.close();
    ref.close();
  });
  const penultimate = (out: ClipTextOutputs): Value => out.hiddenStates[out.hiddenStates.length - 2];

  test('text_encoder (CLIPTextModel): last_hidden_state and penultimate hidden state', async () => {
    const { graph, out } = build(clipTextModel, readConfig('tiny-sdxl', 'text_encoder'));
    assertWeightsMatch(te1, graph.params, te1.tensors.size);
    const [last, pen] = await runOrt(graph, [out.lastHiddenState, penultimate(out)], loadWeights(te1, graph.params), {
      input_ids: clipInputIdsTensor(idRows(ref, 'te1.in.input_ids')),
    });
    compare('te1.last_hidden_state', last, ref.float32('te1.last_hidden_state'));
    compare('te1.penultimate', pen, ref.float32('te1.penultimate'));
  });

  test('text_encoder_2 (CLIPTextModelWithProjection, ids padded with "!" = 0): states, text_embeds, prompt_embeds', async () => {
    const built: Built<ClipTextProjectionOutputs> = build(clipTextModelWithProjection, readConfig('tiny-sdxl', 'text_encoder_2'));
    assertWeightsMatch(te2, built.graph.params, 37);
    const rows = idRows(ref, 'te2.in.input_ids');
    assert.deepEqual(rows.map((r) => r.slice(-1)[0]), [0, 0], 'te2 ids are padded with id 0');
    const { out } = built;
    const [last, pen, embeds] = await runOrt(built.graph, [out.lastHiddenState, penultimate(out), out.textEmbeds], loadWeights(te2, built.graph.params), {
      input_ids: clipInputIdsTensor(rows),
    });
    compare('te2.last_hidden_state', last, ref.float32('te2.last_hidden_state'));
    compare('te2.penultimate', pen, ref.float32('te2.penultimate'));
    compare('te2.text_embeds', embeds, ref.float32('te2.text_embeds'));
  });

  test('the SDXL prompt_embeds: both penultimate states concatenated in one graph', async () => {
    const graph = createGraph();
    const ids1 = graph.input('ids1', [2, 77], 'int64');
    const ids2 = graph.input('ids2', [2, 77], 'int64');
    const scope = new Scope(graph);
    const first = clipTextModel(scope.sub('te1'), readConfig('tiny-sdxl', 'text_encoder'), ids1);
    const second = clipTextModelWithProjection(scope.sub('te2'), readConfig('tiny-sdxl', 'text_encoder_2'), ids2);
    const promptEmbeds = graph.apply('concat', [penultimate(first), penultimate(second)], { axis: -1 });
    const weights = new Map(graph.params.map((p) => [p.name!, (p.name!.startsWith('te1.') ? te1 : te2).float32(p.name!.slice(4))]));
    const [embeds] = await runOrt(graph, [promptEmbeds], weights, {
      ids1: clipInputIdsTensor(idRows(ref, 'te1.in.input_ids')),
      ids2: clipInputIdsTensor(idRows(ref, 'te2.in.input_ids')),
    });
    compare('prompt_embeds', embeds, ref.float32('prompt_embeds'));
  });
});

test('clipInputIdsTensor: int64 [B,S]; ragged rows are refused', () => {
  const t = clipInputIdsTensor([
    [1, 2],
    [3, 4],
  ]);
  assert.deepEqual(t.dims, [2, 2]);
  assert.deepEqual([...t.data], [1n, 2n, 3n, 4n]);
  assert.throws(() => clipInputIdsTensor([[1, 2], [3]]), /row 1 has 1 ids, row 0 has 2/);
});
