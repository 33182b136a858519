/**
 * Trained weights baked into the inference graphs the teacher trainer builds for itself (latent encoding,
 * reconstruction scoring): one map entry per graph parameter, checked against its shape.
 */
import { numel, type Value } from '../ir/index.js';

/** The trained value of every parameter of a graph, for baking into an inference model. */
export function bakedWeights(
  params: readonly Value[],
  weights: ReadonlyMap<string, Float32Array>,
  what: string,
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const p of params) {
    const w = weights.get(p.name!);
    if (!w || w.length !== numel(p.shape)) throw new Error(`${what}: no trained weights for "${p.name}"`);
    out.set(p.name!, w);
  }
  return out;
}
