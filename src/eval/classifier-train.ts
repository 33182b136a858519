/**
 * Trains the emoji subcategory classifier on the training split (both styles) with the project's own
 * compiled training step: softmax cross-entropy, AdamW with a warm-up + cosine schedule, the emoji
 * augmentation (small shifts and shrinks), one seed for init, order and augmentation. Then measures top-1
 * accuracy on the training images and on the held-out real images (unseen emoji of seen subcategories:
 * the ceiling of the alignment score) and writes the file atomically.
 */
import { EpochSampler } from '../data/batches.js';
import { augmentEmoji, emojiEntries, loadEmojiImage, subcategoryLabel, subcategoryLabels, type EmojiEntry } from '../data/emoji/index.js';
import { Scope } from '../nn/index.js';
import { createGraph } from '../ops/index.js';
import type { HostTensor } from '../runtime/tensors.js';
import { initTrainingWeights } from '../teacher/init.js';
import { TrainStep } from '../train/index.js';
import { sessionOptionsFor, type RuntimeOptions } from '../runtime/device.js';
import { TorchGenerator } from '../util/torch-generator.js';
import { EmojiClassifier, saveClassifier, type ClassifierInfo } from './classifier.js';
import { classifierForward, defaultArchitecture, softmaxCrossEntropy, type ClassifierArchitecture } from './classifier-graph.js';
import { EvalError } from './errors.js';

/**
 * Sized for about 10 minutes on 2 CPU cores shared with other work: 0.62 s per step of 32 augmented images
 * measured (~8.5 epochs of the 3406 training images), plus ~10 s loading and ~11 s measuring accuracy.
 */
export const classifierTrainingDefaults = {
  steps: 900,
  batch: 32,
  lr: 2e-3,
  weightDecay: 0.01,
  warmupSteps: 50,
  seed: 0,
  augment: true,
} as const;

export interface TrainClassifierOptions {
  /** Where the classifier is written (safetensors). */
  out: string;
  steps?: number;
  batch?: number;
  lr?: number;
  weightDecay?: number;
  warmupSteps?: number;
  seed?: number;
  /** Shift/shrink augmentation of training images (default true). */
  augment?: boolean;
  /** Training and held-out emoji (default: the emoji dataset's splits, both styles); tests pass a handful. */
  train?: readonly EmojiEntry[];
  heldout?: readonly EmojiEntry[];
  /** Default: defaultArchitecture(number of training subcategories). */
  architecture?: Omit<ClassifierArchitecture, 'classes'>;
  /** Device and threads of the training step and the accuracy pass. */
  runtime?: RuntimeOptions;
  signal?: AbortSignal;
}

export interface ClassifierProgress {
  phase: 'loading images' | 'compiling' | 'training' | 'measuring accuracy';
  done: number;
  total: number;
  /** Training phase: the step's loss. */
  loss?: number;
}

export interface TrainedClassifier {
  readonly path: string;
  readonly info: ClassifierInfo;
  /** The trained parameters by name (what the file holds). */
  readonly weights: ReadonlyMap<string, Float32Array>;
  /** Loss of every optimizer step. */
  readonly losses: number[];
  /** Mean wall-clock seconds per optimizer step (compilation excluded). */
  readonly secondsPerStep: number;
}

const IMAGE = 'image';
const ONE_HOT = 'one_hot';

export async function trainEmojiClassifier(
  options: TrainClassifierOptions,
  onProgress: (p: ClassifierProgress) => void = () => {},
): Promise<TrainedClassifier> {
  const o: Settings = { ...classifierTrainingDefaults, ...stripUndefined(options) };
  checkSettings(o);
  const train = options.train ?? emojiEntries({ split: 'train' }).entries;
  const heldout = options.heldout ?? emojiEntries({ split: 'heldout' }).entries;
  if (train.length === 0) throw new EvalError('classifier training: no training images');
  const labels = subcategoryLabels(train);
  const architecture: ClassifierArchitecture = { ...(options.architecture ?? defaultArchitecture(labels.length)), classes: labels.length };
  const trainImages = await loadImages(train, architecture.imageSize, (done) =>
    onProgress({ phase: 'loading images', done, total: train.length + heldout.length }),
  );
  const heldoutImages = await loadImages(heldout, architecture.imageSize, (done) =>
    onProgress({ phase: 'loading images', done: train.length + done, total: train.length + heldout.length }),
  );
  const trainLabels = train.map((e) => labels.indexOf(subcategoryLabel(e)));

  onProgress({ phase: 'compiling', done: 0, total: 1 });
  const { step, shapes } = await compileStep(architecture, o);
  onProgress({ phase: 'compiling', done: 1, total: 1 });
  const losses: number[] = [];
  const started = performance.now();
  try {
    const sampler = new EpochSampler(trainImages.length, o.seed);
    const rng = new TorchGenerator(o.seed);
    while (step.optimizerSteps < o.steps) {
      if (o.signal?.aborted)
        throw new EvalError(`classifier training interrupted at step ${step.optimizerSteps} of ${o.steps}; nothing was written`);
      const feeds = batchFeeds(sampler.next(o.batch), trainImages, trainLabels, architecture, o.augment ? rng : undefined);
      const { loss } = await step.run(feeds);
      if (!Number.isFinite(loss))
        throw new EvalError(`classifier training diverged at step ${step.optimizerSteps} (loss ${loss}); lower --lr`);
      losses.push(loss);
      onProgress({ phase: 'training', done: step.optimizerSteps, total: o.steps, loss });
    }
    const secondsPerStep = (performance.now() - started) / 1000 / Math.max(1, losses.length);
    const weights = new Map([...step.parameters()].map(([k, v]) => [k, v.slice()]));
    const settings = {
      steps: o.steps,
      batch: o.batch,
      lr: o.lr,
      weightDecay: o.weightDecay,
      warmupSteps: o.warmupSteps,
      seed: o.seed,
      augment: o.augment,
      secondsPerStep,
    };
    const partial: ClassifierInfo = {
      labels,
      architecture,
      trainAccuracy: NaN,
      heldoutAccuracy: NaN,
      trainImages: train.length,
      heldoutImages: heldout.length,
      training: settings,
    };
    const info = await measureAccuracy(
      partial,
      weights,
      { trainImages, trainLabels, heldoutImages, heldoutLabels: heldout.map((e) => labels.indexOf(subcategoryLabel(e))) },
      onProgress,
      o.runtime,
    );
    saveClassifier(options.out, info, weights, shapes);
    return { path: options.out, info, weights, losses, secondsPerStep };
  } finally {
    await step.release();
  }
}

interface Settings {
  steps: number;
  batch: number;
  lr: number;
  weightDecay: number;
  warmupSteps: number;
  seed: number;
  augment: boolean;
  runtime?: RuntimeOptions;
  signal?: AbortSignal;
}

function checkSettings(o: Settings): void {
  const int = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new EvalError(`classifier training: ${name} must be an integer ≥ ${min}, got ${v}`);
  };
  int('steps', o.steps, 1);
  int('batch', o.batch, 1);
  int('warmupSteps', o.warmupSteps, 0);
  int('seed', o.seed, 0);
  if (!(o.lr > 0)) throw new EvalError(`classifier training: lr must be positive, got ${o.lr}`);
  if (!(o.weightDecay >= 0)) throw new EvalError(`classifier training: weightDecay must be ≥ 0, got ${o.weightDecay}`);
}

async function compileStep(a: ClassifierArchitecture, o: Settings): Promise<{ step: TrainStep; shapes: Map<string, readonly number[]> }> {
  const graph = createGraph();
  const image = graph.input(IMAGE, [o.batch, 3, a.imageSize, a.imageSize]);
  const oneHot = graph.input(ONE_HOT, [o.batch, a.classes]);
  const { logits } = classifierForward(new Scope(graph), a, image);
  const loss = softmaxCrossEntropy(logits, oneHot);
  const step = await TrainStep.create({
    graph,
    loss,
    trainable: graph.params,
    initial: initTrainingWeights(graph.params, o.seed),
    optimizer: { lr: o.lr, weightDecay: o.weightDecay },
    lrSchedule: { name: 'cosine', warmupSteps: Math.min(o.warmupSteps, o.steps - 1), totalSteps: o.steps },
    session: sessionOptionsFor(o.runtime),
  });
  return { step, shapes: new Map(graph.params.map((p) => [p.name!, p.shape])) };
}

function batchFeeds(
  items: number[],
  images: readonly Float32Array[],
  labels: readonly number[],
  a: ClassifierArchitecture,
  rng?: TorchGenerator,
): Record<string, HostTensor> {
  const pixels = 3 * a.imageSize * a.imageSize;
  const image = new Float32Array(items.length * pixels);
  const oneHot = new Float32Array(items.length * a.classes);
  items.forEach((k, i) => {
    image.set(rng ? augmentEmoji(images[k], a.imageSize, rng) : images[k], i * pixels);
    oneHot[i * a.classes + labels[k]] = 1;
  });
  return {
    [IMAGE]: { dtype: 'float32', dims: [items.length, 3, a.imageSize, a.imageSize], data: image },
    [ONE_HOT]: { dtype: 'float32', dims: [items.length, a.classes], data: oneHot },
  };
}

async function loadImages(entries: readonly EmojiEntry[], size: number, onDone: (done: number) => void): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const entry of entries) {
    out.push(await loadEmojiImage(entry, { size }));
    if (out.length % 200 === 0 || out.length === entries.length) onDone(out.length);
  }
  return out;
}

interface AccuracySets {
  trainImages: readonly Float32Array[];
  trainLabels: readonly number[];
  heldoutImages: readonly Float32Array[];
  /** −1 where a held-out subcategory is absent from training (counted as wrong). */
  heldoutLabels: readonly number[];
}

async function measureAccuracy(
  info: ClassifierInfo,
  weights: ReadonlyMap<string, Float32Array>,
  sets: AccuracySets,
  onProgress: (p: ClassifierProgress) => void,
  runtime?: RuntimeOptions,
): Promise<ClassifierInfo> {
  const classifier = await EmojiClassifier.create(info, weights, { runtime });
  try {
    const total = sets.trainImages.length + sets.heldoutImages.length;
    onProgress({ phase: 'measuring accuracy', done: 0, total });
    const trainAccuracy = accuracy((await classifier.classify(sets.trainImages)).predictedIndex, sets.trainLabels);
    onProgress({ phase: 'measuring accuracy', done: sets.trainImages.length, total });
    const heldoutAccuracy = accuracy((await classifier.classify(sets.heldoutImages)).predictedIndex, sets.heldoutLabels);
    onProgress({ phase: 'measuring accuracy', done: total, total });
    return { ...info, trainAccuracy, heldoutAccuracy };
  } finally {
    await classifier.release();
  }
}

/** Share of predictions equal to the labels (NaN for an empty set). */
export function accuracy(predicted: readonly number[], labels: readonly number[]): number {
  if (predicted.length !== labels.length) throw new EvalError(`accuracy: ${predicted.length} predictions for ${labels.length} labels`);
  let right = 0;
  predicted.forEach((p, i) => (right += p === labels[i] ? 1 : 0));
  return labels.length === 0 ? NaN : right / labels.length;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
