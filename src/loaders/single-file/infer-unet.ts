/**
 * UNet config from the shapes and key structure of an LDM/SGM UNet (`model.diffusion_model.*`): levels,
 * channels, layers, attention and transformer depth per block, in/out channels, cross-attention width,
 * linear or conv projections, SDXL text_time and LCM guidance embeddings. Head counts and sizes cannot be
 * read from weights: they come from the family rules (keymaps/checkpoint.ts).
 */
import { DEFAULT_ADDITION_TIME_EMBED_DIM, type Architecture, type FamilyRules } from './keymaps/checkpoint.js';
import type { ComponentKeys } from './component-keys.js';

interface DownLevel {
  channels: number;
  layers: number;
  /** Transformer depth per layer, or null for a level without attention. */
  depths: number[] | null;
}

interface UpLevel {
  layers: number;
  depths: number[] | null;
}

export interface UNetStructure {
  inChannels: number;
  outChannels: number;
  convInKernel: number;
  convOutKernel: number;
  timeEmbedDim: number;
  down: DownLevel[];
  /** In diffusers order (the deepest level first). */
  up: UpLevel[];
  mid: { kind: 'cross-attn' | 'resnet' | 'none'; depth: number };
  crossAttentionDim: number | null;
  linearProjection: boolean;
  /** Input width of SDXL's label_emb (diffusers' projection_class_embeddings_input_dim), or null. */
  additionInputDim: number | null;
  timeCondProjDim: number | null;
}

export interface InferredConfig {
  config: Record<string, unknown>;
  /** Fields set by family rules rather than read from the weights. */
  assumed: string[];
  /** Fields the rules could not set, with the reason; the caller must override them. */
  unresolved: Record<string, string>;
}

/** Number of transformer blocks under each attention module (`input_blocks.4.1` → 1, ...). */
function transformerDepths(raw: ComponentKeys): Map<string, number> {
  const depths = new Map<string, number>();
  for (const key of raw.keys) {
    const m = /^(.+)\.transformer_blocks\.(\d+)\./.exec(key);
    if (m) depths.set(m[1], Math.max(depths.get(m[1]) ?? 0, Number(m[2]) + 1));
  }
  return depths;
}

/** Null when no layer has attention; a level where only some layers have it is not a diffusers block. */
function levelDepths(raw: ComponentKeys, depths: number[], where: string): number[] | null {
  if (depths.every((d) => d === 0)) return null;
  if (depths.some((d) => d === 0)) throw raw.error(`has attention in only some layers of ${where} (depths ${depths.join(', ')})`);
  return depths;
}

function readDown(raw: ComponentKeys, depths: Map<string, number>): DownLevel[] {
  const count = raw.count(/^input_blocks\.(\d+)\./, 'input_blocks');
  const levels: DownLevel[] = [];
  let layerDepths: number[] = [];
  let channels = 0;
  const closeLevel = (): void => {
    if (layerDepths.length === 0) throw raw.error(`has a level without resnets before input block ${levels.length}`);
    levels.push({ channels, layers: layerDepths.length, depths: levelDepths(raw, layerDepths, `down level ${levels.length}`) });
    layerDepths = [];
  };
  for (let i = 1; i < count; i++) {
    if (raw.has(`input_blocks.${i}.0.op.weight`)) {
      closeLevel();
      continue;
    }
    channels = raw.need(`input_blocks.${i}.0.in_layers.2.weight`, `input block ${i} (a resnet or a downsampler)`)[0];
    layerDepths.push(depths.get(`input_blocks.${i}.1`) ?? 0);
  }
  closeLevel();
  return levels;
}

function readUp(raw: ComponentKeys, depths: Map<string, number>, down: DownLevel[]): UpLevel[] {
  const count = raw.count(/^output_blocks\.(\d+)\./, 'output_blocks');
  const sizes = down.map((l) => l.layers + 1).reverse();
  const expected = sizes.reduce((a, b) => a + b, 0);
  if (count !== expected) throw raw.error(`has ${count} output blocks; its input blocks imply ${expected}`);
  let output = 0;
  return sizes.map((layers, level) => {
    const d = Array.from({ length: layers }, () => depths.get(`output_blocks.${output++}.1`) ?? 0);
    return { layers, depths: levelDepths(raw, d, `up level ${level}`) };
  });
}

function readMid(raw: ComponentKeys, depths: Map<string, number>): UNetStructure['mid'] {
  if (raw.has('middle_block.1.proj_in.weight')) return { kind: 'cross-attn', depth: depths.get('middle_block.1') ?? 0 };
  return { kind: raw.has('middle_block.0.in_layers.2.weight') ? 'resnet' : 'none', depth: 0 };
}

function firstShape(raw: ComponentKeys, suffix: string): readonly number[] | null {
  const key = raw.keys.find((k) => k.endsWith(suffix));
  return key === undefined ? null : raw.file.shape(raw.prefix + key);
}

export function readUNetStructure(raw: ComponentKeys): UNetStructure {
  const depths = transformerDepths(raw);
  const down = readDown(raw, depths);
  const convIn = raw.need('input_blocks.0.0.weight', 'in_channels');
  const convOut = raw.need('out.2.weight', 'out_channels');
  const label = raw.has('label_emb.0.0.weight') ? raw.need('label_emb.0.0.weight', 'projection_class_embeddings_input_dim') : null;
  const cond = raw.has('time_embedding.cond_proj.weight') ? raw.need('time_embedding.cond_proj.weight', 'time_cond_proj_dim') : null;
  return {
    inChannels: convIn[1],
    outChannels: convOut[0],
    convInKernel: convIn[2],
    convOutKernel: convOut[2],
    timeEmbedDim: raw.need('time_embed.0.weight', 'the time embedding width')[0],
    down,
    up: readUp(raw, depths, down),
    mid: readMid(raw, depths),
    crossAttentionDim: firstShape(raw, '.attn2.to_k.weight')?.[1] ?? null,
    linearProjection: firstShape(raw, '.proj_in.weight')?.length === 2,
    additionInputDim: label ? label[1] : null,
    timeCondProjDim: cond ? cond[1] : null,
  };
}

/** The family a lone UNet belongs to, as diffusers tells them apart (label_emb, context width, projections). */
export function architectureOfUNet(s: UNetStructure): Architecture {
  if (s.additionInputDim !== null) return s.crossAttentionDim === 1280 ? 'sdxl-refiner' : 'sdxl';
  return s.linearProjection || s.crossAttentionDim === 1024 ? 'sd2' : 'sd1';
}

const uniform = <T>(values: T[]): T | T[] => (values.every((v) => JSON.stringify(v) === JSON.stringify(values[0])) ? values[0] : values);
const depthEntry = (depths: number[]): number | number[] => uniform(depths) as number | number[];

/** transformer_layers_per_block, and reverse_transformer_layers_per_block when the up path differs from its default. */
function transformerLayers(raw: ComponentKeys, s: UNetStructure): { down: unknown; reverse: unknown } {
  const n = s.down.length;
  const last = s.down[n - 1];
  if (s.mid.kind === 'cross-attn' && last.depths && last.depths[0] !== s.mid.depth) {
    throw raw.error(
      `has a mid block of depth ${s.mid.depth} but depth ${last.depths[0]} in its last level; diffusers configs cannot express that`,
    );
  }
  // Levels without attention ignore their entry; 1 there, as diffusers' SDXL config ([1, 2, 10]).
  const perLevel = s.down.map((l, i) => (l.depths ? depthEntry(l.depths) : i === n - 1 && s.mid.kind === 'cross-attn' ? s.mid.depth : 1));
  const expand = (entry: number | number[], layers: number): number[] =>
    Array.isArray(entry) ? entry.slice(0, layers) : Array<number>(layers).fill(entry);
  const actualUp = s.up.map((u) => u.depths ?? Array<number>(u.layers).fill(1));
  const defaultUp = s.up.map((u, i) => expand(perLevel[n - 1 - i], u.layers));
  const sameAsDefault =
    JSON.stringify(actualUp.filter((_, i) => s.up[i].depths)) === JSON.stringify(defaultUp.filter((_, i) => s.up[i].depths));
  return { down: uniform(perLevel), reverse: sameAsDefault ? null : s.up.map((u) => (u.depths ? depthEntry(u.depths) : 1)) };
}

/** attention_head_dim by the family rule: SD-1's fixed 8 heads, or channels / head width. */
function heads(s: UNetStructure, rules: FamilyRules): { value?: unknown; unresolved?: string } {
  if ('count' in rules.unetHeads) return { value: rules.unetHeads.count };
  const width = rules.unetHeads.width;
  const n = s.down.length;
  const used = s.down.map((l, i) => l.depths !== null || s.up[n - 1 - i].depths !== null || (i === n - 1 && s.mid.kind === 'cross-attn'));
  const value = s.down.map((l) => (l.channels % width === 0 ? l.channels / width : null));
  const bad = value.findIndex((h, i) => h === null && used[i]);
  if (bad >= 0) return { unresolved: `this family uses ${width}-wide heads, but block ${bad} has ${s.down[bad].channels} channels` };
  return { value };
}

function additionTimeEmbedDim(s: UNetStructure, rules: FamilyRules, textEmbedsWidth: number | null): number | null {
  if (s.additionInputDim === null || textEmbedsWidth === null) return null;
  const dim = (s.additionInputDim - textEmbedsWidth) / (rules.timeIds ?? 6);
  return Number.isInteger(dim) && dim > 0 ? dim : null;
}

/**
 * The diffusers config.json fields for a UNet of this structure. `textEmbedsWidth` is the pooled text
 * embedding width (the second text encoder's projection) when the file has one: SDXL's label_emb input is
 * that plus one sinusoid per time id, which gives addition_time_embed_dim.
 */
export function unetConfigFromStructure(
  raw: ComponentKeys,
  s: UNetStructure,
  rules: FamilyRules,
  textEmbedsWidth: number | null,
): InferredConfig {
  const assumed = ['sample_size', 'attention_head_dim'];
  const unresolved: Record<string, string> = {};
  const head = heads(s, rules);
  if (head.unresolved) unresolved.attention_head_dim = head.unresolved;
  const { down, reverse } = transformerLayers(raw, s);
  let timeDim = additionTimeEmbedDim(s, rules, textEmbedsWidth);
  if (s.additionInputDim !== null && timeDim === null) {
    timeDim = DEFAULT_ADDITION_TIME_EMBED_DIM;
    assumed.push('addition_time_embed_dim');
  }
  const config: Record<string, unknown> = {
    _class_name: 'UNet2DConditionModel',
    sample_size: rules.unetSampleSize,
    in_channels: s.inChannels,
    out_channels: s.outChannels,
    down_block_types: s.down.map((l) => (l.depths ? 'CrossAttnDownBlock2D' : 'DownBlock2D')),
    mid_block_type: { 'cross-attn': 'UNetMidBlock2DCrossAttn', resnet: 'UNetMidBlock2D', none: null }[s.mid.kind],
    up_block_types: s.up.map((l) => (l.depths ? 'CrossAttnUpBlock2D' : 'UpBlock2D')),
    block_out_channels: s.down.map((l) => l.channels),
    layers_per_block: uniform(s.down.map((l) => l.layers)),
    transformer_layers_per_block: down,
    reverse_transformer_layers_per_block: reverse,
    attention_head_dim: head.value ?? null,
    use_linear_projection: s.linearProjection,
    addition_embed_type: s.additionInputDim === null ? null : 'text_time',
    addition_time_embed_dim: timeDim,
    projection_class_embeddings_input_dim: s.additionInputDim,
    time_cond_proj_dim: s.timeCondProjDim,
    time_embedding_dim: s.timeEmbedDim === s.down[0].channels * 4 ? null : s.timeEmbedDim,
    conv_in_kernel: s.convInKernel,
    conv_out_kernel: s.convOutKernel,
  };
  if (s.crossAttentionDim !== null) config.cross_attention_dim = s.crossAttentionDim;
  return { config, assumed, unresolved };
}
