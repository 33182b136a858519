// Fixtures for the data-layer tests: temp folders, tiny images made with sharp, and a minimal tar writer.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

export interface TempDir {
  path: string;
  write(relative: string, data: Uint8Array | string): string;
  cleanup(): void;
}

export function makeTempDir(prefix = 'tdd-data-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    write(relative, data) {
      const full = join(path, relative);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, data);
      return full;
    },
    cleanup: () => rmSync(path, { recursive: true, force: true }),
  };
}

/** A solid-colour image; the colour doubles as a fingerprint to check image/caption pairing. */
export async function solidImage(
  rgb: [number, number, number],
  format: 'png' | 'jpeg' | 'webp' = 'png',
  width = 4,
  height = 4,
): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++) data.set(rgb, 3 * p);
  const img = sharp(data, { raw: { width, height, channels: 3 } });
  return format === 'png'
    ? img.png().toBuffer()
    : format === 'jpeg'
      ? img.jpeg({ quality: 100 }).toBuffer()
      : img.webp({ lossless: true }).toBuffer();
}

/** Raw pixels (HWC, 1–4 channels) as a PNG. */
export function pngFromPixels(pixels: number[], width: number, height: number, channels: 1 | 2 | 3 | 4): Promise<Buffer> {
  return sharp(Buffer.from(pixels), { raw: { width, height, channels } }).png().toBuffer();
}

/** The top-left pixel's RGB of an encoded image. */
export async function firstPixel(bytes: Uint8Array): Promise<number[]> {
  const raw = await sharp(bytes).removeAlpha().raw().toBuffer();
  return [raw[0], raw[1], raw[2]];
}

export interface TarEntry {
  name: string;
  data?: Uint8Array | string;
  /** Tar type flag (default '0', a regular file; '5' a folder). */
  type?: string;
  /** How a name over 100 bytes is stored: GNU 'L' record, pax 'x' header, or the ustar prefix field. */
  longName?: 'gnu' | 'pax' | 'prefix';
}

function field(block: Buffer, offset: number, length: number, text: string): void {
  block.write(text, offset, length, 'utf8');
}

const octal = (value: number, digits: number): string => `${value.toString(8).padStart(digits, '0')}\0`;

function header(name: string, size: number, type: string, magic: 'posix' | 'gnu', prefix = ''): Buffer {
  const block = Buffer.alloc(512);
  field(block, 0, 100, name);
  field(block, 100, 8, octal(0o644, 7));
  field(block, 108, 8, octal(0, 7));
  field(block, 116, 8, octal(0, 7));
  field(block, 124, 12, octal(size, 11));
  field(block, 136, 12, octal(1700000000, 11));
  field(block, 156, 1, type);
  block.write(magic === 'posix' ? 'ustar\u000000' : 'ustar  \u0000', 257, 'latin1');
  field(block, 345, 155, prefix);
  block.fill(0x20, 148, 156);
  const sum = block.reduce((a, b) => a + b, 0);
  field(block, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

const pad = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

/** A tar archive of the entries (with the two end-of-archive zero blocks unless endBlocks is false). */
export function buildTar(entries: readonly TarEntry[], endBlocks = true): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? '');
    const type = entry.type ?? '0';
    let name = entry.name;
    let prefix = '';
    if (entry.longName === 'gnu') {
      const longName = Buffer.from(`${name}\0`);
      parts.push(header('././@LongLink', longName.length, 'L', 'gnu'), pad(longName));
      name = name.slice(0, 99);
    } else if (entry.longName === 'pax') {
      const records = Buffer.from(paxRecord('path', name));
      parts.push(header(`PaxHeaders.0/${name.slice(-40)}`, records.length, 'x', 'posix'), pad(records));
      name = name.slice(0, 99);
    } else if (entry.longName === 'prefix') {
      const cut = name.lastIndexOf('/', 155);
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
    }
    parts.push(header(name, data.length, type, entry.longName === 'gnu' ? 'gnu' : 'posix', prefix), pad(data));
  }
  if (endBlocks) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
