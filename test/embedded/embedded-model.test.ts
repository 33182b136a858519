/**
 * The shipped emoji model (models/emoji + its TDD LoRA): it loads, makes a real 64×64 image in 4 TDD steps,
 * the same pixels for the same seed; and `tdd generate "red apple"` with no flags (a second process, the built
 * CLI) exits 0 with a PNG whose pixels the library reproduces from the seed in its metadata, so the CLI's
 * defaults are the embedded model, its TDD LoRA and the TDD preset.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { embeddedModel } from '../../src/embedded/index.js';
import { parseA1111Parameters } from '../../src/pipelines/metadata.js';
import { loadPipeline, type StableDiffusionPipeline } from '../../src/pipelines/pipeline.js';
import { txt2img } from '../../src/pipelines/txt2img.js';
import { readPngText } from '../../src/util/png.js';

const bin = fileURLToPath(new URL('../../bin/tdd.js', import.meta.url));
const hash = (px: Uint8Array) => createHash('sha256').update(px).digest('hex');
const tddDefaults = (pipe: StableDiffusionPipeline, prompt: string, seed: number) =>
  txt2img(pipe, { prompt, steps: 4, scheduler: 'tdd', guidanceScale: 1.7, eta: 0.2, seed }).then((r) => r.images[0]);

test('the embedded model and its TDD LoRA ship and make the same real image for the same seed', async () => {
  const model = embeddedModel();
  assert.ok(model, 'models/emoji/model_index.json is part of the package');
  assert.ok(model.lora, 'models/emoji/tdd-lora.safetensors is part of the package');
  await using pipe = await loadPipeline(model.dir);
  const lora = await pipe.loras.load(model.lora, { name: 'tdd' });
  const unet = lora.matches.find((m) => m.component === 'unet');
  assert.ok(unet && unet.matched.size > 0 && unet.unmatched.length === 0, `every UNet LoRA module applies: ${lora.report}`);

  // A caption from the training split: a drawn face on a light background, not noise or a flat field.
  const prompt = 'grinning face, smileys and emotion, face smiling, twemoji style';
  const [a, b] = [await tddDefaults(pipe, prompt, 7), await tddDefaults(pipe, prompt, 7)];
  assert.deepEqual([a.width, a.height], [64, 64]);
  assert.equal(hash(a.pixels), hash(b.pixels), 'same seed, same pixels');
  let light = 0;
  let colourful = 0;
  for (let i = 0; i < a.pixels.length; i += 3) {
    const [r, g, bl] = [a.pixels[i], a.pixels[i + 1], a.pixels[i + 2]];
    if (r > 200 && g > 200 && bl > 200) light++;
    if (Math.max(r, g, bl) - Math.min(r, g, bl) > 80) colourful++;
  }
  const n = a.pixels.length / 3;
  assert.ok(light > 0.05 * n, `light pixels ${light}/${n}`);
  assert.ok(colourful > 0.2 * n, `colourful pixels ${colourful}/${n}`);
  assert.notEqual(hash((await tddDefaults(pipe, prompt, 8)).pixels), hash(a.pixels), 'another seed, another image');
});

test('`tdd generate "red apple"` with no flags: exit 0, a 64×64 PNG the library reproduces from its seed', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tdd-embedded-'));
  try {
    const r = spawnSync(process.execPath, [bin, 'generate', 'red apple'], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, XDG_CACHE_HOME: join(cwd, 'cache') },
    });
    assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
    const files = readdirSync(join(cwd, 'outputs')).filter((f) => f.endsWith('.png'));
    assert.equal(files.length, 1);
    const png = readFileSync(join(cwd, 'outputs', files[0]));
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [64, 64]);
    const fields = parseA1111Parameters(readPngText(png).parameters).fields;
    assert.deepEqual([fields.Steps, fields.Sampler, fields['CFG scale']], ['4', 'TDD', '1.7']);

    const model = embeddedModel()!;
    await using pipe = await loadPipeline(model.dir);
    await pipe.loras.load(model.lora!, { name: 'tdd' });
    const again = await tddDefaults(pipe, 'red apple', Number(fields.Seed));
    assert.equal(hash(new Uint8Array(data)), hash(again.pixels), 'the CLI used the embedded model, its TDD LoRA and the TDD preset');
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
