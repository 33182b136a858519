/**
 * Layers as functions over a Scope, with torch/diffusers parameter names and layouts
 * (Linear.weight is [out, in]; Conv2d.weight is [out, in/groups, kh, kw]).
 */
import type { Value } from '../ir/index.js';
import { conv2d, groupNorm, layerNorm, type Conv2dOptions } from '../ops/index.js';
import type { Scope } from './scope.js';

/** torch.nn.Linear over the last axis: x·Wᵀ + b. */
export function linear(scope: Scope, x: Value, outFeatures: number, { bias = true }: { bias?: boolean } = {}): Value {
  const inFeatures = x.shape[x.rank - 1];
  const w = scope.param('weight', [outFeatures, inFeatures]);
  const y = x.matmul(w.transpose());
  return bias ? y.add(scope.param('bias', [outFeatures])) : y;
}

export interface ConvLayerOptions extends Omit<Conv2dOptions, 'bias'> {
  kernel: number;
  bias?: boolean;
}

/** torch.nn.Conv2d with square kernels. */
export function conv(scope: Scope, x: Value, outChannels: number, { kernel, bias = true, ...geometry }: ConvLayerOptions): Value {
  const groups = geometry.groups ?? 1;
  const w = scope.param('weight', [outChannels, x.shape[1] / groups, kernel, kernel]);
  return conv2d(x, w, { ...geometry, bias: bias ? scope.param('bias', [outChannels]) : undefined });
}

/** torch.nn.GroupNorm (affine) over channel axis 1. */
export function groupNormLayer(scope: Scope, x: Value, { groups, eps = 1e-5 }: { groups: number; eps?: number }): Value {
  const c = x.shape[1];
  return groupNorm(x, scope.param('weight', [c]), scope.param('bias', [c]), { groups, eps });
}

/** torch.nn.LayerNorm over the last axis (elementwise_affine by default). */
export function layerNormLayer(scope: Scope, x: Value, { eps = 1e-5, affine = true }: { eps?: number; affine?: boolean } = {}): Value {
  const d = x.shape[x.rank - 1];
  return affine ? layerNorm(x, scope.param('weight', [d]), scope.param('bias', [d]), { eps }) : layerNorm(x, undefined, undefined, { eps });
}

/** torch.nn.Embedding: rows of `weight` [count, dim] picked by integer ids. */
export function embedding(scope: Scope, ids: Value, count: number, dim: number): Value {
  return scope.param('weight', [count, dim]).gather(ids, 0);
}
