/**
 * diffusers ControlNetModel config.json → typed config. A ControlNet is the down half of a UNet2DConditionModel
 * plus a conditioning-image encoder, so the UNet fields are parsed by the UNet parser (same defaults, same
 * refusals) and only the ControlNet fields are read here. Fields ControlNetModel does not have (up blocks,
 * conv kernels, time-embedding extras) are fixed to what ControlNetModel hard-codes, so nothing in the file
 * can change them.
 */
import { UserFileError } from '../../util/user-error.js';
import { parseUNetConfig, UNetConfigError, type UNetConfig } from '../unet/index.js';

export type ChannelOrder = 'rgb' | 'bgr';

export interface ControlNetConfig extends UNetConfig {
  /** Channels of the conditioning image (3 for RGB control images). */
  conditioning_channels: number;
  /** ControlNetConditioningEmbedding widths; each step after the first halves the resolution. */
  conditioning_embedding_out_channels: number[];
  /** "bgr" models get the image's channels reversed before the embedding. */
  controlnet_conditioning_channel_order: ChannelOrder;
  /** Residuals are averaged over height and width (the "shuffle" ControlNets). */
  global_pool_conditions: boolean;
}

export class ControlNetConfigError extends UserFileError {
  override name = 'ControlNetConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`ControlNet config: \`${field}\` ${message}`);
  }
}

type Raw = Readonly<Record<string, unknown>>;

const show = (v: unknown): string => JSON.stringify(v);
const isPosInt = (x: unknown): boolean => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= 1 << 16;

/** What ControlNetModel.__init__ fixes regardless of the config (it has no such arguments). */
const FIXED_BY_CONTROLNET = {
  center_input_sample: false,
  conv_in_kernel: 3,
  conv_out_kernel: 3,
  time_embedding_dim: null,
  time_embedding_act_fn: null,
  timestep_post_act: null,
  time_cond_proj_dim: null,
  reverse_transformer_layers_per_block: null,
  mid_block_only_cross_attention: null,
} as const;

function unetPart(raw: Raw): UNetConfig {
  // ControlNetModel passes these as single values (no per-block lists) to every block.
  for (const field of ['layers_per_block', 'cross_attention_dim']) {
    if (Array.isArray(raw[field])) throw new ControlNetConfigError(field, `must be one integer for all blocks in a ControlNetModel, got ${show(raw[field])}`);
  }
  if (raw.mid_block_type === null) throw new ControlNetConfigError('mid_block_type', 'must not be null: ControlNetModel always has a mid block');
  // The up path does not exist; give the UNet parser one plain up block per down block so it has nothing to check.
  const down = Array.isArray(raw.down_block_types) ? raw.down_block_types : ['', '', '', ''];
  const stripped: Record<string, unknown> = { ...raw, ...FIXED_BY_CONTROLNET, up_block_types: down.map(() => 'UpBlock2D') };
  try {
    return parseUNetConfig(stripped);
  } catch (err) {
    if (err instanceof UNetConfigError) throw new ControlNetConfigError(err.field, err.message.replace(/^UNet config: `[^`]*` /, ''));
    throw err;
  }
}

function conditioningChannels(raw: Raw): number[] {
  const v = raw.conditioning_embedding_out_channels === undefined ? [16, 32, 96, 256] : raw.conditioning_embedding_out_channels;
  if (!Array.isArray(v) || v.length === 0 || !v.every(isPosInt)) {
    throw new ControlNetConfigError('conditioning_embedding_out_channels', `must be a non-empty list of positive integers, got ${show(v)}`);
  }
  return [...v] as number[];
}

/** Parses a diffusers ControlNetModel `config.json` object. */
export function parseControlNetConfig(json: unknown): ControlNetConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ControlNetConfigError('(root)', 'must be a JSON object');
  const raw = json as Raw;
  const unet = unetPart(raw);
  const order = raw.controlnet_conditioning_channel_order ?? 'rgb';
  if (order !== 'rgb' && order !== 'bgr') throw new ControlNetConfigError('controlnet_conditioning_channel_order', `must be "rgb" or "bgr", got ${show(order)}`);
  const channels = raw.conditioning_channels ?? 3;
  if (!isPosInt(channels)) throw new ControlNetConfigError('conditioning_channels', `must be a positive integer, got ${show(channels)}`);
  const pool = raw.global_pool_conditions ?? false;
  if (typeof pool !== 'boolean') throw new ControlNetConfigError('global_pool_conditions', `must be a boolean, got ${show(pool)}`);
  return {
    ...unet,
    conditioning_channels: channels as number,
    conditioning_embedding_out_channels: conditioningChannels(raw),
    controlnet_conditioning_channel_order: order,
    global_pool_conditions: pool,
  };
}

/** Pixels of the control image per latent cell: each conditioning-embedding step after the first halves. */
export function controlNetImageFactor(config: ControlNetConfig): number {
  return 2 ** (config.conditioning_embedding_out_channels.length - 1);
}

/** The ControlNetModel fields `ControlNetModel.from_unet` copies from a UNet config. */
const FROM_UNET_FIELDS = [
  'in_channels', 'flip_sin_to_cos', 'freq_shift', 'down_block_types', 'mid_block_type', 'only_cross_attention', 'block_out_channels',
  'layers_per_block', 'downsample_padding', 'mid_block_scale_factor', 'act_fn', 'norm_num_groups', 'norm_eps', 'cross_attention_dim',
  'transformer_layers_per_block', 'attention_head_dim', 'num_attention_heads', 'use_linear_projection', 'class_embed_type',
  'num_class_embeds', 'upcast_attention', 'resnet_time_scale_shift', 'projection_class_embeddings_input_dim', 'encoder_hid_dim',
  'encoder_hid_dim_type', 'addition_embed_type', 'addition_time_embed_dim',
] as const;

export interface FromUNetOptions {
  conditioningEmbeddingOutChannels?: number[];
  conditioningChannels?: number;
  channelOrder?: ChannelOrder;
}

/** A raw ControlNetModel config for a UNet config, as diffusers' `ControlNetModel.from_unet` builds it. */
export function controlNetConfigFromUNet(unetConfig: Raw, options: FromUNetOptions = {}): Record<string, unknown> {
  const copied = Object.fromEntries(FROM_UNET_FIELDS.filter((k) => unetConfig[k] !== undefined).map((k) => [k, unetConfig[k]]));
  return {
    _class_name: 'ControlNetModel',
    ...copied,
    conditioning_embedding_out_channels: options.conditioningEmbeddingOutChannels ?? [16, 32, 96, 256],
    conditioning_channels: options.conditioningChannels ?? 3,
    controlnet_conditioning_channel_order: options.channelOrder ?? 'rgb',
    global_pool_conditions: false,
  };
}
