// Issue 20, "CLI and library habits": `tdd generate` run as a user would (the built binary; npm test builds
// dist/ first) on the tiny-sd fixture and the built-in emoji model at small sizes.
import { assertGenerateOk, runGenerate } from '../helpers/run-generate.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Writable } from 'node:stream';
import { StageProgress } from '../../src/cli/progress.js';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { parseA1111Parameters } from '../../src/pipelines/metadata.js';
import { batchSeeds, seedToJson } from '../../src/pipelines/seeds.js';
import { readPngText } from '../../src/util/png.js';
import { sharedPath } from '../helpers/shared.js';
import { writeSingleFile } from '../../src/loaders/single-file/export.js';
import { FileTensorSource } from '../../src/weights/index.js';

const bin = fileURLToPath(new URL('../../bin/tdd.js', import.meta.url));
const model = sharedPath('fixtures', 'tiny-sd');
const initImage = sharedPath('fixtures', 'e2e-tiny-sd-tdd-img2img-init.png');
const builtinLora = fileURLToPath(new URL('../../models/emoji/tdd-lora.safetensors', import.meta.url));

const tdd = (args: string[], cwd = mkdtempSync(join(tmpdir(), 'tdd-habits-'))) => runGenerate(args, cwd);
const assertOk = assertGenerateOk;

async function readPng(path: string) {
  const bytes = readFileSync(path);
  const pixels = await sharp(bytes).raw().toBuffer();
  return { pixels, parsed: parseA1111Parameters(readPngText(bytes).parameters) };
}

describe('tdd generate: seeds (A1111 batch rule)', () => {
  test('image i of a batch gets seed + i, writes it, and is remade alone from it', async () => {
    const r = tdd(['a cat', '--model', model, '--steps', '1', '--seed', '5', '--batch', '3', '--out', 'b', '--json']);
    assertOk(r);
    const out = JSON.parse(r.stdout);
    assert.equal(out.parameters.seed, 5, 'the seed is a JSON number');
    assert.deepEqual(
      out.images.map((i: any) => i.seed),
      [5, 6, 7],
    );
    const pngs = await Promise.all(out.images.map((i: any) => readPng(join(r.cwd, i.path))));
    assert.deepEqual(
      pngs.map((p) => p.parsed.fields.Seed),
      ['5', '6', '7'],
    );
    const alone = tdd(['a cat', '--model', model, '--steps', '1', '--seed', pngs[2].parsed.fields.Seed, '--out', 'alone.png', '-q'], r.cwd);
    assertOk(alone);
    assert.ok((await readPng(join(r.cwd, 'alone.png'))).pixels.equals(pngs[2].pixels), 'image 2 of the batch, remade alone');
  });

  test('img2img batches follow the same rule', async () => {
    const args = ['a cat', '--model', model, '--steps', '2', '--init-image', initImage, '--strength', '0.5'];
    const r = tdd([...args, '--seed', '9', '--batch', '2', '--out', 'b', '--json']);
    assertOk(r);
    const out = JSON.parse(r.stdout);
    const second = await readPng(join(r.cwd, out.images[1].path));
    assert.equal(second.parsed.fields.Seed, '10');
    const alone = tdd([...args, '--seed', '10', '--out', 'alone.png', '-q'], r.cwd);
    assertOk(alone);
    assert.ok((await readPng(join(r.cwd, 'alone.png'))).pixels.equals(second.pixels));
  });

  test('--seed -1 draws a random seed and prints it', async () => {
    const r = tdd(['a cat', '--model', model, '--steps', '1', '--seed', '-1', '--out', 'r.png']);
    assertOk(r);
    const seed = /^seed: (\d+)$/m.exec(r.stderr)?.[1];
    assert.ok(seed && BigInt(seed) < 1n << 32n, r.stderr);
    assert.equal((await readPng(join(r.cwd, 'r.png'))).parsed.fields.Seed, seed);
  });

  test('batchSeeds wraps past 2^64 − 1; seeds beyond 2^53 are JSON strings', () => {
    assert.deepEqual(batchSeeds(18446744073709551614n, 3), [18446744073709551614n, 18446744073709551615n, 0n]);
    assert.deepEqual(batchSeeds(-2n, 3), [-2n, -1n, 0n]);
    assert.equal(seedToJson(42n), 42);
    assert.equal(seedToJson(2n ** 53n - 1n), Number.MAX_SAFE_INTEGER);
    assert.equal(seedToJson(2n ** 53n), '9007199254740992');
  });
});

describe('tdd generate: the built-in LoRA', () => {
  const emoji = ['grinning face, smileys and emotion, face smiling, twemoji style', '--steps', '2', '--seed', '3'];

  test('--embedded-lora-weight sets its weight (as --lora <its file>:W does); 0 is --no-embedded-lora', async () => {
    const r = tdd([...emoji, '--embedded-lora-weight', '0.5', '--out', 'half.png', '-q']);
    assertOk(r);
    const half = await readPng(join(r.cwd, 'half.png'));
    assert.match(half.parsed.prompt, / <lora:tdd-lora:0\.5>$/);
    assertOk(tdd([...emoji, '--out', 'full.png', '-q'], r.cwd));
    assert.ok(!(await readPng(join(r.cwd, 'full.png'))).pixels.equals(half.pixels), 'weight 0.5 is not weight 1');
    assertOk(tdd([...emoji, '--lora', `${builtinLora}:0.5`, '--out', 'file.png', '-q'], r.cwd));
    const file = await readPng(join(r.cwd, 'file.png'));
    assert.ok(file.pixels.equals(half.pixels), '--lora <built-in file>:0.5 sets the weight, no clash');
    assert.equal(file.parsed.prompt, half.parsed.prompt);
    assertOk(tdd([...emoji, '--embedded-lora-weight', '0', '--out', 'zero.png', '-q'], r.cwd));
    assertOk(tdd([...emoji, '--no-embedded-lora', '--out', 'none.png', '-q'], r.cwd));
    const zero = await readPng(join(r.cwd, 'zero.png'));
    assert.ok(zero.pixels.equals((await readPng(join(r.cwd, 'none.png'))).pixels));
    assert.doesNotMatch(zero.parsed.prompt, /<lora:/);
  });

  test('another LoRA file with the same name loads beside it', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tdd-habits-'));
    mkdirSync(join(cwd, 'mine'));
    copyFileSync(builtinLora, join(cwd, 'mine', 'tdd-lora.safetensors'));
    const r = tdd([...emoji, '--lora', 'mine/tdd-lora.safetensors:0.25', '--out', 'two.png', '-q'], cwd);
    assertOk(r);
    assert.match((await readPng(join(cwd, 'two.png'))).parsed.prompt, / <lora:tdd-lora:1> <lora:tdd-lora:0\.25>$/);
  });

  test('--embedded-lora-weight needs the built-in model', () => {
    const r = tdd(['a cat', '--model', model, '--embedded-lora-weight', '0.5']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--embedded-lora-weight applies only to the built-in model/);
  });
});

describe('--json errors', () => {
  test('a failure under --json is one JSON object on stdout, nothing on stderr, with the exit code', () => {
    for (const [args, kind, message] of [
      [['a cat', '--model', model, '--steps', '0', '--json'], 'user', /^--steps must be in \[1, 1000\] \(got 0\)$/],
      [['a cat', '--model', '/nonexistent', '--json'], 'user', /^--model: \/nonexistent does not exist$/],
      [['a cat', '--bogus', '--json'], 'usage', /^unknown option '--bogus'$/],
    ] as const) {
      const r = tdd([...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, '');
      const { error } = JSON.parse(r.stdout);
      assert.deepEqual([error.exitCode, error.kind], [2, kind]);
      assert.match(error.message, message);
    }
    const plain = tdd(['a cat', '--model', model, '--steps', '0']);
    assert.deepEqual([plain.status, plain.stdout, plain.stderr], [2, '', 'error: --steps must be in [1, 1000] (got 0)\n']);
  });
});

describe("tdd generate: TDD's knobs and --scheduler-option", () => {
  const emoji = ['grinning face, smileys and emotion, face smiling, twemoji style', '--seed', '1', '--json'];

  test('--special-jump, --tdd-train-step, --scheduler-option reach the scheduler and the PNG', async () => {
    const jump = tdd([...emoji, '--steps', '6', '--special-jump', '--out', 'jump.png']);
    assertOk(jump);
    const out = JSON.parse(jump.stdout);
    assert.deepEqual(out.parameters.timesteps, [999, 875, 751, 627, 499, 251]);
    assert.deepEqual(out.parameters.schedulerConfig, { special_jump: true });
    const png = await readPng(join(jump.cwd, 'jump.png'));
    assert.equal(png.parsed.fields['Scheduler config'], '{"special_jump":true}');
    const step = tdd([...emoji, '--steps', '4', '--tdd-train-step', '100', '--out', 'a.png'], jump.cwd);
    assertOk(step);
    const viaOption = tdd([...emoji, '--steps', '4', '--scheduler-option', 'tdd_train_step=100', '--out', 'b.png'], jump.cwd);
    assertOk(viaOption);
    const plain = tdd([...emoji, '--steps', '4', '--out', 'c.png'], jump.cwd);
    assertOk(plain);
    const [a, b, c] = [step, viaOption, plain].map((r) => JSON.parse(r.stdout).parameters.timesteps);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test("--x0-clip turns on the reference's dynamic thresholding", async () => {
    const clip = tdd([...emoji, '--x0-clip', '--out', 'clip.png']);
    assertOk(clip);
    assert.deepEqual(JSON.parse(clip.stdout).parameters.schedulerConfig, {
      thresholding: true,
      t_l: 1,
      dynamic_thresholding_ratio: 0.995,
      sample_max_value: 1.5,
    });
    assertOk(tdd([...emoji, '--out', 'plain.png'], clip.cwd));
    const [a, b] = await Promise.all(['clip.png', 'plain.png'].map((f) => readPng(join(clip.cwd, f))));
    assert.ok(!a.pixels.equals(b.pixels), 'clipping changes the image');
  });

  test('bad keys and values are one line naming the option', () => {
    for (const [args, message] of [
      [
        ['--scheduler-option', 'prediction_type=noise'],
        /^error: --scheduler-option prediction_type=noise: tdd scheduler config: `prediction_type` must be one of "epsilon", "v_prediction", "sample" \(got "noise"\)$/,
      ],
      [
        ['--scheduler-option', 'no_such_field=1'],
        /^error: --scheduler-option no_such_field=1: the tdd scheduler has no field "no_such_field" \(its fields: .*tdd_train_step/,
      ],
      [['--scheduler-option', 'nokey'], /^error: --scheduler-option must be key=value/],
      [['--tdd-train-step', '0'], /^error: --tdd-train-step: tdd scheduler config: `tdd_train_step` must be >= 1 \(got 0\)$/],
      [['--special-jump', '--scheduler', 'ddim'], /^error: --special-jump applies only to the tdd scheduler \(this run uses ddim\)$/],
    ] as const) {
      const r = tdd(['a cat', '--model', model, '--steps', '1', ...args]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr.trim(), message);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  });
});

describe("README's library example", () => {
  test('runs as written on this Node (plain ESM, no TypeScript) and saves the PNG the CLI writes', async () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    const block = /## Library\n\n```js\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, 'the README has a js block under ## Library');
    const dist = new URL('../../dist/src/index.js', import.meta.url).href;
    const kohya = sharedPath('fixtures', 'lora', 'tiny-sd-lora-kohya.safetensors');
    const script = block
      .replace("from 'tdd-diffusion'", `from ${JSON.stringify(dist)}`)
      .replace("'./sd15'", JSON.stringify(model))
      .replace("'./tdd-sd15.safetensors'", JSON.stringify(kohya));
    const cwd = mkdtempSync(join(tmpdir(), 'tdd-readme-'));
    writeFileSync(join(cwd, 'example.mjs'), script);
    const env = { ...process.env, XDG_CACHE_HOME: join(cwd, 'cache') };
    const r = spawnSync(process.execPath, ['example.mjs'], { cwd, encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    const cli = tdd(['a red fox in snow', '--model', model, '--lora', kohya, '--steps', '4', '--seed', '0', '--out', 'cli.png', '-q'], cwd);
    assertOk(cli);
    const [lib, fromCli] = await Promise.all(['fox.png', 'cli.png'].map((f) => readPng(join(cwd, f))));
    assert.equal(readPngText(readFileSync(join(cwd, 'fox.png'))).parameters, readPngText(readFileSync(join(cwd, 'cli.png'))).parameters);
    assert.match(lib.parsed.fields['Model hash'] ?? '', /^[0-9a-f]{10}$/);
    assert.equal(lib.parsed.prompt, 'a red fox in snow <lora:tiny-sd-lora-kohya:1>');
    assert.ok(lib.pixels.equals(fromCli.pixels));
  });
});

describe('tdd generate: single-file checkpoints the CLI cannot configure', () => {
  const emojiDir = fileURLToPath(new URL('../../models/emoji', import.meta.url));
  const prompt = 'grinning face, smileys and emotion, face smiling, twemoji style';

  test("the built-in model as one file: refused with the guessed fields; --model-config gives the folder's pixels", async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tdd-habits-'));
    const part = (name: string) => ({
      source: FileTensorSource.open(
        join(emojiDir, name, name === 'text_encoder' ? 'model.safetensors' : 'diffusion_pytorch_model.safetensors'),
      ),
      config: JSON.parse(readFileSync(join(emojiDir, name, 'config.json'), 'utf8')),
    });
    const parts = { unet: part('unet'), vae: part('vae'), text_encoder: part('text_encoder') };
    try {
      writeSingleFile(join(cwd, 'emoji.safetensors'), parts, 'sd1');
    } finally {
      for (const p of Object.values(parts)) p.source.close();
    }
    const args = [prompt, '--model', 'emoji.safetensors', '--tokenizer', join(emojiDir, 'tokenizer'), '--lora', builtinLora, '--seed', '1'];
    const refused = tdd([...args, '-o', 'guess.png'], cwd);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /^error: emoji\.safetensors: this single-file checkpoint is not a standard SD 1\.x\/2\.x\/SDXL size/);
    assert.match(refused.stderr, /vae\.scaling_factor=0\.18215, vae\.norm_num_groups=32, text_encoder\.num_attention_heads=2/);
    assert.match(refused.stderr, /--config-override unet\.sample_size=VALUE\) or --model-config/);
    assert.equal(refused.stderr.trim().split('\n').length, 1);
    assertOk(tdd([...args, '--model-config', emojiDir, '-o', 'file.png', '-q'], cwd));
    assertOk(tdd([prompt, '--seed', '1', '-o', 'folder.png', '-q'], cwd));
    const [file, folder] = await Promise.all(['file.png', 'folder.png'].map((f) => readPng(join(cwd, f))));
    assert.ok(file.pixels.equals(folder.pixels), 'the single file, configured, draws what the folder draws');
    assert.equal(file.parsed.fields.Model, 'emoji');
  });

  test('--config-override: component.field=value, single files only', () => {
    for (const [args, message] of [
      [['--config-override', 'unet.sample_size'], /--config-override must be component\.field=value/],
      [['--config-override', 'clip.hidden_size=4'], /unknown component "clip"; choose one of: unet, vae, text_encoder, text_encoder_2/],
      [['--config-override', 'unet.sample_size=32'], /apply to single-file checkpoints; .* is a diffusers folder/],
    ] as const) {
      const r = tdd(['a cat', '--model', model, ...args]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, message);
    }
  });
});

describe('tdd generate: progress for every long stage', () => {
  const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  /** Runs tdd with stdout and stderr on a pseudo-terminal (util-linux script). */
  const onTty = (args: string[], cwd: string) => {
    const quoted = [process.execPath, bin, 'generate', ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    return spawnSync('script', ['-qec', quoted, '/dev/null'], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, XDG_CACHE_HOME: join(cwd, 'cache') },
    });
  };

  test('on a terminal: loading, LoRAs, encoding, compiling, denoising, decoding, saving', { skip: !hasScript && 'no script(1)' }, () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tdd-habits-'));
    const r = onTty(['grinning face', '--steps', '2', '--seed', '1', '-o', 'a.png'], cwd);
    assert.equal(r.status, 0, r.stdout);
    for (const done of [
      'loading the model',
      'applying LoRAs',
      'encoding the prompt (text encoder)',
      'compiling the UNet, first step',
      'decoding (VAE)',
      'saving',
    ])
      assert.match(r.stdout, new RegExp(`✓ ${done.replace(/[()]/g, '\\$&')} \\d+\\.\\ds`), done);
    assert.match(r.stdout, /denoising \|=+\| 2\/2 steps/);
    for (const quiet of [['-q'], ['--json']]) {
      const q = onTty(['grinning face', '--steps', '1', '--seed', '1', '-o', `q${quiet[0]}.png`, ...quiet], cwd);
      assert.equal(q.status, 0, q.stdout);
      assert.doesNotMatch(q.stdout, /✓|denoising/, quiet[0]);
    }
  });

  test('not on a terminal: no progress at all', () => {
    const r = tdd(['grinning face', '--steps', '4', '--seed', '1', '-o', 'a.png']);
    assertOk(r);
    assert.equal(r.stderr, 'seed: 1\n');
  });

  test('StageProgress draws a running line and a done line; nothing when disabled', async () => {
    const render = async (enabled: boolean) => {
      let text = '';
      const stream = new Writable({
        write(chunk, _enc, done) {
          text += String(chunk);
          done();
        },
      });
      const stages = new StageProgress({ enabled, stream, intervalMs: 5 });
      await stages.run('loading', () => new Promise((resolve) => setTimeout(resolve, 30)));
      return text;
    };
    const on = await render(true);
    assert.match(on, /loading … \d+\.\ds/);
    assert.match(on, /✓ loading \d+\.\ds\n$/);
    assert.equal(await render(false), '');
  });
});
