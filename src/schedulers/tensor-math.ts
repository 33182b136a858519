// Elementwise work on latents: one linear-combination primitive and x0 clipping.
// Coefficients arrive as float64 host scalars; each output element is rounded to float32 once.

export type Term = readonly [coefficient: number, values: Float32Array];

/** Σ cᵢ·xᵢ elementwise. Terms with coefficient 0 are skipped (so 0·∞ never poisons a result). */
export function combine(...terms: Term[]): Float32Array {
  const live = terms.filter(([c]) => c !== 0);
  const n = terms[0][1].length;
  for (const [, x] of terms) {
    if (x.length !== n) throw new RangeError(`cannot combine tensors of ${n} and ${x.length} elements`);
  }
  const out = new Float32Array(n);
  if (live.length === 0) return out;
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (const [c, x] of live) acc += c * x[i];
    out[i] = acc;
  }
  return out;
}

/** Clamps every element to [-range, range] (diffusers clip_sample). */
export function clipSample(x: Float32Array, range: number): Float32Array {
  return x.map((v) => Math.min(range, Math.max(-range, v)));
}

/** torch.quantile (linear interpolation) of an already sorted float32 list, in float32 like torch. */
function quantileSorted(sorted: Float32Array, q: number): number {
  const f32 = Math.fround;
  const rank = f32(f32(q) * (sorted.length - 1));
  const below = Math.floor(rank);
  const weight = f32(rank - below);
  const lo = sorted[below];
  const hi = sorted[Math.min(below + 1, sorted.length - 1)];
  // torch.lerp's two-sided formula keeps the end points exact.
  return weight < 0.5 ? f32(lo + f32(weight * f32(hi - lo))) : f32(hi - f32(f32(hi - lo) * f32(1 - weight)));
}

/**
 * Dynamic thresholding (Imagen, "x0 clipping"): per batch item, s = quantile(|x0|, ratio) clamped to
 * [1, maxValue]; x0 ← clamp(x0, −s, s)/s.
 */
export function dynamicThreshold(x0: Float32Array, batchSize: number, ratio: number, maxValue: number): Float32Array {
  if (!Number.isInteger(batchSize) || batchSize < 1 || x0.length % batchSize !== 0) {
    throw new RangeError(`batchSize ${batchSize} does not divide the sample's ${x0.length} elements`);
  }
  const per = x0.length / batchSize;
  const out = new Float32Array(x0.length);
  for (let b = 0; b < batchSize; b++) {
    const item = x0.subarray(b * per, (b + 1) * per);
    const sorted = item.map(Math.abs).sort();
    const s = Math.min(Math.max(quantileSorted(sorted, ratio), 1), maxValue);
    for (let i = 0; i < per; i++) out[b * per + i] = Math.min(s, Math.max(-s, item[i])) / s;
  }
  return out;
}
