// Model discovery (ids, classification, TAESD, the embedded model), request resolution and preview pooling,
// without HTTP.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  classifyTensorKeys,
  ModelRegistry,
  parseGenerateBody,
  poolLatents,
  resolveJobSpec,
  slug,
  ServeError,
} from '../../src/server/index.js';
import { writeSafetensors } from '../../src/weights/safetensors-writer.js';
import { sharedPath } from '../helpers/shared.js';

const tinySd = sharedPath('fixtures', 'tiny-sd');
const kohya = sharedPath('fixtures', 'lora', 'tiny-sd-lora-kohya.safetensors');
let root: string;

const tensor = (name: string) => ({ name, shape: [2], dtype: 'F32' as const, data: new Float32Array([1, 2]) });

before(() => {
  root = mkdtempSync(join(tmpdir(), 'tdd-registry-'));
  symlinkSync(tinySd, join(root, 'tiny-sd'));
  mkdirSync(join(root, 'loras', 'styles'), { recursive: true });
  copyFileSync(kohya, join(root, 'loras', 'styles', 'Fox Style!.safetensors'));
  copyFileSync(kohya, join(root, 'tiny-sd-lora.safetensors'));
  writeSafetensors(join(root, 'merged.safetensors'), [tensor('model.diffusion_model.input_blocks.0.0.weight')]);
  writeSafetensors(join(root, 'random.safetensors'), [tensor('encoder.weight_only_here')]);
  writeFileSync(join(root, 'old.ckpt'), 'not loaded');
  writeFileSync(join(root, 'broken.safetensors'), 'garbage');
  // A model folder with its own TAESD: components linked from tiny-sd, plus taesd/config.json.
  const withTaesd = join(root, 'with-taesd');
  mkdirSync(join(withTaesd, 'taesd'), { recursive: true });
  for (const part of ['model_index.json', 'unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler'])
    symlinkSync(join(tinySd, part), join(withTaesd, part));
  writeFileSync(join(withTaesd, 'taesd', 'config.json'), JSON.stringify({ _class_name: 'AutoencoderTiny' }));
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('ModelRegistry', () => {
  test('finds diffusers folders, checkpoints and LoRAs (also in sub-folders) and says what it skipped', () => {
    const r = ModelRegistry.scan([root], { embedded: null });
    assert.deepEqual(r.models.map((m) => [m.name, m.kind]).sort(), [
      ['merged', 'single-file'],
      ['tiny-sd', 'diffusers'],
      ['with-taesd', 'diffusers'],
    ]);
    assert.deepEqual(r.loras.map((l) => l.name).sort(), ['Fox Style!', 'tiny-sd-lora']);
    const skipped = Object.fromEntries(r.skipped.map((s) => [s.path.slice(root.length + 1), s.reason]));
    assert.deepEqual(Object.keys(skipped).sort(), ['broken.safetensors', 'old.ckpt', 'random.safetensors']);
    assert.match(skipped['old.ckpt'], /pickle/);
    assert.match(skipped['random.safetensors'], /neither a checkpoint nor a LoRA/);
    const tiny = r.models.find((m) => m.name === 'tiny-sd')!;
    assert.deepEqual([tiny.defaultSize, tiny.vaeFactor, tiny.taesd], [64, 2, undefined]);
    assert.equal(r.models.find((m) => m.name === 'with-taesd')!.taesd, join(root, 'with-taesd', 'taesd'));
  });

  test('ids are slugs plus a path hash: stable across scans, distinct for equal names, free of paths', () => {
    const a = ModelRegistry.scan([root], { embedded: null });
    const b = ModelRegistry.scan([root], { embedded: null });
    assert.deepEqual(a.view(), b.view());
    const fox = a.loras.find((l) => l.name === 'Fox Style!')!;
    assert.match(fox.id, /^fox-style-[0-9a-f]{8}$/);
    const other = mkdtempSync(join(tmpdir(), 'tdd-registry-2-'));
    try {
      copyFileSync(kohya, join(other, 'tiny-sd-lora.safetensors'));
      const c = ModelRegistry.scan([other], { embedded: null });
      assert.notEqual(c.loras[0].id, a.loras.find((l) => l.name === 'tiny-sd-lora')!.id);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    assert.ok(!JSON.stringify(a.view()).includes(root));
    assert.equal(slug('../../etc/passwd'), 'etc-passwd');
    assert.equal(slug('***'), 'model');
  });

  test('a --models path that is not a folder is a ServeError naming it', () => {
    assert.throws(
      () => ModelRegistry.scan([join(root, 'nope')], { embedded: null }),
      (e) => e instanceof ServeError && e.message.includes(join(root, 'nope')),
    );
  });

  test('header classification', () => {
    assert.equal(classifyTensorKeys(['lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight']), 'lora');
    assert.equal(classifyTensorKeys(['unet.down_blocks.0.attentions.0.to_q.lora_A.weight']), 'lora');
    assert.equal(classifyTensorKeys(['first_stage_model.decoder.conv_in.weight']), 'checkpoint');
    assert.equal(classifyTensorKeys(['down_blocks.0.resnets.0.conv1.weight']), 'unknown');
  });
});

describe('request resolution', () => {
  const embeddedRegistry = () => ModelRegistry.scan([root], { embedded: { dir: tinySd, lora: kohya } });

  test('the embedded model is listed first as "embedded" with its TDD LoRA applied unless the request chooses', () => {
    const r = embeddedRegistry();
    assert.equal(r.models[0].id, 'embedded');
    const byDefault = resolveJobSpec(parseGenerateBody({ prompt: 'x' }), r);
    assert.deepEqual([byDefault.model.id, byDefault.loras.map((l) => [l.entry.id, l.weight])], ['embedded', [['embedded-tdd', 1]]]);
    assert.deepEqual(resolveJobSpec(parseGenerateBody({ prompt: 'x', loras: [] }), r).loras, []);
    const teacher = resolveJobSpec(parseGenerateBody({ prompt: 'x', preset: 'teacher' }), r);
    assert.deepEqual(
      [teacher.loras, teacher.sampling.scheduler, teacher.sampling.steps, teacher.sampling.guidanceScale],
      [[], 'ddim', 50, 7.5],
    );
  });

  test('presets fill what the request leaves out; explicit values win; seeds are kept exactly', () => {
    const r = embeddedRegistry();
    const tcd = resolveJobSpec(parseGenerateBody({ prompt: 'x', preset: 'tcd', steps: 6, seed: '18446744073709551615' }), r);
    assert.deepEqual([tcd.sampling.scheduler, tcd.sampling.steps, tcd.sampling.guidanceScale, tcd.sampling.eta], ['tcd', 6, 0, 0.3]);
    assert.equal(tcd.seed, 18446744073709551615n);
    assert.equal(tcd.randomSeed, false);
    const random = resolveJobSpec(parseGenerateBody({ prompt: 'x' }), r);
    assert.equal(random.randomSeed, true);
    // pcm lands on its LoRA's phase ends, which the runner passes to the pipeline as explicit timesteps
    const pcm = resolveJobSpec(parseGenerateBody({ prompt: 'x', preset: 'pcm', steps: 2 }), r);
    assert.deepEqual([pcm.sampling.scheduler, pcm.sampling.timesteps], ['tcd', [999, 499]]);
  });
});

describe('poolLatents', () => {
  test('averages factor×factor windows per channel, dropping partial edge windows', () => {
    // 1 channel 3×4: windows of 2×2 → [ (0+1+4+5)/4, (2+3+6+7)/4 ] = [2.5, 4.5]; the third row is dropped.
    const data = Float32Array.from({ length: 12 }, (_, i) => i);
    const pooled = poolLatents(data, 1, 3, 4, 2);
    assert.deepEqual([pooled.h, pooled.w, [...pooled.data]], [1, 2, [2.5, 4.5]]);
    // Two channels keep their own values: channel 1 = channel 0 + 100.
    const two = new Float32Array([1, 2, 3, 4, 101, 102, 103, 104]);
    assert.deepEqual([...poolLatents(two, 2, 2, 2, 2).data], [2.5, 102.5]);
    assert.equal(poolLatents(data, 1, 3, 4, 1).data, data);
  });
});
