/**
 * One DMD2 batch against the reference's math (test/golden/dmd2-loss-parity.*, made by scripts/golden/dmd2_loss_torch.py
 * with diffusers' UNet in torch, restating tianweiy/DMD2's sd_guidance.py): the tiny-sd UNet as teacher, a random
 * generator LoRA, a random fake-score LoRA and a random classifier head; the golden's draws replayed through our
 * feeds (dmdFeeds asks for them in its own order) and our graph on onnxruntime.
 *
 * Checked: the four loss terms and both phases' losses within 2e-5 relative (float32 UNet passes on ORT vs torch);
 * the surrogate's gradient in the generator's sample, which must be g/(B·C·H·W), within 1e-4 of the largest value;
 * the generator LoRA's gradients (8 modules) and the fake score's LoRA and classifier gradients within 5e-3 of the
 * largest reference value per tensor. The GAN weights are set large (0.3, 0.7) so their terms move the gradients.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { grad } from '../../src/autodiff/index.js';
import { STUDENT_SLOT } from '../../src/distill/common/distill-graph.js';
import { loraTargets } from '../../src/distill/common/lora-targets.js';
import { dmdFeeds } from '../../src/distill/dmd/dmd-feeds.js';
import { buildDmdGraph, FAKE_SLOT } from '../../src/distill/dmd/dmd-graph.js';
import { PromptCache } from '../../src/distill/prompt-cache.js';
import { parseUNetConfig } from '../../src/models/unet/index.js';
import { splitLoraParams } from '../../src/nn/lora-weights.js';
import { loraParamName, loraScaleName } from '../../src/nn/lora-graph.js';
import { createGraph } from '../../src/ops/index.js';
import type { PromptEncoder } from '../../src/pipelines/prompt-encoding.js';
import { createScheduler } from '../../src/schedulers/index.js';
import type { TorchGenerator } from '../../src/util/torch-generator.js';
import { loadParams } from '../../src/weights/load-params.js';
import { SafetensorsFile } from '../../src/weights/index.js';
import { FileTensorSource, sourceShapes } from '../../src/weights/tensor-source.js';
import { runOrt } from '../helpers/model-parity.js';
import { sharedPath } from '../helpers/shared.js';

const golden = (name: string): string => fileURLToPath(new URL(`../golden/${name}`, import.meta.url));
const index = JSON.parse(readFileSync(golden('dmd2-loss-parity.json'), 'utf8'));
const file = SafetensorsFile.open(golden('dmd2-loss-parity.safetensors'));
const settings = index.settings;
const B: number = settings.batch;
const [C, H, W, TOKENS, WIDTH] = [4, 16, 16, 8, 32];
const schedule = createScheduler('ddim', { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 }).schedule;

/** The golden's draws in dmdFeeds' order: z, DM timesteps and noise, fake-score timesteps and noise, classifier timesteps and noises. */
function scriptedGenerator(): TorchGenerator {
  const noises = ['in.z', 'in.dm_noise', 'in.fake_noise', 'in.cls_noise_fake', 'in.cls_noise_real'].map((k) => file.float32(k));
  const timesteps: [number, number, number[]][] = [
    [20, 981, index.draws.t_dm],
    [0, 1000, index.draws.t_fake],
    [0, 1000, index.draws.t_cls],
  ];
  return {
    randn: (shape: readonly number[]) => {
      assert.deepEqual([...shape], [B, C, H, W]);
      return noises.shift()!;
    },
    randint: (low: number, high: number, shape: readonly number[]) => {
      const [lo, hi, values] = timesteps.shift()!;
      assert.deepEqual([low, high, [...shape]], [lo, hi, [B]]);
      return [...values];
    },
  } as unknown as TorchGenerator;
}

function goldenPrompts(): PromptCache {
  const cond = file.float32('in.cond');
  const uncond = file.float32('in.uncond');
  const per = TOKENS * WIDTH;
  const encoder = {
    async encode(prompts: readonly string[]) {
      const embeds = new Float32Array(prompts.length * per);
      prompts.forEach((p, i) =>
        embeds.set(p === '' ? uncond : cond.subarray(Number(p.split(' ')[1]) * per, (Number(p.split(' ')[1]) + 1) * per), i * per),
      );
      return { embeds, dims: [prompts.length, TOKENS, WIDTH] as [number, number, number], truncated: [] };
    },
  };
  return new PromptCache(encoder as unknown as PromptEncoder);
}

/** Our classifier's parameter name for the golden's torch module name (Sequential(conv, GroupNorm, SiLU) per block). */
const headName = (torchName: string): string =>
  `dmd_classifier.${torchName.replace(/^(down0|last)\.0\./, '$1.conv.').replace(/^(down0|last)\.1\./, '$1.norm.')}`;

function relativeMaxDiff(ours: Float32Array, reference: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < reference.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i] - reference[i]));
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  return diff / scale;
}

describe('DMD2 parity with the reference on tiny-sd', () => {
  test('losses, the distribution-matching gradient in x, and every phase gradient', async () => {
    const source = FileTensorSource.open(sharedPath('fixtures', 'tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors'));
    const targets = loraTargets(sourceShapes(source));
    const graph = createGraph();
    const dg = buildDmdGraph(graph, {
      unet: parseUNetConfig(JSON.parse(readFileSync(sharedPath('fixtures', 'tiny-sd', 'unet', 'config.json'), 'utf8'))),
      batch: B,
      latentShape: [C, H, W],
      textShape: [TOKENS, WIDTH],
      loraTargets: targets,
      rank: settings.gen_rank,
      alpha: settings.gen_alpha,
      fakeRank: settings.fake_rank,
      fakeAlpha: settings.fake_alpha,
      weights: { dm: 1, gen: settings.w_gen, disc: settings.w_disc },
    });
    const weights = loadParams(
      source,
      splitLoraParams(graph.params).base.filter((p) => !dg.classifierParams.includes(p)),
      'unet',
    ).weights;
    for (const key of targets.keys())
      for (const part of ['down', 'up'] as const) {
        weights.set(loraParamName(STUDENT_SLOT, key, part), file.float32(`lora.gen.${key}.${part}`));
        weights.set(loraParamName(FAKE_SLOT, key, part), file.float32(`lora.fake.${key}.${part}`));
      }
    for (const torchName of index.head_params as string[]) weights.set(headName(torchName), file.float32(`head.${torchName}`));
    assert.deepEqual(dg.classifierParams.map((p) => p.name).sort(), (index.head_params as string[]).map(headName).sort());

    const one = { dtype: 'float32' as const, dims: [], data: Float32Array.of(1) };
    const feeds = await dmdFeeds(Array.from({ length: B }, (_, i) => ({ caption: `caption ${i}` })) as never, scriptedGenerator(), {
      batch: B,
      latentShape: [C, H, W],
      schedule,
      predictionType: 'epsilon',
      generatorInput: async (z) => ({ timestep: settings.generator_timestep, input: z }),
      dmTimesteps: [20, 980],
      realGuidance: settings.real_guidance,
      prompts: goldenPrompts(),
      latents: async () => file.float32('in.real'),
      constantFeeds: () => ({ [loraScaleName(STUDENT_SLOT)]: one, [loraScaleName(FAKE_SLOT)]: one }),
    });
    const fakeParams = [...dg.fake.params, ...dg.classifierParams];
    const genGrads = grad(dg.generatorLoss, dg.student.params);
    const fakeGrads = grad(dg.fakeLoss, fakeParams);
    const [dmGradX] = grad(dg.terms.dm, [dg.generated]);
    const t = dg.terms;
    const values = await runOrt(
      graph,
      [t.dm, t.gen, t.fake, t.disc, dg.generatorLoss, dg.fakeLoss, dg.generated, dmGradX, ...genGrads, ...fakeGrads],
      weights,
      feeds,
    );
    const [dm, gen, denoising, disc, generatorLoss, fakeLoss, generated, gradX] = values;
    const reference = index.losses;
    for (const [name, ours, ref] of [
      ['dm', dm[0], reference.dm],
      ['gan_gen', gen[0], reference.gan_gen],
      ['denoising', denoising[0], reference.denoising],
      ['gan_disc', disc[0], reference.gan_disc],
      ['generator', generatorLoss[0], reference.generator],
      ['fake', fakeLoss[0], reference.fake],
    ] as const) {
      const rel = Math.abs(ours - ref) / Math.abs(ref);
      console.log(`# ${name}: ours ${ours} reference ${ref} (relative ${rel.toExponential(2)})`);
      assert.ok(rel < 2e-5, `${name}: ${ours} vs ${ref}`);
    }
    assert.ok(relativeMaxDiff(generated, file.float32('out.x')) < 1e-4, 'the generator sample');
    const xGrad = relativeMaxDiff(gradX, file.float32('out.dm_grad_x'));
    console.log(`# dm gradient in x: relative ${xGrad.toExponential(2)}`);
    assert.ok(xGrad < 1e-4);

    const ours = new Map<string, Float32Array>();
    dg.student.params.forEach((p, i) => ours.set(p.name!.replace(`lora.${STUDENT_SLOT}.`, 'grad.gen.'), values[8 + i]));
    fakeParams.forEach((p, i) => ours.set(p.name!.replace(`lora.${FAKE_SLOT}.`, 'grad.fake.'), values[8 + genGrads.length + i]));
    for (const torchName of index.head_params as string[]) ours.set(`grad.head.${torchName}`, ours.get(headName(torchName))!);
    const checked = [...file.tensors.keys()].filter((k) => k.startsWith('grad.'));
    assert.equal(checked.length, 2 * 2 * index.grad_modules.length + index.head_params.length);
    let worst = 0;
    for (const key of checked) {
      const diff = relativeMaxDiff(ours.get(key)!, file.float32(key));
      worst = Math.max(worst, diff);
      assert.ok(diff < 5e-3, `${key}: ${diff}`);
    }
    console.log(`# gradients: worst relative difference ${worst.toExponential(2)} over ${checked.length} tensors`);
  });
});
