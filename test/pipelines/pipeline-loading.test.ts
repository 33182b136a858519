/**
 * Loading paths of the pipeline: a single-file checkpoint written from the tiny-sd folder generates the same
 * image as the folder; LoRAs load through the pipeline (kohya and peft alike), report their matches, change
 * the output, and unloading restores the base output exactly; a LoRA for another model is refused.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeSingleFile } from '../../src/loaders/single-file/index.js';
import { loadPipeline, type StableDiffusionPipeline } from '../../src/pipelines/index.js';
import { FileTensorSource, LoraError, writeSafetensors } from '../../src/weights/index.js';
import { fixture } from '../helpers/model-parity.js';

const request = { prompt: 'a photo of a cat', steps: 2, guidanceScale: 1.7, eta: 0.2, seed: 5, width: 64, height: 64 };
const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('pipeline loading', () => {
  let dir: string;
  let pipe: StableDiffusionPipeline;
  let base: Float32Array;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tdd-pipe-'));
    pipe = await loadPipeline(fixture('tiny-sd'));
    base = (await pipe.txt2img(request)).latents;
  });
  after(async () => {
    await pipe.release();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a single-file checkpoint of tiny-sd generates the same latents as the folder', async () => {
    const part = (name: string) => ({
      source: FileTensorSource.open(
        fixture('tiny-sd', name, name === 'text_encoder' ? 'model.safetensors' : 'diffusion_pytorch_model.safetensors'),
      ),
      config: JSON.parse(readFileSync(fixture('tiny-sd', name, 'config.json'), 'utf8')),
    });
    const parts = { unet: part('unet'), vae: part('vae'), text_encoder: part('text_encoder') };
    const file = join(dir, 'tiny-sd.safetensors');
    try {
      writeSingleFile(file, parts, 'sd1');
    } finally {
      for (const p of Object.values(parts)) p.source.close();
    }
    // Heads are not in the weights: the fixture's text encoder uses 4 (SD-1's family rule would say 12).
    const configOverrides = { text_encoder: { num_attention_heads: 4 } };
    await assert.rejects(loadPipeline(file, { configOverrides }), /num_attention_heads` cannot be inferred|contain no tokenizer/);
    await assert.rejects(loadPipeline(file, { configOverrides, tokenizerDir: join(dir, 'nowhere') }), /contain no tokenizer/);
    cpSync(fixture('tiny-sd', 'tokenizer'), join(dir, 'tokenizer'), { recursive: true });
    await using single = await loadPipeline(file, { configOverrides });
    assert.equal(single.family, 'sd');
    const latents = (await single.txt2img(request)).latents;
    assert.equal(maxDiff(latents, base), 0, 'same weights, same graph, same session options: identical output');
  });

  test('kohya and peft LoRAs: full match report, same effect, exact unload', async () => {
    const kohya = await pipe.loadLora(fixture('lora', 'tiny-sd-lora-kohya.safetensors'), { scale: 0.5 });
    assert.match(kohya.report, /unet: 33 of 33/);
    assert.match(kohya.report, /text_encoder: 10 of 10/);
    const withKohya = (await pipe.txt2img(request)).latents;
    assert.ok(maxDiff(withKohya, base) > 1e-3, 'the LoRA changes the output');
    await pipe.unloadLora();
    assert.equal(maxDiff((await pipe.txt2img(request)).latents, base), 0, 'unloading restores the base weights bit-exactly');
    await pipe.loadLora(fixture('lora', 'tiny-sd-lora-peft.safetensors'), { scale: 0.5 });
    const withPeft = (await pipe.txt2img(request)).latents;
    assert.ok(maxDiff(withPeft, withKohya) <= 1e-5 * Math.max(...withKohya.map(Math.abs)), 'kohya and peft files are the same LoRA');
    await pipe.setAdapters([]);
    assert.equal(maxDiff((await pipe.txt2img(request)).latents, base), 0);
    await pipe.unloadLora();
  });

  test('an AbortSignal stops generation between steps; onStep sees every step with its x0 preview', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    await assert.rejects(
      pipe.txt2img({
        ...request,
        steps: 4,
        signal: controller.signal,
        onStep: ({ step, predOriginal }) => {
          assert.equal(predOriginal?.length, 4 * 32 * 32);
          seen.push(step);
          if (step === 1) controller.abort();
        },
      }),
      (e: unknown) => (e as Error).name === 'AbortError',
    );
    assert.deepEqual(seen, [0, 1], 'no step runs after the abort');
  });

  test('per-image seeds: each image of a batch equals its seed generated alone', async () => {
    const batch = await pipe.txt2img({ ...request, numImages: 2, seed: [5, 9] });
    const alone = await pipe.txt2img({ ...request, seed: 9 });
    const per = alone.latents.length;
    assert.equal(maxDiff(batch.latents.subarray(0, per), base), 0, 'image 0 = seed 5 alone');
    assert.ok(
      maxDiff(batch.latents.subarray(per), alone.latents) <= 1e-5 * Math.max(...alone.latents.map(Math.abs)),
      'image 1 = seed 9 alone (batch 2 vs 1 may round differently)',
    );
    await assert.rejects(pipe.txt2img({ ...request, numImages: 2, seed: [1] }), /one seed per image: got 1 for 2 images/);
  });

  test('a LoRA for another model is refused with the report', async () => {
    const file = join(dir, 'other.safetensors');
    const zeros = (n: number) => new Float32Array(n);
    writeSafetensors(file, [
      { name: 'lora_unet_some_other_block_proj.lora_down.weight', dtype: 'F32', shape: [4, 7], data: zeros(28) },
      { name: 'lora_unet_some_other_block_proj.lora_up.weight', dtype: 'F32', shape: [7, 4], data: zeros(28) },
    ]);
    await assert.rejects(
      pipe.loadLora(file),
      (e: unknown) =>
        e instanceof LoraError && /made for another base model/.test((e as Error).message) && /0 of 1/.test((e as Error).message),
    );
  });
});
