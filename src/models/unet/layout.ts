/**
 * Per-block sizes of a UNet2DConditionModel, resolved from its config the way diffusers'
 * `UNet2DConditionModel.__init__` does (channel bookkeeping, reversed lists for the up path, the legacy
 * heads naming). Model code only reads these plans, so the diffusers quirks live in one place.
 */
import { UNetConfigError, type DownBlockType, type MidBlockType, type TransformerDepth, type UNetConfig, type UpBlockType } from './config.js';
import type { ActivationName } from './embeddings.js';

/** Settings every resnet and transformer of the model shares. */
export interface BlockCommon {
  tembChannels: number;
  groups: number;
  eps: number;
  act: ActivationName;
  useLinearProjection: boolean;
}

/** The Transformer2DModels of a cross-attention block (null for plain resnet blocks). */
export interface AttentionPlan {
  heads: number;
  crossAttentionDim: number;
  onlyCrossAttention: boolean;
  /** Transformer blocks per Transformer2DModel, one entry per resnet layer. */
  depths: number[];
}

export interface DownBlockPlan {
  type: DownBlockType;
  inChannels: number;
  outChannels: number;
  layers: number;
  attention: AttentionPlan | null;
  addDownsample: boolean;
  downsamplePadding: number;
}

export interface MidBlockPlan {
  type: MidBlockType;
  channels: number;
  outputScaleFactor: number;
  attention: AttentionPlan | null;
}

export interface UpBlockPlan {
  type: UpBlockType;
  /** Channels of this level's skip connections (diffusers' `in_channels`). */
  inChannels: number;
  prevOutputChannels: number;
  outChannels: number;
  layers: number;
  attention: AttentionPlan | null;
  addUpsample: boolean;
}

export interface UNetLayout {
  common: BlockCommon;
  /** Sinusoidal width (block_out_channels[0]) and MLP width of the time embedding. */
  timestepInputDim: number;
  timeEmbedDim: number;
  down: DownBlockPlan[];
  mid: MidBlockPlan | null;
  up: UpBlockPlan[];
}

const each = <T>(v: T | T[], n: number): T[] => (Array.isArray(v) ? [...v] : Array<T>(n).fill(v));

/** diffusers spreads an int depth over the block's layers; a list gives one depth per layer. */
function layerDepths(depth: TransformerDepth, layers: number, field: string): number[] {
  if (!Array.isArray(depth)) return Array<number>(layers).fill(depth);
  if (depth.length < layers) throw new UNetConfigError(field, `lists ${depth.length} transformer depths for a block of ${layers} layers`);
  return depth.slice(0, layers);
}

/**
 * Heads per block. diffusers' config calls the head count `attention_head_dim` (its issue 2011):
 * with `num_attention_heads` unset, heads = attention_head_dim, and each head is channels/heads wide.
 */
function headsFor(config: UNetConfig, n: number): (number | null)[] {
  return each(config.attention_head_dim, n);
}

function attentionPlan(heads: number | null, crossDim: number, onlyCross: boolean, depths: number[], where: string): AttentionPlan {
  if (heads === null) throw new UNetConfigError('attention_head_dim', `is null for ${where}, which has attention`);
  return { heads, crossAttentionDim: crossDim, onlyCrossAttention: onlyCross, depths };
}

function downPlans(config: UNetConfig, heads: (number | null)[], depths: TransformerDepth[]): DownBlockPlan[] {
  const n = config.down_block_types.length;
  const channels = config.block_out_channels;
  const layers = each(config.layers_per_block, n);
  const cross = each(config.cross_attention_dim, n);
  const onlyCross = each(config.only_cross_attention, n);
  return config.down_block_types.map((type, i) => {
    const layerCount = layers[i];
    const hasAttention = type === 'CrossAttnDownBlock2D';
    const d = layerDepths(depths[i], layerCount, 'transformer_layers_per_block');
    return {
      type,
      inChannels: i === 0 ? channels[0] : channels[i - 1],
      outChannels: channels[i],
      layers: layerCount,
      attention: hasAttention ? attentionPlan(heads[i], cross[i], onlyCross[i], d, `down_blocks.${i}`) : null,
      addDownsample: i < n - 1,
      downsamplePadding: config.downsample_padding,
    };
  });
}

function upPlans(config: UNetConfig, heads: (number | null)[], depths: TransformerDepth[]): UpBlockPlan[] {
  const n = config.up_block_types.length;
  const channels = [...config.block_out_channels].reverse();
  const layers = each(config.layers_per_block, n).reverse();
  const cross = each(config.cross_attention_dim, n).reverse();
  const onlyCross = each(config.only_cross_attention, n).reverse();
  const reversedHeads = [...heads].reverse();
  const reversedDepths = config.reverse_transformer_layers_per_block ?? [...depths].reverse();
  return config.up_block_types.map((type, i) => {
    const layerCount = layers[i] + 1; // one extra resnet consumes the skip of the level's downsampler
    const d = layerDepths(reversedDepths[i], layerCount, 'reverse_transformer_layers_per_block');
    return {
      type,
      inChannels: channels[Math.min(i + 1, n - 1)],
      prevOutputChannels: i === 0 ? channels[0] : channels[i - 1],
      outChannels: channels[i],
      layers: layerCount,
      attention: type === 'CrossAttnUpBlock2D' ? attentionPlan(reversedHeads[i], cross[i], onlyCross[i], d, `up_blocks.${i}`) : null,
      addUpsample: i < n - 1,
    };
  });
}

function midPlan(config: UNetConfig, heads: (number | null)[], depths: TransformerDepth[]): MidBlockPlan | null {
  const type = config.mid_block_type;
  if (type === null) return null;
  const n = config.block_out_channels.length;
  const attention =
    type === 'UNetMidBlock2DCrossAttn'
      ? // UNetMidBlock2DCrossAttn takes no only_cross_attention argument: its transformers always self-attend.
        attentionPlan(heads[n - 1], each(config.cross_attention_dim, n)[n - 1], false, layerDepths(depths[n - 1], 1, 'transformer_layers_per_block'), 'mid_block')
      : null;
  return { type, channels: config.block_out_channels[n - 1], outputScaleFactor: config.mid_block_scale_factor, attention };
}

/** Resolves every block's sizes. */
export function resolveUNetLayout(config: UNetConfig): UNetLayout {
  const n = config.down_block_types.length;
  const heads = headsFor(config, n);
  const depths = each(config.transformer_layers_per_block, n);
  return {
    common: {
      tembChannels: config.time_embedding_dim ?? config.block_out_channels[0] * 4,
      groups: config.norm_num_groups,
      eps: config.norm_eps,
      act: config.act_fn,
      useLinearProjection: config.use_linear_projection,
    },
    timestepInputDim: config.block_out_channels[0],
    timeEmbedDim: config.time_embedding_dim ?? config.block_out_channels[0] * 4,
    down: downPlans(config, heads, depths),
    mid: midPlan(config, heads, depths),
    up: upPlans(config, heads, depths),
  };
}
