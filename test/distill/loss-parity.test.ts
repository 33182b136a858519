/**
 * One distillation batch end to end against the reference training scripts' math (issue 26): the golden
 * (test/golden/tdd-loss-parity.*, made by scripts/golden/tdd_loss_torch.py with diffusers' UNet in torch) holds
 * the inputs, every random choice and the loss of RedAIGC/Target-Driven-Distillation's train/SD15/train_tdd.py
 * (and of diffusers' LCM-LoRA script, of PCM's train_pcm_lora_sd15.py, and of simpleCTM as src/distill/method.ts
 * defines it: PCM's baseline has no public code) on the fixtures' tiny-sd UNet with a random LoRA. Here the same batch goes
 * through our real step code — stepFeeds (caption drops, noising), planStep (grid index, w), the TDD method's
 * target selection (window, pick, γ offset), the coefficient folding, the one-graph step (student, CFG teacher,
 * DDIM move, stop-gradient target, loss) on onnxruntime — with the golden's draws replayed in our draw order.
 *
 * Tolerance: the selected timesteps, windows and dropped captions exactly; x_t within 1e-6·max|x_t| (host float
 * arithmetic); the losses within 2e-5 relative (three float32 UNet passes on ORT vs torch, reduced over 4,096
 * elements; measured ≤ 2e-6, printed). Leaving out the γ offset or the empty prompt moves the reference loss by
 * 64 % and 0.9 %, so those pieces are pinned; applying c_skip/c_out to TDD's outputs would move it by only
 * 3e-6 (c_skip(t) ≈ 0 for every t ≥ 3 at timestep scaling 10), so that one cannot be told apart by any loss.
 * Gradients w.r.t. the LoRA (8 modules' down/up) within 5e-3 of the reference's (max |diff| relative to max
 * |ref| per tensor; measured ≤ 6.2e-4: the pseudo-Huber derivative d/√(d² + c²) with c = 0.001 amplifies float32
 * differences), the global norm over all within 1e-3 (measured 2e-7). They pin the stop-gradient on the target,
 * which a loss value cannot: differentiating the target too changes them by ~100 %.
 *
 * PCM: the reference keeps x_prev as the target of a sample whose grid index starts a phase (c_skip 1). With the
 * teacher's step ending on the grid predecessor, that target already sits on its phase end, and the DDIM move to
 * the level it is at is the identity: keeping or moving it differs by float rounding only (the golden measures
 * 1.4e-7 relative on the 25-phase loss), so that branch is followed but cannot be pinned by a loss.
 *
 * PCM's adversarial loss: the golden restates discriminator_sd15.py (4 heads on every down/mid/up block output of
 * the teacher UNet, hinge losses) with random heads, the 4-phase outputs re-noised from their phase end to a drawn
 * timestep (noise_travel); ours gets the same heads, timesteps and noise. Both losses agree to float32 rounding
 * (swapping the two noises moves the discriminator loss by 0.56 %, so the match is not vacuous).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { grad } from '../../src/autodiff/index.js';
import { buildDistillGraph, distillInputs, STUDENT_SLOT } from '../../src/distill/common/distill-graph.js';
import { adversarialColumns } from '../../src/distill/method-table.js';
import { DdimSolver } from '../../src/distill/common/ddim-solver.js';
import type { DistillLossType } from '../../src/distill/common/losses.js';
import { loraTargets } from '../../src/distill/common/lora-targets.js';
import { lcmMethod, pcmMethod, simpleCtmMethod, tcdMethod, tddMethod, type DistillMethod } from '../../src/distill/method.js';
import { PromptCache } from '../../src/distill/prompt-cache.js';
import { stepFeeds } from '../../src/distill/step-feeds.js';
import { mergedTimesteps } from '../../src/distill/common/target-selection.js';
import { splitLoraParams } from '../../src/nn/lora-weights.js';
import { loraParamName } from '../../src/nn/lora-graph.js';
import { createGraph } from '../../src/ops/index.js';
import type { PromptEncoder } from '../../src/pipelines/prompt-encoding.js';
import { parseUNetConfig } from '../../src/models/unet/index.js';
import { createScheduler } from '../../src/schedulers/index.js';
import type { TorchGenerator } from '../../src/util/torch-generator.js';
import { loadParams } from '../../src/weights/load-params.js';
import { SafetensorsFile } from '../../src/weights/index.js';
import { FileTensorSource, sourceShapes } from '../../src/weights/tensor-source.js';
import { runOrt } from '../helpers/model-parity.js';
import { sharedPath } from '../helpers/shared.js';

const golden = (file: string): string => fileURLToPath(new URL(`../golden/${file}`, import.meta.url));
const index = JSON.parse(readFileSync(golden('tdd-loss-parity.json'), 'utf8'));
const file = SafetensorsFile.open(golden('tdd-loss-parity.safetensors'));
const unetConfig = JSON.parse(readFileSync(sharedPath('fixtures', 'tiny-sd', 'unet', 'config.json'), 'utf8'));
const schedule = createScheduler('ddim', {
  num_train_timesteps: 1000,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  beta_end: 0.012,
}).schedule;
const solver = new DdimSolver(schedule, index.num_ddim_timesteps);
const B: number = index.batch;
const [C, H, W] = index.latent_shape as [number, number, number];
const TOKENS: number = index.tokens;
const WIDTH = 32;
const LOSS_TOLERANCE = 2e-5;
const GRAD_TOLERANCE = 5e-3;

/**
 * Replays the golden's draws in the order our step code asks for them: caption drops (rand B), noise (randn),
 * grid index (randint B), w (rand B), then TDD's per-sample window pick (randint 1, checked against the golden's
 * window size) and offsets (rand B).
 */
function scriptedGenerator(choice: MethodChoice): TorchGenerator {
  const d = index.draws;
  // After the grid index, TDD's randint draws are its window picks; simpleCTM's are its picks among t' and below.
  const ctm = choice === 'simplectm' || choice === 'tcd';
  const picks: number[] = ctm ? d.simplectm_picks : d.picks;
  const sizes: number[] = ctm ? (d.index as number[]).map((i) => i + 1) : d.window_sizes;
  const rands: Float32Array[] = [Float32Array.from(d.drop_u), Float32Array.from(d.w_u), Float32Array.from(d.offset_u)];
  let pick = 0;
  let indexDrawn = false;
  const fake = {
    rand: (shape: readonly number[]) => {
      assert.deepEqual([...shape], [B]);
      const next = rands.shift();
      assert.ok(next, 'more rand draws than the reference made');
      return next;
    },
    randn: (shape: readonly number[]) => {
      assert.deepEqual([...shape], [B, C, H, W]);
      return file.float32('in.noise');
    },
    randint: (low: number, high: number, shape: readonly number[]) => {
      assert.equal(low, 0);
      if (!indexDrawn) {
        indexDrawn = true;
        assert.equal(high, solver.count);
        assert.deepEqual([...shape], [B]);
        return [...d.index];
      }
      assert.equal(high, sizes[pick], `sample ${pick}: our target window has ${high} candidates, the reference's ${sizes[pick]}`);
      return [picks[pick++]];
    },
  };
  return fake as unknown as TorchGenerator;
}

/** Prompt encoder that knows the golden's caption states ('caption i') and the empty prompt. */
function goldenPrompts(): PromptCache {
  const captions = file.float32('in.caption_states');
  const empty = file.float32('in.empty_states');
  const per = TOKENS * WIDTH;
  const encoder = {
    async encode(prompts: readonly string[]) {
      const embeds = new Float32Array(prompts.length * per);
      prompts.forEach((p, i) =>
        embeds.set(p === '' ? empty : captions.subarray(Number(p.split(' ')[1]) * per, (Number(p.split(' ')[1]) + 1) * per), i * per),
      );
      return { embeds, dims: [prompts.length, TOKENS, WIDTH] as [number, number, number], truncated: [] };
    },
  };
  return new PromptCache(encoder as unknown as PromptEncoder);
}

type MethodChoice = 'tdd' | 'lcm' | 'simplectm' | 'tcd' | { pcmPhases: number };

function method(choice: MethodChoice): DistillMethod {
  if (choice === 'tdd') return tddMethod(solver, schedule, { kMin: index.k_min, kMax: index.k_max, sRatio: index.s_ratio });
  if (choice === 'simplectm') return simpleCtmMethod(solver, schedule);
  if (choice === 'tcd') return tcdMethod(solver, schedule);
  return choice === 'lcm' ? lcmMethod() : pcmMethod(solver, choice.pcmPhases);
}

async function ourLoss(name: MethodChoice, loss: DistillLossType, withGradients = false, adversarial = false) {
  const source = FileTensorSource.open(sharedPath('fixtures', 'tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors'));
  const targets = loraTargets(sourceShapes(source));
  assert.deepEqual([...targets.keys()], index.lora_targets, 'LoRA target weights differ from the reference module list');
  const graph = createGraph();
  const dg = buildDistillGraph(graph, {
    unet: parseUNetConfig(unetConfig),
    batch: B,
    latentShape: [C, H, W],
    textShape: [TOKENS, WIDTH],
    loraTargets: targets,
    rank: index.rank,
    alpha: index.alpha,
    loss: { type: loss, huberC: index.huber_c },
    adversarial,
  });
  const heads = (p: { name?: string }) => p.name!.startsWith('discriminator.');
  const weights = loadParams(
    source,
    splitLoraParams(graph.params).base.filter((p) => !heads(p)),
    'unet',
  ).weights;
  for (const p of graph.params.filter(heads)) weights.set(p.name!, file.float32(p.name!));
  for (const key of targets.keys()) {
    for (const part of ['down', 'up'] as const) weights.set(loraParamName(STUDENT_SLOT, key, part), file.float32(`lora.${key}.${part}`));
  }
  const records = Array.from({ length: B }, (_, i) => ({ caption: `caption ${i}` }));
  const prepared = await stepFeeds(records as never, scriptedGenerator(name), {
    solver,
    schedule,
    predictionType: 'epsilon',
    wMin: index.w_min,
    wMax: index.w_max,
    method: method(name),
    batch: B,
    latentShape: [C, H, W],
    proportionEmptyPrompts: index.proportion_empty_prompts,
    prompts: goldenPrompts(),
    latents: async () => file.float32('in.x0'),
    constantFeeds: () => ({ [`lora_scale.${STUDENT_SLOT}`]: { dtype: 'float32', dims: [], data: Float32Array.of(1) } }),
  });
  const feeds = { ...prepared.feeds };
  if (adversarial) {
    const adv = index.pcm_adversarial;
    Object.assign(feeds, adversarialColumns(adv.end, adv.timestep, schedule), {
      [distillInputs.adversarial.noiseFake]: { dtype: 'float32', dims: [B, C, H, W], data: file.float32('in.adv_noise_fake') },
      [distillInputs.adversarial.noiseReal]: { dtype: 'float32', dims: [B, C, H, W], data: file.float32('in.adv_noise_real') },
    });
  }
  // The LoRA arrays are initializers here (weights), so they are not fed.
  const grads = withGradients ? grad(dg.loss, dg.trainable) : [];
  const advOutputs = dg.adversarial ? [dg.adversarial.discriminator, dg.adversarial.generator] : [];
  const [value, ...rest] = await runOrt(graph, [dg.loss, ...advOutputs, ...grads], weights, feeds);
  const gradValues = rest.slice(advOutputs.length);
  const gradients = new Map(dg.trainable.map((p, i) => [p.name!.replace(`lora.${STUDENT_SLOT}.`, 'lora.'), gradValues[i]]));
  const [discriminator, generator] = rest.slice(0, advOutputs.length).map((v) => v[0]);
  return { loss: value[0], prepared, gradients, discriminator, generator };
}

function assertClose(name: string, ours: number, reference: number, tol: number): void {
  const rel = Math.abs(ours - reference) / Math.abs(reference);
  console.log(
    `  ${name}: ours ${ours.toPrecision(8)}, reference ${reference.toPrecision(8)}, relative gap ${rel.toExponential(2)} (tolerance ${tol})`,
  );
  assert.ok(rel <= tol, `${name}: ours ${ours} vs reference ${reference} (relative ${rel})`);
}

describe('distillation loss parity with the reference training scripts (test/golden/tdd-loss-parity)', () => {
  test('merged schedule and timesteps: ours equal the reference', () => {
    assert.deepEqual(mergedTimesteps(solver, index.k_min, index.k_max), index.merged_timesteps);
    assert.deepEqual(
      index.draws.index.map((i: number) => solver.timesteps[i]),
      index.timesteps.source,
    );
    assert.deepEqual(
      index.draws.index.map((i: number) => solver.sourceTimestep(i)),
      index.timesteps.target,
    );
  });

  test('TDD, pseudo-Huber: target selection, γ offset, empty prompts, noising and the loss', async () => {
    const { loss, prepared } = await ourLoss('tdd', 'huber');
    assert.deepEqual(prepared.plan.selected, index.timesteps.s, 'selected target timesteps s');
    assert.equal(prepared.emptied, index.draws.dropped.filter(Boolean).length, 'emptied captions');
    const noisy = prepared.feeds[distillInputs.noisy].data as Float32Array;
    const ref = file.float32('out.noisy');
    const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const maxDiff = ref.reduce((m, v, i) => Math.max(m, Math.abs(v - noisy[i])), 0);
    assert.ok(maxDiff <= 1e-6 * maxRef, `x_t: max |diff| ${maxDiff}`);
    const guidance = prepared.feeds.guidance.data as Float32Array;
    index.draws.w.forEach((w: number, b: number) => assert.ok(Math.abs(guidance[b] - w) <= 1e-6 * w, `w of sample ${b}`));
    assertClose('TDD huber loss', loss, index.losses.tdd_huber, LOSS_TOLERANCE);
    // The comparison can tell the pieces apart: each alternative moves the loss far more than the tolerance.
    for (const [name, value] of Object.entries(index.sensitivity_tdd_huber as Record<string, number>)) {
      const rel = Math.abs(value - index.losses.tdd_huber) / index.losses.tdd_huber;
      console.log(`  reference with ${name}: ${value.toPrecision(6)} (${rel.toExponential(2)} away)`);
      if (name !== 'with_boundary_scalings') assert.ok(rel > 10 * LOSS_TOLERANCE, `${name} must be distinguishable`);
    }
  });

  test("TDD, pseudo-Huber: gradients w.r.t. the LoRA (stop-gradient on the target, as the reference's no_grad)", async () => {
    const { gradients } = await ourLoss('tdd', 'huber', true);
    let squares = 0;
    for (const g of gradients.values()) for (const v of g) squares += v * v;
    const norm = Math.sqrt(squares);
    assertClose('global gradient norm', norm, index.tdd_huber_grad.global_norm, 1e-3);
    let worst = 0;
    for (const key of index.tdd_huber_grad.keys as string[]) {
      const ours = gradients.get(key);
      assert.ok(ours, `no gradient for ${key} (ours: ${[...gradients.keys()].slice(0, 3).join(', ')})`);
      const ref = file.float32(`grad.${key}`);
      const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const maxDiff = ref.reduce((m, v, i) => Math.max(m, Math.abs(v - ours[i])), 0);
      worst = Math.max(worst, maxDiff / maxRef);
      assert.ok(maxDiff <= GRAD_TOLERANCE * maxRef, `${key}: max |diff| ${maxDiff} vs max |ref| ${maxRef}`);
    }
    // Differentiating the target too would move them by ~100 %: the stop-gradient is pinned.
    assert.ok(index.tdd_huber_grad.max_relative_change_without_stop_gradient > 20 * GRAD_TOLERANCE);
    console.log(
      `  ${index.tdd_huber_grad.keys.length} gradient tensors: worst max|diff| / max|ref| ${worst.toExponential(2)} (tolerance ${GRAD_TOLERANCE})`,
    );
  });

  test('TDD, L2 loss', async () => {
    assertClose('TDD L2 loss', (await ourLoss('tdd', 'l2')).loss, index.losses.tdd_l2, LOSS_TOLERANCE);
  });

  test('LCM (boundary scalings c_skip/c_out), pseudo-Huber', async () => {
    assertClose('LCM huber loss', (await ourLoss('lcm', 'huber')).loss, index.losses.lcm_huber, LOSS_TOLERANCE);
  });

  test('PCM, 4 and 25 phases: each sample moved to the end of its phase; pseudo-Huber and L2', async () => {
    for (const [phases, key] of [
      [4, 'pcm_huber'],
      [25, 'pcm25_huber'],
    ] as const) {
      const huber = await ourLoss({ pcmPhases: phases }, 'huber');
      const ends = (index.pcm[String(phases)].sample_phase_start as number[]).map((start) => solver.timestepsPrev[start]);
      assert.deepEqual(huber.prepared.plan.selected, ends, `${phases} phases: phase ends`);
      assertClose(`PCM ${phases} phases huber loss`, huber.loss, index.losses[key], LOSS_TOLERANCE);
    }
    assertClose('PCM L2 loss', (await ourLoss({ pcmPhases: 4 }, 'l2')).loss, index.losses.pcm_l2, LOSS_TOLERANCE);
  });

  test('PCM adversarial loss (4 phases): the discriminator heads on the teacher features, both hinge losses', async () => {
    const ours = await ourLoss({ pcmPhases: 4 }, 'huber', false, true);
    assert.deepEqual(ours.prepared.plan.selected, index.pcm_adversarial.end);
    assertClose('PCM consistency loss with the discriminator in the graph', ours.loss, index.losses.pcm_huber, LOSS_TOLERANCE);
    assertClose('discriminator hinge loss', ours.discriminator!, index.losses.pcm_adv_discriminator, LOSS_TOLERANCE);
    assertClose('generator hinge loss', ours.generator!, index.losses.pcm_adv_generator, LOSS_TOLERANCE);
  });

  test('simpleCTM: s drawn among 0 and the grid below t′, both outputs moved there; pseudo-Huber', async () => {
    const ours = await ourLoss('simplectm', 'huber');
    assert.deepEqual(ours.prepared.plan.selected, index.timesteps.simplectm_s);
    assertClose('simpleCTM huber loss', ours.loss, index.losses.simplectm_huber, LOSS_TOLERANCE);
  });

  test("TCD: the same draw and mapping (its first-order consistency function to an end at or below t′, as the public reimplementation's train_tcd_distill_lora_sd.py)", async () => {
    const ours = await ourLoss('tcd', 'huber');
    assert.deepEqual(ours.prepared.plan.selected, index.timesteps.simplectm_s);
    assertClose('TCD huber loss', ours.loss, index.losses.simplectm_huber, LOSS_TOLERANCE);
  });
});
