/**
 * A small tar reader (ustar, GNU long names, pax extended headers) that only indexes: it walks the
 * 512-byte headers once and records where each regular file's bytes lie, so members are read later with
 * one positioned read each. Shards of gigabytes cost a header walk, not a read of their images.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { TarError } from './errors.js';

export interface TarMember {
  /** Path inside the archive ('./' prefix removed). */
  readonly name: string;
  readonly size: number;
  /** Byte offset of the member's data in the archive. */
  readonly dataOffset: number;
  /** Byte offset of its (last) header, for messages. */
  readonly headerOffset: number;
}

const BLOCK = 512;
/** Headers sit next to small members (captions), so one read usually covers several of them. */
const WINDOW = 16 * 1024;
const REGULAR_TYPES = new Set(['0', '\0', '7']);

/** Positioned reads through a small window, so a header walk is a few reads rather than one per header. */
class WindowedReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly file: FileHandle,
    readonly size: number,
  ) {}

  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(offset + length, this.size);
    if (offset >= this.windowStart && end <= this.windowStart + this.window.length) {
      return this.window.subarray(offset - this.windowStart, end - this.windowStart);
    }
    const span = Math.max(end - offset, Math.min(WINDOW, this.size - offset));
    const buffer = Buffer.alloc(Math.max(span, 0));
    const { bytesRead } = await this.file.read(buffer, 0, buffer.length, offset);
    this.window = buffer.subarray(0, bytesRead);
    this.windowStart = offset;
    return this.window.subarray(0, Math.min(end - offset, bytesRead));
  }
}

function cString(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
}

/** Octal text (NUL/space padded), or GNU base-256 when the top bit of the first byte is set. */
function numericField(block: Buffer, start: number, length: number): number {
  if (block[start] & 0x80) {
    let value = block[start] & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + block[start + i];
    return value;
  }
  const text = cString(block, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return NaN;
  return parseInt(text, 8);
}

function checksumMatches(block: Buffer): boolean {
  const stored = numericField(block, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b; // some old writers summed signed chars
  }
  return stored === unsigned || stored === signed;
}

/** "LEN key=value\n" records; LEN counts bytes of the whole record. */
function parsePaxRecords(data: Buffer, where: string): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break;
    const space = data.indexOf(0x20, at);
    const length = space < 0 ? NaN : Number(data.toString('latin1', at, space));
    if (!Number.isSafeInteger(length) || length <= 0 || at + length > data.length) {
      throw new TarError(`${where}: malformed pax extended header record`);
    }
    const record = data.toString('utf8', space + 1, at + length - 1); // drop the trailing newline
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return out;
}

function headerName(block: Buffer): string {
  const name = cString(block, 0, 100);
  // POSIX ustar splits long paths into prefix/name; old GNU headers ("ustar  ") use that area for times.
  const isPosixUstar = block.toString('latin1', 257, 263) === 'ustar\0';
  const prefix = isPosixUstar ? cString(block, 345, 155) : '';
  return prefix ? `${prefix}/${name}` : name;
}

const isZeroBlock = (block: Buffer): boolean => block.every((b) => b === 0);

/** Walks the headers; long names ('L') and pax 'x' records apply to the next header only. */
async function walkHeaders(reader: WindowedReader, where: string): Promise<TarMember[]> {
  const members: TarMember[] = [];
  let pendingName: string | undefined;
  let pendingSize: number | undefined;
  let offset = 0;
  while (offset < reader.size) {
    const block = await reader.read(offset, BLOCK);
    if (block.length < BLOCK) throw new TarError(`${where}: truncated at offset ${offset}: partial header (${block.length} of 512 bytes)`);
    if (isZeroBlock(block)) return members; // end of archive (GNU tar also stops at the first zero block)
    if (!checksumMatches(block))
      throw new TarError(`${where}: bad tar header at offset ${offset} (checksum mismatch; not a tar file or corrupt)`);
    const type = String.fromCharCode(block[156]);
    const size = pendingSize ?? numericField(block, 124, 12);
    if (!Number.isSafeInteger(size) || size < 0) throw new TarError(`${where}: bad size field in the header at offset ${offset}`);
    const dataOffset = offset + BLOCK;
    if (dataOffset + size > reader.size) {
      throw new TarError(
        `${where}: truncated at offset ${reader.size}: the member at offset ${offset} needs ${size} bytes of data, only ${reader.size - dataOffset} remain`,
      );
    }
    if (type === 'L' || type === 'x') {
      const data = await reader.read(dataOffset, size);
      if (type === 'L') pendingName = cString(data, 0, data.length);
      else {
        const records = parsePaxRecords(data, `${where} (pax header at offset ${offset})`);
        pendingName = records.get('path') ?? pendingName;
        if (records.has('size')) pendingSize = Number(records.get('size'));
      }
    } else {
      if (REGULAR_TYPES.has(type)) {
        const name = (pendingName ?? headerName(block)).replace(/^(\.\/)+/, '');
        members.push({ name, size, dataOffset, headerOffset: offset });
      }
      pendingName = undefined; // 'g' (global pax), 'K' (long link) and non-files just get skipped
      pendingSize = undefined;
    }
    offset = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
  }
  return members; // no end-of-archive blocks: tolerated, as GNU tar does
}

/** Indexes the regular files of a tar archive (directories, links and device entries are skipped). */
export async function indexTar(path: string): Promise<TarMember[]> {
  const file = await open(path, 'r');
  try {
    const reader = new WindowedReader(file, (await file.stat()).size);
    return await walkHeaders(reader, path);
  } finally {
    await file.close();
  }
}

/** Reads one member's bytes (one positioned read); fails if the archive shrank since it was indexed. */
export async function readTarMember(path: string, member: TarMember): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    return await readMemberFrom(file, path, member);
  } finally {
    await file.close();
  }
}

/** As readTarMember, through a handle the caller keeps open (many small reads from one shard). */
export async function readMemberFrom(file: FileHandle, path: string, member: TarMember): Promise<Buffer> {
  const buffer = Buffer.alloc(member.size);
  const { bytesRead } = await file.read(buffer, 0, member.size, member.dataOffset);
  if (bytesRead !== member.size) {
    throw new TarError(
      `${path}: truncated at offset ${member.dataOffset + bytesRead}: member "${member.name}" needs ${member.size} bytes (the file changed since it was indexed?)`,
    );
  }
  return buffer;
}
