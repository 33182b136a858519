/**
 * AdamW (torch.optim.AdamW semantics: decoupled weight decay p·(1 − lr·wd) before the Adam step, bias
 * correction, eps added to the corrected √v̂) as graph ops, so the update runs inside the training
 * session. Step-dependent scalars (lr, 1 − β₁ᵗ, 1 − β₂ᵗ) are graph inputs computed on the host, which
 * keeps the step counter and LR schedule out of the compiled model.
 */
import type { Value } from '../../ir/index.js';

export interface AdamWConfig {
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
}

export const adamwDefaults = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2 } as const;

/** Per-step scalar inputs of the update. */
export interface AdamWScalars {
  readonly lr: Value;
  /** 1 − β₁ᵗ for the 1-based step t. */
  readonly biasCorrection1: Value;
  /** 1 − β₂ᵗ. */
  readonly biasCorrection2: Value;
}

export interface AdamWState {
  readonly param: Value;
  readonly m: Value;
  readonly v: Value;
}

export function adamwUpdate(state: AdamWState, grad: Value, scalars: AdamWScalars, config: AdamWConfig): AdamWState {
  const { beta1, beta2, eps, weightDecay } = { ...adamwDefaults, ...config };
  const { lr, biasCorrection1, biasCorrection2 } = scalars;
  const decayed = weightDecay === 0 ? state.param : state.param.mul(lr.mul(-weightDecay).add(1));
  const m = state.m.mul(beta1).add(grad.mul(1 - beta1));
  const v = state.v.mul(beta2).add(grad.mul(grad).mul(1 - beta2));
  const denom = v.div(biasCorrection2).sqrt().add(eps);
  const param = decayed.sub(m.div(denom).mul(lr.div(biasCorrection1)));
  return { param, m, v };
}

/** Host-side 1 − βᵗ for the 1-based step t. */
export function biasCorrection(beta: number, step: number): number {
  return 1 - beta ** step;
}
