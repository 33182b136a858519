/**
 * `trainTeacher` end to end at smoke size (8 emoji, small networks): both stages' losses fall, the folder it
 * writes loads in the pipeline and generates a 64 px image, an interrupted run resumes from its checkpoint,
 * and the configuration and architecture checks name what is wrong.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseClipTextConfig } from '../../src/models/clip/index.js';
import { parseUNetConfig } from '../../src/models/unet/index.js';
import { parseAutoencoderKLConfig } from '../../src/models/vae/index.js';
import { createGraph } from '../../src/ops/index.js';
import { loadPipeline } from '../../src/pipelines/pipeline.js';
import { txt2img } from '../../src/pipelines/txt2img.js';
import { emojiArchitecture } from '../../src/teacher/architecture.js';
import { resolveTeacherConfig, TeacherConfigError, type TeacherConfigInput } from '../../src/teacher/config.js';
import { initTrainingWeights } from '../../src/teacher/init.js';
import { trainTeacher } from '../../src/teacher/trainer.js';
import { listCheckpoints } from '../../src/train/checkpoint.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('teacher architecture and settings', () => {
  test('the default architecture parses with the project loaders; factor 4 → 16×16 latents, factor 8 → 8×8', () => {
    for (const [factor, side, blocks] of [
      [4, 16, 3],
      [8, 8, 4],
    ] as const) {
      const a = emojiArchitecture({ vocabSize: 300, maxTokens: 24, latentFactor: factor });
      const vae = parseAutoencoderKLConfig(a.vae);
      assert.equal(vae.block_out_channels.length, blocks);
      assert.equal(a.latentSize, side);
      const unet = parseUNetConfig(a.unet);
      assert.equal(unet.cross_attention_dim, parseClipTextConfig(a.textEncoder).hidden_size);
      assert.equal(parseClipTextConfig(a.textEncoder).eos_token_id, 299);
    }
    assert.throws(() => emojiArchitecture({ vocabSize: 300, maxTokens: 24, latentFactor: 2 as never }), /latent factor must be 4 or 8/);
  });

  test('settings: defaults fill in, errors name the option', () => {
    const c = resolveTeacherConfig({ out: '/tmp/x/' });
    assert.equal(c.work, '/tmp/x-training');
    assert.equal(c.denoiser.captionDropout, 0.1);
    const bad: [Partial<TeacherConfigInput>, RegExp][] = [
      [{ vae: { steps: 0 } }, /--vae-steps: must be a positive integer/],
      [{ denoiser: { captionDropout: 1 } }, /--caption-dropout: must be in \[0, 1\)/],
      [{ latentFactor: 2 as never }, /--latent-factor: must be 4 or 8/],
      [{ data: 'pets' as never }, /--data: only the bundled emoji set/],
    ];
    for (const [input, message] of bad)
      assert.throws(
        () => resolveTeacherConfig({ out: '/tmp/x', ...input }),
        (e: Error) => e instanceof TeacherConfigError && message.test(e.message),
      );
  });

  test('initialisation: weights within ±1/√fan_in, norms 1, biases 0, embeddings N(0, 0.02²)', () => {
    const g = createGraph();
    const params = [
      g.param('a.conv.weight', [8, 4, 3, 3]),
      g.param('a.conv.bias', [8]),
      g.param('a.norm1.weight', [8]),
      g.param('x.token_embedding.weight', [500, 16]),
    ];
    const w = initTrainingWeights(params, 0);
    const conv = w.get('a.conv.weight')!;
    const bound = 1 / Math.sqrt(36);
    assert.ok(conv.every((v) => Math.abs(v) <= bound) && Math.max(...conv.map(Math.abs)) > 0.9 * bound);
    assert.ok(w.get('a.conv.bias')!.every((v) => v === 0));
    assert.ok(w.get('a.norm1.weight')!.every((v) => v === 1));
    const emb = w.get('x.token_embedding.weight')!;
    const sd = Math.sqrt(mean([...emb].map((v) => v * v)));
    assert.ok(Math.abs(sd - 0.02) < 0.002, `embedding std ${sd}`);
  });
});

describe('trainTeacher at smoke size', () => {
  let root: string;
  const settings = (out: string): TeacherConfigInput => ({
    out,
    maxImages: 8,
    vae: { steps: 16, batch: 4, warmupSteps: 0, lr: 2e-3 },
    denoiser: { steps: 16, batch: 8, warmupSteps: 0, lr: 2e-3, augmentedCopies: 2 },
    architecture: { unetChannels: [32, 32], textWidth: 32, textLayers: 1 },
    checkpointEvery: 4,
  });
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'tdd-teacher-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('both losses fall; the model folder loads and generates a 64 px image', async () => {
    const out = join(root, 'model');
    const result = await trainTeacher(settings(out));
    assert.equal(result.model, out);
    for (const log of [result.logs.vae, result.logs.denoiser]) {
      const losses = log.map((e) => e.loss);
      assert.equal(losses.length, 16);
      assert.ok(mean(losses.slice(-4)) < 0.8 * mean(losses.slice(0, 4)), `loss ${losses.map((l) => l.toFixed(3)).join(' ')}`);
    }
    const card = readFileSync(join(out, 'README.md'), 'utf8');
    const psnr = Number(/on 8 held-out images PSNR ([\d.]+) dB/.exec(card)?.[1]);
    assert.ok(psnr > 3 && psnr < 60, `held-out PSNR in the model card: ${psnr}`);
    assert.match(card, /CC-BY 4\.0/);
    const vaeConfig = JSON.parse(readFileSync(join(out, 'vae', 'config.json'), 'utf8'));
    assert.ok(vaeConfig.scaling_factor > 0 && vaeConfig.scaling_factor !== 1, 'the scaling factor is measured');
    await using pipe = await loadPipeline(out);
    const image = (await txt2img(pipe, { prompt: 'red apple, food and drink, food fruit, twemoji style', steps: 2, seed: 1n })).images[0];
    assert.equal(image.width, 64);
    assert.equal(image.height, 64);
    assert.ok(image.pixels.length === 64 * 64 * 3 && image.pixels.some((v) => v !== image.pixels[0]));
  });

  test('a run stopped in the denoiser stage resumes from its checkpoint and finishes', async () => {
    const out = join(root, 'resumed');
    const controller = new AbortController();
    const first = await trainTeacher(
      settings(out),
      { onStep: (stage, e) => stage === 'denoiser' && e.step === 6 && controller.abort() },
      controller.signal,
    );
    assert.equal(first.interruptedIn, 'denoiser');
    assert.equal(existsSync(join(out, 'model_index.json')), false);
    assert.deepEqual(
      listCheckpoints(join(`${out}-training`, 'denoiser', 'checkpoints')).map((c) => c.step),
      [4, 6],
    );
    const messages: string[] = [];
    const second = await trainTeacher({ ...settings(out), resume: true }, { onMessage: (m) => messages.push(m) });
    assert.equal(second.model, out);
    assert.ok(messages.some((m) => /autoencoder: already trained/.test(m)));
    assert.ok(messages.some((m) => /resumed from .*step-00000006/.test(m)));
    assert.deepEqual(
      second.logs.denoiser.map((e) => e.step),
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
  });
});
