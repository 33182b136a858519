import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtoWriter, varintSize } from '../../src/onnx/proto-writer.js';

const bytes = (w: ProtoWriter): number[] => [...w.finish()];

test('varint encodes small, >= 2^31 and 2^53-1 values', () => {
  assert.deepEqual(bytes(new ProtoWriter().varint(0)), [0]);
  assert.deepEqual(bytes(new ProtoWriter().varint(300)), [0xac, 0x02]);
  assert.deepEqual(bytes(new ProtoWriter().varint(2 ** 31)), [0x80, 0x80, 0x80, 0x80, 0x08]);
  assert.deepEqual(bytes(new ProtoWriter().varint(2 ** 32 + 1)), [0x81, 0x80, 0x80, 0x80, 0x10]);
  assert.deepEqual(bytes(new ProtoWriter().varint(Number.MAX_SAFE_INTEGER)), [...new ProtoWriter().varint64(2n ** 53n - 1n).finish()]);
  assert.equal(varintSize(2n ** 64n - 1n), 10);
});

test("negative int64 is 10-byte two's complement", () => {
  assert.deepEqual(bytes(new ProtoWriter().int64(-1)), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.deepEqual(bytes(new ProtoWriter().int64(-2n)), [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.throws(() => new ProtoWriter().varint64(2n ** 64n), /out of 64-bit range/);
  assert.throws(() => new ProtoWriter().varint(1.5), /non-negative integer/);
});

test('fixed-width and length-delimited fields', () => {
  assert.deepEqual(bytes(new ProtoWriter().floatField(2, 1)), [0x15, 0x00, 0x00, 0x80, 0x3f]);
  assert.deepEqual(bytes(new ProtoWriter().doubleField(1, 1)), [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  assert.deepEqual(bytes(new ProtoWriter().fixed32(0xdeadbeef)), [0xef, 0xbe, 0xad, 0xde]);
  assert.deepEqual(bytes(new ProtoWriter().fixed64(-1n)), Array(8).fill(0xff));
  assert.deepEqual(bytes(new ProtoWriter().stringField(2, 'hé')), [0x12, 3, 0x68, 0xc3, 0xa9]);
  assert.deepEqual(bytes(new ProtoWriter().packedInt64(1, [1, -1, 300])), [0x0a, 13, 1, ...Array(9).fill(0xff), 1, 0xac, 2]);
  assert.deepEqual(bytes(new ProtoWriter().packedFloat(7, [1, -2])), [0x3a, 8, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
  assert.equal(new ProtoWriter().packedInt64(1, []).length, 0);
});

test('nested messages and large payloads concatenate correctly across chunks', () => {
  const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
  const w = new ProtoWriter(16);
  w.uintField(1, 7);
  w.messageField(2, (m) => {
    m.stringField(1, 'x');
    m.bytesField(2, big);
    m.messageField(3, (n) => n.uintField(1, 5));
  });
  w.uintField(3, 9);
  const out = w.finish();
  assert.equal(out.length, w.length);
  // header: tag(1) 7, tag(2, LEN) varint(inner length)
  const innerLen = 3 + (1 + varintSize(big.length) + big.length) + 4;
  const lenBytes = [...new ProtoWriter().varint(innerLen).finish()];
  assert.deepEqual([...out.subarray(0, 3 + lenBytes.length)], [0x08, 7, 0x12, ...lenBytes]);
  const payloadStart = 3 + lenBytes.length + 3 + 1 + varintSize(big.length);
  assert.deepEqual(out.subarray(payloadStart, payloadStart + big.length), big);
  assert.deepEqual([...out.subarray(out.length - 6)], [0x1a, 2, 0x08, 5, 0x18, 9]);
});

test('many small writes grow the buffer without losing bytes', () => {
  const w = new ProtoWriter(16);
  for (let i = 0; i < 100_000; i++) w.varint(i % 128);
  const out = w.finish();
  assert.equal(out.length, 100_000);
  assert.equal(out[99_999], 99_999 % 128);
});
