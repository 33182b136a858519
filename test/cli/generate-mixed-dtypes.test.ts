// Weights of several dtypes in one model folder, as `tdd generate` meets them: float components stored in F32,
// F16 and BF16 side by side are each converted on reading and generate an image; a weight stored as an integer
// tensor (a quantized file this project cannot run) stops with one line naming the file and the key, exit 2,
// and no image written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/weights/index.js';
import { float32ToDType } from '../../src/weights/dtype-convert.js';
import { sharedPath } from '../helpers/shared.js';

const bin = fileURLToPath(new URL('../../bin/tdd.js', import.meta.url));

/** tiny-sd with one component's weights rewritten by `dtypeOf` (per key). */
function variantFolder(component: string, file: string, dtypeOf: (key: string) => 'F32' | 'F16' | 'BF16' | 'I8'): string {
  const dir = mkdtempSync(join(tmpdir(), 'tdd-mixed-'));
  cpSync(sharedPath('fixtures', 'tiny-sd'), dir, { recursive: true });
  const path = join(dir, component, file);
  const source = SafetensorsFile.open(sharedPath('fixtures', 'tiny-sd', component, file));
  const tensors: TensorToWrite[] = [...source.tensors.keys()].map((name) => {
    const dtype = dtypeOf(name);
    const values = source.float32(name);
    const data = dtype === 'I8' ? Int8Array.from(values, (v) => Math.round(v * 100)) : float32ToDType(values, dtype);
    return { name, dtype, shape: [...source.info(name).shape], data };
  });
  source.close();
  writeSafetensors(path, tensors);
  return dir;
}

function generate(model: string) {
  const cwd = mkdtempSync(join(tmpdir(), 'tdd-mixed-run-'));
  const r = spawnSync(process.execPath, [bin, 'generate', 'a cat', '--model', model, '--steps', '2', '--seed', '1', '--json'], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: join(cwd, 'cache') },
  });
  return { ...r, cwd };
}

describe('tdd generate on mixed dtypes', () => {
  test('F16 and BF16 tensors among F32 ones in one component are converted and generate an image', () => {
    let i = 0;
    const model = variantFolder('unet', 'diffusion_pytorch_model.safetensors', () => (['F32', 'F16', 'BF16'] as const)[i++ % 3]);
    const r = generate(model);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).images.length, 1);
  });

  test('an integer tensor where a weight belongs: one line naming file and key, exit 2, nothing written', () => {
    const model = variantFolder('text_encoder', 'model.safetensors', (key) => (key.endsWith('final_layer_norm.weight') ? 'I8' : 'F32'));
    const r = generate(model);
    // Under --json the error is one JSON object on stdout (nothing on stderr) whose message names file and key.
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, '');
    const { error } = JSON.parse(r.stdout);
    assert.equal(error.exitCode, 2);
    assert.equal(error.message.split('\n').length, 1, error.message);
    assert.match(error.message, /text_encoder\/model\.safetensors.*final_layer_norm\.weight.*I8/);
    assert.ok(!existsSync(join(r.cwd, 'outputs')) || readdirSync(join(r.cwd, 'outputs')).length === 0);
  });
});
