/**
 * DMD2's backward simulation: the generator's timesteps, the simulated input against a hand computation (the step
 * drawn once per batch, pure noise at the first step, x0 re-noised with the batch's noise at later ones), and the
 * simulation session: teacher + fed student LoRA gives what the pipeline gives with that LoRA fused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loraTargets } from '../../src/distill/common/lora-targets.js';
import { GeneratorSession, generatorTimesteps, simulateGeneratorInput } from '../../src/distill/dmd/backward-simulation.js';
import { loraModules } from '../../src/distill/lora-output.js';
import { StableDiffusionPipeline } from '../../src/pipelines/pipeline.js';
import { baseDefaults, ddpmNoiseDefaults } from '../../src/schedulers/config.js';
import { makeNoiseSchedule } from '../../src/schedulers/noise-schedule.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';
import { writeLora } from '../../src/weights/lora/export.js';
import { sourceShapes } from '../../src/weights/tensor-source.js';
import { assertAllClose } from '../helpers/assert-close.js';
import { sharedPath } from '../helpers/shared.js';

describe('DMD2 backward simulation', () => {
  test('timesteps: 1 step at the given one, 4 at 999/749/499/249 as the reference', () => {
    assert.deepEqual(generatorTimesteps(1, 399, 1000), [399]);
    assert.deepEqual(generatorTimesteps(4, 399, 1000), [999, 749, 499, 249]);
    assert.deepEqual(generatorTimesteps(2, 399, 1000), [999, 499]);
  });

  test('the simulated input is the k-step rollout re-noised with the batch noise (k = 0: the noise itself)', async () => {
    const schedule = makeNoiseSchedule({
      ...ddpmNoiseDefaults,
      ...baseDefaults,
      beta_start: 0.00085,
      beta_end: 0.012,
      beta_schedule: 'scaled_linear',
    });
    const shape = [2, 1, 2, 2];
    const timesteps = [999, 749, 499, 249];
    // A stand-in generator whose prediction is a known function of (x, t).
    const predict = async (x: Float32Array, t: number) => x.map((v, i) => 0.5 * v + t / 1000 + i * 0.01);
    const seen = new Set<number>();
    for (let seed = 0; seen.size < timesteps.length && seed < 200; seed++) {
      const z = new TorchGenerator(1000 + seed).randn(shape);
      const calls: number[] = [];
      const got = await simulateGeneratorInput(z, new TorchGenerator(seed), {
        timesteps,
        schedule,
        predictionType: 'epsilon',
        batchShape: shape,
        predict: (x, t) => (calls.push(t), predict(x, t)),
      });
      // By hand from the same draws: k, the starting noise, one noise per re-noising.
      const rng = new TorchGenerator(seed);
      const k = Number(rng.randint(0, 4, [1])[0]);
      seen.add(k);
      assert.equal(got.timestep, timesteps[k]);
      assert.deepEqual(calls, timesteps.slice(0, k));
      if (k === 0) {
        assert.equal(got.input, z);
        continue;
      }
      const ab = (t: number) => schedule.alphaBar(t);
      let x = rng.randn(shape);
      let x0 = x;
      for (let j = 0; j < k; j++) {
        const eps = await predict(x, timesteps[j]);
        x0 = x.map((v, i) => (v - Math.sqrt(1 - ab(timesteps[j])) * eps[i]) / Math.sqrt(ab(timesteps[j])));
        if (j + 1 < k) {
          const n = rng.randn(shape);
          x = x0.map((v, i) => Math.sqrt(ab(timesteps[j + 1])) * v + Math.sqrt(1 - ab(timesteps[j + 1])) * n[i]);
        }
      }
      const want = x0.map((v, i) => Math.sqrt(ab(timesteps[k])) * v + Math.sqrt(1 - ab(timesteps[k])) * z[i]);
      assertAllClose(got.input, want, { atol: 1e-5, rtol: 1e-5 }, `k=${k}`);
    }
    assert.equal(seen.size, 4, 'every step index drawn over the seeds');
  });

  test('the simulation session equals the pipeline with the same LoRA fused', async () => {
    const pipe = await StableDiffusionPipeline.load(sharedPath('fixtures', 'tiny-sd'));
    const dir = mkdtempSync(join(tmpdir(), 'tdd-backsim-'));
    try {
      const unet = pipe.components.unet;
      const [n, side] = [2, 8];
      const latentShape = [unet.config.in_channels, side, side] as const;
      const cond = await pipe.encodePrompts(['a red apple', 'a smiling face']);
      const [, tokens, width] = cond.dims;
      const session = await GeneratorSession.create(
        {
          unet: unet.config,
          batch: n,
          latentShape,
          textShape: [tokens, width],
          loraTargets: loraTargets(sourceShapes(unet.source)),
          rank: 4,
          alpha: 2,
        },
        unet.source,
      );
      try {
        // Both LoRA factors non-zero, so the update is in the output.
        const rng = new TorchGenerator(7);
        const values = new Map(session.student.params.map((p) => [p.name!, rng.randn([...p.shape]).map((v) => 0.1 * v)]));
        const lora = Object.fromEntries(
          session.student.params.map((p) => [p.name!, { dtype: 'float32' as const, dims: [...p.shape], data: values.get(p.name!)! }]),
        );
        const x = rng.randn([n, ...latentShape]);
        const got = await session.predict(x, 749, {
          cond: { dtype: 'float32', dims: [n, tokens, width], data: cond.embeds },
          ...lora,
        });
        const file = join(dir, 'lora.safetensors');
        writeLora(file, loraModules(session.student, values), 'kohya');
        await pipe.loras.load(file);
        const want = await pipe.predictNoise(x, n, side, side, 749, cond);
        const before = await (async () => {
          await pipe.loras.unloadAll();
          return pipe.predictNoise(x, n, side, side, 749, cond);
        })();
        assert.ok(
          want.some((v, i) => Math.abs(v - before[i]) > 1e-3),
          'the LoRA changes the prediction',
        );
        assertAllClose(got, want, { atol: 2e-5, rtol: 1e-4 }, 'generator prediction');
      } finally {
        await session.release();
      }
    } finally {
      await pipe.release();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
