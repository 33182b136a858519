/**
 * The denoiser stage's training latents: every training image, as is and in `copies − 1` augmented versions,
 * encoded once by the trained autoencoder into its latent moments (mean, std). Steps then draw
 * z = mean + std·ε from a random copy, which costs nothing next to running the encoder per step. Saved under
 * the work folder so a resumed run does not encode again; the scaling factor (1 / std of the means, as SD's
 * 0.18215 was chosen) is computed from the same latents.
 */
import { existsSync } from 'node:fs';
import { augmentEmoji } from '../data/emoji/index.js';
import { vaeEncode, type AutoencoderKLConfig } from '../models/vae/index.js';
import { Scope } from '../nn/index.js';
import { createGraph } from '../ops/index.js';
import { compileGraph } from '../runtime/compile-graph.js';
import { sessionOptionsFor, type RuntimeOptions } from '../runtime/device.js';
import { bakedWeights } from './baked-weights.js';
import { TorchGenerator } from '../util/torch-generator.js';
import { SafetensorsFile } from '../weights/safetensors.js';
import { writeSafetensors } from '../weights/safetensors-writer.js';

export interface TrainingLatents {
  /** [images·copies, C, h, w]: copy k of image i at row i·copies + k. */
  readonly mean: Float32Array;
  readonly std: Float32Array;
  readonly copies: number;
  /** C·h·w. */
  readonly size: number;
  readonly scalingFactor: number;
}

const ENCODE_BATCH = 32;

export async function trainingLatents(
  path: string,
  vae: { config: AutoencoderKLConfig; weights: ReadonlyMap<string, Float32Array> },
  images: readonly Float32Array[],
  o: { imageSize: number; copies: number; seed: number; onProgress?: (done: number, total: number) => void; runtime?: RuntimeOptions },
): Promise<TrainingLatents> {
  const factor = 2 ** (vae.config.block_out_channels.length - 1);
  const side = o.imageSize / factor;
  const size = vae.config.latent_channels * side * side;
  if (existsSync(path)) {
    const file = SafetensorsFile.open(path);
    try {
      const mean = file.float32('mean');
      if (mean.length === images.length * o.copies * size) return finish(mean, file.float32('std'), o.copies, size);
    } finally {
      file.close();
    }
  }
  const rng = new TorchGenerator(o.seed);
  const inputs: Float32Array[] = images.flatMap((img) =>
    Array.from({ length: o.copies }, (_, k) => (k === 0 ? img : augmentEmoji(img, o.imageSize, rng))),
  );
  const graph = createGraph();
  const image = graph.input('image', [ENCODE_BATCH, 3, o.imageSize, o.imageSize]);
  const moments = vaeEncode(new Scope(graph), vae.config, image);
  const weights = bakedWeights(graph.params, vae.weights, 'VAE encoder');
  const { session } = await compileGraph(graph, [moments.mean, moments.std], { weights, session: sessionOptionsFor(o.runtime) });
  const mean = new Float32Array(inputs.length * size);
  const std = new Float32Array(inputs.length * size);
  const pixels = 3 * o.imageSize * o.imageSize;
  try {
    for (let start = 0; start < inputs.length; start += ENCODE_BATCH) {
      const batch = new Float32Array(ENCODE_BATCH * pixels);
      const count = Math.min(ENCODE_BATCH, inputs.length - start);
      for (let i = 0; i < count; i++) batch.set(inputs[start + i], i * pixels);
      const out = await session.run({ image: { dtype: 'float32', dims: [ENCODE_BATCH, 3, o.imageSize, o.imageSize], data: batch } });
      const [m, s] = session.outputNames.map((n) => out[n].data as Float32Array);
      mean.set(m.subarray(0, count * size), start * size);
      std.set(s.subarray(0, count * size), start * size);
      o.onProgress?.(start + count, inputs.length);
    }
  } finally {
    await session.release();
  }
  writeSafetensors(path, [
    { name: 'mean', dtype: 'F32', shape: [inputs.length, size], data: mean },
    { name: 'std', dtype: 'F32', shape: [inputs.length, size], data: std },
  ]);
  return finish(mean, std, o.copies, size);
}

function finish(mean: Float32Array, std: Float32Array, copies: number, size: number): TrainingLatents {
  let sum = 0;
  let sq = 0;
  for (const x of mean) {
    sum += x;
    sq += x * x;
  }
  const mu = sum / mean.length;
  const sd = Math.sqrt(sq / mean.length - mu * mu);
  return { mean, std, copies, size, scalingFactor: 1 / sd };
}
