/**
 * diffusers AutoencoderKL config.json → typed config. Fields keep diffusers' snake_case names; absent keys
 * take the defaults of `AutoencoderKL.__init__`; unknown keys (`_class_name`, ...) are ignored, as
 * `from_config` does. Configs this port cannot build are rejected with an error naming the field.
 */
import type { ActivationName } from '../unet/embeddings.js';
import { FieldReader } from './config-fields.js';

export type VaeDownBlockType = 'DownEncoderBlock2D';
export type VaeUpBlockType = 'UpDecoderBlock2D';

export interface AutoencoderKLConfig {
  in_channels: number;
  out_channels: number;
  down_block_types: VaeDownBlockType[];
  up_block_types: VaeUpBlockType[];
  block_out_channels: number[];
  layers_per_block: number;
  /** Activation of the resnets (the encoder/decoder conv_act before conv_out is always SiLU, as diffusers). */
  act_fn: ActivationName;
  latent_channels: number;
  norm_num_groups: number;
  /** Read for completeness: only diffusers' tiling uses it. */
  sample_size: number | number[];
  /** Pipelines multiply encoder latents by it and divide by it before decoding (see scaleLatents). */
  scaling_factor: number;
  /** null: no shift (SD/SDXL); pipelines subtract it after encoding and add it before decoding. */
  shift_factor: number | null;
  /** Per-channel latent statistics some pipelines use instead of scaling_factor; not applied here. */
  latents_mean: number[] | null;
  latents_std: number[] | null;
  /** Advice to run in float32; the graph runs in the dtype of its scope and inputs. */
  force_upcast: boolean;
  use_quant_conv: boolean;
  use_post_quant_conv: boolean;
  mid_block_add_attention: boolean;
}

const MODEL = 'AutoencoderKL';
const show = (v: unknown): string => JSON.stringify(v);

function blockTypes<T extends string>(reader: FieldReader, field: string, supported: T, count: number): T[] {
  // diffusers' default is a one-block tuple, so a wider block_out_channels needs explicit block types.
  const v = reader.raw[field] ?? [supported];
  if (!Array.isArray(v) || v.length === 0) throw reader.error(field, `must be a non-empty list of block types, got ${show(v)}`);
  // diffusers' get_down_block/get_up_block strip a legacy "UNetRes" prefix.
  const names = v.map((t) => (typeof t === 'string' && t.startsWith('UNetRes') ? t.slice('UNetRes'.length) : t));
  names.forEach((t, i) => {
    if (t !== supported) throw reader.error(field, `entry ${i}: unsupported block type ${show(v[i])} (supported: ${supported})`);
  });
  if (names.length !== count) throw reader.error(field, `has ${names.length} entries, block_out_channels has ${count}`);
  return names as T[];
}

function checkGroups(reader: FieldReader, groups: number, channels: readonly number[]): void {
  const bad = channels.find((c) => c % groups !== 0);
  if (bad !== undefined) throw reader.error('norm_num_groups', `${groups} does not divide the block width ${bad} (block_out_channels ${show(channels)})`);
}

function latentStats(reader: FieldReader, field: string, latentChannels: number): number[] | null {
  const stats = reader.optionalNumberList(field);
  if (stats !== null && stats.length !== latentChannels) throw reader.error(field, `has ${stats.length} entries, latent_channels is ${latentChannels}`);
  return stats;
}

/** Parses a diffusers `vae/config.json` object of an AutoencoderKL. */
export function parseAutoencoderKLConfig(json: unknown): AutoencoderKLConfig {
  const reader = new FieldReader(MODEL, json);
  const channels = reader.intList('block_out_channels', [64]);
  const groups = reader.positiveInt('norm_num_groups', 32);
  checkGroups(reader, groups, channels);
  const latentChannels = reader.positiveInt('latent_channels', 4);
  return {
    in_channels: reader.positiveInt('in_channels', 3),
    out_channels: reader.positiveInt('out_channels', 3),
    down_block_types: blockTypes<VaeDownBlockType>(reader, 'down_block_types', 'DownEncoderBlock2D', channels.length),
    up_block_types: blockTypes<VaeUpBlockType>(reader, 'up_block_types', 'UpDecoderBlock2D', channels.length),
    block_out_channels: channels,
    layers_per_block: reader.positiveInt('layers_per_block', 1),
    act_fn: reader.activation('act_fn', 'silu'),
    latent_channels: latentChannels,
    norm_num_groups: groups,
    sample_size: reader.sampleSize('sample_size', 32),
    scaling_factor: reader.finite('scaling_factor', 0.18215, { positive: true }),
    shift_factor: reader.optionalFinite('shift_factor'),
    latents_mean: latentStats(reader, 'latents_mean', latentChannels),
    latents_std: latentStats(reader, 'latents_std', latentChannels),
    force_upcast: reader.flag('force_upcast', true),
    use_quant_conv: reader.flag('use_quant_conv', true),
    use_post_quant_conv: reader.flag('use_post_quant_conv', true),
    mid_block_add_attention: reader.flag('mid_block_add_attention', true),
  };
}

