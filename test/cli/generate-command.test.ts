// `tdd generate` run as a user would: the built binary (npm test builds dist/ first) on the tiny-sd fixture
// (64×64, 1–4 steps), each run in its own temp folder with its own hash cache.
import { assertGenerateOk, runGenerate } from '../helpers/run-generate.js';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { StepProgress, formatSeconds } from '../../src/cli/progress.js';
import { parseLoraSpec, parseSeed } from '../../src/cli/generate-options.js';
import { fileTimestamp, planOutput } from '../../src/cli/generate-output.js';
import { parseA1111Parameters } from '../../src/pipelines/metadata.js';
import { readPngText } from '../../src/util/png.js';
import { SafetensorsFile } from '../../src/weights/index.js';
import { writeSafetensors } from '../../src/weights/safetensors-writer.js';
import { sharedPath } from '../helpers/shared.js';

const model = sharedPath('fixtures', 'tiny-sd');
const kohyaLora = sharedPath('fixtures', 'lora', 'tiny-sd-lora-kohya.safetensors');
const initImage = sharedPath('fixtures', 'e2e-tiny-sd-tdd-img2img-init.png');
/** sha256 of tiny-sd/unet/diffusion_pytorch_model.safetensors, cut to A1111's 10 digits. */
const MODEL_HASH = '15ee4085f9';

const tdd = (args: string[], cwd = mkdtempSync(join(tmpdir(), 'tdd-gen-'))) => runGenerate(args, cwd);
const assertOk = assertGenerateOk;

/**
 * A diffusers ControlNet folder for tiny-sd: the ControlNet golden's config, its `controlnet_*` weights, and
 * the fixture UNet's weights for everything else (diffusers' ControlNetModel.from_unet).
 */
function tinyControlNetFolder(): string {
  const golden = (ext: string) => fileURLToPath(new URL(`../golden/controlnet-tiny-sd.${ext}`, import.meta.url));
  const index = JSON.parse(readFileSync(golden('json'), 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'tdd-controlnet-'));
  const own = SafetensorsFile.open(golden('safetensors'));
  const unet = SafetensorsFile.open(sharedPath('fixtures', 'tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors'));
  const tensors = Object.entries(index.state_dict as Record<string, number[]>).map(([name, shape]) => ({
    name,
    shape,
    dtype: 'F32' as const,
    data: (own.has(name) ? own : unet).float32(name),
  }));
  writeSafetensors(join(dir, 'diffusion_pytorch_model.safetensors'), tensors);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(index.config));
  own.close();
  unet.close();
  return dir;
}

async function readPng(path: string) {
  const bytes = readFileSync(path);
  const meta = await sharp(bytes).metadata();
  const pixels = await sharp(bytes).raw().toBuffer();
  return { meta, pixels, text: readPngText(bytes), parsed: parseA1111Parameters(readPngText(bytes).parameters) };
}

describe('tdd generate', () => {
  test('--json: one image with the TDD defaults, PNG parameters as A1111 writes them; --out FILE gives the same pixels', async () => {
    const r = tdd(['a photo of a cat', '--model', model, '--steps', '2', '--seed', '7', '--json']);
    assertOk(r);
    const out = JSON.parse(r.stdout);
    assert.equal(out.images.length, 1);
    assert.match(out.images[0].path, /^outputs\/\d{8}-\d{6}-7-0\.png$/);
    assert.deepEqual(
      [
        out.parameters.preset,
        out.parameters.scheduler,
        out.parameters.steps,
        out.parameters.guidanceScale,
        out.parameters.eta,
        out.parameters.seed,
      ],
      ['tdd', 'tdd', 2, 1.7, 0.2, 7],
    );
    assert.deepEqual(out.parameters.timesteps, [999, 499]);
    assert.equal(out.parameters.model.sha256.slice(0, 10), MODEL_HASH);
    assert.ok(out.timings.generateMs > 0 && out.timings.totalMs >= out.timings.generateMs);
    // a one-shot run releases each component once its stage is done, and says so
    assert.equal(out.timings.offload, 'sequential');
    assert.deepEqual(out.timings.released, ['text_encoder', 'unet', 'vae']);
    assert.deepEqual(out.warnings, ['2 steps is outside what tdd was distilled for (4–8 steps); expect lower quality']);
    assert.deepEqual(out.truncated, []);
    const png = await readPng(join(r.cwd, out.images[0].path));
    assert.deepEqual([png.meta.width, png.meta.height, png.meta.channels, png.meta.format], [64, 64, 3, 'png']);
    assert.equal(
      png.text.parameters,
      `a photo of a cat\nSteps: 2, Sampler: TDD, CFG scale: 1.7, Seed: 7, Size: 64x64, Model hash: ${MODEL_HASH}, Model: tiny-sd, Eta: 0.2, Version: tdd-diffusion 0.1.0`,
    );
    const again = tdd(['a photo of a cat', '--model', model, '--steps', '2', '--seed', '7', '--out', 'sub/cat.png', '-q'], r.cwd);
    assertOk(again);
    assert.equal(again.stdout, 'sub/cat.png\n');
    assert.equal(again.stderr, '', '--quiet prints nothing on stderr');
    assert.ok((await readPng(join(r.cwd, 'sub', 'cat.png'))).pixels.equals(png.pixels), 'same seed and settings, same pixels');
  });

  test('LoRA FILE:SCALE, negative prompt, batch of 2 and JSON sidecars', async () => {
    const r = tdd([
      'a cat',
      '--model',
      model,
      '--steps',
      '2',
      '--seed',
      '3',
      '--lora',
      `${kohyaLora}:0.5`,
      '--negative',
      'blurry, dark',
      '--batch',
      '2',
      '--json-sidecar',
      '--out',
      'imgs',
      '--json',
    ]);
    assertOk(r);
    const out = JSON.parse(r.stdout);
    assert.equal(out.images.length, 2);
    assert.deepEqual(
      out.parameters.loras.map((l: any) => [l.name, l.weight]),
      [['tiny-sd-lora-kohya', 0.5]],
    );
    const pngs = await Promise.all(out.images.map((i: any) => readPng(join(r.cwd, i.path))));
    assert.ok(!pngs[0].pixels.equals(pngs[1].pixels), 'seeds 3 and 4, two different images');
    for (const [index, png] of pngs.entries()) {
      assert.equal(png.parsed.prompt, 'a cat <lora:tiny-sd-lora-kohya:0.5>');
      assert.equal(png.parsed.negativePrompt, 'blurry, dark');
      assert.equal(png.parsed.fields['Lora hashes'], 'tiny-sd-lora-kohya: 36d93b7dc30b');
      assert.deepEqual(
        [png.parsed.fields['Batch size'], png.parsed.fields['Batch pos'], png.parsed.fields.Seed],
        ['2', String(index), String(3 + index)],
      );
      const sidecarPath = join(r.cwd, out.images[index].sidecar);
      assert.equal(sidecarPath, join(r.cwd, out.images[index].path.replace(/\.png$/, '.json')));
      const sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8'));
      assert.equal(sidecar.parameters, png.text.parameters);
      assert.deepEqual(
        [sidecar.index, sidecar.seed, sidecar.negativePrompt, sidecar.loras[0].weight],
        [index, 3 + index, 'blurry, dark', 0.5],
      );
    }
    const plain = tdd(
      ['a cat', '--model', model, '--steps', '2', '--seed', '3', '--negative', 'blurry, dark', '--out', 'plain.png', '-q'],
      r.cwd,
    );
    assertOk(plain);
    assert.ok(!(await readPng(join(r.cwd, 'plain.png'))).pixels.equals(pngs[0].pixels), 'the LoRA changes the image');
  });

  test('--preset pcm samples at the phase ends; --timesteps replaces them and sets the step count', () => {
    const run = (...args: string[]) => {
      const r = tdd(['a cat', '--model', model, '--preset', 'pcm', '--seed', '2', '--json', ...args]);
      assertOk(r);
      return JSON.parse(r.stdout);
    };
    const phased = run('--steps', '4');
    assert.deepEqual([phased.parameters.timesteps, phased.warnings], [[999, 747, 499, 247], []]);
    const given = run('--timesteps', '999,600,300');
    assert.deepEqual([given.parameters.timesteps, given.parameters.steps], [[999, 600, 300], 3]);
  });

  test('text mode: a random seed is printed and names the file; dmd2 1-step preset; truncation warned', async () => {
    const longPrompt = `a dog ${'very '.repeat(100)}happy`;
    const r = tdd([longPrompt, '--model', model, '--preset', 'dmd2', '--steps', '1']);
    assertOk(r);
    assert.match(r.stderr, /warning: prompt truncated to the text encoder's 77 tokens \(use --long-prompts chunk\)/);
    const seed = /^seed: (\d+)$/m.exec(r.stderr)?.[1];
    assert.ok(seed, r.stderr);
    const [path] = r.stdout.trim().split('\n');
    assert.match(path, new RegExp(`^outputs/\\d{8}-\\d{6}-${seed}-0\\.png$`));
    const { parsed } = await readPng(join(r.cwd, path));
    assert.deepEqual(
      [parsed.fields.Sampler, parsed.fields.Steps, parsed.fields['CFG scale'], parsed.fields.Seed, parsed.fields.Eta],
      ['DMD2', '1', '0', seed, undefined],
    );
    assert.equal(parsed.prompt, longPrompt, 'the PNG keeps the whole prompt');
    const chunked = tdd([longPrompt, '--model', model, '--preset', 'dmd2', '--steps', '1', '--long-prompts', 'chunk', '--json'], r.cwd);
    assertOk(chunked);
    const out = JSON.parse(chunked.stdout);
    assert.deepEqual([out.truncated, out.warnings, out.parameters.longPrompts], [[], [], 'chunk']);
  });

  test('--init-image/--strength run image-to-image and record the strength', async () => {
    const r = tdd(['a cat', '--model', model, '--steps', '4', '--init-image', initImage, '--strength', '0.5', '--seed', '1', '--json']);
    assertOk(r);
    const out = JSON.parse(r.stdout);
    assert.deepEqual([out.parameters.mode, out.parameters.strength, out.parameters.timesteps], ['img2img', 0.5, [499, 251]]);
    const { parsed } = await readPng(join(r.cwd, out.images[0].path));
    assert.equal(parsed.fields['Denoising strength'], '0.5');
  });

  test('--controlnet/--control-image/--controlnet-scale condition text-to-image and are recorded', async () => {
    const controlnet = tinyControlNetFolder();
    const args = ['a cat', '--model', model, '--steps', '2', '--seed', '5', '--json'];
    const r = tdd([...args, '--controlnet', controlnet, '--control-image', initImage, '--controlnet-scale', '0.7']);
    assertOk(r);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.parameters.controlnet, { path: controlnet, image: initImage, scale: 0.7 });
    const png = await readPng(join(r.cwd, out.images[0].path));
    assert.equal(png.parsed.fields['ControlNet 0'], `Module: none, Model: ${controlnet.split('/').at(-1)}, Weight: 0.7`);
    const plain = tdd(args, r.cwd);
    assertOk(plain);
    assert.ok(
      !(await readPng(join(r.cwd, JSON.parse(plain.stdout).images[0].path))).pixels.equals(png.pixels),
      'the ControlNet changes the image',
    );
  });

  test('a LoRA for another model: exit 2 with the unmatched modules, nothing written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tdd-gen-'));
    const lora = join(dir, 'sdxl-style.safetensors');
    const zeros = (shape: number[]) => ({ dtype: 'F32' as const, shape, data: new Float32Array(shape[0] * shape[1]) });
    const modules = ['lora_unet_input_blocks_7_1_transformer_blocks_0_attn1_to_q', 'lora_unet_output_blocks_8_1_proj_out'];
    writeSafetensors(
      lora,
      modules.flatMap((m) => [
        { name: `${m}.lora_down.weight`, ...zeros([4, 640]) },
        { name: `${m}.lora_up.weight`, ...zeros([640, 4]) },
      ]),
    );
    const r = tdd(['a cat', '--model', model, '--steps', '2', '--lora', `${lora}:0.8`], dir);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /error: --lora: .*sdxl-style\.safetensors: no LoRA module matches this model's weights/);
    assert.match(
      r.stderr,
      /unet: 0 of 2 LoRA modules matched; no weight for input_blocks_7_1_transformer_blocks_0_attn1_to_q, output_blocks_8_1_proj_out/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(!existsSync(join(dir, 'outputs')) || readdirSync(join(dir, 'outputs')).length === 0);
  });

  test('--threads 1 runs and is reported with the device; an unavailable --device is one line, exit 2', (t) => {
    const r = tdd(['a cat', '--model', model, '--steps', '1', '--seed', '1', '--threads', '1', '--json']);
    assertOk(r);
    const out = JSON.parse(r.stdout);
    assert.deepEqual([out.timings.device, out.timings.threads], ['cpu', 1]);
    for (const device of ['cuda', 'webgpu']) {
      const d = tdd(['a cat', '--model', model, '--steps', '1', '--device', device, '--json']);
      if (d.status === 0) {
        t.diagnostic(`--device ${device} works here`);
        assert.equal(JSON.parse(d.stdout).timings.device, device);
        continue;
      }
      assert.equal(d.status, 2, `--device ${device}: ${d.stdout} ${d.stderr}`);
      // under --json the one line is the JSON error on stdout, and stderr stays empty
      assert.equal(d.stderr, '');
      const { message } = JSON.parse(d.stdout).error;
      assert.match(message, new RegExp(`^--device ${device}: [^\\n]+$`), `one line: ${message}`);
      if (device === 'cuda' && process.platform === 'linux' && process.arch === 'x64')
        assert.match(message, /npm ci --onnxruntime-node-install=cuda12|NVIDIA GPU/);
      if (device === 'webgpu') assert.match(message, /GPU/);
    }
  });

  test('bad flags: exit 2, one message naming the flag, no stack trace', () => {
    const cases: [string[], RegExp][] = [
      [
        ['--width', '63'],
        /--width must be a positive multiple of 4 for this model \(its VAE factor 2 × the UNet's downsampling 2\) \(got 63\)/,
      ],
      [['--height', '0'], /--height must be in \[1, 16384\] \(got 0\)/],
      [['--steps', '0'], /--steps must be in \[1, 1000\] \(got 0\)/],
      [['--steps', '300'], /--steps 300 with the tdd scheduler: tdd: steps \(300\) cannot exceed tdd_train_step \(250\)/],
      [['--steps', 'four'], /--steps must be an integer \(got "four"\)/],
      [['--timesteps', '999,999'], /--timesteps: give strictly descending timesteps ≥ 0, e\.g\. 999,747,499,247 \(got 999,999\)/],
      [['--timesteps', '999,x'], /--timesteps must be an integer \(got "x"\)/],
      [['--timesteps', '999,499', '--steps', '3'], /--steps 3 and --timesteps \(2 of them\) disagree; give one of them/],
      [['--timesteps', '999,499'], /--timesteps 999,499 with the tdd scheduler: tdd: setTimesteps option `timesteps` is not supported/],
      [
        ['--preset', 'pcm', '--timesteps', '1200,499'],
        /--timesteps 1200,499 with the tcd scheduler: tcd: timesteps\[0\] = 1200 is not an integer in \[0, 999\]/,
      ],
      [['--guidance', '-1'], /--guidance must be in \[0, /],
      [['--eta', '2'], /--eta must be in \[0, 1\] \(got 2\)/],
      [['--seed', '1.5'], /--seed must be an integer/],
      [['--preset', 'turbo'], /option '-p, --preset <name>' argument 'turbo' is invalid/],
      [['--scheduler', 'pndm'], /--scheduler: unknown scheduler "pndm"/],
      [['--batch', '2', '--out', 'one.png'], /--out names one file but this run makes 2 images/],
      [['--out', 'x.jpg'], /--out: only PNG output is supported/],
      [['--strength', '0.5'], /--strength applies only with --init-image/],
      [['--init-image', '/nonexistent.png'], /--init-image: \/nonexistent\.png does not exist/],
      [['--lora', '/nonexistent.safetensors:0.5'], /--lora: \/nonexistent\.safetensors does not exist/],
      [['--controlnet', model], /--controlnet needs --control-image/],
      [['--controlnet', model, '--control-image', initImage, '--init-image', initImage], /--controlnet works with text-to-image only/],
      [['--controlnet-scale', '0.5'], /--controlnet-scale applies only with --controlnet/],
      [
        ['--offload', 'gpu'],
        /option '--offload <mode>' argument 'gpu' is invalid\. Allowed choices are auto, none, text-encoders, sequential/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = tdd(['a cat', '--model', model, ...args]);
      assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status} ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    const missing = tdd(['a cat', '--model', '/nonexistent/model']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--model: \/nonexistent\/model does not exist/);
  });
});

describe('generate helpers', () => {
  test('--lora FILE[:SCALE] keeps colons that are not a scale', () => {
    assert.deepEqual(parseLoraSpec('a.safetensors:0.5'), [{ path: 'a.safetensors', scale: 0.5 }]);
    assert.deepEqual(parseLoraSpec('C:\\loras\\x.safetensors', [{ path: 'a', scale: 1 }]), [
      { path: 'a', scale: 1 },
      { path: 'C:\\loras\\x.safetensors', scale: 1 },
    ]);
    assert.deepEqual(parseLoraSpec('C:\\x.safetensors:-1'), [{ path: 'C:\\x.safetensors', scale: -1 }]);
    assert.throws(() => parseLoraSpec(':0.5'), /--lora needs a file/);
  });

  test("--seed takes torch's whole uint64 range", () => {
    assert.equal(parseSeed('18446744073709551615'), 18446744073709551615n);
    assert.equal(parseSeed('-1'), -1n);
    assert.throws(() => parseSeed('18446744073709551616'), /--seed must be in/);
  });

  test('output plan and names', () => {
    assert.deepEqual(planOutput(undefined, 3), { kind: 'dir', path: 'outputs' });
    assert.deepEqual(planOutput('shots', 2), { kind: 'dir', path: 'shots' });
    assert.deepEqual(planOutput('one.PNG', 1), { kind: 'file', path: 'one.PNG' });
    assert.equal(fileTimestamp(new Date(2025, 0, 2, 3, 4, 5)), '20250102-030405');
  });

  test('progress bar: steps, it/s and ETA on a TTY stream; nothing when disabled', () => {
    const render = (enabled: boolean) => {
      let text = '';
      const stream = Object.assign(new Writable({ write: (chunk, _enc, done) => ((text += String(chunk)), done()) }), {
        isTTY: true,
        columns: 120,
      });
      const progress = new StepProgress({ enabled, stream });
      progress.start(4);
      for (let i = 1; i <= 4; i++) progress.step(i);
      progress.stop();
      return { text, timings: progress.timings() };
    };
    const on = render(true);
    assert.match(on.text, /denoising \|.*\| 4\/4 steps \| [\d.]+ it\/s \| ETA 0s/);
    assert.ok(on.timings.stepsPerSecond! > 0 && on.timings.firstStepMs! >= 0);
    assert.equal(render(false).text, '');
    assert.deepEqual([formatSeconds(5.4), formatSeconds(125), formatSeconds(7260)], ['5s', '2m05s', '2h01m']);
  });
});

describe('tdd generate --fast-decode', () => {
  /** A TAESD folder whose decoder upsamples ×2 like tiny-sd's VAE (random weights: only the path is tested). */
  async function tinyTaesdFolder(factor: number): Promise<string> {
    const { createGraph } = await import('../../src/ops/index.js');
    const { Scope } = await import('../../src/nn/index.js');
    const { parseAutoencoderTinyConfig, taesdDecode } = await import('../../src/models/vae/index.js');
    const { randomUNetWeights } = await import('../../src/models/unet/index.js');
    const raw = {
      encoder_block_out_channels: [8, 8],
      decoder_block_out_channels: [8, 8],
      num_encoder_blocks: [1, 1],
      num_decoder_blocks: [1, 1],
      upsampling_scaling_factor: factor,
    };
    const g = createGraph();
    taesdDecode(new Scope(g), parseAutoencoderTinyConfig(raw), g.input('z', [1, 4, 4, 4]));
    const weights = randomUNetWeights(g.params, 3, 0.2);
    const dir = mkdtempSync(join(tmpdir(), 'tdd-taesd-'));
    writeSafetensors(
      join(dir, 'diffusion_pytorch_model.safetensors'),
      g.params.map((p) => ({ name: p.name!, dtype: 'F32' as const, shape: [...p.shape], data: weights.get(p.name!)! })),
    );
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ _class_name: 'AutoencoderTiny', ...raw }));
    return dir;
  }

  test('decodes with the TAESD folder; one for another VAE factor is refused', async () => {
    const r = tdd([
      'a cat',
      '--model',
      model,
      '--steps',
      '2',
      '--seed',
      '1',
      '--fast-decode',
      await tinyTaesdFolder(2),
      '--out',
      'fast.png',
      '--quiet',
    ]);
    assertOk(r);
    const { meta } = await readPng(join(r.cwd, 'fast.png'));
    assert.deepEqual([meta.width, meta.height], [64, 64]);
    const wrong = tdd(['a cat', '--model', model, '--steps', '1', '--fast-decode', await tinyTaesdFolder(4), '--quiet']);
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /upsamples ×4 .* the model's VAE is ×2/);
  });
});
