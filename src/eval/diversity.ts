/**
 * Diversity across seeds: how different a row's samples of one prompt are from each other, as the mean pairwise
 * Euclidean distance of their classifier features. An eval row prompts sample i with caption i mod C and seeds it
 * with seed + i, so every caption that recurs is already drawn with several seeds; the score averages, over those
 * captions, the mean distance between their samples. A sampler that collapses to one image per prompt scores
 * near 0; the teacher's row gives the level a faithful student should keep.
 */
import { EvalError } from './errors.js';

export function seedDiversity(features: readonly Float32Array[], captions: readonly string[]): number | null {
  if (features.length !== captions.length)
    throw new EvalError(`diversity: ${features.length} feature vectors for ${captions.length} captions`);
  const byCaption = new Map<string, Float32Array[]>();
  features.forEach((f, i) => byCaption.set(captions[i], [...(byCaption.get(captions[i]) ?? []), f]));
  const perCaption: number[] = [];
  for (const group of byCaption.values()) {
    if (group.length < 2) continue;
    let sum = 0;
    let pairs = 0;
    for (let a = 0; a < group.length; a++)
      for (let b = a + 1; b < group.length; b++) {
        let d = 0;
        for (let k = 0; k < group[a].length; k++) d += (group[a][k] - group[b][k]) ** 2;
        sum += Math.sqrt(d);
        pairs++;
      }
    perCaption.push(sum / pairs);
  }
  return perCaption.length === 0 ? null : perCaption.reduce((s, x) => s + x, 0) / perCaption.length;
}
