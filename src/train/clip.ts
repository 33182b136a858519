import type { Value } from '../ir/index.js';

/**
 * Global-norm clipping as torch.nn.utils.clip_grad_norm_: every gradient is scaled by
 * min(1, maxNorm / (‖g‖₂ + 1e-6)), where ‖g‖₂ is the norm over all gradients together.
 */
export function clipByGlobalNorm(grads: readonly Value[], maxNorm: number): { grads: Value[]; norm: Value } {
  if (grads.length === 0) throw new Error('clipByGlobalNorm: no gradients');
  if (!(maxNorm > 0)) throw new Error(`clipByGlobalNorm: maxNorm must be > 0, got ${maxNorm}`);
  const squares = grads.map((g) => g.mul(g).sum());
  const norm = squares.reduce((a, b) => a.add(b)).sqrt();
  const graph = norm.graph;
  const coef = graph.apply('minimum', [graph.scalar(maxNorm, norm.dtype).div(norm.add(1e-6)), graph.scalar(1, norm.dtype)]);
  return { grads: grads.map((g) => g.mul(coef)), norm };
}
