/**
 * diffusers ResnetBlock2D ("default" time conditioning): GroupNorm → act → conv1 (+ time_emb_proj(act(temb)))
 * → GroupNorm → act → conv2, plus the input (through a 1×1 conv_shortcut when the channel count changes),
 * divided by output_scale_factor. Dropout is the identity (eval-mode forward).
 */
import type { Value } from '../../ir/index.js';
import { conv, groupNormLayer, linear, type Scope } from '../../nn/index.js';
import { activation, type ActivationName } from './embeddings.js';

export interface ResnetOptions {
  outChannels: number;
  groups: number;
  eps: number;
  act: ActivationName;
  outputScaleFactor?: number;
  /** Skip the activation on temb before time_emb_proj (diffusers' skip_time_act). */
  skipTimeAct?: boolean;
}

/** x [B,Cin,H,W], temb [B,T] (or null: no time_emb_proj) → [B,outChannels,H,W]. */
export function resnetBlock2D(scope: Scope, x: Value, temb: Value | null, options: ResnetOptions): Value {
  const { outChannels, groups, eps, act, outputScaleFactor = 1, skipTimeAct = false } = options;
  let h = activation(groupNormLayer(scope.sub('norm1'), x, { groups, eps }), act);
  h = conv(scope.sub('conv1'), h, outChannels, { kernel: 3, padding: 1 });
  if (temb) {
    const t = linear(scope.sub('time_emb_proj'), skipTimeAct ? temb : activation(temb, act), outChannels);
    h = h.add(t.reshape([t.shape[0], outChannels, 1, 1]));
  }
  h = activation(groupNormLayer(scope.sub('norm2'), h, { groups, eps }), act);
  h = conv(scope.sub('conv2'), h, outChannels, { kernel: 3, padding: 1 });
  const shortcut = x.shape[1] === outChannels ? x : conv(scope.sub('conv_shortcut'), x, outChannels, { kernel: 1 });
  const sum = shortcut.add(h);
  return outputScaleFactor === 1 ? sum : sum.div(outputScaleFactor);
}
