/**
 * The trained emoji classifier as an inference model: weights baked into one ONNX Runtime session with a fixed
 * batch (shorter batches are padded, so the session is compiled once). classify() returns, per image, the
 * penultimate features (for the Fréchet distance), the predicted subcategory and the class probabilities.
 * The file is a safetensors of the parameters whose metadata carries the label list, the architecture and
 * the accuracies measured when it was trained.
 */
import { numel } from '../ir/index.js';
import { Scope } from '../nn/index.js';
import { createGraph, softmax } from '../ops/index.js';
import { compileGraph } from '../runtime/compile-graph.js';
import type { Session } from '../runtime/session.js';
import { sessionOptionsFor, type RuntimeOptions } from '../runtime/device.js';
import { SafetensorsFile } from '../weights/safetensors.js';
import { writeSafetensors } from '../weights/safetensors-writer.js';
import { checkArchitecture, classifierForward, featureSize, type ClassifierArchitecture } from './classifier-graph.js';
import { EvalError } from './errors.js';

export const CLASSIFIER_FORMAT = 'tdd-emoji-classifier/1';

/** What the file records besides the weights. */
export interface ClassifierInfo {
  readonly labels: readonly string[];
  readonly architecture: ClassifierArchitecture;
  /** Top-1 accuracy on the (unaugmented) training images. */
  readonly trainAccuracy: number;
  /** Top-1 accuracy on the held-out real images: the ceiling of the alignment score. */
  readonly heldoutAccuracy: number;
  readonly trainImages: number;
  readonly heldoutImages: number;
  /** Training settings (steps, batch, lr, seed, ...), for the record. */
  readonly training: Readonly<Record<string, unknown>>;
}

export interface Classification {
  /** Penultimate features, one array per image. */
  readonly features: Float32Array[];
  /** Index into `labels` of each image's most probable class. */
  readonly predictedIndex: number[];
  readonly predicted: string[];
  /** Softmax over the classes, one array per image. */
  readonly probabilities: Float32Array[];
}

const IMAGE_INPUT = 'image';

export interface ClassifierOptions {
  /** Images per session run (shorter batches are padded); default 64. */
  batch?: number;
  /** Device and threads of the classifier's session. */
  runtime?: RuntimeOptions;
}

export class EmojiClassifier implements AsyncDisposable {
  private constructor(
    readonly info: ClassifierInfo,
    private readonly session: Session,
    private readonly outputs: { features: string; probabilities: string },
    readonly batch: number,
  ) {}

  /** A classifier over weights held in memory (training builds one to measure its accuracy). */
  static async create(
    info: ClassifierInfo,
    weights: ReadonlyMap<string, Float32Array>,
    { batch = 64, runtime }: ClassifierOptions = {},
  ): Promise<EmojiClassifier> {
    checkArchitecture(info.architecture, 'classifier');
    if (!Number.isInteger(batch) || batch < 1) throw new EvalError(`classifier batch must be a positive integer, got ${batch}`);
    const a = info.architecture;
    const graph = createGraph();
    const image = graph.input(IMAGE_INPUT, [batch, 3, a.imageSize, a.imageSize]);
    const { features, logits } = classifierForward(new Scope(graph), a, image);
    const baked = new Map<string, Float32Array>();
    for (const p of graph.params) {
      const w = weights.get(p.name!);
      if (!w || w.length !== numel(p.shape))
        throw new EvalError(`classifier: no weights of ${numel(p.shape)} values for "${p.name}" (got ${w?.length ?? 'none'})`);
      baked.set(p.name!, w);
    }
    const { session, outputNames } = await compileGraph(graph, [features, softmax(logits, -1)], {
      weights: baked,
      session: sessionOptionsFor(runtime),
    });
    return new EmojiClassifier(info, session, { features: outputNames[0], probabilities: outputNames[1] }, batch);
  }

  get labels(): readonly string[] {
    return this.info.labels;
  }

  get imageSize(): number {
    return this.info.architecture.imageSize;
  }

  get featureSize(): number {
    return featureSize(this.info.architecture);
  }

  /** Classifies CHW images (3×size×size, values in [−1, 1]). */
  async classify(images: readonly Float32Array[]): Promise<Classification> {
    const size = this.imageSize;
    const pixels = 3 * size * size;
    const result: Classification = { features: [], predictedIndex: [], predicted: [], probabilities: [] };
    const classes = this.labels.length;
    const dim = this.featureSize;
    for (let start = 0; start < images.length; start += this.batch) {
      const count = Math.min(this.batch, images.length - start);
      const data = new Float32Array(this.batch * pixels);
      for (let i = 0; i < count; i++) {
        const img = images[start + i];
        if (img.length !== pixels)
          throw new EvalError(`classify: image ${start + i} has ${img.length} values, expected 3×${size}×${size} = ${pixels}`);
        data.set(img, i * pixels);
      }
      const out = await this.session.run({ [IMAGE_INPUT]: { dtype: 'float32', dims: [this.batch, 3, size, size], data } });
      const features = out[this.outputs.features].data as Float32Array;
      const probs = out[this.outputs.probabilities].data as Float32Array;
      for (let i = 0; i < count; i++) {
        const p = probs.slice(i * classes, (i + 1) * classes);
        const best = argmax(p);
        result.features.push(features.slice(i * dim, (i + 1) * dim));
        result.probabilities.push(p);
        result.predictedIndex.push(best);
        result.predicted.push(this.labels[best]);
      }
    }
    return result;
  }

  release(): Promise<void> {
    return this.session.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Writes the weights and the info atomically (safetensors, metadata as JSON strings). */
export function saveClassifier(
  path: string,
  info: ClassifierInfo,
  weights: ReadonlyMap<string, Float32Array>,
  shapes: ReadonlyMap<string, readonly number[]>,
): void {
  const tensors = [...shapes].map(([name, shape]) => {
    const data = weights.get(name);
    if (!data) throw new EvalError(`${path}: no weights for "${name}"`);
    return { name, dtype: 'F32' as const, shape: [...shape], data };
  });
  writeSafetensors(path, tensors, {
    format: CLASSIFIER_FORMAT,
    labels: JSON.stringify(info.labels),
    architecture: JSON.stringify(info.architecture),
    train_accuracy: String(info.trainAccuracy),
    heldout_accuracy: String(info.heldoutAccuracy),
    train_images: String(info.trainImages),
    heldout_images: String(info.heldoutImages),
    training: JSON.stringify(info.training),
  });
}

/** Reads a file written by saveClassifier (trainEmojiClassifier) and compiles its session. */
export async function loadEmojiClassifier(path: string, options: ClassifierOptions = {}): Promise<EmojiClassifier> {
  const { info, weights } = readClassifierFile(path);
  return EmojiClassifier.create(info, weights, options);
}

export function readClassifierFile(path: string): { info: ClassifierInfo; weights: Map<string, Float32Array> } {
  let file: SafetensorsFile;
  try {
    file = SafetensorsFile.open(path);
  } catch (e) {
    throw new EvalError(`${path}: cannot open the classifier (${(e as Error).message})`);
  }
  try {
    const m = file.metadata;
    if (m.format !== CLASSIFIER_FORMAT)
      throw new EvalError(`${path}: not an emoji classifier (metadata format ${JSON.stringify(m.format)}, expected ${CLASSIFIER_FORMAT})`);
    const json = (key: string): unknown => {
      try {
        return JSON.parse(m[key]);
      } catch {
        throw new EvalError(`${path}: metadata "${key}" is not valid JSON`);
      }
    };
    const labels = json('labels');
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string'))
      throw new EvalError(`${path}: metadata "labels" must be a list of strings`);
    const architecture = json('architecture') as ClassifierArchitecture;
    checkArchitecture(architecture, path);
    if (architecture.classes !== labels.length) throw new EvalError(`${path}: ${labels.length} labels for ${architecture.classes} classes`);
    const info: ClassifierInfo = {
      labels,
      architecture,
      trainAccuracy: Number(m.train_accuracy),
      heldoutAccuracy: Number(m.heldout_accuracy),
      trainImages: Number(m.train_images),
      heldoutImages: Number(m.heldout_images),
      training: (json('training') ?? {}) as Record<string, unknown>,
    };
    const weights = new Map([...file.tensors.keys()].map((k) => [k, file.float32(k)]));
    return { info, weights };
  } finally {
    file.close();
  }
}
