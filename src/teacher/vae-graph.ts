/**
 * The autoencoder's training graph: encode, sample z = mean + std·ε (ε fed by the host, so runs replay
 * exactly), decode, and score the reconstruction by mean absolute error plus a small KL term toward N(0, I)
 * that keeps the latent space smooth enough for diffusion (no perceptual or adversarial loss: emoji are flat
 * shapes, and an L1 reconstruction keeps their edges).
 */
import type { Graph, Value } from '../ir/index.js';
import { vaeDecode, vaeEncode, type AutoencoderKLConfig } from '../models/vae/index.js';
import { Scope } from '../nn/index.js';

export const vaeTrainingInputs = { image: 'image', noise: 'latent_noise' } as const;

export interface VaeTrainingGraph {
  readonly loss: Value;
  readonly logs: { l1: Value; mse: Value; kl: Value };
  readonly trainable: readonly Value[];
}

export function buildVaeTrainingGraph(
  graph: Graph,
  config: AutoencoderKLConfig,
  o: { batch: number; imageSize: number; klWeight: number },
): VaeTrainingGraph {
  const factor = 2 ** (config.block_out_channels.length - 1);
  const side = o.imageSize / factor;
  const image = graph.input(vaeTrainingInputs.image, [o.batch, config.in_channels, o.imageSize, o.imageSize]);
  const noise = graph.input(vaeTrainingInputs.noise, [o.batch, config.latent_channels, side, side]);
  const scope = new Scope(graph);
  const moments = vaeEncode(scope, config, image);
  const z = moments.mean.add(moments.std.mul(noise));
  const decoded = vaeDecode(scope, config, z);
  const diff = decoded.sub(image);
  const l1 = diff.abs().mean();
  const mse = diff.mul(diff).mean();
  const kl = moments.mean.mul(moments.mean).add(moments.logvar.exp()).sub(1).sub(moments.logvar).mul(0.5).mean();
  const loss = l1.add(kl.mul(o.klWeight));
  return { loss, logs: { l1, mse, kl }, trainable: graph.params };
}
