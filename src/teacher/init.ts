/**
 * Training initialisation for models built from scratch, following PyTorch's layer defaults: linear and
 * convolution weights U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5), biases 0, normalisation
 * weights 1, and token/position embeddings N(0, 0.02²) as transformers' CLIP. Seeded and in parameter order.
 */
import { numel, type Value } from '../ir/index.js';
import { TorchGenerator } from '../util/torch-generator.js';

const EMBEDDING_KEY = /(token|position)_embedding\.weight$/;

export function initTrainingWeights(params: readonly Value[], seed: number): Map<string, Float32Array> {
  const generator = new TorchGenerator(seed);
  const weights = new Map<string, Float32Array>();
  for (const p of params) {
    const key = p.name!;
    const n = numel(p.shape);
    let data: Float32Array;
    if (key.endsWith('.bias')) data = new Float32Array(n);
    else if (p.shape.length === 1) data = new Float32Array(n).fill(1);
    else if (EMBEDDING_KEY.test(key)) data = generator.randn(p.shape).map((x) => x * 0.02);
    else {
      const fanIn = n / p.shape[0];
      const bound = 1 / Math.sqrt(fanIn);
      data = generator.rand(p.shape).map((u) => (2 * u - 1) * bound);
    }
    weights.set(key, data);
  }
  return weights;
}
