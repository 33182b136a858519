/**
 * The emoji subcategory classifier as a graph: a small all-convolutional net (stem at full resolution, then
 * stride-2 convolutions down to 8 px), GroupNorm + SiLU after each convolution, global average pooling to the
 * penultimate feature vector (what the Fréchet distance compares), and one linear layer to the class logits.
 * Parameter names are plain keys ("stem.weight", "down.0.weight", "head.weight") kept in the saved file.
 */
import type { Value } from '../ir/index.js';
import { conv, groupNormLayer, linear, type Scope } from '../nn/index.js';
import { EvalError } from './errors.js';

export interface ClassifierArchitecture {
  /** Input side in pixels (the emoji are 64 px). */
  readonly imageSize: number;
  /** Channels of the stem convolution (at full resolution). */
  readonly stemChannels: number;
  /** Channels after each stride-2 convolution; the last is the feature size. */
  readonly downChannels: readonly number[];
  readonly groups: number;
  readonly classes: number;
}

/** 64 px → 32 → 16 → 8, 128 features. */
export function defaultArchitecture(classes: number): ClassifierArchitecture {
  return { imageSize: 64, stemChannels: 32, downChannels: [64, 128, 128], groups: 8, classes };
}

export function checkArchitecture(a: ClassifierArchitecture, where: string): void {
  const positive = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  const channels = [a.stemChannels, ...(Array.isArray(a.downChannels) ? a.downChannels : [])];
  const ok =
    positive(a.imageSize) &&
    positive(a.groups) &&
    positive(a.classes) &&
    Array.isArray(a.downChannels) &&
    a.downChannels.length > 0 &&
    channels.every((c) => positive(c) && c % a.groups === 0);
  if (!ok)
    throw new EvalError(`${where}: invalid classifier architecture ${JSON.stringify(a)} (positive integers, channels divisible by groups)`);
}

/** Feature size: the last down-sampling stage's channels. */
export function featureSize(a: ClassifierArchitecture): number {
  return a.downChannels[a.downChannels.length - 1];
}

function normAct(scope: Scope, x: Value, groups: number): Value {
  return groupNormLayer(scope, x, { groups }).silu();
}

/** images [n, 3, s, s] in [−1, 1] → features [n, F] and logits [n, classes]. */
export function classifierForward(scope: Scope, a: ClassifierArchitecture, images: Value): { features: Value; logits: Value } {
  let x = conv(scope.sub('stem'), images, a.stemChannels, { kernel: 3, padding: 1 });
  x = normAct(scope.sub('stem_norm'), x, a.groups);
  a.downChannels.forEach((channels, i) => {
    x = conv(scope.sub('down').sub(i), x, channels, { kernel: 3, stride: 2, padding: 1 });
    x = normAct(scope.sub('down_norm').sub(i), x, a.groups);
  });
  const features = x.mean([2, 3]);
  return { features, logits: linear(scope.sub('head'), features, a.classes) };
}

/** Mean softmax cross-entropy of logits [n, C] against one-hot targets [n, C] (log-sum-exp shifted by the max). */
export function softmaxCrossEntropy(logits: Value, oneHot: Value): Value {
  const shifted = logits.sub(logits.max(-1, true).stopGradient());
  const logProbs = shifted.sub(shifted.exp().sum(-1, true).log());
  return logProbs.mul(oneHot).sum(-1).mean().neg();
}
