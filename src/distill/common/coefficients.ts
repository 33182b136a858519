/**
 * The per-sample scalars that turn UNet outputs into the distillation's prediction, teacher move and target.
 * Every one of them is a linear function of (sample x, model output f(x)) at a noise level, so the host
 * folds predicted-origin, predicted-noise and the method's step into one pair (a, b) with value = a·x + b·f(x),
 * fed to the graph as [B, 1, 1, 1] columns. The reads come from the schedulers' shared prediction math.
 */
import type { PredictionType } from '../../schedulers/config.js';
import {
  boundaryScalings,
  epsilonReadout,
  levelFromAlphaBar,
  originalReadout,
  renoiseCoefficients,
  type Readout,
} from '../../schedulers/prediction.js';

/** A value built from the current sample, the predicted origin x0 and the predicted noise ε: x·sample + x0·x0 + ε·eps. */
export interface Blend {
  readonly sample: number;
  readonly x0: number;
  readonly eps: number;
}

/** The one-step move to timestep s from x0 and ε (the reference's ddim_step and tdd_step): sqrt(ᾱ_s)·x0 + sqrt(1−ᾱ_s)·ε. */
export function noisingBlend(alphaBarTarget: number): Blend {
  const c = renoiseCoefficients(1, alphaBarTarget);
  return { sample: 0, x0: c.keep, eps: c.noise };
}

/** LCM's consistency parameterisation at timestep t: c_skip(t)·x + c_out(t)·x0 (x0 at t = 0 exactly). */
export function boundaryBlend(timestep: number): Blend {
  const { cSkip, cOut } = boundaryScalings(timestep);
  return { sample: cSkip, x0: cOut, eps: 0 };
}

/** The blend as a function of (x, f(x)) for a model of `predictionType` evaluated at ᾱ_t. */
export function readoutOfBlend(predictionType: PredictionType, alphaBar: number, blend: Blend): Readout {
  const level = levelFromAlphaBar(alphaBar);
  const x0 = originalReadout(predictionType, level);
  const eps = epsilonReadout(predictionType, level);
  return {
    sample: blend.sample + blend.x0 * x0.sample + blend.eps * eps.sample,
    model: blend.x0 * x0.model + blend.eps * eps.model,
  };
}
