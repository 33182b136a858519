/**
 * Classifier-free guidance over a [uncond; cond] batch (diffusers' order), and guidance rescale
 * (Lin et al., "Common Diffusion Noise Schedules and Sample Steps are Flawed", §3.4) as diffusers'
 * rescale_noise_cfg computes it: per batch item, the guided prediction is scaled to the conditional
 * prediction's standard deviation (unbiased, as torch.std), then mixed with the unscaled one by φ.
 */

/** The guidance rule of the SD pipelines: CFG only when it changes the result. */
export function usesGuidance(guidanceScale: number): boolean {
  return guidanceScale > 1;
}

/** eps_u + g·(eps_c − eps_u), where `both` holds the uncond half first. */
export function guide(both: Float32Array, guidanceScale: number, rescale = 0, batch = 1): Float32Array {
  const half = both.length / 2;
  const uncond = both.subarray(0, half);
  const cond = both.subarray(half);
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = uncond[i] + guidanceScale * (cond[i] - uncond[i]);
  return rescale > 0 ? rescaleGuided(out, cond, rescale, batch) : out;
}

function std(values: Float32Array): number {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let sum = 0;
  for (const v of values) sum += (v - mean) ** 2;
  return Math.sqrt(sum / Math.max(1, values.length - 1));
}

export function rescaleGuided(guided: Float32Array, cond: Float32Array, phi: number, batch: number): Float32Array {
  const per = guided.length / batch;
  const out = new Float32Array(guided.length);
  for (let b = 0; b < batch; b++) {
    const g = guided.subarray(b * per, (b + 1) * per);
    const factor = std(cond.subarray(b * per, (b + 1) * per)) / std(g);
    for (let i = 0; i < per; i++) out[b * per + i] = phi * g[i] * factor + (1 - phi) * g[i];
  }
  return out;
}
