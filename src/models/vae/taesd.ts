/**
 * diffusers AutoencoderTiny (TAESD): EncoderTiny / DecoderTiny as `encoder.layers.N` / `decoder.layers.N`
 * nn.Sequential stacks of plain convs and AutoencoderTinyBlocks, without tiling/slicing.
 *
 * Value ranges, as diffusers' `encode`/`decode`: images are in [-1, 1] (the encoder maps them to TAESD's
 * [0, 1] itself, the decoder maps its [0, 1] output back); latents are on the diffusion model's scale, i.e.
 * like the SD VAE's latents after multiplying by its scaling_factor (TAESD's own scaling_factor is 1, so
 * pipelines' scaleLatents/unscaleLatents leave them unchanged). The decoder soft-clamps its input to
 * (-3, 3) with tanh(x/3)·3. The decoder output is not clamped to [-1, 1].
 */
import type { Value } from '../../ir/index.js';
import { conv, type Scope } from '../../nn/index.js';
import { upsampleNearest2d } from '../../ops/index.js';
import { activation, type ActivationName } from '../unet/embeddings.js';
import { expectNCHW } from './inputs.js';
import type { AutoencoderTinyConfig } from './taesd-config.js';

/** Scopes of an nn.Sequential in order; parameterless layers (activations, upsampling) still take an index. */
class SequentialLayers {
  private index = 0;
  constructor(private readonly scope: Scope) {}
  next(): Scope {
    return this.scope.sub('layers').sub(this.index++);
  }
  skip(): void {
    this.index++;
  }
}

const conv3x3 = (scope: Scope, x: Value, out: number, { stride = 1, bias = true } = {}): Value => conv(scope, x, out, { kernel: 3, padding: 1, stride, bias });

/** AutoencoderTinyBlock with equal in/out widths (no skip conv): relu(conv.0 → act → conv.2 → act → conv.4 + x). */
export function autoencoderTinyBlock(scope: Scope, x: Value, act: ActivationName): Value {
  const c = x.shape[1];
  const convs = scope.sub('conv');
  let h = activation(conv3x3(convs.sub(0), x, c), act);
  h = activation(conv3x3(convs.sub(2), h, c), act);
  return conv3x3(convs.sub(4), h, c).add(x).relu();
}

/** EncoderTiny layers on a [0, 1] image: per stage a conv (stride 2 and no bias after the first) and its blocks. */
function encoderTiny(scope: Scope, config: AutoencoderTinyConfig, x: Value): Value {
  const layers = new SequentialLayers(scope);
  let h = x;
  config.num_encoder_blocks.forEach((blocks, i) => {
    const width = config.encoder_block_out_channels[i];
    h = i === 0 ? conv3x3(layers.next(), h, width) : conv3x3(layers.next(), h, width, { stride: 2, bias: false });
    for (let b = 0; b < blocks; b++) h = autoencoderTinyBlock(layers.next(), h, config.act_fn);
  });
  return conv3x3(layers.next(), h, config.latent_channels);
}

/** DecoderTiny layers: conv → act, then per stage its blocks, [upsample], a conv (biased only in the last stage). */
function decoderTiny(scope: Scope, config: AutoencoderTinyConfig, x: Value): Value {
  const layers = new SequentialLayers(scope);
  const widths = config.decoder_block_out_channels;
  let h = conv3x3(layers.next(), x, widths[0]);
  h = activation(h, config.act_fn);
  layers.skip();
  config.num_decoder_blocks.forEach((blocks, i) => {
    const isLast = i === widths.length - 1;
    for (let b = 0; b < blocks; b++) h = autoencoderTinyBlock(layers.next(), h, config.act_fn);
    if (!isLast) {
      h = upsampleNearest2d(h, config.upsampling_scaling_factor);
      layers.skip();
    }
    h = conv3x3(layers.next(), h, isLast ? config.out_channels : widths[i], { bias: isLast });
  });
  return h;
}

/** Image [B, in_channels, H, W] in [-1, 1] → latents [B, latent_channels, H/f, W/f] on the diffusion scale. */
export function taesdEncode(scope: Scope, config: AutoencoderTinyConfig, image: Value): Value {
  expectNCHW('AutoencoderTiny encode: image', image, config.in_channels);
  return encoderTiny(scope.sub('encoder'), config, image.add(1).div(2));
}

/** Latents on the diffusion scale → image [B, out_channels, h·f, w·f], nominally in [-1, 1]. */
export function taesdDecode(scope: Scope, config: AutoencoderTinyConfig, latents: Value): Value {
  expectNCHW('AutoencoderTiny decode: latents', latents, config.latent_channels);
  const clamped = latents.div(3).tanh().mul(3);
  return decoderTiny(scope.sub('decoder'), config, clamped).mul(2).sub(1);
}

/** diffusers' AutoencoderTiny.scale_latents: raw latents → [0, 1] (clamped), e.g. to store them as uint8. */
export function taesdLatentsToUnitRange(config: AutoencoderTinyConfig, latents: Value): Value {
  return latents.div(2 * config.latent_magnitude).add(config.latent_shift).clamp(0, 1);
}

/** diffusers' AutoencoderTiny.unscale_latents: [0, 1] → raw latents. */
export function taesdLatentsFromUnitRange(config: AutoencoderTinyConfig, unit: Value): Value {
  return unit.sub(config.latent_shift).mul(2 * config.latent_magnitude);
}
