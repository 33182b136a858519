/**
 * Fuzzing the safetensors reader with corrupted fixture files: truncations, flipped bytes in the length
 * prefix / header / data, huge header lengths, rewritten dtypes and shapes. Every outcome must be either a
 * successful read of every tensor or a SafetensorsError naming the file — never another exception or a hang.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SafetensorsError, SafetensorsFile } from '../../src/weights/index.js';
import { fixture } from '../helpers/model-parity.js';
import { prng } from '../helpers/prng.js';

const dir = mkdtempSync(join(tmpdir(), 'tdd-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Opens the file and reads every tensor as its natural type; returns 'ok' or the error. */
function readAll(path: string): 'ok' | Error {
  let file: SafetensorsFile | undefined;
  try {
    file = SafetensorsFile.open(path);
    for (const info of file.tensors.values()) {
      if (/^[FB]/.test(info.dtype)) file.float32(info.name);
      else file.int64(info.name);
    }
    return 'ok';
  } catch (err) {
    return err as Error;
  } finally {
    file?.close();
  }
}

function expectCleanOutcome(path: string, what: string): 'ok' | 'error' {
  const outcome = readAll(path);
  if (outcome === 'ok') return 'ok';
  assert.ok(outcome instanceof SafetensorsError, `${what}: ${outcome.name}: ${outcome.message}`);
  assert.ok(outcome.message.includes(path), `${what}: message does not name the file: ${outcome.message}`);
  return 'error';
}

const sources = [
  fixture('lora', 'tiny-sd-lora-kohya.safetensors'),
  fixture('tiny-sd', 'text_encoder', 'model.safetensors'),
  fixture('e2e-tiny-sd-tdd.safetensors'),
];

describe('safetensors reader under corruption', () => {
  for (const source of sources) {
    const original = readFileSync(source);
    const headerEnd = 8 + Number(original.readBigUInt64LE(0));
    const name = source.split('/').slice(-2).join('/');

    test(`${name}: 60 random truncations`, () => {
      const random = prng(1);
      const path = join(dir, 'truncated.safetensors');
      const counts = { ok: 0, error: 0 };
      for (let i = 0; i < 60; i++) {
        const length = Math.floor(random() * original.length);
        writeFileSync(path, original.subarray(0, length));
        counts[expectCleanOutcome(path, `truncated to ${length}`)]++;
      }
      assert.equal(counts.ok, 0, 'a truncated file must never read as complete');
    });

    test(`${name}: 200 random byte flips (prefix, header, data)`, () => {
      const random = prng(2);
      const path = join(dir, 'flipped.safetensors');
      for (let i = 0; i < 200; i++) {
        const bytes = Buffer.from(original);
        const region = i % 3;
        const position =
          region === 0
            ? Math.floor(random() * 8)
            : region === 1
              ? 8 + Math.floor(random() * (headerEnd - 8))
              : headerEnd + Math.floor(random() * (bytes.length - headerEnd));
        bytes[position] ^= 1 + Math.floor(random() * 255);
        writeFileSync(path, bytes);
        expectCleanOutcome(path, `byte ${position} flipped`);
      }
    });

    test(`${name}: huge and off-by-one header lengths`, () => {
      const path = join(dir, 'length.safetensors');
      const withLength = (length: bigint): 'ok' | 'error' => {
        const bytes = Buffer.from(original);
        bytes.writeBigUInt64LE(length, 0);
        writeFileSync(path, bytes);
        return expectCleanOutcome(path, `header length ${length}`);
      };
      for (const length of [2n ** 64n - 1n, 2n ** 63n, 100_000_001n, BigInt(original.length - 7), 0n]) {
        assert.equal(withLength(length), 'error', `header length ${length} accepted`);
      }
      // One byte short cuts a padding space (valid JSON, data shifted by a byte): either outcome is clean.
      withLength(BigInt(headerEnd - 9));
    });

    test(`${name}: wrong dtypes and shapes in the header`, () => {
      const header = original.subarray(8, headerEnd).toString('utf8');
      const path = join(dir, 'retyped.safetensors');
      const edits: [RegExp, string][] = [
        [/"F32"/, '"F16"'],
        [/"F32"/, '"F64"'],
        [/"F32"/, '"Q4"'],
        [/"F32"/, '"I64"'],
        [/"F32"/, '7'],
        [/"shape":\[(\d+)/, '"shape":[$1,2'],
        [/"shape":\[/, '"shape":[-1,'],
        [/"shape":\[/, '"shape":[1e400,'],
        [/"data_offsets":\[(\d+)/, '"data_offsets":[-$1'],
        [/"data_offsets"/, '"data_offset"'],
      ];
      for (const [pattern, replacement] of edits) {
        const edited = Buffer.from(header.replace(pattern, replacement).padEnd(header.length, ' '));
        const prefix = Buffer.alloc(8);
        prefix.writeBigUInt64LE(BigInt(edited.length), 0);
        writeFileSync(path, Buffer.concat([prefix, edited, original.subarray(headerEnd)]));
        // A length change from the edit can shift the data; either way the outcome must be clean.
        expectCleanOutcome(path, `header edit ${pattern} → ${replacement}`);
      }
    });
  }
});
