// `tdd distill` through the built CLI: a short run writes the LoRA files and log; bad options fail with
// exit code 2 and a one-line message naming the option.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sharedPath } from '../helpers/shared.js';
import { writeToyDataset } from '../distill/toy-dataset.js';

const bin = fileURLToPath(new URL('../../bin/tdd.js', import.meta.url));
const teacher = sharedPath('fixtures', 'tiny-sd');
let root: string;
const tdd = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300_000 });

describe('tdd distill (CLI)', () => {
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'tdd-distill-cli-'));
    await writeToyDataset(join(root, 'data'), 4);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a 3-step LCM run writes kohya and peft LoRAs, the log and the loss plot', () => {
    const out = join(root, 'out');
    const r = tdd([
      'distill',
      '--teacher',
      teacher,
      '--data',
      join(root, 'data'),
      '--out',
      out,
      '--method',
      'lcm',
      '--steps',
      '3',
      '--batch',
      '2',
      '--rank',
      '4',
      '--validation-prompt',
      'a red square',
      '--validation-steps',
      '2',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /LoRA: .*lora\.safetensors \(kohya\), .*pytorch_lora_weights\.safetensors \(peft\/diffusers\)/);
    for (const f of ['lora.safetensors', 'pytorch_lora_weights.safetensors', 'loss.png', 'validation/step-00000003.png'])
      assert.ok(existsSync(join(out, f)), f);
    assert.equal(readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').length, 3);
    assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).method, 'lcm');
  });

  test('bad options exit 2 with the option named', () => {
    const common = ['distill', '--teacher', teacher, '--data', join(root, 'data'), '--out', join(root, 'bad')];
    for (const [args, message] of [
      [['--steps', 'ten'], /--steps: expected a number/],
      [['--method', 'dmd'], /--method: must be one of tdd, lcm, pcm, simplectm, tcd, dmd2, got "dmd"/],
      [['--update-ratio', '5'], /--update-ratio: only --method dmd2 takes it \(method tdd\)/],
      [['--method', 'dmd2', '--update-ratio', '0'], /--update-ratio: must be an integer in \[1, 1000\] \(got 0\)/],
      [['--method', 'dmd2', '--generator-timestep', '1000'], /--generator-timestep: must be an integer in \[0, 999\]/],
      [['--method', 'dmd2', '--fake-lr', 'x'], /--fake-lr: expected a number/],
      [['--method', 'dmd2', '--ema-decay', '0.9'], /--ema-decay: DMD2 has no consistency target to average/],
      [['--s-ratio', '2'], /--s-ratio: must be in \[0, 1\]/],
      [['--pcm-phases', '4'], /--pcm-phases: only --method pcm has phases \(method tdd\)/],
      [['--method', 'pcm', '--pcm-phases', '300'], /--pcm-phases: .*at most --num-ddim-timesteps/],
      [['--adv-weight', '0.2'], /--adv-weight: needs --adversarial/],
      [['--method', 'pcm', '--adv-schedule', 'joint'], /--adv-schedule: needs --adversarial/],
      [['--adversarial'], /--adversarial: the adversarial loss is PCM's \(method tdd\)/],
      [['--method', 'pcm', '--adversarial', '--adv-lr', '0'], /--adv-lr: must be > 0 \(got 0\)/],
      [['--method', 'pcm', '--adversarial', '--adv-lr', 'fast'], /--adv-lr: expected a number/],
      [['--method', 'pcm', '--adversarial', '--adv-weight', '-1'], /--adv-weight: must be in \[0, 1000\]/],
      [['--method', 'pcm', '--adversarial', '--adv-schedule', 'sometimes'], /--adv-schedule: must be alternate or joint \(got sometimes\)/],
    ] as const) {
      const r = tdd([...common, ...args]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    const missing = tdd(['distill', '--teacher', teacher]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--data/);
    const nodata = tdd([
      'distill',
      '--teacher',
      teacher,
      '--data',
      join(root, 'nothing-here'),
      '--out',
      join(root, 'bad2'),
      '--steps',
      '1',
    ]);
    assert.equal(nodata.status, 2, nodata.stderr);
    assert.match(nodata.stderr, /nothing-here/);
  });
});
