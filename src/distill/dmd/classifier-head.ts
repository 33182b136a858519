/**
 * DMD2's GAN classifier: a small head on the fake score's bottleneck (the UNet's mid-block output, the up blocks are
 * never run for it), one logit per sample. The reference's heads for SD1.5 (8×8 bottleneck) and SDXL (32×32) are the
 * same rule, which also fits the small models here: conv 4×4 stride 2 (pad 1) → GroupNorm → SiLU while the side is
 * above 4, then a conv covering the rest (4×4 stride 4; a smaller side in one kernel) → GroupNorm → SiLU, then a
 * 1×1 conv to one channel.
 */
import type { Value } from '../../ir/index.js';
import { conv, groupNormLayer, type Scope } from '../../nn/index.js';
import { groupsFor } from '../common/discriminator.js';

/** Names of the classifier's trainable parameters start with this. */
export const CLASSIFIER_PREFIX = 'dmd_classifier';

/** Logits [B] from bottleneck features [B, C, s, s]. */
export function classifierHead(base: Scope, features: Value): Value {
  const scope = base.sub(CLASSIFIER_PREFIX);
  const c = features.shape[1];
  const [side, width] = features.shape.slice(2);
  if (side !== width) throw new RangeError(`DMD2 classifier: the bottleneck must be square (got ${side}×${width})`);
  const block = (name: string, x: Value, kernel: number, stride: number, padding: number) =>
    groupNormLayer(scope.sub(name).sub('norm'), conv(scope.sub(name).sub('conv'), x, c, { kernel, stride, padding }), {
      groups: groupsFor(c),
    }).silu();
  let h = features;
  let blocks = 0;
  while (h.shape[2] > 4) h = block(`down${blocks++}`, h, 4, 2, 1);
  const rest = h.shape[2];
  h = block('last', h, rest, rest, 0);
  const logits = conv(scope.sub('out'), h, 1, { kernel: 1, padding: 0 });
  return logits.reshape([features.shape[0]]);
}
