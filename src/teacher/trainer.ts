/**
 * `tdd train-teacher`: trains the embedded emoji model from scratch, as SD was trained, in two stages.
 *   1. The autoencoder on the training images (augmented), L1 + a small KL term (vae-graph.ts).
 *   2. The CLIP text encoder and the UNet together on the denoising loss over the cached latents, with 10 % of
 *      the captions emptied for classifier-free guidance (denoiser-graph.ts); the export is an EMA of the weights.
 * The tokenizer is built from the training captions first. Each stage checkpoints and resumes (`--resume`);
 * the finished model is a diffusers folder that every loader and pipeline of the project reads.
 */
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildCaptionVocabulary,
  emojiDataset,
  emojiEntries,
  loadEmojiImage,
  augmentEmoji,
  writeCaptionVocabulary,
  type EmojiDataset,
} from '../data/emoji/index.js';
import type { Value } from '../ir/index.js';
import { parseClipTextConfig } from '../models/clip/index.js';
import { parseUNetConfig } from '../models/unet/index.js';
import { parseAutoencoderKLConfig, type AutoencoderKLConfig } from '../models/vae/index.js';
import { createGraph } from '../ops/index.js';
import type { HostTensor } from '../runtime/tensors.js';
import { makeNoiseSchedule } from '../schedulers/noise-schedule.js';
import { ClipTokenizer } from '../tokenizer/index.js';
import { TRAINING_LOG_FILE, TrainingLog, type StepLogEntry } from '../train/training-log.js';
import { TorchGenerator } from '../util/torch-generator.js';
import { SafetensorsFile } from '../weights/safetensors.js';
import { writeSafetensors } from '../weights/safetensors-writer.js';
import { emojiArchitecture, type EmojiArchitecture } from './architecture.js';
import { resolveTeacherConfig, type TeacherConfig, type TeacherConfigInput } from './config.js';
import { buildDenoiserTrainingGraph, denoiserInputs, TEXT_ENCODER_PREFIX, UNET_PREFIX } from './denoiser-graph.js';
import { writeComponent, writeJson, writeModelIndex } from './export.js';
import { trainingLatents, type TrainingLatents } from './latent-cache.js';
import { writeModelCard } from './model-card.js';
import { reconstructionScore } from './reconstruction.js';
import { runStage, type StageEvents } from './stage.js';
import { previewDir, renderTeacherGrid } from './validation.js';
import { buildVaeTrainingGraph, vaeTrainingInputs } from './vae-graph.js';

export type TeacherEvents = StageEvents;

export interface TeacherResult {
  readonly config: TeacherConfig;
  /** The stage that was running when the run stopped early (a checkpoint was written), if any. */
  readonly interruptedIn?: 'vae' | 'denoiser';
  /** The finished model folder (absent when interrupted). */
  readonly model?: string;
  readonly logs: { vae: readonly StepLogEntry[]; denoiser: readonly StepLogEntry[] };
}

const FINAL_WEIGHTS = 'final.safetensors';

export async function trainTeacher(input: TeacherConfigInput, events: TeacherEvents = {}, signal?: AbortSignal): Promise<TeacherResult> {
  const config = resolveTeacherConfig(input);
  mkdirSync(config.out, { recursive: true });
  mkdirSync(config.work, { recursive: true });
  writeJson(join(config.work, 'config.json'), config);
  const dataset = limitDataset(emojiDataset({ split: 'train' }), config.maxImages);
  const vocabulary = buildCaptionVocabulary(dataset.records.map((r) => r.caption));
  const tokenizerDir = join(config.out, 'tokenizer');
  writeCaptionVocabulary(vocabulary, tokenizerDir, { modelMaxLength: config.maxTokens });
  const arch = emojiArchitecture({
    vocabSize: vocabulary.vocab.size,
    maxTokens: config.maxTokens,
    latentFactor: config.latentFactor,
    ...config.architecture,
  });
  const images = await loadImages(dataset, events);

  const vaeConfig = parseAutoencoderKLConfig(arch.vae);
  const vae = await vaeStage(config, vaeConfig, arch, images, events, signal);
  if (!vae.weights) return { config, interruptedIn: 'vae', logs: { vae: vae.log, denoiser: [] } };
  const latents = await trainingLatents(
    join(config.work, `latents-f${config.latentFactor}.safetensors`),
    { config: vaeConfig, weights: vae.weights },
    images,
    {
      imageSize: arch.imageSize,
      copies: config.denoiser.augmentedCopies,
      seed: config.seed,
      runtime: config.runtime,
      onProgress: (done, total) => events.onPhase?.('encoding training latents', done, total),
    },
  );
  const vaeParams = vae.params;
  writeComponent(config.out, 'vae', { ...arch.vae, scaling_factor: latents.scalingFactor }, vaeParams, vae.weights, {
    dtype: config.exportDtype,
  });

  const tokenizer = ClipTokenizer.fromDirectory(tokenizerDir);
  const denoiser = await denoiserStage(config, arch, dataset, tokenizer, latents, events, signal);
  if (denoiser.interrupted) return { config, interruptedIn: 'denoiser', logs: { vae: vae.log, denoiser: denoiser.log } };
  exportDenoiser(config.out, arch, denoiser.params, denoiser.weights, config.exportDtype);
  // Scored here, for the model card only, so resuming an interrupted denoiser stage does not redo it.
  const heldout = await Promise.all(
    emojiEntries({ split: 'heldout' })
      .entries.slice(0, config.maxImages)
      .map((e) => loadEmojiImage(e)),
  );
  const reconstruction = await reconstructionScore(vaeConfig, vae.weights, heldout, arch.imageSize, config.runtime);
  events.onMessage?.(
    `autoencoder on ${reconstruction.images} held-out images: PSNR ${reconstruction.psnr.toFixed(2)} dB, L1 ${reconstruction.l1.toFixed(4)}`,
  );
  const inPart = (prefix: string) => denoiser.params.filter((p) => p.name!.startsWith(prefix));
  writeModelCard(config.out, {
    config,
    trainImages: images.length,
    vocabularySize: vocabulary.vocab.size,
    scalingFactor: latents.scalingFactor,
    reconstruction,
    params: { vae: vaeParams, textEncoder: inPart(TEXT_ENCODER_PREFIX), unet: inPart(UNET_PREFIX) },
    logs: { vae: vae.log, denoiser: denoiser.log },
  });
  return { config, model: config.out, logs: { vae: vae.log, denoiser: denoiser.log } };
}

function limitDataset(d: EmojiDataset, maxImages: number | undefined): EmojiDataset {
  if (maxImages === undefined || maxImages >= d.records.length) return d;
  return { ...d, records: d.records.slice(0, maxImages), entries: d.entries.slice(0, maxImages) };
}

async function loadImages(dataset: EmojiDataset, events: TeacherEvents): Promise<Float32Array[]> {
  const images: Float32Array[] = [];
  for (const [i, entry] of dataset.entries.entries()) {
    images.push(await loadEmojiImage(entry));
    if (i % 100 === 99 || i === dataset.entries.length - 1) events.onPhase?.('loading training images', i + 1, dataset.entries.length);
  }
  return images;
}

/** Stage 1; when its final weights exist in the work folder it is not run again. */
async function vaeStage(
  config: TeacherConfig,
  vaeConfig: AutoencoderKLConfig,
  arch: EmojiArchitecture,
  images: readonly Float32Array[],
  events: TeacherEvents,
  signal?: AbortSignal,
) {
  const s = config.vae;
  const graph = createGraph();
  const g = buildVaeTrainingGraph(graph, vaeConfig, { batch: s.batch, imageSize: arch.imageSize, klWeight: s.klWeight });
  const finalPath = join(config.work, 'vae', FINAL_WEIGHTS);
  if (existsSync(finalPath)) {
    events.onMessage?.(`autoencoder: already trained (${finalPath})`);
    return { weights: readWeights(finalPath), params: g.trainable, log: TrainingLog.read(join(config.work, 'vae', TRAINING_LOG_FILE)) };
  }
  const side = arch.latentSize;
  const pixels = 3 * arch.imageSize * arch.imageSize;
  const result = await runStage(
    config,
    {
      name: 'vae',
      title: 'autoencoder',
      graph,
      loss: g.loss,
      trainable: g.trainable,
      logs: g.logs,
      settings: s,
      itemCount: images.length,
      hyperParameters: {
        stage: 'vae',
        architecture: arch.vae,
        maxImages: config.maxImages,
        ...s,
        seed: config.seed,
        weightDecay: config.weightDecay,
        maxGradNorm: config.maxGradNorm,
      },
      async microBatch(items, rng) {
        const batch = new Float32Array(s.batch * pixels);
        items.forEach((k, i) => batch.set(augmentEmoji(images[k], arch.imageSize, rng), i * pixels));
        const noise = rng.randn([s.batch, 4, side, side]);
        return {
          feeds: {
            [vaeTrainingInputs.image]: f32([s.batch, 3, arch.imageSize, arch.imageSize], batch),
            [vaeTrainingInputs.noise]: f32([s.batch, 4, side, side], noise),
          },
        };
      },
    },
    events,
    signal,
  );
  if (result.interrupted) return { weights: undefined, params: g.trainable, log: result.log };
  writeWeights(finalPath, g.trainable, result.weights);
  return { weights: result.weights, params: g.trainable, log: result.log };
}

async function denoiserStage(
  config: TeacherConfig,
  arch: EmojiArchitecture,
  dataset: EmojiDataset,
  tokenizer: ClipTokenizer,
  latents: TrainingLatents,
  events: TeacherEvents,
  signal?: AbortSignal,
) {
  const s = config.denoiser;
  const graph = createGraph();
  const latentShape = [4, arch.latentSize, arch.latentSize] as const;
  const g = buildDenoiserTrainingGraph(
    graph,
    { text: parseClipTextConfig(arch.textEncoder), unet: parseUNetConfig(arch.unet) },
    { batch: s.batch, tokens: config.maxTokens, latentShape },
  );
  const schedule = makeNoiseSchedule(arch.scheduler as never);
  const trainSteps = schedule.alphasCumprod.length;
  const ids = (caption: string) => tokenizer.encodeForModel(caption, { maxLength: config.maxTokens }).inputIds;
  const captionIds = dataset.records.map((r) => ids(r.caption));
  const emptyIds = ids('');
  const size = latents.size;
  const result = await runStage(
    config,
    {
      name: 'denoiser',
      title: 'text encoder + UNet',
      graph,
      loss: g.loss,
      trainable: g.trainable,
      settings: s,
      itemCount: dataset.records.length,
      emaDecay: s.emaDecay,
      afterCheckpoint: async (step, weights) => {
        if (config.validateEvery > 0 && step % config.validateEvery === 0)
          await validateDenoiser(config, arch, g.trainable, weights, step, events);
      },
      // The step count is left out: a finished run may be extended with more steps.
      hyperParameters: {
        stage: 'denoiser',
        maxImages: config.maxImages,
        unet: arch.unet,
        text: arch.textEncoder,
        ...withoutSteps(s),
        scalingFactor: latents.scalingFactor,
        seed: config.seed,
        weightDecay: config.weightDecay,
        maxGradNorm: config.maxGradNorm,
      },
      async microBatch(items, rng) {
        const n = s.batch;
        const noisy = new Float32Array(n * size);
        const eps = rng.randn([n, ...latentShape]);
        const z = rng.randn([n, ...latentShape]);
        const copies = rng.randint(0, latents.copies, [n]);
        const t = rng.randint(0, trainSteps, [n]);
        const drop = rng.rand([n]);
        const tokens = new BigInt64Array(n * config.maxTokens);
        let emptied = 0;
        items.forEach((k, i) => {
          const row = (k * latents.copies + copies[i]) * size;
          const a = schedule.alphasCumprod[t[i]];
          const [sa, sb] = [Math.sqrt(a), Math.sqrt(1 - a)];
          for (let j = 0; j < size; j++) {
            const x0 = (latents.mean[row + j] + latents.std[row + j] * z[i * size + j]) * latents.scalingFactor;
            noisy[i * size + j] = sa * x0 + sb * eps[i * size + j];
          }
          const empty = drop[i] < s.captionDropout;
          if (empty) emptied++;
          tokens.set((empty ? emptyIds : captionIds[k]).map(BigInt), i * config.maxTokens);
        });
        return {
          emptied,
          feeds: {
            [denoiserInputs.inputIds]: { dtype: 'int64', dims: [n, config.maxTokens], data: tokens },
            [denoiserInputs.noisy]: f32([n, ...latentShape], noisy),
            [denoiserInputs.timestep]: f32([n], Float32Array.from(t)),
            [denoiserInputs.noise]: f32([n, ...latentShape], eps),
          },
        };
      },
    },
    events,
    signal,
  );
  return { ...result, params: g.trainable };
}

/** The text encoder, UNet, scheduler and model_index.json of a model folder (vae and tokenizer are written before). */
function exportDenoiser(
  dir: string,
  arch: EmojiArchitecture,
  params: readonly Value[],
  weights: ReadonlyMap<string, Float32Array>,
  dtype: TeacherConfig['exportDtype'],
): void {
  writeComponent(dir, 'text_encoder', arch.textEncoder, params, weights, { prefix: TEXT_ENCODER_PREFIX, dtype });
  writeComponent(dir, 'unet', arch.unet, params, weights, { prefix: UNET_PREFIX, dtype });
  mkdirSync(join(dir, 'scheduler'), { recursive: true });
  writeJson(join(dir, 'scheduler', 'scheduler_config.json'), arch.scheduler);
  writeModelIndex(dir, String(arch.scheduler._class_name));
}

/** A validation grid of the current weights, sampled from a preview model folder beside the checkpoints. */
async function validateDenoiser(
  config: TeacherConfig,
  arch: EmojiArchitecture,
  params: readonly Value[],
  weights: ReadonlyMap<string, Float32Array>,
  step: number,
  events: TeacherEvents,
): Promise<void> {
  const preview = previewDir(config.work);
  for (const part of ['vae', 'tokenizer']) cpSync(join(config.out, part), join(preview, part), { recursive: true });
  exportDenoiser(preview, arch, params, weights, 'float32');
  const dir = join(config.work, 'denoiser', 'validation');
  mkdirSync(dir, { recursive: true });
  events.onPhase?.('validation grid', 0, 1);
  await renderTeacherGrid(preview, join(dir, `step-${String(step).padStart(8, '0')}.png`), { runtime: config.runtime });
  events.onPhase?.('validation grid', 1, 1);
}

function withoutSteps<T extends { steps: number }>(s: T): Omit<T, 'steps'> {
  const { steps: _steps, ...rest } = s;
  return rest;
}

function f32(dims: readonly number[], data: Float32Array): HostTensor {
  return { dtype: 'float32', dims: [...dims], data };
}

function writeWeights(path: string, params: readonly Value[], weights: ReadonlyMap<string, Float32Array>): void {
  writeSafetensors(
    path,
    params.map((p) => ({ name: p.name!, dtype: 'F32' as const, shape: [...p.shape], data: weights.get(p.name!)! })),
  );
}

function readWeights(path: string): Map<string, Float32Array> {
  const file = SafetensorsFile.open(path);
  try {
    return new Map([...file.tensors.keys()].map((k) => [k, file.float32(k)]));
  } finally {
    file.close();
  }
}
