/**
 * `distill` end to end on the tiny SD fixture with a generated shapes dataset: the loss falls over 200 steps,
 * the written LoRA loads in our pipeline with every module matched and changes its images, key names follow
 * the reference (lora_unet_…, alpha), a resumed run repeats the uninterrupted run's losses, and a diverging
 * run stops with a message naming the last good checkpoint.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listCheckpoints } from '../../src/train/checkpoint.js';
import type { DistillConfigInput } from '../../src/distill/config.js';
import { distill, DistillError } from '../../src/distill/trainer.js';
import { loadPipeline } from '../../src/pipelines/pipeline.js';
import { txt2img } from '../../src/pipelines/txt2img.js';
import { SafetensorsFile } from '../../src/weights/safetensors.js';
import { sharedPath } from '../helpers/shared.js';
import { writeToyDataset } from './toy-dataset.js';

const teacher = sharedPath('fixtures', 'tiny-sd');
let root: string;
let data: string;

const base = () => ({ teacher, data, batch: 4, rank: 8, lr: 1e-3, validationPrompts: ['a red square'], validationSteps: [2, 4] });
/** Runs `settings` into `out`, stops it after optimizer step `step` (a checkpoint is written), then resumes it. */
async function resumeAfterInterrupting(settings: Omit<DistillConfigInput, 'out'>, out: string, step: number) {
  const controller = new AbortController();
  await distill({ ...settings, out }, { onStep: (e) => e.step === step && controller.abort() }, controller.signal);
  return distill({ ...settings, out, resume: true });
}

/** Plain 2-phase PCM, 2 steps at batch 2: run once, by the PCM test, and compared with by the switched-off discriminator. */
const plainPcmSettings = () => ({
  ...base(),
  batch: 2,
  method: 'pcm' as const,
  pcmPhases: 2,
  steps: 2,
  checkpointEvery: 1,
  validationPrompts: [],
});
let plainPcm: ReturnType<typeof distill> | undefined;
const plainPcmRun = () => (plainPcm ??= distill({ ...plainPcmSettings(), out: join(root, 'pcm-full') }));

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('tdd distill on tiny-sd', () => {
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'tdd-distill-'));
    data = join(root, 'data');
    await writeToyDataset(data);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('200 TDD steps: loss falls; the kohya LoRA loads with every module matched and changes the images', async () => {
    const out = join(root, 'run');
    const result = await distill({ ...base(), out, steps: 200, checkpointEvery: 100 });
    const losses = result.log.map((e) => e.loss);
    assert.equal(losses.length, 200);
    const [first, last] = [mean(losses.slice(0, 50)), mean(losses.slice(-50))];
    console.log(`# distill: mean loss steps 1–50 ${first.toFixed(5)} → 151–200 ${last.toFixed(5)}`);
    assert.ok(last < 0.85 * first, `loss should fall: ${first} → ${last}`);
    for (const f of ['log.jsonl', 'loss.png', 'config.json', 'validation/step-00000200.png']) assert.ok(existsSync(join(out, f)), f);
    assert.equal(readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').length, 200);
    assert.deepEqual(
      listCheckpoints(join(out, 'checkpoints')).map((c) => c.step),
      [100, 200],
    );

    const file = SafetensorsFile.open(result.lora!.kohya);
    const keys = [...file.tensors.keys()];
    assert.equal(file.metadata.tdd_method, 'tdd');
    assert.equal(file.metadata.ss_network_dim, '8');
    file.close();
    assert.ok(
      keys.every((k) => /^lora_unet_[a-z0-9_]+\.(lora_down\.weight|lora_up\.weight|alpha)$/.test(k)),
      keys.find((k) => !k.startsWith('lora_unet_')),
    );
    assert.ok(keys.includes('lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight'));
    assert.ok(keys.includes('lora_unet_up_blocks_0_resnets_0_conv1.alpha'));

    await using pipe = await loadPipeline(teacher);
    const request = { prompt: 'a red square', steps: 4, scheduler: 'tdd', guidanceScale: 1, seed: 5, width: 64, height: 64 };
    const before = (await txt2img(pipe, request)).images[0].pixels;
    for (const path of [result.lora!.kohya, result.lora!.peft]) {
      const loaded = await pipe.loras.load(path, { name: 'distilled' });
      const modules = keys.filter((k) => k.endsWith('.alpha')).length;
      const matched = loaded.matches.reduce((s, m) => s + m.matched.size, 0);
      assert.equal(matched, modules, `${path}: ${matched}/${modules} modules matched\n${loaded.report}`);
      const afterPixels = (await txt2img(pipe, request)).images[0].pixels;
      const changed = afterPixels.filter((v, i) => v !== before[i]).length;
      assert.ok(changed > afterPixels.length / 10, `the LoRA should change the image (${changed} bytes differ)`);
      await pipe.loras.unloadAll();
    }
  });

  test('an interrupted run resumed from its checkpoint repeats the uninterrupted run exactly', async () => {
    const settings = { ...base(), steps: 6, checkpointEvery: 2, validationPrompts: [], proportionEmptyPrompts: 0.5 };
    const full = await distill({ ...settings, out: join(root, 'full') });
    const out = join(root, 'interrupted');
    const controller = new AbortController();
    const stopped = await distill({ ...settings, out }, { onStep: (e) => e.step === 3 && controller.abort() }, controller.signal);
    assert.equal(stopped.interrupted, true);
    assert.equal(stopped.optimizerSteps, 3);
    assert.equal(stopped.lora, undefined);
    await assert.rejects(distill({ ...settings, out }), /--resume/);
    const resumed = await distill({ ...settings, out, resume: true });
    assert.deepEqual(
      resumed.log.map((e) => e.step),
      [1, 2, 3, 4, 5, 6],
    );
    assert.deepEqual(
      resumed.log.map((e) => e.loss),
      full.log.map((e) => e.loss),
    );
    await assert.rejects(distill({ ...settings, out, resume: true, lr: 5e-4 }), /settings differ \(lr: checkpoint 0.001, now 0.0005\)/);
  });

  test('simpleCTM: trains and resumes exactly (its target draws come from the checkpointed generator)', async () => {
    const settings = { ...base(), batch: 2, method: 'simplectm' as const, steps: 2, checkpointEvery: 1, validationPrompts: [] };
    const full = await distill({ ...settings, out: join(root, 'ctm-full') });
    const out = join(root, 'ctm-interrupted');
    const resumed = await resumeAfterInterrupting(settings, out, 1);
    assert.deepEqual(
      resumed.log.map((e) => e.loss),
      full.log.map((e) => e.loss),
    );
    assert.ok(full.log.every((e) => Number.isFinite(e.loss) && e.loss > 0));
  });

  test('TCD: trains, records its method, and draws its validation grid with the TCD sampler', async () => {
    const out = join(root, 'tcd');
    const run = await distill({ ...base(), batch: 2, method: 'tcd', steps: 1, validationSteps: [2], out });
    assert.ok(existsSync(join(out, 'validation', 'step-00000001.png')));
    const file = SafetensorsFile.open(run.lora!.kohya);
    try {
      assert.equal(file.metadata.tdd_method, 'tcd');
    } finally {
      file.close();
    }
  });

  test('PCM with 2 phases: trains, resumes exactly, and records its method and phases in the LoRA', async () => {
    const settings = plainPcmSettings();
    const full = await plainPcmRun();
    assert.ok(full.log.every((e) => Number.isFinite(e.loss) && e.loss > 0));
    const out = join(root, 'pcm-interrupted');
    const resumed = await resumeAfterInterrupting(settings, out, 1);
    assert.deepEqual(
      resumed.log.map((e) => e.loss),
      full.log.map((e) => e.loss),
    );
    const file = SafetensorsFile.open(full.lora!.kohya);
    try {
      assert.equal(file.metadata.tdd_method, 'pcm');
      assert.equal(JSON.parse(file.metadata.tdd_hyperparameters).pcmPhases, 2);
    } finally {
      file.close();
    }
    await assert.rejects(
      distill({ ...settings, method: 'tdd', out: join(root, 'tdd-phases') }),
      /--pcm-phases: only --method pcm has phases/,
    );
  });

  test('PCM --adversarial: the discriminator and the student alternate, both resume exactly', async () => {
    const settings = { ...plainPcmSettings(), adversarial: { weight: 0.1, lr: 1e-3, schedule: 'alternate' as const } };
    const full = await distill({ ...settings, out: join(root, 'adv-full') });
    // Optimizer step 1 updates the discriminator (no student gradient norm), step 2 the student.
    assert.deepEqual(
      full.log.map((e) => e.grad_norm !== undefined),
      [false, true],
    );
    assert.ok(full.log.every((e) => Number.isFinite(e.loss_discriminator) && Number.isFinite(e.adv_generator)));
    const out = join(root, 'adv-interrupted');
    const resumed = await resumeAfterInterrupting(settings, out, 1);
    for (const key of ['loss', 'loss_discriminator', 'adv_generator'] as const)
      assert.deepEqual(
        resumed.log.map((e) => e[key]),
        full.log.map((e) => e[key]),
        key,
      );
  });

  test('PCM --adversarial switched off (weight 0, joint schedule) leaves the student bit-identical to plain PCM', async () => {
    const plain = await plainPcmRun();
    const off = await distill({
      ...plainPcmSettings(),
      out: join(root, 'pcm-adv-off'),
      adversarial: { weight: 0, lr: 1e-3, schedule: 'joint' },
    });
    assert.deepEqual(
      off.log.map((e) => e.loss),
      plain.log.map((e) => e.loss),
    );
    assert.ok(off.log.every((e) => e.loss_discriminator !== undefined));
    const tensors = (path: string) => {
      const f = SafetensorsFile.open(path);
      try {
        return Object.fromEntries([...f.tensors.keys()].map((k) => [k, f.raw(k)]));
      } finally {
        f.close();
      }
    };
    assert.deepEqual(tensors(off.lora!.kohya), tensors(plain.lora!.kohya));
  });

  test('SDXL teacher with gradient checkpointing and an EMA target: trains and writes a LoRA that loads fully', async () => {
    const xl = sharedPath('fixtures', 'tiny-sdxl');
    const result = await distill({
      ...base(),
      teacher: xl,
      out: join(root, 'xl'),
      steps: 3,
      batch: 2,
      rank: 4,
      emaDecay: 0.9,
      gradientCheckpointing: true,
      validationPrompts: [],
    });
    assert.equal(result.log.length, 3);
    assert.ok(result.log.every((e) => Number.isFinite(e.loss) && e.loss > 0));
    await using pipe = await loadPipeline(xl);
    const loaded = await pipe.loras.load(result.lora!.kohya);
    const unet = loaded.matches.find((m) => m.component === 'unet')!;
    assert.ok(unet.matched.size > 0 && loaded.report.length > 0);
    const file = SafetensorsFile.open(result.lora!.kohya);
    const modules = [...file.tensors.keys()].filter((k) => k.endsWith('.alpha')).length;
    file.close();
    assert.equal(unet.matched.size, modules, loaded.report);
  });

  test('a diverging run stops with the last good checkpoint named', async () => {
    const out = join(root, 'diverge');
    await assert.rejects(
      distill({ ...base(), out, steps: 40, lr: 1e9, maxGradNorm: 1e9, checkpointEvery: 1, validationPrompts: [] }),
      (e: Error) =>
        e instanceof DistillError &&
        /the loss became (NaN|Infinity|-Infinity) at optimizer step \d+/.test(e.message) &&
        /last good checkpoint is .*step-\d+/.test(e.message),
    );
  });
});
