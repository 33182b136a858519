import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { PickleRefusedError, SafetensorsError, SafetensorsFile, refusePickle, writeSafetensors } from '../../src/weights/index.js';
import { sharedPath } from '../helpers/shared.js';
import { tempDir, writeRaw } from './raw-file.js';

const dir = tempDir();
// The start of what torch.save writes: legacy (pickle protocol 2 magic number) and the default zip archive.
const LEGACY_TORCH = new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
const ZIP_TORCH = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x08, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);

function assertRefused(path: string, reason: RegExp, act: () => unknown = () => refusePickle(path)): void {
  assert.throws(act, (err: Error) => {
    assert.ok(err instanceof PickleRefusedError && err instanceof SafetensorsError, `${err}`);
    assert.ok(err.message.startsWith(`${path}: refusing to load a pickle checkpoint`), err.message);
    assert.match(err.message, reason);
    assert.match(err.message, /Unpickling executes arbitrary code/); // why
    assert.match(err.message, /safetensors\.torch import save_file/); // how to convert, in Python
    assert.match(err.message, /weights_only=True/);
    assert.match(err.message, /save_pretrained\(out, safe_serialization=True\)/); // or with diffusers
    return true;
  });
}

describe('refusePickle', () => {
  for (const ext of ['.ckpt', '.bin', '.pt', '.pth', '.PT']) {
    test(`refuses ${ext} by name, even when the file does not exist`, () => {
      assertRefused(
        `${dir}/model${ext}`,
        new RegExp(`its "${ext.toLowerCase().replace('.', '\\.')}" extension marks a PyTorch pickle checkpoint`),
      );
    });
  }

  test('refuses pickle content behind a safetensors name', () => {
    assertRefused(writeRaw(dir, 'legacy.safetensors', LEGACY_TORCH), /it starts with the pickle protocol 2 marker/);
    assertRefused(writeRaw(dir, 'zipped.safetensors', ZIP_TORCH), /it starts with the zip signature of a torch\.save archive/);
  });

  test('SafetensorsFile.open refuses the same content instead of reporting a bogus header length', () => {
    const path = writeRaw(dir, 'opened.safetensors', ZIP_TORCH);
    assertRefused(path, /zip signature/, () => SafetensorsFile.open(path));
  });

  test('the conversion one-liner quotes the path as a Python string', () => {
    assert.throws(
      () => refusePickle("/models/it's.ckpt"),
      /torch\.load\('\/models\/it\\'s\.ckpt', map_location='cpu', weights_only=True\)/,
    );
  });

  test('accepts safetensors files, including one whose header length starts 0x80 0x02 like a pickle', () => {
    refusePickle(sharedPath('fixtures', 'tiny-sd', 'unet', 'diffusion_pytorch_model.safetensors'));
    // A 640-byte header is 80 02 00 00 ... as a little-endian u64.
    const path = `${dir}/looks-like-pickle.safetensors`;
    writeSafetensors(path, [{ name: 'x'.repeat(557), dtype: 'U8', shape: [1], data: new Uint8Array([5]) }], { format: 'pt' });
    assert.deepEqual([...readFileSync(path).subarray(0, 3)], [0x80, 0x02, 0x00]);
    const file = SafetensorsFile.open(path);
    try {
      assert.deepEqual([...file.raw('x'.repeat(557))], [5]);
    } finally {
      file.close();
    }
    refusePickle(path);
  });

  test('a missing .safetensors path is left for open() to report', () => {
    refusePickle(`${dir}/missing.safetensors`);
  });
});
