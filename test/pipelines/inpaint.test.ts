/**
 * Inpainting on tiny models. Mask processing (PIL luma, binarised at 0.5, nearest shrink to the latents);
 * with tiny-sd's 4-channel UNet, latent blending: the kept region of the latents is the image's latents
 * noised to the next timestep after every step, and exactly the clean image latents at the end, while the
 * repainted region changes; the overlay puts the original pixels back where the mask is black. With a
 * 9-channel UNet built from tiny-sd (extra conv_in input channels, random): shapes, determinism, and that
 * mask and masked image reach the UNet (nothing blended; pixels under the mask are invisible at strength 1).
 *
 * Why the pixel checks without overlay are relative: tiny-sd's VAE has random weights, so its round trip
 * decode(encode(image)) is far from the image (measured in the test: max |err| ≈ 5.9, mean ≈ 0.69 on the
 * [-1, 1] scale, i.e. saturated 8-bit pixels), and its decoder is not local (mid-block attention,
 * GroupNorm statistics over the whole image). A bound "original ± round-trip error" would hold for any
 * output; the exact checks are made on the latents, and on pixels with the overlay.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { GenerationError } from '../../src/pipelines/generation.js';
import { loadImageTensor, loadMaskTensor, resizeMaskNearest, type RawImage } from '../../src/pipelines/image-input.js';
import { inpaint, inpaintingUNetInput, maskedImage, type InpaintRequest } from '../../src/pipelines/inpaint.js';
import { StableDiffusionPipeline } from '../../src/pipelines/pipeline.js';
import { createScheduler } from '../../src/schedulers/index.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';
import { SafetensorsFile, writeSafetensors } from '../../src/weights/index.js';
import { fixture } from '../helpers/model-parity.js';

const initPng = fixture('e2e-tiny-sd-tdd-img2img-init.png');
const base = { prompt: 'a photo of a cat', negativePrompt: '', guidanceScale: 1.7, steps: 4, scheduler: 'tdd', eta: 0.2, seed: 3 };

/** 64×64 gray mask: white (repaint) where x ≥ 32, black (keep) on the left half. */
function rightHalfMask(size = 64): RawImage {
  const pixels = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = size / 2; x < size; x++) pixels[y * size + x] = 255;
  return { pixels, width: size, height: size, channels: 1 };
}

/** Max |a−b| over the latent cells (all channels) where keep(x) holds, for [1,4,32,32] latents. */
function maxDiffWhere(a: Float32Array, b: Float32Array, keep: (x: number) => boolean): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) if (keep(i % 32)) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Mean |a−b| of 8-bit RGB pixels over the columns where keep(x) holds (64×64). */
function meanPixelDiff(a: Uint8Array, b: Uint8Array, keep: (x: number) => boolean): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    if (!keep(Math.floor(i / 3) % 64)) continue;
    sum += Math.abs(a[i] - b[i]);
    count++;
  }
  return sum / count;
}

/** tiny-sd with a 9-channel (inpainting) UNet: conv_in keeps its 4 latent channels, 5 new random ones. */
function inpaintingModel(dir: string, inChannels = 9): string {
  const source = fixture('tiny-sd');
  for (const part of ['model_index.json', 'scheduler', 'text_encoder', 'tokenizer', 'vae'])
    symlinkSync(join(source, part), join(dir, part));
  mkdirSync(join(dir, 'unet'));
  const config = JSON.parse(readFileSync(join(source, 'unet', 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'unet', 'config.json'), JSON.stringify({ ...config, in_channels: inChannels }));
  const weights = SafetensorsFile.open(join(source, 'unet', 'diffusion_pytorch_model.safetensors'));
  const extra = new TorchGenerator(77).randn([32, inChannels - 4, 3, 3]);
  const tensors = [...weights.tensors.keys()].map((name) => {
    const data = weights.float32(name);
    const shape = [...weights.info(name).shape];
    if (name !== 'conv_in.weight') return { name, dtype: 'F32' as const, shape, data };
    const widened = new Float32Array(32 * inChannels * 9);
    for (let o = 0; o < 32; o++) {
      widened.set(data.subarray(o * 36, (o + 1) * 36), o * inChannels * 9);
      widened.set(
        extra.subarray(o * (inChannels - 4) * 9, (o + 1) * (inChannels - 4) * 9).map((v) => 0.2 * v),
        o * inChannels * 9 + 36,
      );
    }
    return { name, dtype: 'F32' as const, shape: [32, inChannels, 3, 3], data: widened };
  });
  writeSafetensors(join(dir, 'unet', 'diffusion_pytorch_model.safetensors'), tensors);
  weights.close();
  return dir;
}

describe('mask processing', () => {
  test('grayscale by PIL luma, binarised at 0.5, resized to the image; nearest shrink to latents', async () => {
    // pure red, green, blue, gray 127, gray 128 → L = 76, 150, 29, 127, 128
    const pixels = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 127, 127, 127, 128, 128, 128, 0, 0, 0]);
    const mask = await loadMaskTensor({ pixels, width: 6, height: 1 }, { factor: 1 });
    assert.deepEqual([...mask.data], [0, 1, 0, 0, 1, 0]);
    assert.deepEqual(
      [...mask.soft].map((v) => Math.round(v * 255)),
      [76, 150, 29, 127, 128, 0],
    );
    const big = await loadMaskTensor(rightHalfMask(32), { width: 64, height: 64, factor: 8 });
    assert.equal(big.data.length, 64 * 64);
    assert.equal(big.data[5 * 64 + 10], 0);
    assert.equal(big.data[5 * 64 + 50], 1);
    // the same mask as gray PNG bytes and as an RGB PNG file decode alike
    const png = await sharp(rightHalfMask(32).pixels, { raw: { width: 32, height: 32, channels: 1 } })
      .png()
      .toBuffer();
    assert.deepEqual((await loadMaskTensor(png, { width: 64, height: 64, factor: 8 })).data, big.data);
    const rgbPng = await sharp(png).toColourspace('srgb').png().toBuffer();
    assert.deepEqual((await loadMaskTensor(rgbPng, { width: 64, height: 64, factor: 8 })).data, big.data);
    const small = resizeMaskNearest(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 2, 4, 1, 2);
    assert.deepEqual([...small], [0, 2]); // rows ⌊0·2⌋, columns ⌊x·2⌋
  });

  test('masked image zeroes the repainted pixels; 9-channel UNet input layout per batch row', async () => {
    const image = await loadImageTensor(initPng, { factor: 2 });
    const mask = await loadMaskTensor(rightHalfMask(), { factor: 2 });
    const masked = maskedImage(image, mask);
    for (const [i, v] of masked.data.entries()) assert.equal(v, i % 64 >= 32 ? 0 : image.data[i]);
    const latents = Float32Array.from([1, 2, 3, 4]); // n = 2 rows of [C=2, 1, 1]
    const input = inpaintingUNetInput(latents, 2, Float32Array.of(9), Float32Array.from([7, 8]));
    assert.deepEqual([...input], [1, 2, 9, 7, 8, 3, 4, 9, 7, 8]);
  });
});

describe('inpainting with a standard 4-channel UNet (latent blending)', () => {
  let pipe: StableDiffusionPipeline;
  const request = (extra: Partial<InpaintRequest> = {}): InpaintRequest => ({ ...base, image: initPng, mask: rightHalfMask(), ...extra });
  before(async () => {
    pipe = await StableDiffusionPipeline.load(fixture('tiny-sd'));
  });
  after(() => pipe.release());

  test('the VAE round trip of the random tiny VAE (why pixel bounds are relative)', async () => {
    const image = await loadImageTensor(initPng, { factor: 2 });
    const { mean } = await pipe.encodeImages(image.data, 1, 64, 64);
    const decoded = await pipe.decodeLatents(
      mean.map((v) => v * 0.18215),
      1,
      32,
      32,
    );
    let max = 0;
    let sum = 0;
    for (const [i, v] of decoded.entries()) {
      max = Math.max(max, Math.abs(v - image.data[i]));
      sum += Math.abs(v - image.data[i]);
    }
    console.log(
      `  round trip decode(encode(image)) vs image: max |err| ${max.toFixed(2)}, mean ${(sum / decoded.length).toFixed(3)} (image range [-1, 1])`,
    );
    assert.ok(max > 1, 'the tiny VAE reconstructs the image: make the pixel checks absolute');
  });

  for (const strength of [0.6, 1]) {
    test(`strength ${strength}: kept latents follow the noised image latents each step and end exactly on them`, async () => {
      const seen: Float32Array[] = [];
      const result = await inpaint(pipe, request({ strength, onStep: ({ latents }) => void seen.push(latents) }));
      const init = result.initLatents!;
      assert.equal(result.latents.length, 4 * 32 * 32);
      assert.deepEqual(result.timesteps, strength === 1 ? [999, 751, 499, 251] : [499, 251]); // ⌊4·0.6⌋ = 2 steps
      // draws as diffusers: the image's latent sample, then the noise
      const generator = new TorchGenerator(base.seed);
      generator.randn([1, 4, 32, 32]);
      const noise = generator.randn([1, 4, 32, 32]);
      const scheduler = createScheduler('tdd', pipe.components.schedulerConfig);
      const plan = scheduler.setTimesteps(4);
      seen.slice(0, -1).forEach((latents, i) => {
        const known = scheduler.addNoise(init, noise, plan.timesteps[result.startIndex + i + 1]);
        assert.equal(
          maxDiffWhere(latents, known, (x) => x < 16),
          0,
          `step ${i}: kept region`,
        );
      });
      const kept = maxDiffWhere(result.latents, init, (x) => x < 16);
      const repainted = maxDiffWhere(result.latents, init, (x) => x >= 16);
      console.log(`  final latents vs image latents: kept max|diff| ${kept}, repainted ${repainted.toFixed(3)}`);
      assert.equal(kept, 0);
      assert.ok(repainted > 0.1);
      assert.ok(result.latents.every(Number.isFinite));
    });
  }

  test('pixels: the overlay keeps the original exactly; without it the kept half stays closer to the image latents', async () => {
    const plain = await inpaint(pipe, request({ strength: 0.6 }));
    const overlaid = await inpaint(pipe, request({ strength: 0.6, overlay: true }));
    const original = (await loadImageTensor(initPng, { factor: 2 })).data;
    const originalPixels = Uint8Array.from({ length: 64 * 64 * 3 }, (_, i) =>
      Math.round((original[(i % 3) * 4096 + Math.floor(i / 3)] + 1) * 127.5),
    );
    const out = overlaid.images[0].pixels;
    assert.equal(
      meanPixelDiff(out, originalPixels, (x) => x < 32),
      0,
    );
    assert.equal(
      meanPixelDiff(out, plain.images[0].pixels, (x) => x >= 32),
      0,
    );
    assert.equal(overlaid.images[0].parameters.overlay, true);
    // Without the overlay, compare with the decode of the image's own latents (what the VAE gives back).
    const reference = (await inpaint(pipe, request({ strength: 0 }))).images[0].pixels;
    const keptDiff = meanPixelDiff(plain.images[0].pixels, reference, (x) => x < 32);
    const repaintDiff = meanPixelDiff(plain.images[0].pixels, reference, (x) => x >= 32);
    console.log(`  mean |pixel diff| vs decode(image latents): kept half ${keptDiff.toFixed(1)}, repainted half ${repaintDiff.toFixed(1)}`);
    assert.ok(keptDiff < repaintDiff, 'the kept half should change less than the repainted half');
  });

  test('strength 0 returns the image latents; a blurred overlay blends softly at the edge', async () => {
    const result = await inpaint(pipe, request({ strength: 0 }));
    assert.deepEqual(result.timesteps, []);
    assert.deepEqual(result.latents, result.initLatents);
    const soft = await inpaint(pipe, request({ strength: 0.6, overlay: true, maskBlur: 3 }));
    const hard = await inpaint(pipe, request({ strength: 0.6, overlay: true }));
    assert.notDeepEqual(soft.images[0].pixels, hard.images[0].pixels);
    assert.deepEqual(soft.latentMask, hard.latentMask); // binarised at 0.5: a symmetric blur keeps the edge
  });

  test('refused: strength out of range, a UNet that is neither 4- nor 9-channel', async () => {
    await assert.rejects(
      inpaint(pipe, request({ strength: -0.1 })),
      (e: Error) => e instanceof GenerationError && /strength/.test(e.message),
    );
    const dir = mkdtempSync(join(tmpdir(), 'tdd-inpaint5-'));
    try {
      await using odd = await StableDiffusionPipeline.load(inpaintingModel(dir, 5));
      await assert.rejects(inpaint(odd, request()), /4 or 9 input channels.*in_channels is 5/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('inpainting with a 9-channel inpainting UNet', () => {
  let dir: string;
  let pipe: StableDiffusionPipeline;
  const request = (extra: Partial<InpaintRequest> = {}): InpaintRequest => ({ ...base, image: initPng, mask: rightHalfMask(), ...extra });
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tdd-inpaint9-'));
    pipe = await StableDiffusionPipeline.load(inpaintingModel(dir));
  });
  after(async () => {
    await pipe.release();
    rmSync(dir, { recursive: true, force: true });
  });

  test('shapes and determinism; nothing is blended', async () => {
    assert.equal(pipe.latentChannels, 4);
    const a = await inpaint(pipe, request({ strength: 0.6 }));
    const b = await inpaint(pipe, request({ strength: 0.6 }));
    assert.equal(a.latents.length, 4 * 32 * 32);
    assert.equal(a.images[0].width, 64);
    assert.deepEqual(a.latents, b.latents);
    assert.ok(maxDiffWhere(a.latents, a.initLatents!, (x) => x < 16) > 0.01, 'kept region was not blended');
    const full = await inpaint(pipe, request());
    assert.equal(full.initLatents, undefined); // strength 1 never encodes the unmasked image
    assert.equal(full.timesteps.length, 4);
  });

  test('the mask and masked-image channels reach the UNet', async () => {
    const reference = await inpaint(pipe, request());
    const otherMask: RawImage = { ...rightHalfMask(), pixels: rightHalfMask().pixels.map((v, i) => (i < 64 * 32 ? 255 : v)) };
    const withOtherMask = await inpaint(pipe, request({ mask: otherMask }));
    assert.notDeepEqual(withOtherMask.latents, reference.latents);
    // At strength 1 only the masked image sees the pixels: changing them under the mask changes nothing,
    // changing them in the kept half changes the result.
    const image = await loadImageTensor(initPng, { factor: 2 });
    const repaintedPixels = image.data.map((v, i) => (i % 64 >= 32 ? -v : v));
    const keptPixels = image.data.map((v, i) => (i % 64 < 32 ? -v : v));
    const toRaw = (data: Float32Array): RawImage => ({
      pixels: Uint8Array.from({ length: 64 * 64 * 3 }, (_, i) => Math.round((data[(i % 3) * 4096 + Math.floor(i / 3)] + 1) * 127.5)),
      width: 64,
      height: 64,
    });
    const underMask = await inpaint(pipe, request({ image: toRaw(repaintedPixels) }));
    const inKept = await inpaint(pipe, request({ image: toRaw(keptPixels) }));
    assert.deepEqual(underMask.latents, reference.latents);
    assert.notDeepEqual(inKept.latents, reference.latents);
  });
});
