import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bfloat16BitsToFloat32,
  bytesToFloat16Bits,
  bytesToFloat32,
  bytesToInt64,
  float32ToBfloat16,
  float32ToBfloat16Bits,
  float32ToDType,
  float64ToFloat16Bits,
} from '../../src/weights/dtype-convert.js';
import { float16BitsToFloat32, float16ToFloat32, float32ToFloat16, float32ToFloat16Bits } from '../../src/util/half.js';
import * as runtimeHalf from '../../src/runtime/float16.js';
import { bytesOf } from './raw-file.js';

/** The float32 whose bit pattern is `bits`. */
const fromBits = (bits: number): number => new Float32Array(new Uint32Array([bits]).buffer)[0];
const hex = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

describe('float16 (binary16)', () => {
  // [value, expected bits]; ties are exactly halfway between two halves and must go to the even one.
  const encodeCases: [string, number, number][] = [
    ['1.0', 1, 0x3c00],
    ['-2', -2, 0xc000],
    ['0.1 (rounds down)', 0.1, 0x2e66],
    ['1/3', 1 / 3, 0x3555],
    ['max half 65504', 65504, 0x7bff],
    ['65519 rounds down to max', 65519, 0x7bff],
    ['65520 ties to even -> inf', 65520, 0x7c00],
    ['min normal 2^-14', 2 ** -14, 0x0400],
    ['min subnormal 2^-24', 2 ** -24, 0x0001],
    ['largest subnormal 1023*2^-24', 1023 * 2 ** -24, 0x03ff],
    ['2^-25 ties to even -> 0', 2 ** -25, 0x0000],
    ['3*2^-25 ties to even -> 2 ulp', 3 * 2 ** -25, 0x0002],
    ['just above 2^-25 -> min subnormal', fromBits(0x33000001), 0x0001],
    ['1 + 2^-11 ties to even -> 1', 1 + 2 ** -11, 0x3c00],
    ['1 + 3*2^-11 ties to even -> 0x3c02', 1 + 3 * 2 ** -11, 0x3c02],
    ['-0', -0, 0x8000],
    ['1e-8 underflows', 1e-8, 0x0000],
    ['inf', Infinity, 0x7c00],
    ['-inf', -Infinity, 0xfc00],
    ['NaN stays quiet NaN', NaN, 0x7e00],
  ];
  for (const [label, value, bits] of encodeCases) {
    test(`encode ${label} -> ${hex(bits)}`, () => assert.equal(hex(float32ToFloat16Bits(value)), hex(bits)));
  }

  test('decode known bit patterns exactly', () => {
    assert.equal(float16BitsToFloat32(0x3c00), 1);
    assert.equal(float16BitsToFloat32(0x0001), 2 ** -24);
    assert.equal(float16BitsToFloat32(0x03ff), 1023 * 2 ** -24);
    assert.equal(float16BitsToFloat32(0x7bff), 65504);
    assert.equal(float16BitsToFloat32(0x7c00), Infinity);
    assert.equal(float16BitsToFloat32(0xfc00), -Infinity);
    assert.ok(Number.isNaN(float16BitsToFloat32(0x7e00)));
    assert.ok(Object.is(float16BitsToFloat32(0x8000), -0));
  });

  test('every non-NaN half survives half -> float32 -> half', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const back = float32ToFloat16(float16ToFloat32(all));
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (!isNaN) assert.equal(back[h], h, hex(h));
      else assert.ok(Number.isNaN(float16BitsToFloat32(back[h])), hex(h));
    }
  });

  test('src/runtime/float16.ts re-exports the same functions', () => {
    assert.equal(runtimeHalf.float32ToFloat16Bits, float32ToFloat16Bits);
    assert.equal(runtimeHalf.float16ToFloat32, float16ToFloat32);
  });

  test('float64 -> float16 rounds once (no double rounding through float32)', () => {
    // 1 + 2^-11 + 2^-40 is just above a half tie; via float32 it would land on the tie and round to even (0x3c00).
    assert.equal(hex(float64ToFloat16Bits(1 + 2 ** -11 + 2 ** -40)), '0x3c01');
    assert.equal(hex(float64ToFloat16Bits(1 + 2 ** -11 - 2 ** -40)), '0x3c00');
    assert.equal(hex(float64ToFloat16Bits(1 + 2 ** -11)), '0x3c00'); // exact tie still goes to even
    assert.equal(hex(float64ToFloat16Bits(1e300)), '0x7c00');
    assert.equal(hex(float64ToFloat16Bits(-1e-300)), '0x8000');
    assert.equal(hex(float64ToFloat16Bits(2 ** -25 + 2 ** -60)), '0x0001');
    assert.equal(hex(float64ToFloat16Bits(NaN)), '0x7e00');
    assert.equal(hex(float64ToFloat16Bits(-Infinity)), '0xfc00');
  });
});

describe('bfloat16', () => {
  const encodeCases: [string, number, number][] = [
    ['1.0', 1, 0x3f80],
    ['-2', -2, 0xc000],
    ['0.1 rounds up (low half 0xcccd)', 0.1, 0x3dcd],
    ['pi rounds down (low half 0x0fdb)', fromBits(0x40490fdb), 0x4049],
    ['tie 1 + 2^-8 -> even 0x3f80', fromBits(0x3f808000), 0x3f80],
    ['tie 0x3f818000 -> even 0x3f82', fromBits(0x3f818000), 0x3f82],
    ['max float32 rounds to inf', fromBits(0x7f7fffff), 0x7f80],
    ['just below the overflow tie', fromBits(0x7f7f7fff), 0x7f7f],
    ['float32 subnormal tie -> 0', fromBits(0x00008000), 0x0000],
    ['float32 subnormal tie -> even 0x0002', fromBits(0x00018000), 0x0002],
    ['-0', -0, 0x8000],
    ['inf', Infinity, 0x7f80],
    ['-inf', -Infinity, 0xff80],
    ['quiet NaN', NaN, 0x7fc0],
  ];
  for (const [label, value, bits] of encodeCases) {
    test(`encode ${label} -> ${hex(bits)}`, () => assert.equal(hex(float32ToBfloat16Bits(value)), hex(bits)));
  }

  test('a signalling NaN whose payload sits in the dropped half stays NaN', () => {
    const out = float32ToBfloat16(new Float32Array(new Uint32Array([0x7f800001]).buffer));
    assert.equal(hex(out[0]), '0x7fc0');
  });

  test('decode is exact (top half of a float32)', () => {
    assert.equal(bfloat16BitsToFloat32(0x3f80), 1);
    assert.equal(bfloat16BitsToFloat32(0x0001), 2 ** -133);
    assert.equal(bfloat16BitsToFloat32(0x7f7f), fromBits(0x7f7f0000));
    assert.equal(bfloat16BitsToFloat32(0xff80), -Infinity);
    assert.ok(Number.isNaN(bfloat16BitsToFloat32(0x7fc1)));
  });
});

describe('raw bytes by dtype', () => {
  const values = new Float32Array([1, -2, 0.1, 65520, 2 ** -25, NaN]);

  test('F32 / F16 / BF16 / F64 bytes -> float32', () => {
    assert.deepEqual(bytesToFloat32(bytesOf(values), 'F32'), values);
    assert.deepEqual(bytesToFloat32(bytesOf(new Uint16Array([0x3c00, 0xc000, 0x7c00])), 'F16'), new Float32Array([1, -2, Infinity]));
    assert.deepEqual(bytesToFloat32(bytesOf(new Uint16Array([0x3f80, 0x3dcd])), 'BF16'), new Float32Array([1, fromBits(0x3dcd0000)]));
    assert.deepEqual(bytesToFloat32(bytesOf(new Float64Array([0.1, 1e300])), 'F64'), new Float32Array([0.1, Infinity]));
  });

  test('float bytes -> float16 bits round to nearest even', () => {
    assert.deepEqual([...bytesToFloat16Bits(bytesOf(values), 'F32')].map(hex), [
      '0x3c00',
      '0xc000',
      '0x2e66',
      '0x7c00',
      '0x0000',
      '0x7e00',
    ]);
    assert.deepEqual([...bytesToFloat16Bits(bytesOf(new Uint16Array([0x3f80, 0x4049])), 'BF16')].map(hex), ['0x3c00', '0x4248']);
    assert.deepEqual([...bytesToFloat16Bits(bytesOf(new Float64Array([1 + 2 ** -11 + 2 ** -40])), 'F64')].map(hex), ['0x3c01']);
    assert.deepEqual([...bytesToFloat16Bits(bytesOf(new Uint16Array([0x1234])), 'F16')].map(hex), ['0x1234']);
  });

  test('integer bytes -> int64, sign- or zero-extended', () => {
    assert.deepEqual(bytesToInt64(bytesOf(new Int32Array([-1, 7])), 'I32'), new BigInt64Array([-1n, 7n]));
    assert.deepEqual(bytesToInt64(bytesOf(new Int8Array([-128])), 'I8'), new BigInt64Array([-128n]));
    assert.deepEqual(bytesToInt64(new Uint8Array([255, 1]), 'U8'), new BigInt64Array([255n, 1n]));
    assert.deepEqual(bytesToInt64(bytesOf(new BigInt64Array([-(2n ** 63n)])), 'I64'), new BigInt64Array([-(2n ** 63n)]));
  });

  test('misaligned input bytes are copied, not misread', () => {
    const buf = new Uint8Array(9);
    buf.set(bytesOf(new Float64Array([0.5])), 1);
    assert.deepEqual(bytesToFloat32(buf.subarray(1), 'F64'), new Float32Array([0.5]));
  });

  test('float32ToDType encodes for writing', () => {
    assert.deepEqual(float32ToDType(new Float32Array([1]), 'F16'), new Uint16Array([0x3c00]));
    assert.deepEqual(float32ToDType(new Float32Array([1]), 'BF16'), new Uint16Array([0x3f80]));
    assert.deepEqual(float32ToDType(new Float32Array([0.1]), 'F64'), new Float64Array([Math.fround(0.1)]));
  });
});
