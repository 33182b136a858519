/**
 * A1111 emphasis on the text encoder output: weighting touches only the weighted tokens before the mean is
 * restored, and on the tiny fixtures a prompt without the syntax encodes bit-identically with weighting on
 * or off while `(word:1.5)` changes the embedding (SD and SDXL, whose pooled output stays unweighted).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { emphasizeChunk, loadPipeline, type StableDiffusionPipeline } from '../../src/pipelines/index.js';
import { fixture } from '../helpers/model-parity.js';

const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;

describe('emphasizeChunk', () => {
  test('only weighted tokens change before the mean is restored, and the mean is restored', () => {
    const [tokens, width] = [6, 5];
    const z = Float32Array.from({ length: tokens * width }, (_, i) => Math.sin(i * 1.7) + 0.3);
    const weights = [1, 1.5, 1, 0.8, 1, 1];
    const out = z.slice();
    emphasizeChunk(out, weights);
    // One common factor (the mean restoration) on every value; weighted tokens also carry their weight.
    const scale = out[0] / z[0];
    for (let t = 0; t < tokens; t++)
      for (let j = 0; j < width; j++) {
        const i = t * width + j;
        assert.ok(Math.abs(out[i] - z[i] * weights[t] * scale) < 1e-6, `token ${t}`);
      }
    assert.notEqual(scale, 1);
    assert.ok(Math.abs(mean(out) - mean(z)) < 1e-6, `${mean(out)} vs ${mean(z)}`);
    const ones = z.slice();
    emphasizeChunk(ones, [1, 1, 1, 1, 1, 1]);
    assert.deepEqual(ones, z);
  });
});

for (const name of ['tiny-sd', 'tiny-sdxl']) {
  describe(`prompt weighting on ${name}`, () => {
    let pipe: StableDiffusionPipeline;
    before(async () => {
      pipe = await loadPipeline(fixture(name));
    });
    after(() => pipe.release());

    test('a prompt without emphasis syntax is bit-identical with weighting on and off', async () => {
      const prompts = ['a photo of a cat', 'a: b, c'];
      for (const longPrompts of ['truncate', 'chunk'] as const) {
        const off = await pipe.encodePrompts(prompts, { longPrompts });
        const on = await pipe.encodePrompts(prompts, { longPrompts, weighting: true });
        assert.deepEqual(on.embeds, off.embeds);
        assert.deepEqual(on.pooled, off.pooled);
        assert.deepEqual(on.dims, off.dims);
      }
    });

    test('(word:1.5) changes the embedding; weighting off encodes the brackets as text', async () => {
      const plain = await pipe.encodePrompts(['a photo of a cat'], { weighting: true });
      const weighted = await pipe.encodePrompts(['a photo of a (cat:1.5)'], { weighting: true });
      const neutral = await pipe.encodePrompts(['a photo of a (cat:1)'], { weighting: true });
      const literal = await pipe.encodePrompts(['a photo of a (cat:1.5)'], { weighting: false });
      assert.deepEqual(weighted.dims, plain.dims);
      assert.notDeepEqual(weighted.embeds, plain.embeds);
      assert.notDeepEqual(literal.embeds, weighted.embeds);
      // Weight 1 everywhere: the tokens of 'a photo of a cat' and no arithmetic.
      assert.deepEqual(neutral.embeds, plain.embeds);
      // SDXL's pooled output is the first chunk's, unweighted.
      assert.deepEqual(weighted.pooled, plain.pooled);
      // The mean of the 77-token chunk is what the unweighted encoding of the same tokens gives.
      assert.ok(Math.abs(mean(weighted.embeds) - mean(plain.embeds)) < 1e-5);
    });

    test('BREAK starts a second chunk; the negative prompt is padded to match in txt2img', async () => {
      const two = await pipe.encodePrompts(['a photo BREAK of a cat'], { weighting: true });
      assert.equal(two.dims[1], 2 * two.chunkLength!);
      const request = {
        prompt: 'a photo BREAK of a cat',
        negativePrompt: 'blurry',
        guidanceScale: 2,
        steps: 1,
        seed: 1,
        width: 64,
        height: 64,
      };
      const image = await pipe.txt2img(request);
      assert.ok(image.latents.every(Number.isFinite));
      const flipped = await pipe.txt2img({ ...request, prompt: 'blurry', negativePrompt: 'a photo BREAK of a cat' });
      assert.ok(flipped.latents.every(Number.isFinite));
    });
  });
}
