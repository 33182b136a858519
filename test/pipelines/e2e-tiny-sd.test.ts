/**
 * End-to-end parity with the fixtures' tiny-sd runs (TDD 4 steps + CFG 1.7, LCM without CFG, DDIM 8 steps
 * with a negative prompt): token ids, prompt embeddings, the seeded initial latents, per-step latents and
 * guided noise predictions, final latents, the decoded image and its 8-bit pixels.
 * Tolerances (fixtures README): e2e latents relative ≤ 1e-4 of max |value|; uint8 ±1 per pixel.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { guide } from '../../src/pipelines/guidance.js';
import { StableDiffusionPipeline } from '../../src/pipelines/pipeline.js';
import { txt2img } from '../../src/pipelines/txt2img.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';
import { SafetensorsFile } from '../../src/weights/index.js';
import { compare, compareRelative, fixture } from '../helpers/model-parity.js';

interface RunSpec {
  file: string;
  prompt: string;
  negative?: string;
  guidance: number;
  steps: number;
  scheduler: string;
  eta?: number;
  seed: number;
}

const runs: RunSpec[] = [
  { file: 'e2e-tiny-sd-tdd', prompt: 'a photo of a cat', negative: '', guidance: 1.7, steps: 4, scheduler: 'tdd', eta: 0.2, seed: 0 },
  { file: 'e2e-tiny-sd-lcm', prompt: 'a photo of a cat', guidance: 1.0, steps: 4, scheduler: 'lcm', seed: 0 },
  { file: 'e2e-tiny-sd-ddim', prompt: 'a red apple', negative: 'blurry', guidance: 5.0, steps: 8, scheduler: 'ddim', eta: 0, seed: 1 },
];

describe('tiny-sd end to end matches diffusers', () => {
  let pipe: StableDiffusionPipeline;
  before(async () => {
    pipe = await StableDiffusionPipeline.load(fixture('tiny-sd'));
  });
  after(() => pipe.release());

  for (const run of runs) {
    describe(run.file, () => {
      let ref: SafetensorsFile;
      before(() => {
        ref = SafetensorsFile.open(fixture(`${run.file}.safetensors`));
      });
      after(() => ref.close());
      const cfg = run.guidance > 1;

      test('token ids and prompt embeddings', async () => {
        const tokenizer = pipe.components.textEncoders[0].tokenizer;
        assert.deepEqual(tokenizer.encodeForModel(run.prompt).inputIds, [...ref.int64('input_ids.cond')].map(Number));
        const cond = await pipe.encodePrompts([run.prompt]);
        compare('prompt_embeds.cond', cond.embeds, ref.float32('prompt_embeds.cond'));
        if (cfg) {
          assert.deepEqual(tokenizer.encodeForModel(run.negative!).inputIds, [...ref.int64('input_ids.uncond')].map(Number));
          compare('prompt_embeds.uncond', (await pipe.encodePrompts([run.negative!])).embeds, ref.float32('prompt_embeds.uncond'));
        }
      });

      test('guided noise prediction at every step (from the reference latents)', async () => {
        const embeds = cfg ? [ref.float32('prompt_embeds.uncond'), ref.float32('prompt_embeds.cond')] : [ref.float32('prompt_embeds.cond')];
        const joined = new Float32Array(embeds.reduce((s, e) => s + e.length, 0));
        embeds.forEach((e, i) => joined.set(e, i * e.length));
        const timesteps = [...ref.int64('timesteps')].map(Number);
        for (const [i, t] of timesteps.entries()) {
          const x = ref.float32(`step${i}.latents_in`);
          const input = cfg ? Float32Array.from([...x, ...x]) : x;
          const out = await pipe.predictNoise(input, embeds.length, 32, 32, t, { embeds: joined, dims: [embeds.length, 77, 32] });
          const eps = cfg ? guide(out, run.guidance) : out;
          compareRelative(`step${i}.noise_pred`, eps, ref.float32(`step${i}.noise_pred`));
        }
      });

      test('the whole run: per-step latents, final latents, decoded image, pixels', async () => {
        const seen: Float32Array[] = [];
        const result = await txt2img(pipe, {
          prompt: run.prompt,
          negativePrompt: run.negative,
          guidanceScale: run.guidance,
          steps: run.steps,
          scheduler: run.scheduler,
          eta: run.eta,
          seed: run.seed,
          width: 64,
          height: 64,
          onStep: ({ latents }) => void seen.push(latents),
        });
        assert.deepEqual(result.timesteps, [...ref.int64('timesteps')].map(Number));
        // diffusers' prepare_latents: the first draw of the seeded CPU generator, bit for bit.
        assert.deepEqual(new TorchGenerator(run.seed).randn([1, 4, 32, 32]), ref.float32('step0.latents_in'));
        for (let i = 1; i < run.steps; i++) compareRelative(`step${i}.latents_in`, seen[i - 1], ref.float32(`step${i}.latents_in`));
        compareRelative('final_latents', result.latents, ref.float32('final_latents'));
        const decodedRef = ref.float32('image.decoded');
        const pixelsRef = ref.raw('image.uint8_hwc');
        const image = result.images[0];
        let worst = 0;
        for (let i = 0; i < pixelsRef.length; i++) worst = Math.max(worst, Math.abs(image.pixels[i] - pixelsRef[i]));
        console.log(`  image.uint8_hwc: worst pixel difference ${worst} (decoded max ${Math.max(...decodedRef.map(Math.abs)).toFixed(2)})`);
        assert.ok(worst <= 1, `pixels differ by ${worst}`);
      });
    });
  }
});
