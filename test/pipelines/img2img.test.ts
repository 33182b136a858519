/**
 * Image-to-image: parity with the fixtures' TDD img2img run (8 steps, strength 0.6 → plan indices 4..7,
 * eta 0.2, cfg 1.7, seed 3): preprocessing, the VAE latent distribution, generator draws in diffusers' order,
 * init latents, per-step latents, final latents and pixels; then the schedule cut, strength 0, input kinds,
 * resizing and errors. Tolerances (fixtures README): single passes 1e-4 + 1e-4·max|ref|; e2e latents
 * relative ≤ 1e-4 of max |value|; uint8 ±1 per pixel.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { GenerationError } from '../../src/pipelines/generation.js';
import { GeneratedImage } from '../../src/pipelines/image.js';
import { ImageInputError, loadImageTensor } from '../../src/pipelines/image-input.js';
import { img2img, strengthSchedule } from '../../src/pipelines/img2img.js';
import { StableDiffusionPipeline } from '../../src/pipelines/pipeline.js';
import { createScheduler } from '../../src/schedulers/index.js';
import type { TddPlan } from '../../src/schedulers/tdd.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';
import { SafetensorsFile } from '../../src/weights/index.js';
import { compare, compareRelative, fixture } from '../helpers/model-parity.js';

const initPng = fixture('e2e-tiny-sd-tdd-img2img-init.png');
const run = {
  prompt: 'a photo of a cat',
  negativePrompt: '',
  guidanceScale: 1.7,
  steps: 8,
  strength: 0.6,
  scheduler: 'tdd',
  eta: 0.2,
  seed: 3,
};

describe('img2img', () => {
  let pipe: StableDiffusionPipeline;
  let ref: SafetensorsFile;
  before(async () => {
    pipe = await StableDiffusionPipeline.load(fixture('tiny-sd'));
    ref = SafetensorsFile.open(fixture('e2e-tiny-sd-tdd-img2img.safetensors'));
  });
  after(async () => {
    ref.close();
    await pipe.release();
  });

  test('strengthSchedule cuts the plan as diffusers get_timesteps', () => {
    const plan = [999, 875, 751, 627, 499, 375, 251, 127];
    assert.deepEqual(strengthSchedule(plan, 0.6), { timesteps: [499, 375, 251, 127], startIndex: 4 });
    assert.deepEqual(strengthSchedule(plan, 1), { timesteps: plan, startIndex: 0 });
    assert.deepEqual(strengthSchedule(plan, 0.1), { timesteps: [], startIndex: 8 }); // ⌊0.8⌋ = 0 steps
    assert.deepEqual(strengthSchedule(plan, 0.125), { timesteps: [127], startIndex: 7 });
    assert.deepEqual(strengthSchedule([999, 759, 499], 0.7), { timesteps: [759, 499], startIndex: 1 }); // ⌊2.1⌋ = 2
  });

  test('the init PNG preprocesses to the reference image tensor exactly', async () => {
    const expected = ref.float32('img2img.image');
    const fromFile = await loadImageTensor(initPng, { factor: 2 });
    assert.equal(fromFile.width, 64);
    assert.equal(fromFile.height, 64);
    assert.deepEqual(fromFile.data, expected);
    const raw = { pixels: ref.raw('img2img.init_image'), width: 64, height: 64 };
    assert.deepEqual((await loadImageTensor(raw, { factor: 2 })).data, expected);
    assert.deepEqual((await loadImageTensor(readFileSync(initPng), { factor: 2 })).data, expected);
  });

  test('VAE latent distribution of the init image', async () => {
    const { mean, std } = await pipe.encodeImages(ref.float32('img2img.image'), 1, 64, 64);
    compare('img2img.latent_dist.mean', mean, ref.float32('img2img.latent_dist.mean'));
    compare('img2img.latent_dist.std', std, ref.float32('img2img.latent_dist.std'));
  });

  test('the whole run matches diffusers: draws, init latents, step latents, final latents, pixels', async () => {
    // Generator draws in diffusers' order: the VAE sample noise, then the add_noise noise.
    const generator = new TorchGenerator(run.seed);
    assert.deepEqual(generator.randn([1, 4, 32, 32]), ref.float32('img2img.vae_noise'));
    assert.deepEqual(generator.randn([1, 4, 32, 32]), ref.float32('img2img.noise'));

    const seen: Float32Array[] = [];
    const result = await pipe.img2img({ ...run, image: initPng, onStep: ({ latents }) => void seen.push(latents) });
    assert.deepEqual(result.timesteps, [...ref.int64('timesteps')].map(Number));
    assert.equal(result.startIndex, 4);
    compareRelative('img2img.init_latents', result.initLatents, ref.float32('img2img.init_latents'));
    // step0.latents_in = add_noise(init_latents, noise, 499), with the scheduler the run uses
    const scheduler = createScheduler('tdd', pipe.components.schedulerConfig);
    const plan = scheduler.setTimesteps(8) as TddPlan;
    assert.deepEqual(plan.timesteps, [...ref.int64('timesteps_full')].map(Number));
    // the TDD quirk's natural repair: intermediate timesteps of the full 8-step schedule
    assert.deepEqual(plan.intermediate(run.eta).timestepsS, [...ref.int64('timesteps_s')].map(Number));
    compareRelative(
      'step0.latents_in',
      scheduler.addNoise(result.initLatents, ref.float32('img2img.noise'), 499),
      ref.float32('step0.latents_in'),
    );
    assert.equal(seen.length, 4);
    for (let i = 1; i < 4; i++) compareRelative(`step${i}.latents_in`, seen[i - 1], ref.float32(`step${i}.latents_in`));
    compareRelative('final_latents', result.latents, ref.float32('final_latents'));
    const pixelsRef = ref.raw('image.uint8_hwc');
    let worst = 0;
    for (let i = 0; i < pixelsRef.length; i++) worst = Math.max(worst, Math.abs(result.images[0].pixels[i] - pixelsRef[i]));
    console.log(`  image.uint8_hwc: worst pixel difference ${worst}`);
    assert.ok(worst <= 1, `pixels differ by ${worst}`);
    assert.equal(result.images[0].parameters.strength, 0.6);
    assert.equal(result.images[0].parameters.steps, 8);
  });

  test('strength 0 runs no step and returns the init latents', async () => {
    const seen: unknown[] = [];
    const result = await img2img(pipe, { ...run, image: initPng, strength: 0, onStep: (s) => void seen.push(s) });
    const full = await img2img(pipe, { ...run, image: initPng });
    assert.equal(seen.length, 0);
    assert.deepEqual(result.timesteps, []);
    assert.deepEqual(result.latents, result.initLatents);
    // the same seed draws the same VAE sample whatever the strength
    assert.deepEqual(result.initLatents, full.initLatents);
    compareRelative('strength 0 latents vs reference init_latents', result.latents, ref.float32('img2img.init_latents'));
    const decoded = await pipe.decodeLatents(result.initLatents, 1, 32, 32);
    assert.deepEqual(result.images[0].pixels, GeneratedImage.fromNCHW(decoded, 64, 64).pixels);
  });

  test('batches repeat the image latents; a GeneratedImage input and resizing work', async () => {
    const source = GeneratedImage.fromNCHW(ref.float32('img2img.image'), 64, 64);
    const result = await img2img(pipe, { ...run, image: source, numImages: 2, steps: 4, strength: 0.5 });
    assert.equal(result.images.length, 2);
    assert.deepEqual(result.timesteps, [499, 251]);
    const per = 4 * 32 * 32;
    assert.deepEqual(result.initLatents.subarray(0, per), result.initLatents.subarray(per));
    assert.notDeepEqual(result.latents.subarray(0, per), result.latents.subarray(per)); // different noise per image
    const resized = await img2img(pipe, { ...run, image: initPng, width: 48, height: 32, steps: 2 });
    assert.equal(resized.images[0].width, 48);
    assert.equal(resized.images[0].height, 32);
    assert.equal(resized.latents.length, 4 * 16 * 24);
  });

  test('the default size is the image size rounded down to the VAE factor', async () => {
    const odd = { pixels: new Uint8Array(35 * 21 * 3).fill(128), width: 35, height: 21 };
    const tensor = await loadImageTensor(odd, { factor: 8 });
    assert.deepEqual([tensor.width, tensor.height], [32, 16]);
    assert.equal(tensor.data.length, 3 * 32 * 16);
    assert.ok(tensor.data.every((v) => Math.abs(v - ((2 * 128) / 255 - 1)) < 1e-6));
  });

  test('bad strength, sizes and inputs are refused with the field named', async () => {
    await assert.rejects(
      img2img(pipe, { ...run, image: initPng, strength: 1.5 }),
      (e: Error) => e instanceof GenerationError && /strength/.test(e.message),
    );
    await assert.rejects(
      img2img(pipe, { ...run, image: initPng, width: 63 }),
      (e: Error) => e instanceof ImageInputError && /width/.test(e.message),
    );
    await assert.rejects(
      img2img(pipe, { ...run, image: '/nonexistent/init.png' }),
      (e: Error) => e instanceof ImageInputError && /nonexistent/.test(e.message),
    );
    await assert.rejects(img2img(pipe, { ...run, image: { pixels: new Uint8Array(10), width: 4, height: 4 } }), /10 bytes for 4×4/);
  });

  test('an SDXL folder runs img2img too (shapes, defaults: strength 0.8 of 4 steps)', async () => {
    await using xl = await StableDiffusionPipeline.load(fixture('tiny-sdxl'));
    const result = await xl.img2img({ prompt: 'a photo of a cat', image: initPng, seed: 1 });
    assert.equal(result.timesteps.length, 3);
    assert.equal(result.startIndex, 1);
    assert.equal(result.latents.length, 4 * 32 * 32);
    assert.ok(result.latents.every(Number.isFinite));
    assert.deepEqual([result.images[0].width, result.images[0].height], [64, 64]);
  });
});
