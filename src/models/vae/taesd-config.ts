/**
 * diffusers AutoencoderTiny (TAESD, TAESDXL, ...) config.json → typed config, with the defaults of
 * `AutoencoderTiny.__init__` for absent keys; unknown keys (and the `block_out_channels` copy diffusers
 * registers) are ignored. Errors name the field (VaeConfigError).
 */
import type { ActivationName } from '../unet/embeddings.js';
import { FieldReader } from './config-fields.js';

export interface AutoencoderTinyConfig {
  in_channels: number;
  out_channels: number;
  encoder_block_out_channels: number[];
  decoder_block_out_channels: number[];
  /** Activation inside each AutoencoderTinyBlock and after the decoder's first conv (the block's fuse is always ReLU). */
  act_fn: ActivationName;
  upsample_fn: 'nearest';
  latent_channels: number;
  upsampling_scaling_factor: number;
  /** AutoencoderTinyBlocks after each encoder conv (the first conv keeps the size, the others halve it). */
  num_encoder_blocks: number[];
  num_decoder_blocks: number[];
  /** Used only by the [0, 1] latent mapping (taesdLatentsToUnitRange). */
  latent_magnitude: number;
  latent_shift: number;
  /** Always false: diffusers' __init__ re-registers force_upcast=False whatever the config says. */
  force_upcast: false;
  /** 1.0 for TAESD: its latents already are on the diffusion model's scale. */
  scaling_factor: number;
  shift_factor: number;
}

const MODEL = 'AutoencoderTiny';

/**
 * Channels and block counts of one side. diffusers builds every conv of a side as num_channels →
 * num_channels of its own stage, so the stages only chain when all widths are equal.
 */
function side(reader: FieldReader, channelsField: string, countsField: string, fallbackCounts: number[]) {
  const channels = reader.intList(channelsField, [64, 64, 64, 64]);
  const counts = reader.intList(countsField, fallbackCounts, 0);
  // diffusers raises this ValueError on the channels field.
  if (channels.length !== counts.length) throw reader.error(channelsField, `has ${channels.length} entries, ${countsField} has ${counts.length}`);
  if (channels.some((c) => c !== channels[0])) {
    throw reader.error(channelsField, `must list one width for every stage (diffusers' convs map each stage's width to itself), got ${JSON.stringify(channels)}`);
  }
  return { channels, counts };
}

/** Parses a diffusers `vae/config.json` object of an AutoencoderTiny. */
export function parseAutoencoderTinyConfig(json: unknown): AutoencoderTinyConfig {
  const reader = new FieldReader(MODEL, json);
  const encoder = side(reader, 'encoder_block_out_channels', 'num_encoder_blocks', [1, 3, 3, 3]);
  const decoder = side(reader, 'decoder_block_out_channels', 'num_decoder_blocks', [3, 3, 3, 1]);
  reader.flag('force_upcast', false);
  return {
    in_channels: reader.positiveInt('in_channels', 3),
    out_channels: reader.positiveInt('out_channels', 3),
    encoder_block_out_channels: encoder.channels,
    decoder_block_out_channels: decoder.channels,
    act_fn: reader.activation('act_fn', 'relu'),
    upsample_fn: reader.oneOf('upsample_fn', 'nearest', ['nearest'] as const),
    latent_channels: reader.positiveInt('latent_channels', 4),
    upsampling_scaling_factor: reader.positiveInt('upsampling_scaling_factor', 2),
    num_encoder_blocks: encoder.counts,
    num_decoder_blocks: decoder.counts,
    latent_magnitude: reader.finite('latent_magnitude', 3, { positive: true }),
    latent_shift: reader.finite('latent_shift', 0.5),
    force_upcast: false,
    scaling_factor: reader.finite('scaling_factor', 1, { positive: true }),
    shift_factor: reader.finite('shift_factor', 0),
  };
}
