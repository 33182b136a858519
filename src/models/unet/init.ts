/**
 * Deterministic random UNet weights for benchmarks and smoke tests (not a training initialisation to match
 * diffusers'): normalisation layers get weight 1 / bias 0, other biases 0, every other weight N(0, std²)
 * drawn from one seeded torch-compatible generator in parameter order.
 */
import { numel, type Value } from '../../ir/index.js';
import { TorchGenerator } from '../../util/torch-generator.js';

/** True for GroupNorm/LayerNorm parameters by their diffusers key (`norm`, `norm1`, `conv_norm_out`, ...). */
function isNormParam(key: string): boolean {
  const module = key.split('.').at(-2) ?? '';
  return /^norm\d*$/.test(module) || module === 'conv_norm_out';
}

/** One Float32Array per float32 parameter, keyed by name; the same seed gives the same weights. */
export function randomUNetWeights(params: readonly Value[], seed = 0, std = 0.02): Map<string, Float32Array> {
  const generator = new TorchGenerator(seed);
  const weights = new Map<string, Float32Array>();
  for (const p of params) {
    if (p.dtype !== 'float32') throw new Error(`randomUNetWeights: parameter "${p.name}" is ${p.dtype}, only float32 is supported`);
    const key = p.name!;
    const count = numel(p.shape);
    const isBias = key.endsWith('.bias');
    let data: Float32Array;
    if (isNormParam(key)) data = new Float32Array(count).fill(isBias ? 0 : 1);
    else if (isBias) data = new Float32Array(count);
    else data = generator.randn(p.shape).map((x) => x * std);
    weights.set(key, data);
  }
  return weights;
}
