/**
 * AutoencoderKL config from an LDM VAE's shapes (`first_stage_model.*` or a bare VAE file), and the plan
 * shape read back from a diffusers VAE config (for either direction of the key map).
 */
import type { ComponentKeys } from './component-keys.js';
import { SingleFileError } from './errors.js';
import type { InferredConfig } from './infer-unet.js';
import type { VaeShape } from './plans.js';

/** Family-dependent fields (sizes and scaling), given by the caller from the family rules. */
export interface VaeFamilyFields {
  sampleSize: number;
  scalingFactor: number;
}

export function inferVaeConfig(raw: ComponentKeys, family: VaeFamilyFields): InferredConfig {
  const levels = raw.count(/^encoder\.down\.(\d+)\./, 'encoder levels (encoder.down.N)');
  if (levels === 0) throw raw.error('has no encoder.down.* blocks');
  const layers = raw.count(/^encoder\.down\.0\.block\.(\d+)\./, 'encoder resnets (encoder.down.0.block.N)');
  const channels = Array.from(
    { length: levels },
    (_, i) => raw.need(`encoder.down.${i}.block.0.conv1.weight`, `block_out_channels[${i}]`)[0],
  );
  const config: Record<string, unknown> = {
    _class_name: 'AutoencoderKL',
    in_channels: raw.need('encoder.conv_in.weight', 'in_channels')[1],
    out_channels: raw.need('decoder.conv_out.weight', 'out_channels')[0],
    down_block_types: Array<string>(levels).fill('DownEncoderBlock2D'),
    up_block_types: Array<string>(levels).fill('UpDecoderBlock2D'),
    block_out_channels: channels,
    layers_per_block: layers,
    act_fn: 'silu',
    latent_channels: raw.need('decoder.conv_in.weight', 'latent_channels')[1],
    norm_num_groups: 32,
    sample_size: family.sampleSize,
    scaling_factor: family.scalingFactor,
    shift_factor: null,
    latents_mean: null,
    latents_std: null,
    force_upcast: true,
    use_quant_conv: raw.has('quant_conv.weight'),
    use_post_quant_conv: raw.has('post_quant_conv.weight'),
    mid_block_add_attention: raw.has('encoder.mid.attn_1.q.weight'),
  };
  return { config, assumed: ['sample_size', 'scaling_factor', 'norm_num_groups'], unresolved: {} };
}

/** The numbers the VAE key map needs, read from a diffusers AutoencoderKL config. */
export function vaeShapeFromConfig(config: Readonly<Record<string, unknown>>, where: string): VaeShape {
  const fail = (field: string, why: string): never => {
    throw new SingleFileError(`${where}: VAE config \`${field}\` ${why}, got ${JSON.stringify(config[field])}`);
  };
  const channels = config.block_out_channels;
  if (!Array.isArray(channels) || channels.length === 0) return fail('block_out_channels', 'must be a non-empty list');
  const layers = config.layers_per_block ?? 1;
  if (!Number.isInteger(layers) || (layers as number) < 1) return fail('layers_per_block', 'must be an integer >= 1');
  const mid = config.mid_block_add_attention ?? true;
  if (typeof mid !== 'boolean') return fail('mid_block_add_attention', 'must be a boolean');
  return { levels: channels.length, layersPerBlock: layers as number, midAttention: mid };
}
