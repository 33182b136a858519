import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  a1111Fields,
  formatA1111Parameters,
  parseA1111Parameters,
  promptWithLoras,
  quoteA1111,
  samplerLabel,
  type ImageMetadata,
} from '../../src/pipelines/metadata.js';
import { FileHashCache, safetensorsDataOffset, sha256File } from '../../src/util/file-hash.js';
import { writeSafetensors } from '../../src/weights/safetensors-writer.js';
import { sharedPath } from '../helpers/shared.js';

const MODEL_SHA = '15ee4085f9ad1b8a37a1dc65283c39f52fbc5fe7fb3e938c83cdb6b4af96e742';
const LORA_SHA = '36d93b7dc30b0446a4774f9901f422a891a688fe760bd7576b925882adaafebb';

const basic: ImageMetadata = {
  prompt: 'a photo of a cat',
  steps: 4,
  scheduler: 'tdd',
  guidanceScale: 1.7,
  seed: 42,
  width: 512,
  height: 512,
};

describe('A1111 parameters text', () => {
  test('minimal: prompt line and the fields line, nothing absent written', () => {
    assert.equal(formatA1111Parameters(basic), 'a photo of a cat\nSteps: 4, Sampler: TDD, CFG scale: 1.7, Seed: 42, Size: 512x512');
  });

  test('everything: negative, short hashes, LoRA tags and hashes, batch, strength, eta, rescale, extras, version', () => {
    const m: ImageMetadata = {
      ...basic,
      negativePrompt: 'blurry, lowres',
      seed: 18446744073709551615n,
      width: 768,
      height: 512,
      model: { name: 'sd15', hash: MODEL_SHA },
      loras: [
        { name: 'tdd-lora', weight: 0.5, hash: LORA_SHA },
        { name: 'style', weight: 1, hash: 'abcdef0123456789' },
        { name: 'nohash', weight: 0.25 },
      ],
      batchSize: 3,
      batchIndex: 2,
      strength: 0.6,
      eta: 0.2,
      guidanceRescale: 0.7,
      extra: { 'ControlNet 0': 'Module: none, Weight: 1' },
      version: 'tdd-diffusion 0.1.0',
    };
    assert.equal(
      formatA1111Parameters(m),
      'a photo of a cat <lora:tdd-lora:0.5> <lora:style:1> <lora:nohash:0.25>\n' +
        'Negative prompt: blurry, lowres\n' +
        'Steps: 4, Sampler: TDD, CFG scale: 1.7, Seed: 18446744073709551615, Size: 768x512, Model hash: 15ee4085f9, Model: sd15, ' +
        'Batch size: 3, Batch pos: 2, Denoising strength: 0.6, Eta: 0.2, Guidance rescale: 0.7, ' +
        'Lora hashes: "tdd-lora: 36d93b7dc30b, style: abcdef012345", ControlNet 0: "Module: none, Weight: 1", Version: tdd-diffusion 0.1.0',
    );
  });

  test('a batch of one, zero rescale and an empty negative are left out', () => {
    const text = formatA1111Parameters({
      ...basic,
      negativePrompt: '',
      batchSize: 1,
      batchIndex: 0,
      guidanceRescale: 0,
      scheduler: 'lcm',
      guidanceScale: 1,
    });
    assert.equal(text, 'a photo of a cat\nSteps: 4, Sampler: LCM, CFG scale: 1, Seed: 42, Size: 512x512');
  });

  test('values with "," ":" or newlines are JSON-quoted as A1111 does; others are not', () => {
    assert.equal(quoteA1111('plain name'), 'plain name');
    assert.equal(quoteA1111('a, b'), '"a, b"');
    assert.equal(quoteA1111('c:d'), '"c:d"');
    assert.equal(quoteA1111('say "hi",\nok'), '"say \\"hi\\",\\nok"');
    const fields = a1111Fields({ ...basic, model: { name: 'my model, v2: final' } });
    assert.deepEqual(fields.at(-1), ['Model', '"my model, v2: final"']);
  });

  test('sampler labels: A1111 names where they exist, the method name for TDD and DMD2', () => {
    assert.deepEqual(['tdd', 'tcd', 'lcm', 'dmd', 'ddim', 'euler', 'dpmsolver++', 'dpmsolver-singlestep', 'other'].map(samplerLabel), [
      'TDD',
      'TCD',
      'LCM',
      'DMD2',
      'DDIM',
      'Euler',
      'DPM++ 2M',
      'DPM++ 2S',
      'other',
    ]);
  });

  test('LoRA tags after the prompt; an empty prompt gets only the tags', () => {
    assert.equal(promptWithLoras('cat', []), 'cat');
    assert.equal(promptWithLoras('', [{ name: 'x', weight: 0.8 }]), '<lora:x:0.8>');
  });

  test('parses back: multi-line prompt and negative, quoted values', () => {
    const m: ImageMetadata = {
      ...basic,
      prompt: 'line one\nline two',
      negativePrompt: 'bad\nworse',
      model: { name: 'a, b', hash: MODEL_SHA },
      loras: [{ name: 'l', weight: 0.5, hash: LORA_SHA }],
    };
    const parsed = parseA1111Parameters(formatA1111Parameters(m));
    assert.equal(parsed.prompt, 'line one\nline two <lora:l:0.5>');
    assert.equal(parsed.negativePrompt, 'bad\nworse');
    assert.deepEqual(parsed.fields, {
      Steps: '4',
      Sampler: 'TDD',
      'CFG scale': '1.7',
      Seed: '42',
      Size: '512x512',
      'Model hash': '15ee4085f9',
      Model: 'a, b',
      'Lora hashes': 'l: 36d93b7dc30b',
    });
  });
});

describe('file hashes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdd-hash-'));

  test("sha256 of a whole file and of a safetensors file's data after its header", async () => {
    const path = join(dir, 'lora.safetensors');
    writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [3], data: Float32Array.of(1, 2, 3) }], { note: 'metadata is not hashed' });
    const bytes = readFileSync(path);
    const offset = safetensorsDataOffset(path);
    assert.equal(offset, 8 + Number(bytes.readBigUInt64LE(0)));
    assert.equal(await sha256File(path), createHash('sha256').update(bytes).digest('hex'));
    assert.equal(
      await sha256File(path, offset),
      createHash('sha256')
        .update(Buffer.from(Float32Array.of(1, 2, 3).buffer))
        .digest('hex'),
    );
    assert.equal(await new FileHashCache().hash(path, 'safetensors-data'), await sha256File(path, offset));
  });

  test('the cache is keyed by path, size and mtime, and persists in its JSON file', async () => {
    const path = join(dir, 'model.bin');
    const cacheFile = join(dir, 'cache', 'hashes.json');
    const mtime = 1_700_000_000; // whole seconds: every file system stores them exactly
    writeFileSync(path, 'first content');
    utimesSync(path, mtime, mtime);
    const first = await new FileHashCache(cacheFile).hash(path);
    assert.equal(first, createHash('sha256').update('first content').digest('hex'));
    // Same size and mtime with other bytes: a fresh cache object still answers from the file, without reading.
    writeFileSync(path, 'other content');
    utimesSync(path, mtime, mtime);
    assert.equal(await new FileHashCache(cacheFile).hash(path), first);
    // A new mtime invalidates the entry.
    utimesSync(path, mtime, mtime + 5);
    assert.equal(await new FileHashCache(cacheFile).hash(path), createHash('sha256').update('other content').digest('hex'));
  });

  test("the fixture model's UNet hashes to the sha256 used in the CLI tests", async () => {
    assert.equal(await sha256File(sharedPath('fixtures', 'tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors')), MODEL_SHA);
    const lora = sharedPath('fixtures', 'lora', 'tiny-sd-lora-kohya.safetensors');
    assert.equal(await sha256File(lora, safetensorsDataOffset(lora)), LORA_SHA);
  });
});
