import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import {
  float16BitsToFloat32,
  float16ToFloat32,
  float32ToFloat16,
  float32ToFloat16Bits,
  fromOrtTensor,
  hostTensor,
  toOrtTensor,
} from '../../src/runtime/tensors.js';

const hex = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

describe('float16 conversion', () => {
  test('known values, ties to even, overflow, subnormals, signed zero', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff], // max finite
      [65519, 0x7bff], // just under the halfway point
      [65520, 0x7c00], // halfway to 2^16: ties-to-even overflows to inf
      [1e9, 0x7c00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [1 + 2 ** -11, 0x3c00], // tie -> even (down)
      [1 + 3 * 2 ** -11, 0x3c02], // tie -> even (up)
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above tie
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie -> even (zero)
      [1.5 * 2 ** -25, 0x0001],
      [-(2 ** -26), 0x8000],
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [(1023.5 + 0.25) * 2 ** -24, 0x0400], // rounds up into the normals
    ];
    for (const [x, bits] of cases) {
      assert.equal(hex(float32ToFloat16Bits(x)), hex(bits), `f16(${x})`);
    }
  });

  test('NaN stays NaN (quiet) in both directions', () => {
    const h = float32ToFloat16Bits(NaN);
    assert.equal(h & 0x7c00, 0x7c00);
    assert.notEqual(h & 0x3ff, 0);
    assert.ok(Number.isNaN(float16BitsToFloat32(0x7e00)));
    assert.ok(Number.isNaN(float16BitsToFloat32(0xfc01)));
    // A signalling-style payload with only low bits set must not collapse to inf.
    const f = new Float32Array(new Uint32Array([0x7f800001]).buffer)[0];
    assert.notEqual(float32ToFloat16Bits(f) & 0x3ff, 0);
  });

  test('every non-NaN float16 round-trips exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = float16BitsToFloat32(h);
      if (Number.isNaN(v)) continue;
      assert.equal(float32ToFloat16Bits(v), h, `bits ${hex(h)} -> ${v}`);
    }
    assert.equal(float16BitsToFloat32(0x3555), 0.333251953125);
    assert.equal(float16BitsToFloat32(0x0001), 2 ** -24);
    assert.ok(Object.is(float16BitsToFloat32(0x8000), -0));
  });

  test('random values round to the nearest float16', () => {
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 5000; i++) {
      const x = Math.fround((rand() - 0.5) * 2 ** (rand() * 40 - 26));
      const h = float32ToFloat16Bits(x);
      const err = Math.abs(float16BitsToFloat32(h) - x);
      for (const n of [h - 1, h + 1]) {
        if ((n & 0x7fff) >= 0x7c00 || n < 0 || (n & 0x8000) !== (h & 0x8000)) continue;
        assert.ok(err <= Math.abs(float16BitsToFloat32(n) - x), `x=${x} chose ${hex(h)} over ${hex(n)}`);
      }
    }
  });

  test('bulk helpers agree with the scalar ones (including subarray views)', () => {
    const backing = new Float32Array([9, 0.1, -3.5, 65520, 2 ** -24, NaN]);
    const view = backing.subarray(1);
    const half = float32ToFloat16(view);
    assert.deepEqual([...half], [...view].map(float32ToFloat16Bits));
    const back = float16ToFloat32(half);
    assert.deepEqual([...back].slice(0, 4), [...half].slice(0, 4).map(float16BitsToFloat32));
    assert.ok(Number.isNaN(back[4]));
  });
});

describe('host tensors <-> ort.Tensor', () => {
  test('each dtype round-trips without copying data', () => {
    const tensors = [
      hostTensor('float32', [2], new Float32Array([1, 2])),
      hostTensor('float16', [1, 2], new Uint16Array([0x3c00, 0xc000])),
      hostTensor('int64', [2], new BigInt64Array([-1n, 2n ** 40n])),
      hostTensor('int32', [2], new Int32Array([-7, 7])),
      hostTensor('bool', [3], new Uint8Array([1, 0, 1])),
      hostTensor('float64', [1], new Float64Array([Math.PI])),
    ];
    for (const t of tensors) {
      const o = toOrtTensor(t);
      assert.equal(o.type, t.dtype);
      assert.deepEqual([...o.dims], t.dims);
      const back = fromOrtTensor(o);
      assert.equal(back.dtype, t.dtype);
      assert.deepEqual(back.dims, t.dims);
      assert.deepEqual(back.data, t.data);
    }
  });

  test('hostTensor defaults to zeros and validates shape and array type', () => {
    assert.deepEqual([...hostTensor('int32', [2, 2]).data], [0, 0, 0, 0]);
    assert.throws(() => hostTensor('float32', [2, 3], new Float32Array(5)), /5 elements but dims \[2, 3\] need 6/);
    assert.throws(() => hostTensor('int64', [1], new Int32Array(1) as unknown as BigInt64Array), /needs a BigInt64Array/);
    assert.throws(() => hostTensor('float32', [-1]), /invalid dim -1/);
  });

  test('unsupported ORT types are rejected with the label', () => {
    const s = new ort.Tensor('string', ['a'], [1]);
    assert.throws(() => fromOrtTensor(s, 'output y'), /output y: unsupported ORT tensor type 'string'/);
  });
});
