/**
 * Memory behaviour of the pipeline: weights staged through an external-data file give the same result as weights
 * encoded in memory (with a LoRA fused as they are read); each offload mode releases what it says after each
 * stage and changes no pixel; `auto` picks by the machine's memory; a component that cannot fit fails with the
 * component, its size and what to try.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAllocationFailure, ModelMemoryError } from '../../src/pipelines/memory.js';
import { chooseOffload } from '../../src/pipelines/offload.js';
import { loadPipeline, type StableDiffusionPipeline } from '../../src/pipelines/index.js';
import { fixture } from '../helpers/model-parity.js';

const request = { prompt: 'a photo of a cat', steps: 2, guidanceScale: 1.7, eta: 0.2, seed: 3, width: 64, height: 64 };
const GiB = 2 ** 30;

describe('weights staged through external data', () => {
  let staging: string;
  before(() => {
    staging = mkdtempSync(join(tmpdir(), 'tdd-staging-'));
  });
  after(() => rmSync(staging, { recursive: true, force: true }));

  test('the same latents as in-memory weights, with and without a fused LoRA; the staging folder is left empty', async () => {
    const lora = fixture('lora', 'tiny-sd-lora-kohya.safetensors');
    await using inMemory = await loadPipeline(fixture('tiny-sd'), { offload: 'none' });
    await using staged = await loadPipeline(fixture('tiny-sd'), { offload: 'none', inMemoryLimitBytes: 0, stagingDir: staging });
    assert.deepEqual((await staged.txt2img(request)).latents, (await inMemory.txt2img(request)).latents);
    await inMemory.loadLora(lora, { scale: 0.7 });
    await staged.loadLora(lora, { scale: 0.7 });
    const withLora = (await staged.txt2img(request)).latents;
    assert.deepEqual(withLora, (await inMemory.txt2img(request)).latents);
    await staged.unloadLora();
    assert.deepEqual((await staged.txt2img(request)).latents, (await inMemory.unloadLora(), await inMemory.txt2img(request)).latents);
    assert.deepEqual(readdirSync(staging), []);
  });
});

describe('offload modes', () => {
  let none: StableDiffusionPipeline;
  let reference: Float32Array;
  before(async () => {
    none = await loadPipeline(fixture('tiny-sd'), { offload: 'none' });
    reference = (await none.txt2img(request)).latents;
  });
  after(() => none.release());

  test('none keeps every component compiled', async () => {
    const result = await none.txt2img(request);
    assert.deepEqual(result.released, []);
    assert.ok(none.unet.loaded && none.vae.loaded);
  });

  test('text-encoders releases the text encoder once the prompts are encoded, and only that', async () => {
    await using pipe = await loadPipeline(fixture('tiny-sd'), { offload: 'text-encoders' });
    const result = await pipe.txt2img(request);
    assert.deepEqual(result.released, ['text_encoder']);
    assert.deepEqual(result.latents, reference);
    assert.ok(pipe.unet.loaded && pipe.vae.loaded && !pipe.prompts.model('text_encoder')!.loaded);
  });

  test('sequential releases each component after its stage; a second generation compiles them again and matches', async () => {
    await using pipe = await loadPipeline(fixture('tiny-sd'), { offload: 'sequential' });
    for (let i = 0; i < 2; i++) {
      const result = await pipe.txt2img(request);
      assert.deepEqual(result.released, ['text_encoder', 'unet', 'vae']);
      assert.deepEqual(result.latents, reference);
      assert.ok(!pipe.unet.loaded && !pipe.vae.loaded);
    }
  });

  test('auto keeps everything while the weights fit in half the memory, then drops text encoders, then goes sequential', () => {
    const sdxl = { unet: 10.3 * GiB, vae: 0.3 * GiB, textEncoders: 3.1 * GiB };
    assert.equal(chooseOffload(sdxl, 32 * GiB).mode, 'none');
    assert.equal(chooseOffload(sdxl, 24 * GiB).mode, 'text-encoders');
    assert.equal(chooseOffload(sdxl, 16 * GiB).mode, 'sequential');
    assert.match(chooseOffload(sdxl, 16 * GiB).why, /UNet \+ VAE, 10\.6 GiB, exceed 8\.0 GiB \(half of 16\.0 GiB\)/);
    assert.equal(chooseOffload({ unet: 1, vae: 1, textEncoders: 1 }).mode, 'none');
  });
});

describe('a component that does not fit', () => {
  test('the message names the component, its size at float32, the machine, the cause and what to try', () => {
    const err = new ModelMemoryError('unet', 10.3 * GiB, new Error('std::bad_alloc\nmore'));
    assert.match(
      err.message,
      /^unet: not enough memory for its weights \(10\.3 GiB at float32; this machine lets the process use [\d.]+ GiB\): std::bad_alloc\. Try --offload sequential/,
    );
    assert.ok(!err.message.includes('\n'));
  });

  test("ORT's allocation failures are recognised, other errors are not", () => {
    for (const m of ['std::bad_alloc', 'Failed to allocate memory for requested buffer of size 123', 'onnxruntime: out of memory'])
      assert.ok(isAllocationFailure(new Error(m)), m);
    assert.ok(!isAllocationFailure(new Error('Invalid input name: sample')));
  });
});
