/**
 * The teacher's training graph: the CLIP text encoder and the UNet trained together on the plain denoising
 * loss, mean((ε̂(x_t, t, text(ids)) − ε)²). The host draws t, ε and forms x_t (and empties a share of the
 * captions for classifier-free guidance), so the graph stays a pure function of its inputs.
 * Parameters live under `text_encoder.` and `unet.`, each followed by its diffusers/transformers key.
 */
import type { Graph, Value } from '../ir/index.js';
import { clipTextModel, type ClipTextConfig } from '../models/clip/index.js';
import { unet2DConditionModel, type UNetConfig } from '../models/unet/index.js';
import { Scope } from '../nn/index.js';

export const denoiserInputs = { inputIds: 'input_ids', noisy: 'noisy_latents', timestep: 'timestep', noise: 'noise' } as const;
export const TEXT_ENCODER_PREFIX = 'text_encoder.';
export const UNET_PREFIX = 'unet.';

export interface DenoiserTrainingGraph {
  readonly loss: Value;
  readonly trainable: readonly Value[];
}

export function buildDenoiserTrainingGraph(
  graph: Graph,
  configs: { text: ClipTextConfig; unet: UNetConfig },
  o: { batch: number; tokens: number; latentShape: readonly [number, number, number]; checkpointBlocks?: boolean },
): DenoiserTrainingGraph {
  const [c, h, w] = o.latentShape;
  const ids = graph.input(denoiserInputs.inputIds, [o.batch, o.tokens], 'int64');
  const noisy = graph.input(denoiserInputs.noisy, [o.batch, c, h, w]);
  const timestep = graph.input(denoiserInputs.timestep, [o.batch]);
  const noise = graph.input(denoiserInputs.noise, [o.batch, c, h, w]);
  const root = new Scope(graph);
  const states = clipTextModel(root.sub('text_encoder'), configs.text, ids).lastHiddenState;
  const predicted = unet2DConditionModel(
    root.sub('unet'),
    configs.unet,
    { sample: noisy, timestep, encoderHiddenStates: states },
    { checkpointBlocks: o.checkpointBlocks },
  );
  const diff = predicted.sub(noise);
  return { loss: diff.mul(diff).mean(), trainable: graph.params };
}
