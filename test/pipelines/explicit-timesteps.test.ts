/**
 * Explicit timesteps (diffusers' `timesteps=`): the pipelines sample exactly where they are told, a plan given as
 * timesteps equals the scheduler's own plan, img2img's strength cuts them as it cuts a plan, and samplers without
 * them, counts that disagree with `steps` and unordered lists are clear errors. On the tiny fixture.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GenerationError } from '../../src/pipelines/generation.js';
import { img2img } from '../../src/pipelines/img2img.js';
import { StableDiffusionPipeline } from '../../src/pipelines/pipeline.js';
import { txt2img } from '../../src/pipelines/txt2img.js';
import { createScheduler } from '../../src/schedulers/index.js';
import { fixture } from '../helpers/model-parity.js';

const base = { prompt: 'a photo of a cat', guidanceScale: 1, seed: 5 };

describe('explicit timesteps', () => {
  let pipe: StableDiffusionPipeline;
  before(async () => {
    pipe = await StableDiffusionPipeline.load(fixture('tiny-sd'));
  });
  after(() => pipe.release());

  test("the scheduler's own plan given as timesteps samples the same latents", async () => {
    const own = await txt2img(pipe, { ...base, scheduler: 'lcm', steps: 4 });
    const given = await txt2img(pipe, { ...base, scheduler: 'lcm', timesteps: own.timesteps });
    assert.deepEqual(given.timesteps, own.timesteps);
    assert.deepEqual(given.latents, own.latents);
  });

  test('other timesteps are used as given, and change the sample', async () => {
    const own = await txt2img(pipe, { ...base, scheduler: 'tcd', eta: 0, steps: 4 });
    const phaseEnds = await txt2img(pipe, { ...base, scheduler: 'tcd', eta: 0, timesteps: [999, 747, 499, 247] });
    assert.deepEqual(phaseEnds.timesteps, [999, 747, 499, 247]);
    assert.deepEqual(phaseEnds.images[0].parameters.timesteps, [999, 747, 499, 247]);
    assert.notDeepEqual(phaseEnds.latents, own.latents);
  });

  test("img2img's strength keeps the last ⌊n·strength⌋ of the given timesteps", async () => {
    const image = { pixels: new Uint8Array(3 * 64 * 64).fill(90), width: 64, height: 64 };
    const result = await img2img(pipe, { ...base, scheduler: 'tcd', eta: 0, timesteps: [999, 747, 499, 247], strength: 0.5, image });
    assert.deepEqual(result.timesteps, [499, 247]);
  });

  test('a sampler without explicit timesteps, a count that disagrees with steps, an unordered list: clear errors', async () => {
    await assert.rejects(
      txt2img(pipe, { ...base, scheduler: 'tdd', timesteps: [999, 499] }),
      (e: Error) => e instanceof GenerationError && /timesteps: tdd: setTimesteps option `timesteps` is not supported/.test(e.message),
    );
    await assert.rejects(
      txt2img(pipe, { ...base, scheduler: 'tcd', steps: 3, timesteps: [999, 499] }),
      /steps \(3\) and timesteps \(2 of them\) disagree/,
    );
    await assert.rejects(
      txt2img(pipe, { ...base, scheduler: 'tcd', timesteps: [499, 999] }),
      /timesteps: tcd: timesteps must be strictly descending/,
    );
    assert.ok(createScheduler('dmd', {}).setTimesteps(2, { timesteps: [999, 499] })); // dmd takes them too
  });
});
