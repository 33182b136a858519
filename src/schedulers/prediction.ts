// Reading a model output: x0 and ε as linear functions of (sample, modelOutput) at a noise level
// given by (α_t, σ_t), α² + σ² = 1. Written once; every scheduler and the distillation losses use it.
import type { PredictionType } from './config.js';

/** α_t = sqrt(ᾱ), σ_t = sqrt(1 − ᾱ). */
export interface NoiseLevel {
  alpha: number;
  sigmaT: number;
}

/** x̂ = sample·a + modelOutput·b */
export interface Readout {
  sample: number;
  model: number;
}

export function levelFromAlphaBar(alphaBar: number): NoiseLevel {
  return { alpha: Math.sqrt(alphaBar), sigmaT: Math.sqrt(1 - alphaBar) };
}

/** VP view of σ = sqrt((1−ᾱ)/ᾱ): α_t = 1/sqrt(σ²+1), σ_t = σ·α_t, λ = log α_t − log σ_t. */
export function levelFromSigma(sigma: number): NoiseLevel & { lambda: number } {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  const sigmaT = sigma * alpha;
  return { alpha, sigmaT, lambda: Math.log(alpha) - Math.log(sigmaT) };
}

/** Coefficients of the predicted clean sample x0. */
export function originalReadout(predictionType: PredictionType, { alpha, sigmaT }: NoiseLevel): Readout {
  switch (predictionType) {
    case 'epsilon':
      return { sample: 1 / alpha, model: -sigmaT / alpha };
    case 'v_prediction':
      return { sample: alpha, model: -sigmaT };
    case 'sample':
      return { sample: 0, model: 1 };
  }
}

/** Coefficients of the predicted noise ε. */
export function epsilonReadout(predictionType: PredictionType, { alpha, sigmaT }: NoiseLevel): Readout {
  switch (predictionType) {
    case 'epsilon':
      return { sample: 0, model: 1 };
    case 'v_prediction':
      return { sample: sigmaT, model: alpha };
    case 'sample':
      return { sample: 1 / sigmaT, model: -alpha / sigmaT };
  }
}

/** Consistency-model boundary scalings (LCM): c_skip, c_out at a discrete timestep. */
export function boundaryScalings(timestep: number, timestepScaling = 10, sigmaData = 0.5): { cSkip: number; cOut: number } {
  const t = timestep * timestepScaling;
  const d2 = sigmaData * sigmaData;
  return { cSkip: d2 / (t * t + d2), cOut: t / Math.sqrt(t * t + d2) };
}

/**
 * Moving a sample forward in noise from ᾱ_from to ᾱ_to (ᾱ_to ≤ ᾱ_from) with fresh noise:
 * x_to = sqrt(ᾱ_to/ᾱ_from)·x_from + sqrt(1 − ᾱ_to/ᾱ_from)·ε. With ᾱ_from = 1 this is q(x_t | x0).
 */
export function renoiseCoefficients(alphaBarFrom: number, alphaBarTo: number): { keep: number; noise: number } {
  const r = alphaBarTo / alphaBarFrom;
  return { keep: Math.sqrt(r), noise: Math.sqrt(1 - r) };
}

/** What a model of `predictionType` is trained to output for x_t = α·x0 + σ·ε, as noise·ε + x0·x0 (the denoising loss target). */
export function modelTarget(predictionType: PredictionType, { alpha, sigmaT }: NoiseLevel): { noise: number; x0: number } {
  switch (predictionType) {
    case 'epsilon':
      return { noise: 1, x0: 0 };
    case 'v_prediction':
      return { noise: alpha, x0: -sigmaT };
    case 'sample':
      return { noise: 0, x0: 1 };
  }
}
