import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import {
  SafetensorsError,
  SafetensorsFile,
  writeSafetensors,
  writeSafetensorsStreamed,
  type SafetensorsDType,
  type TensorToWrite,
} from '../../src/weights/index.js';
import { sharedPath } from '../helpers/shared.js';
import { bytesOf, tempDir } from './raw-file.js';

const dir = tempDir();

/** Deterministic bytes, so every bit pattern class (NaN payloads, subnormals, negatives) shows up. */
function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function readHeaderJson(bytes: Uint8Array): string {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return Buffer.from(bytes.subarray(8, 8 + length)).toString('utf8');
}

describe('writeSafetensors round trip', () => {
  const sizes: [SafetensorsDType, number][] = [
    ['F64', 8],
    ['F32', 4],
    ['F16', 2],
    ['BF16', 2],
    ['I64', 8],
    ['I32', 4],
    ['I16', 2],
    ['I8', 1],
    ['U8', 1],
    ['BOOL', 1],
  ];

  test('every dtype comes back bit-exact', () => {
    const tensors: TensorToWrite[] = sizes.map(([dtype, size], i) => ({
      name: `t.${dtype}`,
      dtype,
      shape: [3, 5],
      data: pseudoRandomBytes(15 * size, i + 1),
    }));
    const path = join(dir, 'all-dtypes.safetensors');
    writeSafetensors(path, tensors, { note: 'round trip' });
    const file = SafetensorsFile.open(path);
    try {
      assert.deepEqual(file.metadata, { note: 'round trip' });
      for (const t of tensors) {
        assert.deepEqual(file.raw(t.name), t.data, t.name);
        assert.deepEqual(file.info(t.name).shape, [3, 5]);
      }
      // Typed accessors see the same bits.
      const f32 = tensors[1].data as Uint8Array;
      assert.deepEqual(bytesOf(file.float32('t.F32')), f32);
      assert.deepEqual(bytesOf(file.float16Bits('t.F16')), tensors[2].data);
      assert.deepEqual(bytesOf(file.int64('t.I64')), tensors[4].data);
    } finally {
      file.close();
    }
  });

  test('typed arrays, offset subarrays and DataViews are written from their own bytes', () => {
    const backing = new Float32Array([9, 1, 2, 9]);
    const path = join(dir, 'views.safetensors');
    writeSafetensors(path, [
      { name: 'sub', dtype: 'F32', shape: [2], data: backing.subarray(1, 3) },
      { name: 'dv', dtype: 'F16', shape: [1], data: new DataView(new Uint16Array([7, 0x3c00]).buffer, 2, 2) },
      { name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([2]) },
      { name: 'empty', dtype: 'BF16', shape: [0, 4], data: new Uint16Array(0) },
    ]);
    const file = SafetensorsFile.open(path);
    try {
      assert.deepEqual(file.float32('sub'), new Float32Array([1, 2]));
      assert.deepEqual(file.float32('dv'), new Float32Array([1]));
      assert.deepEqual(file.float32('scalar'), new Float32Array([2]));
      assert.deepEqual(file.info('empty').shape, [0, 4]);
    } finally {
      file.close();
    }
  });
});

describe('writeSafetensors layout', () => {
  test('tensors sorted by name (code point order), offsets contiguous, header padded with spaces to 8', () => {
    const path = join(dir, 'layout.safetensors');
    const names = ['b', '9', '10', 'a', '\u{1F600}', '\uFFFF'];
    writeSafetensors(
      path,
      names.map((name, i) => ({ name, dtype: 'U8' as const, shape: [i + 1], data: new Uint8Array(i + 1).fill(i) })),
      { format: 'pt' },
    );
    const bytes = readFileSync(path);
    const length = Number(bytes.readBigUInt64LE(0));
    assert.equal(length % 8, 0);
    const json = readHeaderJson(bytes);
    assert.match(json, /^\{"10":\{"dtype":"U8","shape":\[3\],"data_offsets":\[0,3\]\},"9":/);
    assert.match(json, /,"__metadata__":\{"format":"pt"\}\} *$/);
    const padding = length - Buffer.byteLength(json.trimEnd());
    assert.ok(padding >= 0 && padding < 8 && json.endsWith(' '.repeat(padding)), `padding ${padding}`);
    const file = SafetensorsFile.open(path);
    try {
      // '\uFFFF' (U+FFFF) sorts before the astral U+1F600 by code point, though not by UTF-16 code unit.
      assert.deepEqual([...file.tensors.keys()], ['10', '9', 'a', 'b', '\uFFFF', '\u{1F600}']);
      assert.deepEqual([...file.raw('\u{1F600}')], [4, 4, 4, 4, 4]);
      assert.deepEqual(file.warnings, []);
    } finally {
      file.close();
    }
  });

  test('no __metadata__ key when metadata is absent or empty', () => {
    for (const [i, metadata] of [undefined, {}].entries()) {
      const path = join(dir, `nometa${i}.safetensors`);
      writeSafetensors(path, [{ name: 'x', dtype: 'U8', shape: [1], data: new Uint8Array(1) }], metadata);
      assert.equal(readHeaderJson(readFileSync(path)).trimEnd(), '{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}');
    }
  });

  test('accepts any iterable (a generator)', () => {
    const path = join(dir, 'generator.safetensors');
    function* tensors(): Generator<TensorToWrite> {
      yield { name: 'g', dtype: 'I32', shape: [2], data: new Int32Array([-1, 1]) };
    }
    writeSafetensors(path, tensors());
    const file = SafetensorsFile.open(path);
    assert.deepEqual(file.int64('g'), new BigInt64Array([-1n, 1n]));
    file.close();
  });
});

describe('re-writing the fixture files', () => {
  const fixtures = sharedPath('fixtures');
  const files = readdirSync(fixtures, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.safetensors'))
    .sort();

  // The fixtures README says: sorted by name, space padding to 8, __metadata__ {"format":"pt"} (kohya: ss_network_*).
  // Those are exactly our conventions (plus compact JSON and __metadata__ last), so the bytes must match.
  for (const name of files) {
    test(`${name} is reproduced byte for byte`, () => {
      const original = join(fixtures, name);
      const file = SafetensorsFile.open(original);
      const copy = join(dir, relative(fixtures, original).replaceAll('/', '__'));
      try {
        writeSafetensors(
          copy,
          [...file.tensors.values()].map((t) => ({ ...t, data: file.raw(t.name) })),
          file.metadata,
        );
      } finally {
        file.close();
      }
      assert.ok(readFileSync(copy).equals(readFileSync(original)), `${name} differs after re-writing`);
    });
  }
});

describe('writeSafetensors is atomic', () => {
  const tensor = (data: ArrayBufferView, shape = [2]): TensorToWrite => ({ name: 'w', dtype: 'F32', shape, data });
  const tempFilesIn = (d: string) => readdirSync(d).filter((f) => f.includes('.tmp-'));

  test('success leaves only the target, replacing an existing file', () => {
    const sub = join(dir, 'atomic-ok');
    mkdirSync(sub);
    const path = join(sub, 'model.safetensors');
    writeFileSync(path, 'old contents');
    writeSafetensors(path, [tensor(new Float32Array([1, 2]))]);
    assert.deepEqual(readdirSync(sub), ['model.safetensors']);
    const file = SafetensorsFile.open(path);
    assert.deepEqual(file.float32('w'), new Float32Array([1, 2]));
    file.close();
  });

  test('bad tensors throw before anything is written, leaving the target untouched', () => {
    const sub = join(dir, 'atomic-bad');
    mkdirSync(sub);
    const path = join(sub, 'model.safetensors');
    writeFileSync(path, 'precious');
    const bad: [TensorToWrite[], RegExp, Record<string, string>?][] = [
      [[tensor(new Float32Array(3))], /tensor "w": data has 12 bytes but F32 shape \[2\] needs 8/],
      [[tensor(new Float32Array(2), [-2])], /tensor "w": shape must be an array of non-negative integers/],
      [[tensor(new Float32Array(2)), tensor(new Float32Array(2))], /tensor "w": duplicate name/],
      [[{ ...tensor(new Float32Array(2)), name: '__metadata__' }], /"__metadata__" is reserved/],
      [[{ ...tensor(new Float32Array(2)), dtype: 'F8' as SafetensorsDType }], /unknown dtype "F8"/],
      [[{ ...tensor(new Float32Array(2)), data: [1, 2] as unknown as ArrayBufferView }], /data must be a typed array/],
      [[tensor(new Float32Array(2))], /metadata key "n" must map to a string/, { n: 3 as unknown as string }],
    ];
    for (const [tensors, message, metadata] of bad) {
      assert.throws(
        () => writeSafetensors(path, tensors, metadata),
        (err: Error) => {
          assert.ok(err instanceof SafetensorsError);
          assert.ok(err.message.startsWith(`${path}: `), err.message);
          assert.match(err.message, message);
          return true;
        },
      );
      assert.equal(readFileSync(path, 'utf8'), 'precious');
      assert.deepEqual(tempFilesIn(sub), []);
    }
  });

  test('a failing rename removes the temporary file', () => {
    const sub = join(dir, 'atomic-rename');
    const target = join(sub, 'is-a-directory');
    mkdirSync(join(target, 'child'), { recursive: true });
    assert.throws(() => writeSafetensors(target, [tensor(new Float32Array(2))]), /write failed, target left untouched/);
    assert.deepEqual(tempFilesIn(sub), []);
    assert.deepEqual(readdirSync(target), ['child']);
  });
});

describe('writeSafetensorsStreamed', () => {
  const tensors: TensorToWrite[] = [
    { name: 'b.weight', dtype: 'F16', shape: [4, 3], data: pseudoRandomBytes(24, 7) },
    { name: 'a.bias', dtype: 'F32', shape: [5], data: pseudoRandomBytes(20, 8) },
  ];

  test('writes the same bytes as writeSafetensors, asking for each tensor once in file order', () => {
    const whole = join(dir, 'whole.safetensors');
    const streamed = join(dir, 'streamed.safetensors');
    writeSafetensors(whole, tensors, { k: 'v' });
    const asked: string[] = [];
    writeSafetensorsStreamed(
      streamed,
      tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape })),
      (spec) => {
        asked.push(spec.name);
        return tensors.find((t) => t.name === spec.name)!.data;
      },
      { k: 'v' },
    );
    assert.deepEqual(asked, ['a.bias', 'b.weight']);
    assert.deepEqual(readFileSync(streamed), readFileSync(whole));
  });

  test('a produced tensor of the wrong size fails and leaves no file', () => {
    const sub = join(dir, 'streamed-bad');
    mkdirSync(sub, { recursive: true });
    const path = join(sub, 'bad.safetensors');
    assert.throws(
      () => writeSafetensorsStreamed(path, [{ name: 'x', dtype: 'F32', shape: [2] }], () => new Float32Array(3)),
      (e: unknown) => e instanceof SafetensorsError && /"x": produced 12 bytes, its header says 8/.test(e.message),
    );
    assert.deepEqual(readdirSync(sub), []);
  });
});
