import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DiffusersFolder, findComponentWeights, readModelIndex } from '../../src/loaders/diffusers-folder.js';
import { LoaderError } from '../../src/loaders/errors.js';
import { float32ToDType, PickleRefusedError, SafetensorsFile, ShardedTensorSource, writeSafetensors } from '../../src/weights/index.js';
import { fixture } from '../helpers/model-parity.js';

describe('diffusers pipeline folders', () => {
  test('tiny-sd: model_index components (null entries dropped), configs and lazily opened weights', () => {
    const folder = DiffusersFolder.open(fixture('tiny-sd'));
    assert.equal(folder.index.pipelineClass, 'StableDiffusionPipeline');
    assert.deepEqual(
      folder.index.components.map((c) => `${c.name}:${c.library}.${c.className}`),
      [
        'scheduler:diffusers.PNDMScheduler',
        'text_encoder:transformers.CLIPTextModel',
        'tokenizer:transformers.CLIPTokenizer',
        'unet:diffusers.UNet2DConditionModel',
        'vae:diffusers.AutoencoderKL',
      ],
    );
    assert.equal(folder.index.options.requires_safety_checker, false);
    assert.equal(folder.has('safety_checker'), false);
    assert.equal(folder.config('scheduler')._class_name, 'PNDMScheduler');
    assert.equal(folder.config('unet').cross_attention_dim, 32);
    const unet = folder.weights('unet');
    try {
      assert.equal(unet.keys().length, 304);
      assert.deepEqual(unet.shape('conv_in.weight'), [32, 4, 3, 3]);
      assert.equal(unet.dtype('conv_in.weight'), 'F32');
    } finally {
      unet.close();
    }
    const te = folder.weights('text_encoder');
    try {
      assert.ok(te.origin.endsWith(join('text_encoder', 'model.safetensors')));
    } finally {
      te.close();
    }
  });

  test('tiny-sdxl lists both text encoders and tokenizers', () => {
    const index = readModelIndex(fixture('tiny-sdxl'));
    assert.equal(index.pipelineClass, 'StableDiffusionXLPipeline');
    assert.deepEqual(
      index.components.map((c) => c.name),
      ['scheduler', 'text_encoder', 'text_encoder_2', 'tokenizer', 'tokenizer_2', 'unet', 'vae'],
    );
    assert.equal(index.options.force_zeros_for_empty_prompt, true);
  });

  test('unknown components and missing folders are errors naming them', () => {
    const folder = DiffusersFolder.open(fixture('tiny-sd'));
    assert.throws(() => folder.component('controlnet'), /no component "controlnet" \(it lists scheduler, text_encoder/);
    assert.throws(() => DiffusersFolder.open(fixture('tiny-sd', 'unet')), /no model_index\.json.*not a diffusers pipeline folder/);
    assert.throws(
      () => DiffusersFolder.open(fixture('nope')),
      (e: unknown) => e instanceof LoaderError && /nope: no such directory/.test((e as Error).message),
    );
    assert.throws(() => DiffusersFolder.open(fixture('tiny-sd', 'model_index.json')), /not a directory/);
  });
});

describe('weight file choice: variants, shards, pickles', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tdd-folder-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const fresh = (name: string): string => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    return d;
  };

  test('an fp16 variant is chosen when asked for, the plain file otherwise', () => {
    const d = fresh('variant');
    cpSync(fixture('tiny-sd', 'vae', 'diffusion_pytorch_model.safetensors'), join(d, 'diffusion_pytorch_model.safetensors'));
    const source = SafetensorsFile.open(join(d, 'diffusion_pytorch_model.safetensors'));
    writeSafetensors(
      join(d, 'diffusion_pytorch_model.fp16.safetensors'),
      [...source.tensors.values()].map((t) => ({
        name: t.name,
        dtype: 'F16',
        shape: t.shape,
        data: float32ToDType(source.float32(t.name), 'F16'),
      })),
    );
    source.close();
    assert.deepEqual(findComponentWeights(d), { path: join(d, 'diffusion_pytorch_model.safetensors'), sharded: false, variant: null });
    assert.equal(findComponentWeights(d, { variant: 'fp16' }).variant, 'fp16');
    assert.throws(
      () => findComponentWeights(d, { variant: 'bf16' }),
      /no "bf16" variant weights.*found: diffusion_pytorch_model\.fp16\.safetensors, diffusion_pytorch_model\.safetensors/,
    );
    rmSync(join(d, 'diffusion_pytorch_model.safetensors'));
    assert.equal(findComponentWeights(d).variant, 'fp16', 'the only variant is used when no plain file exists');
  });

  test('a sharded checkpoint reads each key from its shard', () => {
    const d = fresh('sharded');
    const whole = SafetensorsFile.open(fixture('tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors'));
    const names = [...whole.tensors.keys()];
    const halves = [names.slice(0, 150), names.slice(150)];
    const weightMap: Record<string, string> = {};
    halves.forEach((keys, i) => {
      const file = `diffusion_pytorch_model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(
        join(d, file),
        keys.map((k) => ({ name: k, dtype: 'F32', shape: whole.info(k).shape, data: whole.float32(k) })),
      );
      for (const k of keys) weightMap[k] = file;
    });
    writeFileSync(join(d, 'diffusion_pytorch_model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    writeFileSync(join(d, 'config.json'), '{}');
    const choice = findComponentWeights(d);
    assert.equal(choice.sharded, true);
    const sharded = ShardedTensorSource.open(choice.path);
    try {
      assert.equal(sharded.keys().length, 304);
      for (const k of [names[0], names[200], names[303]]) assert.deepEqual(sharded.float32(k), whole.float32(k));
      assert.throws(() => sharded.float32('conv_in.weigth'), /no tensor "conv_in\.weigth"; did you mean "conv_in\.weight"/);
    } finally {
      sharded.close();
      whole.close();
    }
  });

  test('a shard index pointing outside its folder is refused', () => {
    const d = fresh('evil');
    writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: '../../etc/passwd.safetensors' } }));
    assert.throws(
      () => ShardedTensorSource.open(join(d, 'model.safetensors.index.json')),
      /must name a \.safetensors file beside the index/,
    );
  });

  test('a folder with only pickle weights is refused with how to convert', () => {
    const d = fresh('pickle');
    writeFileSync(join(d, 'diffusion_pytorch_model.bin'), Buffer.from([0x80, 0x02, 0x7d]));
    assert.throws(
      () => findComponentWeights(d),
      (e: unknown) => e instanceof PickleRefusedError && /only PyTorch pickle weights.*safetensors/s.test((e as Error).message),
    );
  });

  test('no weights at all, or several variants and none chosen', () => {
    const d = fresh('empty');
    assert.throws(() => findComponentWeights(d), /no safetensors weights/);
    writeFileSync(join(d, 'model.fp16.safetensors'), '');
    writeFileSync(join(d, 'model.bf16.safetensors'), '');
    assert.throws(() => findComponentWeights(d), /several variants exist \(bf16, fp16\)/);
  });
});
