// One corrupt file per header validation rule; each error must name the file and, where one is at fault, the key.
import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { describe, test } from 'node:test';
import { MAX_HEADER_BYTES, SafetensorsError, SafetensorsFile } from '../../src/weights/index.js';
import { bytesOf, rawSafetensors, tempDir, writeRaw, type RawParts } from './raw-file.js';

const dir = tempDir();
const f32 = (offsets: [number, number], shape: number[] = [(offsets[1] - offsets[0]) / 4]) => ({
  dtype: 'F32',
  shape,
  data_offsets: offsets,
});

function assertRejected(name: string, parts: RawParts | Uint8Array, message: RegExp): void {
  const path = writeRaw(dir, name, parts);
  assert.throws(
    () => SafetensorsFile.open(path),
    (err: Error) => {
      assert.ok(err instanceof SafetensorsError, `${err}`);
      assert.ok(err.message.startsWith(`${path}: `), err.message);
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('safetensors header validation', () => {
  test('file shorter than 8 bytes', () => {
    assertRejected('short.safetensors', new Uint8Array([1, 0, 0]), /file is 3 bytes, too short for the 8-byte header length/);
  });

  test('header length beyond the file', () => {
    assertRejected(
      'long.safetensors',
      { header: '{}', lengthPrefix: 50n },
      /header length 50 is larger than the 2 bytes after the length prefix/,
    );
  });

  test('header length over the 100 MB limit', () => {
    const huge = BigInt(MAX_HEADER_BYTES) + 1n;
    assertRejected('huge.safetensors', { header: '{}', lengthPrefix: huge }, /header length 100000001 exceeds the 100000000-byte limit/);
    assertRejected('u64.safetensors', { header: '{}', lengthPrefix: 2n ** 64n - 1n }, /header length 18446744073709551615 exceeds/);
  });

  test('invalid UTF-8', () => {
    assertRejected('utf8.safetensors', { header: new Uint8Array([0x7b, 0xff, 0x7d]) }, /header is not valid UTF-8/);
  });

  test('invalid JSON', () => {
    assertRejected('json.safetensors', { header: '{"a": ' }, /header is not valid JSON/);
  });

  test('top level not an object', () => {
    assertRejected('array.safetensors', { header: '[1, 2]' }, /header JSON must be an object of tensor entries, got an array/);
    assertRejected('null.safetensors', { header: 'null' }, /got null/);
  });

  test('entry not an object', () => {
    assertRejected('entry.safetensors', { header: { w: 3 } }, /tensor "w": entry must be an object/);
  });

  test('unknown dtype names the key and the dtype', () => {
    const header = { w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } };
    assertRejected(
      'dtype.safetensors',
      { header, data: new Uint8Array(1) },
      /tensor "w": unknown or unsupported dtype "F8_E4M3" \(supported: F64, F32/,
    );
  });

  test('shape must be an array of non-negative integers', () => {
    for (const [i, shape] of [[-1], [1.5], '4', [Number.MAX_SAFE_INTEGER + 1], null].entries()) {
      const header = { w: { dtype: 'U8', shape, data_offsets: [0, 1] } };
      assertRejected(
        `shape${i}.safetensors`,
        { header, data: new Uint8Array(1) },
        /tensor "w": shape must be an array of non-negative integers/,
      );
    }
  });

  test('data_offsets must be [begin, end] integers with begin <= end', () => {
    for (const [i, offsets] of [[4, 0], [0], [0, 4, 8], [0, -4], [0.5, 4], 'x'].entries()) {
      const header = { w: { dtype: 'F32', shape: [1], data_offsets: offsets } };
      assertRejected(`offsets${i}.safetensors`, { header, data: new Uint8Array(8) }, /tensor "w": data_offsets must be \[begin, end\]/);
    }
  });

  test('byte span must equal numel * dtype size', () => {
    const header = { w: f32([0, 12], [2, 2]) };
    assertRejected(
      'span.safetensors',
      { header, data: new Uint8Array(16) },
      /tensor "w": data_offsets \[0, 12\] span 12 bytes but F32 shape \[2, 2\] needs 16/,
    );
  });

  test('offsets outside the data section', () => {
    assertRejected(
      'outside.safetensors',
      { header: { w: f32([8, 16]) }, data: new Uint8Array(12) },
      /tensor "w": data_offsets \[8, 16\] lie outside the 12-byte data section/,
    );
  });

  test('overlapping tensors name both keys', () => {
    const header = { a: f32([0, 8]), b: f32([4, 12]) };
    assertRejected('overlap.safetensors', { header, data: new Uint8Array(12) }, /tensor "b" overlaps tensor "a"/);
    const same = { a: f32([0, 8]), b: f32([0, 8]) };
    assertRejected('same.safetensors', { header: same, data: new Uint8Array(8) }, /tensor "b" overlaps tensor "a"/);
  });

  test('__metadata__ must map strings to strings', () => {
    assertRejected(
      'meta1.safetensors',
      { header: { __metadata__: { format: 1 } } },
      /"__metadata__" key "format" must map to a string, got number 1/,
    );
    assertRejected('meta2.safetensors', { header: { __metadata__: ['pt'] } }, /"__metadata__" must be an object of strings, got an array/);
  });

  test('holes and trailing bytes are allowed but reported', () => {
    const header = { a: f32([4, 8]), b: f32([12, 16]) };
    const data = new Uint8Array(20);
    data.set(bytesOf(new Float32Array([1.5])), 4);
    const path = writeRaw(dir, 'holes.safetensors', { header, data });
    const file = SafetensorsFile.open(path);
    try {
      assert.deepEqual([...file.tensors.keys()], ['a', 'b']);
      assert.deepEqual(file.float32('a'), new Float32Array([1.5]));
      assert.deepEqual(file.warnings, [
        `${path}: 8 unused bytes between tensors in the data section`,
        `${path}: 4 unused bytes after the last tensor`,
      ]);
    } finally {
      file.close();
    }
  });

  test('empty and 0-d tensors are valid; tensors map follows data order, not JSON order', () => {
    const header = { '10': f32([4, 8], []), empty: { dtype: 'F16', shape: [3, 0], data_offsets: [4, 4] }, a: f32([0, 4]) };
    const path = writeRaw(dir, 'order.safetensors', { header, data: bytesOf(new Float32Array([1, 2])) });
    const file = SafetensorsFile.open(path);
    try {
      assert.deepEqual([...file.tensors.keys()], ['a', '10', 'empty']);
      assert.deepEqual(file.float32('10'), new Float32Array([2]));
      assert.deepEqual(file.float16Bits('empty'), new Uint16Array(0));
      assert.deepEqual(file.warnings, []);
    } finally {
      file.close();
    }
  });

  test('a missing file is a SafetensorsError naming it', () => {
    assert.throws(
      () => SafetensorsFile.open(`${dir}/nope.safetensors`),
      (err: Error) => err instanceof SafetensorsError && /nope\.safetensors: cannot open/.test(err.message),
    );
  });

  test('offsets past 4 GiB read correctly (sparse 5 GB file)', () => {
    const far = 5_000_000_000;
    const head = rawSafetensors({ header: { far: f32([far, far + 8]) } });
    const path = `${dir}/sparse.safetensors`;
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, head, 0, head.length, 0);
      writeSync(fd, bytesOf(new Float32Array([3.5, -1])), 0, 8, head.length + far); // the gap stays a hole on disk
    } finally {
      closeSync(fd);
    }
    const file = SafetensorsFile.open(path);
    try {
      assert.equal(file.info('far').byteOffset, head.length + far);
      assert.deepEqual(file.float32('far'), new Float32Array([3.5, -1]));
      assert.equal(file.warnings.length, 1); // the 5 GB gap before it
    } finally {
      file.close();
    }
  });
});
