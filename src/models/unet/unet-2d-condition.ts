/**
 * diffusers UNet2DConditionModel as a graph: time embedding (+ SDXL "text_time" added conditions) → conv_in →
 * down blocks → mid block → up blocks (with skip connections) → GroupNorm → act → conv_out. Parameters are
 * created through `scope` under their diffusers state-dict keys, so a checkpoint loads by lookup.
 *
 * Timesteps are a float32 graph input of shape [B] (or [] / [1], broadcast over the batch as diffusers does).
 * Pipelines pass integer timesteps; feed their float32 values (exact up to 2^24): diffusers converts them to
 * float32 itself before the sinusoidal embedding, so the result is the same. Int64 timesteps are cast.
 */
import type { DType, Value } from '../../ir/index.js';
import { conv, groupNormLayer, type Scope } from '../../nn/index.js';
import { concat } from '../../ops/index.js';
import { checkpoint } from '../../autodiff/index.js';
import { downBlock, midBlock, upBlock, type BlockInputs } from './blocks.js';
import type { UNetConfig } from './config.js';
import { activation, sinusoidalTimestepEmbedding, timestepMlp } from './embeddings.js';
import { resolveUNetLayout, type UNetLayout } from './layout.js';

export interface UNetInputs {
  /** Noisy latents [B, in_channels, H, W]; H and W divisible by 2^(number of upsamplers). */
  sample: Value;
  /** [B], [1] or [] float32 (integer-valued in pipelines); see the module comment. */
  timestep: Value;
  /** Text encoder states [B, S, cross_attention_dim]. */
  encoderHiddenStates: Value;
  /** [B, time_cond_proj_dim] guidance embedding of LCM-style distilled UNets (config.time_cond_proj_dim). */
  timestepCond?: Value;
  /** SDXL added conditions ("text_time"): pooled text embeddings [B, D] and time ids [B, 6]. */
  textEmbeds?: Value;
  timeIds?: Value;
  /** ControlNet residuals, one per down-path skip connection (conv_in output first), added as diffusers does. */
  downBlockAdditionalResiduals?: readonly Value[];
  /** ControlNet residual added to the mid-block output; given together with downBlockAdditionalResiduals. */
  midBlockAdditionalResidual?: Value;
}

export interface UNetBuildOptions {
  /**
   * Filled with named intermediate values (the fixtures' `unet.act.*` names): time_proj, time_embedding,
   * add_embedding (text_time only), conv_in, down_blocks.i (hidden output), mid_block (before any ControlNet
   * residual), up_blocks.i.
   */
  activations?: Map<string, Value>;
  /**
   * Gradient checkpointing: each down/mid/up block is recomputed during the backward pass instead of keeping
   * its activations from the forward pass (less memory for training, one more block forward per step).
   */
  checkpointBlocks?: boolean;
}

const fail = (message: string): never => {
  throw new Error(`UNet2DConditionModel: ${message}`);
};

const castTo = (v: Value, dtype: DType): Value => (v.dtype === dtype ? v : v.cast(dtype));

/** Timesteps as a [B] vector: a scalar or single timestep is broadcast to the batch (get_time_embed). */
function batchTimesteps(timestep: Value, batch: number): Value {
  const t = timestep.dtype === 'float32' ? timestep : timestep.cast('float32');
  if (t.rank === 0 || (t.rank === 1 && t.shape[0] === 1)) return t.reshape([1]).expand([batch]);
  if (t.rank !== 1 || t.shape[0] !== batch) fail(`timestep must be [], [1] or [${batch}], got [${t.shape.join(', ')}]`);
  return t;
}

/** SDXL add_embedding(concat(text_embeds, flatten(add_time_proj(time_ids)))). */
function textTimeEmbedding(scope: Scope, config: UNetConfig, layout: UNetLayout, inputs: Pick<UNetInputs, 'textEmbeds' | 'timeIds'>): Value {
  const { textEmbeds, timeIds } = inputs;
  if (!textEmbeds || !timeIds) return fail('addition_embed_type "text_time" needs inputs textEmbeds and timeIds');
  const batch = textEmbeds.shape[0];
  const timeDim = config.addition_time_embed_dim!;
  const flat = timeIds.reshape([-1]);
  const options = { flipSinToCos: config.flip_sin_to_cos, downscaleFreqShift: config.freq_shift };
  const timeEmbeds = sinusoidalTimestepEmbedding(flat, timeDim, options).reshape([batch, -1]);
  const addEmbeds = concat([textEmbeds, castTo(timeEmbeds, textEmbeds.dtype)], 1);
  const width = config.projection_class_embeddings_input_dim!;
  if (addEmbeds.shape[1] !== width) {
    fail(`text_embeds width ${textEmbeds.shape[1]} + time ids ${timeEmbeds.shape[1]} != projection_class_embeddings_input_dim ${width}`);
  }
  return timestepMlp(scope.sub('add_embedding'), addEmbeds, { outDim: layout.timeEmbedDim });
}

/**
 * The embedding fed to every resnet: time_embedding(time_proj(t)) [+ add_embedding] [→ time_embed_act].
 * Shared with ControlNetModel, whose time embedding is the same module tree.
 */
export function unetTimeEmbedding(
  scope: Scope,
  config: UNetConfig,
  layout: UNetLayout,
  inputs: Pick<UNetInputs, 'sample' | 'timestep' | 'timestepCond' | 'textEmbeds' | 'timeIds'>,
  record: (k: string, v: Value) => void = () => {},
): Value {
  const batch = inputs.sample.shape[0];
  const sinusoid = sinusoidalTimestepEmbedding(batchTimesteps(inputs.timestep, batch), layout.timestepInputDim, {
    flipSinToCos: config.flip_sin_to_cos,
    downscaleFreqShift: config.freq_shift,
  });
  // The sinusoid is always computed in float32; diffusers then casts it to the model's dtype.
  const tProj = castTo(sinusoid, inputs.sample.dtype);
  record('time_proj', tProj);
  if (inputs.timestepCond && config.time_cond_proj_dim === null) fail('timestepCond given but the config has no time_cond_proj_dim');
  let emb = timestepMlp(scope.sub('time_embedding'), tProj, {
    outDim: layout.timeEmbedDim,
    act: config.act_fn,
    postAct: config.timestep_post_act,
    condition: inputs.timestepCond,
  });
  record('time_embedding', emb);
  if (config.addition_embed_type === 'text_time') {
    const aug = textTimeEmbedding(scope, config, layout, inputs);
    record('add_embedding', aug);
    emb = emb.add(aug);
  }
  return config.time_embedding_act_fn ? activation(emb, config.time_embedding_act_fn) : emb;
}

function checkInputs(config: UNetConfig, layout: UNetLayout, inputs: UNetInputs): void {
  const { sample, encoderHiddenStates: ehs } = inputs;
  if (sample.rank !== 4 || sample.shape[1] !== config.in_channels) fail(`sample must be [B, ${config.in_channels}, H, W], got [${sample.shape.join(', ')}]`);
  const factor = 2 ** layout.up.filter((b) => b.addUpsample).length;
  if (sample.shape[2] % factor !== 0 || sample.shape[3] % factor !== 0) {
    fail(`sample height and width must be multiples of ${factor} (forwarding upsample sizes is not supported), got ${sample.shape[2]}×${sample.shape[3]}`);
  }
  if (ehs.rank !== 3 || ehs.shape[0] !== sample.shape[0]) fail(`encoderHiddenStates must be [${sample.shape[0]}, S, D], got [${ehs.shape.join(', ')}]`);
  const hasDown = inputs.downBlockAdditionalResiduals !== undefined;
  if (hasDown !== (inputs.midBlockAdditionalResidual !== undefined)) {
    fail('ControlNet residuals need both downBlockAdditionalResiduals and midBlockAdditionalResidual (T2I-Adapter residuals are not supported)');
  }
}

/** Adds ControlNet residuals to the skip connections, checking count and shapes. */
function addResiduals(skips: Value[], residuals: readonly Value[]): Value[] {
  const name = 'downBlockAdditionalResiduals';
  if (residuals.length !== skips.length) fail(`${name} has ${residuals.length} tensors, the down path has ${skips.length} skip connections`);
  const show = (v: Value): string => `[${v.shape.join(', ')}]`;
  return skips.map((s, i) => {
    if (show(residuals[i]) !== show(s)) fail(`${name}[${i}] is ${show(residuals[i])}, skip ${i} is ${show(s)}`);
    return s.add(residuals[i]);
  });
}

/** Builds the UNet forward pass and returns the predicted sample [B, out_channels, H, W]. */
export function unet2DConditionModel(scope: Scope, config: UNetConfig, inputs: UNetInputs, options: UNetBuildOptions = {}): Value {
  const layout = resolveUNetLayout(config);
  checkInputs(config, layout, inputs);
  const record = (name: string, v: Value): void => void options.activations?.set(name, v);
  const io: BlockInputs = { temb: unetTimeEmbedding(scope, config, layout, inputs, record), context: inputs.encoderHiddenStates, common: layout.common };

  const input = config.center_input_sample ? inputs.sample.mul(2).sub(1) : inputs.sample;
  const k = config.conv_in_kernel;
  let h = conv(scope.sub('conv_in'), input, config.block_out_channels[0], { kernel: k, padding: (k - 1) / 2 });
  record('conv_in', h);

  // Blocks see only their inputs, so they can be rebuilt in the backward pass when checkpointing.
  const segment = (inputs: Value[], fn: (inputs: readonly Value[], blockIo: BlockInputs) => Value[]): Value[] => {
    if (!options.checkpointBlocks) return fn(inputs, io);
    return checkpoint([...inputs, io.temb, io.context], (all) => fn(all.slice(0, -2), { ...io, temb: all.at(-2)!, context: all.at(-1)! }));
  };
  let skips: Value[] = [h];
  layout.down.forEach((plan, i) => {
    const [hidden, ...blockSkips] = segment([h], ([x], blockIo) => {
      const result = downBlock(scope.sub('down_blocks').sub(i), x, plan, blockIo);
      return [result.hidden, ...result.skips];
    });
    h = hidden;
    skips.push(...blockSkips);
    record(`down_blocks.${i}`, h);
  });
  if (inputs.downBlockAdditionalResiduals) skips = addResiduals(skips, inputs.downBlockAdditionalResiduals);

  if (layout.mid) {
    const mid = layout.mid;
    [h] = segment([h], ([x], blockIo) => [midBlock(scope.sub('mid_block'), x, mid, blockIo)]);
    record('mid_block', h);
  }
  if (inputs.midBlockAdditionalResidual) h = h.add(inputs.midBlockAdditionalResidual);

  layout.up.forEach((plan, i) => {
    const blockSkips = skips.splice(skips.length - plan.layers, plan.layers);
    [h] = segment([h, ...blockSkips], ([x, ...s], blockIo) => [upBlock(scope.sub('up_blocks').sub(i), x, s, plan, blockIo)]);
    record(`up_blocks.${i}`, h);
  });

  h = activation(groupNormLayer(scope.sub('conv_norm_out'), h, { groups: config.norm_num_groups, eps: config.norm_eps }), config.act_fn);
  const ko = config.conv_out_kernel;
  return conv(scope.sub('conv_out'), h, config.out_channels, { kernel: ko, padding: (ko - 1) / 2 });
}
