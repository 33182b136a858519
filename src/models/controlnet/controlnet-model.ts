/**
 * diffusers ControlNetModel as a graph: the UNet's time embedding, conv_in and down/mid blocks (the same
 * builders and parameter names as UNet2DConditionModel), with the embedded control image added after conv_in.
 * Every down-path skip connection and the mid-block output go through a 1×1 conv (`controlnet_down_blocks.N`,
 * `controlnet_mid_block`, zero-initialised in diffusers) and are scaled by the conditioning scale; the results
 * are the UNet's downBlockAdditionalResiduals / midBlockAdditionalResidual. Guess mode is not built.
 */
import type { Value } from '../../ir/index.js';
import { conv, type Scope } from '../../nn/index.js';
import { concat } from '../../ops/index.js';
import { downBlock, midBlock, resolveUNetLayout, unetTimeEmbedding, type BlockInputs } from '../unet/index.js';
import { controlNetConditioningEmbedding } from './conditioning-embedding.js';
import { controlNetImageFactor, type ControlNetConfig } from './config.js';

export interface ControlNetInputs {
  /** Noisy latents [B, in_channels, h, w] (the UNet's input). */
  sample: Value;
  /** [B], [1] or [] float32 timesteps. */
  timestep: Value;
  /** Text encoder states [B, S, cross_attention_dim]. */
  encoderHiddenStates: Value;
  /** Control image [B, conditioning_channels, h·f, w·f] in [0, 1] (f = controlNetImageFactor). */
  controlCond: Value;
  /** Multiplies every residual (default 1); a graph value (e.g. a [] input) lets one graph serve all scales. */
  conditioningScale?: number | Value;
  /** SDXL ControlNets ("text_time"): pooled text embeddings [B, D] and time ids [B, 6]. */
  textEmbeds?: Value;
  timeIds?: Value;
}

export interface ControlNetOutputs {
  /** One per UNet skip connection (conv_in first), shaped like it. */
  downBlockResiduals: Value[];
  /** Shaped like the mid-block output. */
  midBlockResidual: Value;
}

const fail = (message: string): never => {
  throw new Error(`ControlNetModel: ${message}`);
};

const dims = (v: Value): string => `[${v.shape.join(', ')}]`;

function checkInputs(config: ControlNetConfig, { sample, encoderHiddenStates: ehs, controlCond }: ControlNetInputs): void {
  if (sample.rank !== 4 || sample.shape[1] !== config.in_channels) fail(`sample must be [B, ${config.in_channels}, h, w], got ${dims(sample)}`);
  const [batch, , h, w] = sample.shape;
  if (ehs.rank !== 3 || ehs.shape[0] !== batch) fail(`encoderHiddenStates must be [${batch}, S, D], got ${dims(ehs)}`);
  const f = controlNetImageFactor(config);
  const expected = [batch, config.conditioning_channels, h * f, w * f];
  if (dims(controlCond) !== `[${expected.join(', ')}]`) {
    fail(`controlCond must be [${expected.join(', ')}] (the conditioning embedding downsamples by ${f}), got ${dims(controlCond)}`);
  }
}

/** "bgr" models: reverse the channel axis. */
function reverseChannels(x: Value): Value {
  const channels = x.shape[1];
  // Copy before reversing: split hands back the node's own output list.
  return channels === 1 ? x : concat([...x.split(Array<number>(channels).fill(1), 1)].reverse(), 1);
}

/** The 1×1 output conv, the conditioning scale, and global pooling (broadcast back to the skip's shape). */
function residual(scope: Scope, x: Value, config: ControlNetConfig, scale: number | Value): Value {
  let r = conv(scope, x, x.shape[1], { kernel: 1 });
  if (scale !== 1) r = r.mul(scale);
  return config.global_pool_conditions ? r.mean([2, 3], true).expand(r.shape) : r;
}

/** Builds the ControlNet forward pass: the residuals for the UNet's skip connections and mid block. */
export function controlNetModel(scope: Scope, config: ControlNetConfig, inputs: ControlNetInputs): ControlNetOutputs {
  checkInputs(config, inputs);
  const layout = resolveUNetLayout(config);
  if (!layout.mid) return fail('a ControlNet needs a mid block');
  const io: BlockInputs = { temb: unetTimeEmbedding(scope, config, layout, inputs), context: inputs.encoderHiddenStates, common: layout.common };

  const image = config.controlnet_conditioning_channel_order === 'bgr' ? reverseChannels(inputs.controlCond) : inputs.controlCond;
  const embedded = controlNetConditioningEmbedding(scope.sub('controlnet_cond_embedding'), image, {
    blockOutChannels: config.conditioning_embedding_out_channels,
    embeddingChannels: config.block_out_channels[0],
  });
  let h = conv(scope.sub('conv_in'), inputs.sample, config.block_out_channels[0], { kernel: 3, padding: 1 }).add(embedded);

  const skips: Value[] = [h];
  layout.down.forEach((plan, i) => {
    const result = downBlock(scope.sub('down_blocks').sub(i), h, plan, io);
    h = result.hidden;
    skips.push(...result.skips);
  });
  h = midBlock(scope.sub('mid_block'), h, layout.mid, io);

  const scale = inputs.conditioningScale ?? 1;
  return {
    downBlockResiduals: skips.map((s, i) => residual(scope.sub('controlnet_down_blocks').sub(i), s, config, scale)),
    midBlockResidual: residual(scope.sub('controlnet_mid_block'), h, config, scale),
  };
}

/** Keys diffusers initialises to zero, so that a new ControlNet leaves the UNet's output unchanged. */
export function isZeroInitialisedKey(key: string): boolean {
  return /^controlnet_down_blocks\.\d+\.|^controlnet_mid_block\.|^controlnet_cond_embedding\.conv_out\./.test(key);
}
