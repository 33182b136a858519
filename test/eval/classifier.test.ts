// The emoji classifier: a few training steps on a handful of real emoji lower the loss, the file keeps the
// labels, architecture and accuracies, and loading it gives exactly the features of the in-memory weights.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { emojiEntries, loadEmojiImage, subcategoryLabel, type EmojiEntry } from '../../src/data/emoji/index.js';
import { EmojiClassifier, loadEmojiClassifier, readClassifierFile } from '../../src/eval/classifier.js';
import { defaultArchitecture, featureSize } from '../../src/eval/classifier-graph.js';
import { accuracy, trainEmojiClassifier, type TrainedClassifier } from '../../src/eval/classifier-train.js';
import { EvalError } from '../../src/eval/errors.js';

/** Three entries from each of three subcategories, plus two others of the same subcategories as "held out". */
function pickEntries(): { train: EmojiEntry[]; heldout: EmojiEntry[] } {
  const all = emojiEntries({ split: 'train', styles: ['twitter'] }).entries;
  const wanted = ['food-fruit', 'animal-mammal', 'transport-ground'];
  const of = (sub: string) => all.filter((e) => e.subcategory === sub);
  return { train: wanted.flatMap((s) => of(s).slice(0, 3)), heldout: wanted.map((s) => of(s)[3]) };
}

const small = { imageSize: 64, stemChannels: 8, downChannels: [16, 16], groups: 4 };

describe('emoji classifier', () => {
  let dir: string;
  let trained: TrainedClassifier;
  let entries: ReturnType<typeof pickEntries>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tdd-eval-classifier-'));
    entries = pickEntries();
    trained = await trainEmojiClassifier({
      out: join(dir, 'classifier.safetensors'),
      train: entries.train,
      heldout: entries.heldout,
      architecture: small,
      steps: 24,
      batch: 9,
      lr: 5e-3,
      warmupSteps: 0,
      augment: false,
      seed: 3,
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('training lowers the loss and beats chance on its images', () => {
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.equal(trained.losses.length, 24);
    const first = mean(trained.losses.slice(0, 4));
    const last = mean(trained.losses.slice(-4));
    assert.ok(last < 0.8 * first, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    assert.ok(Math.abs(first - Math.log(3)) < 0.6, `an untrained 3-class net starts near ln 3, got ${first}`);
    assert.ok(trained.info.trainAccuracy > 1 / 3, `train accuracy ${trained.info.trainAccuracy}`);
    assert.ok(trained.secondsPerStep > 0);
  });

  test('the file records labels, architecture and accuracies', () => {
    const { info, weights } = readClassifierFile(trained.path);
    assert.deepEqual(info.labels, ['animal-mammal', 'food-fruit', 'transport-ground']);
    assert.deepEqual(info.architecture, { ...small, classes: 3 });
    assert.equal(info.trainAccuracy, trained.info.trainAccuracy);
    assert.equal(info.heldoutAccuracy, trained.info.heldoutAccuracy);
    assert.equal(info.trainImages, 9);
    assert.equal(info.training.steps, 24);
    assert.deepEqual([...weights.keys()].sort(), [...trained.weights.keys()].sort());
  });

  test('loading gives the features and predictions of the in-memory weights; accuracies are reproducible', async () => {
    const images = await Promise.all([...entries.train, ...entries.heldout].map((e) => loadEmojiImage(e)));
    await using loaded = await loadEmojiClassifier(trained.path);
    await using direct = await EmojiClassifier.create(trained.info, trained.weights);
    const a = await loaded.classify(images);
    const b = await direct.classify(images);
    assert.equal(a.features.length, images.length);
    assert.equal(a.features[0].length, 16);
    a.features.forEach((f, i) => assert.deepEqual(f, b.features[i], `features of image ${i}`));
    assert.deepEqual(a.predicted, b.predicted);
    const sum = a.probabilities[0].reduce((s, p) => s + p, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `probabilities sum to ${sum}`);
    const labels = entries.train.map((e) => loaded.labels.indexOf(subcategoryLabel(e)));
    assert.equal(accuracy(a.predictedIndex.slice(0, 9), labels), trained.info.trainAccuracy);
  });

  test('the default architecture pools 128 features; bad inputs are clear errors', async () => {
    assert.equal(featureSize(defaultArchitecture(99)), 128);
    await using loaded = await loadEmojiClassifier(trained.path);
    await assert.rejects(
      loaded.classify([new Float32Array(10)]),
      (e: Error) => e instanceof EvalError && /image 0 has 10 values/.test(e.message),
    );
    await assert.rejects(loadEmojiClassifier(join(dir, 'missing.safetensors')), /missing\.safetensors: cannot open the classifier/);
    await assert.rejects(
      trainEmojiClassifier({ out: join(dir, 'x.safetensors'), train: entries.train, steps: 0 }),
      /steps must be an integer ≥ 1/,
    );
  });
});
