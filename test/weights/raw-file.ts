// Builds safetensors files byte by byte, so tests can make exactly the corruption they need.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A temp directory removed when the test file finishes. */
export function tempDir(prefix = 'tdd-weights-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface RawParts {
  /** Header JSON: an object is stringified, a string is used as is, bytes verbatim. */
  header: unknown;
  data?: Uint8Array;
  /** Overrides the 8-byte length prefix (default: the header's byte length). */
  lengthPrefix?: bigint;
}

export function rawSafetensors({ header, data = new Uint8Array(0), lengthPrefix }: RawParts): Uint8Array {
  const json = header instanceof Uint8Array ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthPrefix ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

export function writeRaw(dir: string, name: string, parts: RawParts | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, parts instanceof Uint8Array ? parts : rawSafetensors(parts));
  return path;
}

export function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}
