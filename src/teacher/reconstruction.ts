/**
 * How well an autoencoder reproduces images: encode (the latent mean), decode, and compare with the input.
 * PSNR is over pixel values in [−1, 1] mapped to [0, 1] (peak 1), the usual 8-bit image convention.
 */
import type { AutoencoderKLConfig } from '../models/vae/index.js';
import { vaeDecode, vaeEncode } from '../models/vae/index.js';
import { Scope } from '../nn/index.js';
import { createGraph } from '../ops/index.js';
import { compileGraph } from '../runtime/compile-graph.js';
import { sessionOptionsFor, type RuntimeOptions } from '../runtime/device.js';
import { bakedWeights } from './baked-weights.js';

export interface ReconstructionScore {
  readonly images: number;
  /** Mean absolute error in [−1, 1] units. */
  readonly l1: number;
  /** Mean over images of each image's PSNR in dB. */
  readonly psnr: number;
}

const BATCH = 16;

export async function reconstructionScore(
  config: AutoencoderKLConfig,
  weights: ReadonlyMap<string, Float32Array>,
  images: readonly Float32Array[],
  size = 64,
  runtime?: RuntimeOptions,
): Promise<ReconstructionScore> {
  const graph = createGraph();
  const input = graph.input('image', [BATCH, 3, size, size]);
  const scope = new Scope(graph);
  const decoded = vaeDecode(scope, config, vaeEncode(scope, config, input).mean);
  const { session } = await compileGraph(graph, [decoded], {
    weights: bakedWeights(graph.params, weights, 'reconstruction'),
    session: sessionOptionsFor(runtime),
  });
  const pixels = 3 * size * size;
  let l1 = 0;
  let psnr = 0;
  try {
    for (let start = 0; start < images.length; start += BATCH) {
      const count = Math.min(BATCH, images.length - start);
      const batch = new Float32Array(BATCH * pixels);
      for (let i = 0; i < count; i++) batch.set(images[start + i], i * pixels);
      const out = await session.run({ image: { dtype: 'float32', dims: [BATCH, 3, size, size], data: batch } });
      const y = out[session.outputNames[0]].data as Float32Array;
      for (let i = 0; i < count; i++) {
        let abs = 0;
        let sq = 0;
        for (let j = i * pixels; j < (i + 1) * pixels; j++) {
          const d = Math.max(-1, Math.min(1, y[j])) - batch[j];
          abs += Math.abs(d);
          sq += (d / 2) ** 2;
        }
        l1 += abs / pixels;
        psnr += 10 * Math.log10(1 / Math.max(sq / pixels, 1e-12));
      }
    }
  } finally {
    await session.release();
  }
  return { images: images.length, l1: l1 / images.length, psnr: psnr / images.length };
}
