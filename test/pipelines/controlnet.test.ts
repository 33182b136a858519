/**
 * ControlNet text-to-image on tiny-sd: parity with diffusers' ControlNet loop (test/golden/controlnet-e2e-tiny-sd,
 * made by scripts/golden/controlnet_torch.py: DDIM 4 steps, CFG 5, conditioning scale 0.8, guidance end 0.75),
 * then tiny ControlNets built here from the tiny-sd UNet config (conditioning_embedding_out_channels [16, 32]:
 * one ×2 downsampling = the tiny VAE's factor) with the UNet's weights copied as ControlNetModel.from_unet does:
 * zero output convs leave txt2img unchanged; random ones change it, more with a larger conditioning scale.
 * Tolerance for e2e latents (fixtures README): relative ≤ 1e-4 of max |value|.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Value } from '../../src/ir/index.js';
import {
  controlNetConfigFromUNet,
  controlNetModel,
  isZeroInitialisedKey,
  parseControlNetConfig,
} from '../../src/models/controlnet/index.js';
import { randomUNetWeights } from '../../src/models/unet/index.js';
import { Scope } from '../../src/nn/index.js';
import { createGraph } from '../../src/ops/index.js';
import { cannyEdges } from '../../src/pipelines/canny.js';
import { ControlNet, loadControlNet, type ControlNetRequest } from '../../src/pipelines/controlnet.js';
import type { RawImage } from '../../src/pipelines/image-input.js';
import { StableDiffusionPipeline } from '../../src/pipelines/pipeline.js';
import type { Txt2ImgRequest } from '../../src/pipelines/txt2img.js';
import { MemoryTensorSource } from '../../src/weights/tensor-source.js';
import { SafetensorsFile, writeSafetensors } from '../../src/weights/index.js';
import { fixture } from '../helpers/model-parity.js';

const golden = (file: string): string => fileURLToPath(new URL(`../golden/${file}`, import.meta.url));
const readJson = (path: string): Record<string, any> => JSON.parse(readFileSync(path, 'utf8'));
const maxAbs = (a: Float32Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

function relativeMax(name: string, actual: Float32Array, expected: Float32Array, tol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${name}: length`);
  const diff = maxDiff(actual, expected);
  const ref = maxAbs(expected);
  console.log(`  ${name}: max|diff| ${diff.toExponential(2)} (${(diff / ref).toExponential(2)} of max ${ref.toFixed(2)})`);
  assert.ok(diff <= tol * ref, `${name}: max|diff| ${diff} > ${tol}·${ref}`);
}

/** Writes a diffusers ControlNetModel folder (config.json + diffusion_pytorch_model.safetensors). */
function writeControlNetFolder(
  dir: string,
  config: Record<string, unknown>,
  weights: Map<string, Float32Array>,
  shapes: Map<string, number[]>,
): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeSafetensors(
    join(dir, 'diffusion_pytorch_model.safetensors'),
    [...weights].map(([name, data]) => ({ name, dtype: 'F32', shape: shapes.get(name)!, data })),
  );
  return dir;
}

/** The parameters of a ControlNet config. */
function controlNetParams(raw: Record<string, unknown>): Value[] {
  const graph = createGraph();
  controlNetModel(new Scope(graph), parseControlNetConfig(raw), {
    sample: graph.input('sample', [1, 4, 8, 8]),
    timestep: graph.input('timestep', []),
    encoderHiddenStates: graph.input('encoder_hidden_states', [1, 77, 32]),
    controlCond: graph.input('image', [1, 3, 16, 16]),
  });
  return [...graph.params];
}

/**
 * A tiny ControlNet for tiny-sd as ControlNetModel.from_unet makes it: the UNet's own weights where the keys
 * are shared, random conditioning embedding; the zero-initialised convs zero, or random (std 0.05) to see an effect.
 */
function tinyControlNetFolder(dir: string, zeroOutputs: boolean, seed: number): string {
  const raw = controlNetConfigFromUNet(readJson(fixture('tiny-sd', 'unet', 'config.json')), { conditioningEmbeddingOutChannels: [16, 32] });
  const params = controlNetParams(raw);
  const shapes = new Map(params.map((p) => [p.name!, [...p.shape]]));
  const unet = SafetensorsFile.open(fixture('tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors'));
  try {
    const weights = randomUNetWeights(params, seed, 0.05);
    for (const key of weights.keys()) {
      if (unet.has(key)) weights.set(key, unet.float32(key));
      else if (zeroOutputs && isZeroInitialisedKey(key)) weights.get(key)!.fill(0);
    }
    return writeControlNetFolder(dir, raw, weights, shapes);
  } finally {
    unet.close();
  }
}

/** A size×size hint: Canny edges of a bright rectangle on a darker background. */
function cannyHint(size = 64): RawImage {
  const pixels = new Uint8Array(size * size * 3).fill(40);
  for (let y = size >> 2; y < (size * 3) >> 2; y++)
    for (let x = size >> 3; x < (size * 3) >> 2; x++) pixels.fill(220, 3 * (y * size + x), 3 * (y * size + x) + 3);
  return cannyEdges({ width: size, height: size, pixels });
}

describe('ControlNet text-to-image', () => {
  let dir: string;
  let pipe: StableDiffusionPipeline;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tdd-controlnet-'));
    pipe = await StableDiffusionPipeline.load(fixture('tiny-sd'));
  });
  after(async () => {
    await pipe.release();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('matches diffusers (test/golden/controlnet-e2e-tiny-sd)', () => {
    let controlnet: ControlNet;
    let ref: SafetensorsFile;
    let index: Record<string, any>;
    before(() => {
      index = readJson(golden('controlnet-e2e-tiny-sd.json'));
      ref = SafetensorsFile.open(golden('controlnet-e2e-tiny-sd.safetensors'));
      // The golden ControlNet: its own parameters from the golden file, the rest copied from the tiny-sd UNet.
      const model = readJson(golden('controlnet-tiny-sd.json'));
      const own = SafetensorsFile.open(golden('controlnet-tiny-sd.safetensors'));
      const unet = SafetensorsFile.open(fixture('tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors'));
      const shapes = new Map(Object.entries(model.state_dict as Record<string, number[]>));
      const weights = new Map([...shapes.keys()].map((k) => [k, (k.startsWith('controlnet_') ? own : unet).float32(k)]));
      own.close();
      unet.close();
      controlnet = loadControlNet(writeControlNetFolder(join(dir, 'golden'), model.config, weights, shapes));
    });
    after(async () => {
      ref.close();
      await controlnet.release();
    });

    test('per-step latents and final latents; the keep schedule switches the ControlNet off for the last step', async () => {
      const prompts = SafetensorsFile.open(fixture(index.prompt_embeds));
      const embeds = (name: string) => ({ embeds: prompts.float32(name), dims: [1, 77, 32] as [number, number, number], truncated: [] });
      const seen: Float32Array[] = [];
      let captured: Float32Array | undefined;
      const residuals = controlnet.residuals.bind(controlnet);
      controlnet.residuals = (...args) => ((captured ??= args[6]), residuals(...args));
      const result = await pipe.txt2img({
        prompt: '',
        promptEmbeds: embeds('prompt_embeds.cond'),
        negativePromptEmbeds: embeds('prompt_embeds.uncond'),
        guidanceScale: index.guidance,
        steps: index.steps,
        scheduler: 'ddim',
        eta: 0,
        seed: index.seed,
        controlnet: {
          model: controlnet,
          image: golden('controlnet-e2e-control.png'),
          conditioningScale: index.scale,
          guidanceStart: index.guidance_start,
          guidanceEnd: index.guidance_end,
        },
        onStep: ({ latents }) => void seen.push(latents),
      });
      prompts.close();
      assert.deepEqual(result.timesteps, index.timesteps);
      const image = ref.float32('controlnet_cond');
      assert.deepEqual(captured, Float32Array.from([...image, ...image]), 'control image: u8/255 NCHW, doubled for CFG');
      for (let i = 1; i < index.steps; i++) relativeMax(`step${i}.latents_in`, seen[i - 1], ref.float32(`step${i}.latents_in`));
      relativeMax('final_latents', result.latents, ref.float32('final_latents'));
      assert.deepEqual(result.images[0].parameters.controlnet, { conditioningScale: index.scale, guidanceStart: 0, guidanceEnd: 0.75 });
    });
  });

  describe('tiny ControlNets from the tiny-sd UNet', () => {
    const request = { prompt: 'a photo of a cat', guidanceScale: 1.7, steps: 2, eta: 0.2, seed: 5, width: 64, height: 64 };
    let zero: ControlNet;
    let random: ControlNet;
    let plain: Float32Array;
    const run = async (model: ControlNet, control: Partial<ControlNetRequest> = {}, extra: Partial<Txt2ImgRequest> = {}) =>
      (await pipe.txt2img({ ...request, ...extra, controlnet: { model, image: cannyHint(), ...control } })).latents;
    before(async () => {
      zero = loadControlNet(tinyControlNetFolder(join(dir, 'zero'), true, 11));
      random = loadControlNet(tinyControlNetFolder(join(dir, 'random'), false, 12));
      plain = (await pipe.txt2img(request)).latents;
    });
    after(async () => {
      await zero.release();
      await random.release();
    });

    test('zero-initialised output convs (a new ControlNet) leave the output unchanged', async () => {
      const latents = await run(zero);
      console.log(`  zero ControlNet vs plain: max|diff| ${maxDiff(latents, plain).toExponential(2)}`);
      assert.equal(maxDiff(latents, plain), 0);
      assert.deepEqual(zero.model.unusedKeys, [], 'every weight of the folder is used');
    });

    test('random weights change the output, more with a larger scale; scale 0 is the plain output', async () => {
      const diffs = [];
      for (const scale of [0.25, 0.5, 1]) diffs.push(maxDiff(await run(random, { conditioningScale: scale }), plain));
      console.log(
        `  random ControlNet vs plain at scale 0.25 / 0.5 / 1: ${diffs.map((d) => d.toExponential(2)).join(' / ')} (max|plain| ${maxAbs(plain).toFixed(2)})`,
      );
      assert.ok(diffs[0] > 1e-3 && diffs[0] < diffs[1] && diffs[1] < diffs[2], `differences ${diffs}`);
      assert.equal(maxDiff(await run(random, { conditioningScale: 0 }), plain), 0);
    });

    test('guidanceStart/End switch the ControlNet per step as diffusers controlnet_keep', async () => {
      const steps = (control: Partial<ControlNetRequest>): Promise<Float32Array[]> => {
        const seen: Float32Array[] = [];
        return pipe
          .txt2img({
            ...request,
            controlnet: { model: random, image: cannyHint(), ...control },
            onStep: ({ latents }) => void seen.push(latents),
          })
          .then(() => seen);
      };
      const [full, firstHalf, secondHalf] = [await steps({}), await steps({ guidanceEnd: 0.5 }), await steps({ guidanceStart: 0.5 })];
      const plainSteps: Float32Array[] = [];
      await pipe.txt2img({ ...request, onStep: ({ latents }) => void plainSteps.push(latents) });
      assert.equal(maxDiff(firstHalf[0], full[0]), 0, 'end 0.5: step 0 controlled');
      assert.ok(maxDiff(firstHalf[1], full[1]) > 1e-4, 'end 0.5: step 1 not controlled');
      assert.equal(maxDiff(secondHalf[0], plainSteps[0]), 0, 'start 0.5: step 0 not controlled');
      assert.ok(maxDiff(secondHalf[1], plainSteps[1]) > 1e-4, 'start 0.5: step 1 controlled');
    });

    test('depth-style gray images are hints like RGB ones; batches and sizes follow the request', async () => {
      const rgb = cannyHint();
      const gray: RawImage = {
        width: 64,
        height: 64,
        channels: 1,
        pixels: Uint8Array.from({ length: 64 * 64 }, (_, i) => rgb.pixels[3 * i]),
      };
      assert.equal(maxDiff(await run(random, { image: gray }), await run(random)), 0);
      const two = await pipe.txt2img({ ...request, numImages: 2, controlnet: { model: random, image: rgb } });
      assert.equal(two.images.length, 2);
      const resized = await pipe.txt2img({ ...request, width: 48, height: 48, controlnet: { model: random, image: rgb } });
      assert.equal(resized.images[0].width, 48, 'the control image is resized to the requested size');
      const { width, height, ...noSize } = request;
      const sized = await pipe.txt2img({ ...noSize, controlnet: { model: random, image: cannyHint(40) } });
      assert.deepEqual(
        [sized.images[0].width, sized.images[0].height, width, height],
        [40, 40, 64, 64],
        'the size defaults to the control image size',
      );
    });

    test('a ControlNet for another model or bad options are refused before running', async () => {
      const raw = controlNetConfigFromUNet(readJson(fixture('tiny-sd', 'unet', 'config.json')), {
        conditioningEmbeddingOutChannels: [16, 32, 64],
      });
      const factor4 = new ControlNet(parseControlNetConfig(raw), new MemoryTensorSource({}));
      await assert.rejects(run(factor4), /downsamples by 4, this model's VAE by 2/);
      const wide = new ControlNet(
        parseControlNetConfig({ ...raw, conditioning_embedding_out_channels: [16, 32], block_out_channels: [64, 64] }),
        new MemoryTensorSource({}),
      );
      await assert.rejects(run(wide), /block_out_channels \[64,64\], the UNet has \[32,64\]/);
      await assert.rejects(run(random, { guidanceStart: 0.6, guidanceEnd: 0.5 }), /0 ≤ start < end ≤ 1/);
      await assert.rejects(run(random, { conditioningScale: Number.NaN }), /finite/);
      assert.throws(() => loadControlNet(join(dir, 'absent')), /no config\.json/);
    });
  });
});
