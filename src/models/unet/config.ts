/**
 * diffusers UNet2DConditionModel config.json → typed config. Fields keep diffusers' snake_case names;
 * absent keys take the defaults of diffusers' `UNet2DConditionModel.__init__`; unknown keys (`_class_name`,
 * `_diffusers_version`, ...) are ignored, as `from_config` does. Values this port cannot build (other block
 * types, class embeddings, GLIGEN, ...) are rejected here with an error naming the field, before any graph
 * is built.
 */
import { UserFileError } from '../../util/user-error.js';
import { ACTIVATIONS, type ActivationName } from './embeddings.js';

export type DownBlockType = 'DownBlock2D' | 'CrossAttnDownBlock2D';
export type UpBlockType = 'UpBlock2D' | 'CrossAttnUpBlock2D';
export type MidBlockType = 'UNetMidBlock2DCrossAttn' | 'UNetMidBlock2D';

const DOWN_BLOCK_TYPES: readonly DownBlockType[] = ['DownBlock2D', 'CrossAttnDownBlock2D'];
const UP_BLOCK_TYPES: readonly UpBlockType[] = ['UpBlock2D', 'CrossAttnUpBlock2D'];
const MID_BLOCK_TYPES: readonly MidBlockType[] = ['UNetMidBlock2DCrossAttn', 'UNetMidBlock2D'];

/** Transformer depth of one block: one count for every layer, or one per layer (asymmetric UNets). */
export type TransformerDepth = number | number[];

export interface UNetConfig {
  sample_size: number | number[] | null;
  in_channels: number;
  out_channels: number;
  center_input_sample: boolean;
  flip_sin_to_cos: boolean;
  freq_shift: number;
  down_block_types: DownBlockType[];
  mid_block_type: MidBlockType | null;
  up_block_types: UpBlockType[];
  only_cross_attention: boolean | boolean[];
  block_out_channels: number[];
  layers_per_block: number | number[];
  downsample_padding: number;
  mid_block_scale_factor: number;
  /** Dropout is not applied (the graph is the eval-mode forward). */
  dropout: number;
  act_fn: ActivationName;
  norm_num_groups: number;
  norm_eps: number;
  cross_attention_dim: number | number[];
  transformer_layers_per_block: number | TransformerDepth[];
  reverse_transformer_layers_per_block: TransformerDepth[] | null;
  /** Legacy naming: this is the number of heads per block (see resolveHeads). */
  attention_head_dim: number | (number | null)[];
  num_attention_heads: null;
  use_linear_projection: boolean;
  addition_embed_type: 'text_time' | null;
  addition_time_embed_dim: number | null;
  /** Float32 attention is already full precision, so upcasting changes nothing here. */
  upcast_attention: boolean;
  /**
   * Read but unused, as in diffusers: get_down/mid/up_block pass these (and mid_block_only_cross_attention,
   * cross_attention_norm) only to block types this port does not build.
   */
  resnet_skip_time_act: boolean;
  resnet_out_scale_factor: number;
  time_embedding_dim: number | null;
  time_embedding_act_fn: ActivationName | null;
  timestep_post_act: ActivationName | null;
  time_cond_proj_dim: number | null;
  conv_in_kernel: number;
  conv_out_kernel: number;
  projection_class_embeddings_input_dim: number | null;
  mid_block_only_cross_attention: boolean | null;
}

export class UNetConfigError extends UserFileError {
  override name = 'UNetConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`UNet config: \`${field}\` ${message}`);
  }
}

type Raw = Readonly<Record<string, unknown>>;

const show = (v: unknown): string => JSON.stringify(v);

/** Widths past this are corrupt configs, not models; bounding them keeps array sizes sane. */
const MAX_WIDTH = 1 << 16;
/** Repeat counts (layers per block, transformer depth); SDXL's largest is 10. */
const MAX_LAYERS = 64;

function positiveInt(raw: Raw, field: string, fallback: number, min = 1): number {
  const v = raw[field] ?? fallback;
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > MAX_WIDTH) {
    throw new UNetConfigError(field, `must be an integer in [${min}, ${MAX_WIDTH}], got ${show(v)}`);
  }
  return v as number;
}

function finite(raw: Raw, field: string, fallback: number, { positive = false } = {}): number {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || (positive && v <= 0)) {
    throw new UNetConfigError(field, `must be a ${positive ? 'positive ' : ''}finite number, got ${show(v)}`);
  }
  return v;
}

function flag(raw: Raw, field: string, fallback: boolean): boolean {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'boolean') throw new UNetConfigError(field, `must be a boolean, got ${show(v)}`);
  return v;
}

function optionalFlag(raw: Raw, field: string): boolean | null {
  return raw[field] === undefined || raw[field] === null ? null : flag(raw, field, false);
}

function optionalInt(raw: Raw, field: string): number | null {
  return raw[field] === undefined || raw[field] === null ? null : positiveInt(raw, field, 0);
}

function optionalActivation(raw: Raw, field: string): ActivationName | null {
  return raw[field] === undefined || raw[field] === null ? null : activationField(raw, field, 'silu');
}

function activationField(raw: Raw, field: string, fallback: ActivationName): ActivationName {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'string' || !(ACTIVATIONS as readonly string[]).includes(v)) {
    throw new UNetConfigError(field, `activation ${show(v)} is not supported (supported: ${ACTIVATIONS.join(', ')})`);
  }
  return v as ActivationName;
}

/** A value that only has one supported setting (a feature this port does not build). */
function requireValue(raw: Raw, field: string, supported: unknown, what: string): void {
  const v = raw[field];
  if (v !== undefined && v !== supported) throw new UNetConfigError(field, `${show(v)} is not supported (${what}); only ${show(supported)} is`);
}

function blockTypes<T extends string>(raw: Raw, field: string, fallback: readonly T[], known: readonly T[]): T[] {
  const v = raw[field] ?? fallback;
  if (!Array.isArray(v) || v.length === 0) throw new UNetConfigError(field, `must be a non-empty list of block types, got ${show(v)}`);
  // diffusers' get_down_block/get_up_block accept a legacy "UNetRes" prefix ("UNetResDownBlock2D").
  const names = v.map((t) => (typeof t === 'string' && t.startsWith('UNetRes') ? t.slice('UNetRes'.length) : t));
  names.forEach((t, i) => {
    if (!known.includes(t as T)) throw new UNetConfigError(field, `entry ${i}: unknown or unsupported block type ${show(v[i])} (supported: ${known.join(', ')})`);
  });
  return names as T[];
}

/** An int (or bool) for every block, or one per block (diffusers' `int | tuple` fields). */
function perBlock<T>(raw: Raw, field: string, fallback: T | T[], isItem: (x: unknown) => boolean, blocks: number): T | T[] {
  const v = raw[field] ?? fallback;
  if (Array.isArray(v)) {
    if (v.length !== blocks) throw new UNetConfigError(field, `has ${v.length} entries but there are ${blocks} down blocks`);
    v.forEach((x, i) => {
      if (!isItem(x)) throw new UNetConfigError(field, `entry ${i} is invalid: ${show(x)}`);
    });
    return [...v] as T[];
  }
  if (!isItem(v)) throw new UNetConfigError(field, `is invalid: ${show(v)}`);
  return v as T;
}

const isPosInt = (x: unknown): boolean => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= MAX_WIDTH;
const isLayerCount = (x: unknown): boolean => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= MAX_LAYERS;
const isDepth = (x: unknown): boolean => isLayerCount(x) || (Array.isArray(x) && x.length > 0 && x.length <= MAX_LAYERS && x.every(isLayerCount));

function rejectUnsupported(raw: Raw): void {
  requireValue(raw, 'attention_type', 'default', 'GLIGEN gated attention');
  requireValue(raw, 'resnet_time_scale_shift', 'default', 'scale_shift time conditioning');
  requireValue(raw, 'time_embedding_type', 'positional', 'Fourier time embeddings');
  requireValue(raw, 'class_embed_type', null, 'class embeddings');
  requireValue(raw, 'num_class_embeds', null, 'class embeddings');
  requireValue(raw, 'class_embeddings_concat', false, 'class embeddings');
  requireValue(raw, 'encoder_hid_dim_type', null, 'encoder hidden-state projections');
  requireValue(raw, 'encoder_hid_dim', null, 'encoder hidden-state projections');
  requireValue(raw, 'dual_cross_attention', false, 'DualTransformer2DModel');
  // diffusers itself refuses this field (issue 2011): heads come from `attention_head_dim`.
  requireValue(raw, 'num_attention_heads', null, 'diffusers raises for it too; the head count is read from `attention_head_dim`');
  const add = raw.addition_embed_type;
  if (add !== undefined && add !== null && add !== 'text_time') {
    throw new UNetConfigError('addition_embed_type', `${show(add)} is not supported (supported: null, "text_time")`);
  }
  if (raw.norm_num_groups === null) throw new UNetConfigError('norm_num_groups', 'null is not supported (the resnet blocks need group norms)');
}

function parseLayout(raw: Raw) {
  const down = blockTypes(raw, 'down_block_types', ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'], DOWN_BLOCK_TYPES);
  const up = blockTypes(raw, 'up_block_types', ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'], UP_BLOCK_TYPES);
  if (up.length !== down.length) throw new UNetConfigError('up_block_types', `has ${up.length} entries, down_block_types has ${down.length}`);
  const mid = raw.mid_block_type === undefined ? 'UNetMidBlock2DCrossAttn' : raw.mid_block_type;
  if (mid !== null && !MID_BLOCK_TYPES.includes(mid as MidBlockType)) {
    throw new UNetConfigError('mid_block_type', `unknown or unsupported block type ${show(mid)} (supported: ${MID_BLOCK_TYPES.join(', ')}, null)`);
  }
  const channels = raw.block_out_channels ?? [320, 640, 1280, 1280];
  if (!Array.isArray(channels) || !channels.every(isPosInt)) {
    throw new UNetConfigError('block_out_channels', `must be a list of positive integers, got ${show(channels)}`);
  }
  if (channels.length !== down.length) throw new UNetConfigError('block_out_channels', `has ${channels.length} entries, down_block_types has ${down.length}`);
  return { down, up, mid: mid as MidBlockType | null, channels: [...channels] as number[] };
}

function parseTransformerDepths(raw: Raw, blocks: number) {
  const depth = perBlock<TransformerDepth>(raw, 'transformer_layers_per_block', 1, isDepth, blocks) as number | TransformerDepth[];
  const reverse = raw.reverse_transformer_layers_per_block ?? null;
  if (reverse !== null && (!Array.isArray(reverse) || reverse.length !== blocks || !reverse.every(isDepth))) {
    throw new UNetConfigError('reverse_transformer_layers_per_block', `must be null or a list of ${blocks} depths, got ${show(reverse)}`);
  }
  if (Array.isArray(depth) && reverse === null && depth.some(Array.isArray)) {
    throw new UNetConfigError('reverse_transformer_layers_per_block', 'must be given when transformer_layers_per_block has per-layer lists (asymmetric UNet)');
  }
  return { depth, reverse: reverse as TransformerDepth[] | null };
}

/** Per-block head counts; a null entry is allowed only where the block has no attention (layout checks). */
function parseHeads(raw: Raw, blocks: number): number | (number | null)[] {
  if (raw.attention_head_dim === null) throw new UNetConfigError('attention_head_dim', 'must not be null (it gives the number of attention heads)');
  return perBlock<number | null>(raw, 'attention_head_dim', 8, (x) => x === null || isPosInt(x), blocks) as number | (number | null)[];
}

function parseSampleSize(raw: Raw): number | number[] | null {
  const v = raw.sample_size ?? null;
  if (v === null || isPosInt(v) || (Array.isArray(v) && v.length === 2 && v.every(isPosInt))) return v as number | number[] | null;
  throw new UNetConfigError('sample_size', `must be null, an integer or [height, width], got ${show(v)}`);
}

function parseKernel(raw: Raw, field: string): number {
  const k = positiveInt(raw, field, 3);
  if (k % 2 === 0) throw new UNetConfigError(field, `must be odd (padding is (k-1)/2), got ${k}`);
  return k;
}

/** Parses a diffusers `unet/config.json` object. */
export function parseUNetConfig(json: unknown): UNetConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UNetConfigError('(root)', 'must be a JSON object');
  const raw = json as Raw;
  rejectUnsupported(raw);
  const { down, up, mid, channels } = parseLayout(raw);
  const n = down.length;
  const { depth, reverse } = parseTransformerDepths(raw, n);
  const addition = (raw.addition_embed_type ?? null) as 'text_time' | null;
  const config: UNetConfig = {
    sample_size: parseSampleSize(raw),
    in_channels: positiveInt(raw, 'in_channels', 4),
    out_channels: positiveInt(raw, 'out_channels', 4),
    center_input_sample: flag(raw, 'center_input_sample', false),
    flip_sin_to_cos: flag(raw, 'flip_sin_to_cos', true),
    freq_shift: finite(raw, 'freq_shift', 0),
    down_block_types: down,
    mid_block_type: mid,
    up_block_types: up,
    only_cross_attention: perBlock<boolean>(raw, 'only_cross_attention', false, (x) => typeof x === 'boolean', n),
    block_out_channels: channels,
    layers_per_block: perBlock<number>(raw, 'layers_per_block', 2, isLayerCount, n),
    downsample_padding: positiveInt(raw, 'downsample_padding', 1, 0),
    mid_block_scale_factor: finite(raw, 'mid_block_scale_factor', 1, { positive: true }),
    dropout: finite(raw, 'dropout', 0),
    act_fn: activationField(raw, 'act_fn', 'silu'),
    norm_num_groups: positiveInt(raw, 'norm_num_groups', 32),
    norm_eps: finite(raw, 'norm_eps', 1e-5, { positive: true }),
    cross_attention_dim: perBlock<number>(raw, 'cross_attention_dim', 1280, isPosInt, n),
    transformer_layers_per_block: depth,
    reverse_transformer_layers_per_block: reverse,
    attention_head_dim: parseHeads(raw, n),
    num_attention_heads: null,
    use_linear_projection: flag(raw, 'use_linear_projection', false),
    addition_embed_type: addition,
    addition_time_embed_dim: optionalInt(raw, 'addition_time_embed_dim'),
    upcast_attention: flag(raw, 'upcast_attention', false),
    resnet_skip_time_act: flag(raw, 'resnet_skip_time_act', false),
    resnet_out_scale_factor: finite(raw, 'resnet_out_scale_factor', 1, { positive: true }),
    time_embedding_dim: optionalInt(raw, 'time_embedding_dim'),
    time_embedding_act_fn: optionalActivation(raw, 'time_embedding_act_fn'),
    timestep_post_act: optionalActivation(raw, 'timestep_post_act'),
    time_cond_proj_dim: optionalInt(raw, 'time_cond_proj_dim'),
    conv_in_kernel: parseKernel(raw, 'conv_in_kernel'),
    conv_out_kernel: parseKernel(raw, 'conv_out_kernel'),
    projection_class_embeddings_input_dim: optionalInt(raw, 'projection_class_embeddings_input_dim'),
    mid_block_only_cross_attention: optionalFlag(raw, 'mid_block_only_cross_attention'),
  };
  checkTextTime(config);
  return config;
}

function checkTextTime(c: UNetConfig): void {
  if (c.addition_embed_type !== 'text_time') return;
  if (c.addition_time_embed_dim === null) throw new UNetConfigError('addition_time_embed_dim', 'is required when addition_embed_type is "text_time"');
  if (c.projection_class_embeddings_input_dim === null) {
    const hint = '(= text_embeds width + 6·addition_time_embed_dim)';
    throw new UNetConfigError('projection_class_embeddings_input_dim', `is required when addition_embed_type is "text_time" ${hint}`);
  }
}
