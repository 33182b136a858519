import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { SafetensorsError, SafetensorsFile } from '../../src/weights/index.js';
import { loadSharedJson, sharedPath } from '../helpers/shared.js';

const fixtures = sharedPath('fixtures');
const JSON_DTYPES: Record<string, string> = { float32: 'F32', int64: 'I64', uint8: 'U8' };

function openFixture(...parts: string[]): SafetensorsFile {
  const file = SafetensorsFile.open(sharedPath('fixtures', ...parts));
  after(() => file.close());
  return file;
}

function safetensorsUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.safetensors'))
    .map((f) => join(dir, f))
    .sort();
}

describe('tiny-sd UNet weights', () => {
  const unet = openFixture('tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors');

  test("lists 304 tensors with the fixture writer's metadata", () => {
    assert.equal(unet.tensors.size, 304);
    assert.deepEqual(unet.metadata, { format: 'pt' });
    assert.deepEqual(unet.warnings, []);
  });

  test('info gives absolute offsets (8-byte prefix + 34104-byte header)', () => {
    assert.deepEqual(unet.info('conv_in.bias'), {
      name: 'conv_in.bias',
      dtype: 'F32',
      shape: [32],
      byteOffset: 8 + 34104,
      byteLength: 128,
    });
    assert.deepEqual(unet.info('conv_in.weight').shape, [32, 4, 3, 3]);
  });

  test("values match numpy's reading of the same file", () => {
    // numpy: np.frombuffer(...)[:3].tolist() and .astype(np.float64).sum()
    assert.deepEqual([...unet.float32('conv_in.bias').subarray(0, 3)], [0.02790960855782032, -0.011856799945235252, 0.11461275815963745]);
    const sum = unet.float32('conv_in.weight').reduce((s, x) => s + x, 0);
    assert.ok(Math.abs(sum - -5.057544575305656) < 1e-9, `sum ${sum}`);
  });

  test('float16Bits and raw agree with float32', () => {
    const f32 = unet.float32('conv_in.bias');
    const raw = unet.raw('conv_in.bias');
    assert.deepEqual(new Float32Array(raw.buffer, raw.byteOffset, 32), f32);
    assert.equal(unet.float16Bits('conv_in.bias').length, 32);
  });

  test('a missing key names the file and suggests close names', () => {
    assert.throws(
      () => unet.info('conv_in.weights'),
      (err: Error) => {
        assert.ok(err instanceof SafetensorsError);
        assert.match(err.message, /diffusion_pytorch_model\.safetensors: no tensor "conv_in\.weights"/);
        assert.match(err.message, /did you mean "conv_in\.weight"/);
        return true;
      },
    );
    assert.equal(unet.has('conv_in.weight'), true);
    assert.equal(unet.has('conv_in.weights'), false);
    assert.throws(() => unet.float32('zzzz'), /no tensor "zzzz" \(the file has 304\)$/);
  });

  test('int64 of a float tensor is refused, naming the dtype', () => {
    assert.throws(() => unet.int64('conv_in.bias'), /tensor "conv_in.bias" is F32; int64\(\) needs an integer or BOOL tensor/);
  });
});

describe('tiny-sd-reference.safetensors against its JSON index', () => {
  const ref = openFixture('tiny-sd-reference.safetensors');
  const index = loadSharedJson<{ tensors: Record<string, { dtype: string; shape: number[] }> }>('fixtures', 'tiny-sd-reference.json');

  test('same names, dtypes and shapes for every entry', () => {
    assert.deepEqual([...ref.tensors.keys()].sort(), Object.keys(index.tensors).sort());
    for (const [name, entry] of Object.entries(index.tensors)) {
      const info = ref.info(name);
      assert.equal(info.dtype, JSON_DTYPES[entry.dtype], name);
      assert.deepEqual(info.shape, entry.shape, name);
      assert.equal(
        info.byteLength,
        entry.shape.reduce((n, d) => n * d, info.dtype === 'I64' ? 8 : 4),
        name,
      );
    }
  });

  test('int64 inputs read as BigInt64Array', () => {
    assert.deepEqual(ref.int64('unet.in.timesteps'), new BigInt64Array([999n, 250n]));
    const ids = ref.int64('te.in.input_ids');
    assert.deepEqual([...ids.subarray(0, 8)], [998n, 320n, 856n, 531n, 320n, 579n, 999n, 999n]);
    assert.deepEqual([...ids.subarray(77, 81)], [998n, 999n, 999n, 999n]);
  });

  test('float32 of an int64 tensor is refused', () => {
    assert.throws(() => ref.float32('unet.in.timesteps'), /is I64; float32\(\) needs a float/);
  });

  test('closing makes further reads fail clearly', () => {
    const file = SafetensorsFile.open(ref.path);
    assert.equal(file.float32('unet.in.sample')[0], -0.1117185652256012);
    file.close();
    file.close(); // idempotent
    assert.throws(() => file.raw('unet.in.sample'), /tensor "unet.in.sample": file is closed/);
  });
});

describe('every fixture file', () => {
  const files = safetensorsUnder(fixtures);

  test('there are fixture files to read', () => assert.ok(files.length >= 10, `found ${files.length}`));

  for (const path of files) {
    test(`${relative(fixtures, path)}: header valid, tensors sorted by name and packed`, () => {
      const file = SafetensorsFile.open(path);
      try {
        assert.deepEqual(file.warnings, []);
        const infos = [...file.tensors.values()];
        assert.deepEqual(
          infos.map((t) => t.name),
          infos.map((t) => t.name).sort(),
        );
        for (let i = 1; i < infos.length; i++) assert.equal(infos[i].byteOffset, infos[i - 1].byteOffset + infos[i - 1].byteLength);
      } finally {
        file.close();
      }
    });
  }

  test('the kohya LoRA keeps 0-d alpha tensors and its ss_network metadata', () => {
    const kohya = openFixture('lora', 'tiny-sd-lora-kohya.safetensors');
    const alpha = kohya.info('lora_te_text_model_encoder_layers_0_mlp_fc1.alpha');
    assert.deepEqual(alpha.shape, []);
    assert.deepEqual(kohya.float32(alpha.name), new Float32Array([2]));
    assert.deepEqual(kohya.metadata, { ss_network_module: 'networks.lora', ss_network_dim: '4', ss_network_alpha: '2.0' });
  });
});
