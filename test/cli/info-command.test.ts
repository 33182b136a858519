// `tdd info` run as a user would (the built binary): folders, LoRA files with and without a base model,
// single-file checkpoints, and refusals.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeSingleFile } from '../../src/loaders/single-file/index.js';
import { FileTensorSource } from '../../src/weights/index.js';
import { fixture } from '../helpers/model-parity.js';

const bin = fileURLToPath(new URL('../../bin/tdd.js', import.meta.url));
const tdd = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'tdd-info-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a pipeline folder: architecture, components, parameter counts (JSON)', () => {
  const r = tdd('info', fixture('tiny-sdxl'), '--json');
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.kind, 'diffusers-folder');
  assert.match(report.architecture, /^SDXL-architecture \(cross-attention 64\) \(StableDiffusionXLPipeline\)$/);
  const unet = report.components.find((c: { name: string }) => c.name === 'unet');
  assert.deepEqual(unet.dtypes, { F32: 428 });
  assert.ok(unet.parameters > 1e6, `${unet.parameters} UNet parameters`);
  assert.ok(report.components.some((c: { name: string }) => c.name === 'text_encoder_2'));
});

test('a LoRA matched against its base model', () => {
  const r = tdd('info', fixture('lora', 'tiny-sd-lora-kohya.safetensors'), '--model', fixture('tiny-sd'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /kind: +lora/);
  assert.match(r.stdout, /rank 4, alpha 2/);
  assert.match(r.stdout, /unet: 33 of 33 LoRA modules matched/);
  assert.match(r.stdout, /text_encoder: 10 of 10 LoRA modules matched/);
});

test('a LoRA against the wrong base model exits 2 naming the shapes', () => {
  const r = tdd('info', fixture('lora', 'tiny-sd-lora-peft.safetensors'), '--model', fixture('tiny-sdxl'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: .*attn2\.to_k.*a LoRA for another model/s);
});

test('a single-file checkpoint: family and components', () => {
  const part = (name: string, file: string) => ({
    source: FileTensorSource.open(fixture('tiny-sd', name, file)),
    config: JSON.parse(readFileSync(fixture('tiny-sd', name, 'config.json'), 'utf8')),
  });
  const parts = { unet: part('unet', 'diffusion_pytorch_model.safetensors'), vae: part('vae', 'diffusion_pytorch_model.safetensors') };
  const file = join(dir, 'unet-vae.safetensors');
  writeSingleFile(file, parts, 'sd1');
  for (const p of Object.values(parts)) p.source.close();
  const r = tdd('info', file, '--json');
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.kind, 'single-file');
  assert.deepEqual(report.components.map((c: { name: string }) => c.name).sort(), ['unet', 'vae']);
});

test('pickles, missing paths and unknown layouts', () => {
  writeFileSync(join(dir, 'model.ckpt'), Buffer.from([0x80, 0x02]));
  const pickle = tdd('info', join(dir, 'model.ckpt'));
  assert.equal(pickle.status, 2);
  assert.match(pickle.stderr, /refusing to load a pickle checkpoint/);
  assert.equal(tdd('info', join(dir, 'nope')).status, 2);
  const empty = join(dir, 'empty');
  spawnSync('mkdir', [empty]);
  assert.match(tdd('info', empty).stderr, /neither a diffusers pipeline folder/);
});
