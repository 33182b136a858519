/**
 * PNG output: sharp encodes the pixels; text chunks (tEXt, or iTXt for non-Latin-1 text such as prompts in
 * other scripts) are inserted after IHDR ourselves, since sharp has no API for arbitrary PNG text. This is
 * where A1111 and ComfyUI look for generation parameters.
 */
import sharp from 'sharp';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

const isLatin1 = (s: string): boolean => /^[\u0000-\u00ff]*$/.test(s);

/** A tEXt chunk when the text is Latin-1, else an uncompressed UTF-8 iTXt chunk. */
export function textChunk(keyword: string, text: string): Buffer {
  if (!/^[\u0020-\u007e]{1,79}$/.test(keyword))
    throw new RangeError(`PNG text keyword must be 1–79 printable ASCII characters, got ${JSON.stringify(keyword)}`);
  if (isLatin1(text)) return chunk('tEXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.of(0), Buffer.from(text, 'latin1')]));
  // keyword \0 compression-flag 0, method 0, empty language tag \0, empty translated keyword \0, UTF-8 text
  return chunk('iTXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.of(0, 0, 0, 0, 0), Buffer.from(text, 'utf8')]));
}

export async function encodePng(rgb: Uint8Array, width: number, height: number, text: Record<string, string> = {}): Promise<Uint8Array> {
  const png = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  const ihdrEnd = 8 + 8 + 13 + 4; // signature, IHDR length+type, IHDR data, CRC
  const chunks = Object.entries(text).map(([k, v]) => textChunk(k, v));
  return Buffer.concat([png.subarray(0, ihdrEnd), ...chunks, png.subarray(ihdrEnd)]);
}

/** Reads the tEXt/iTXt chunks of a PNG (for tests and `tdd info` on images). */
export function readPngText(png: Uint8Array): Record<string, string> {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  const out: Record<string, string> = {};
  let at = 8;
  while (at + 8 <= buf.length) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + length);
    const nul = data.indexOf(0);
    if (type === 'tEXt' && nul > 0) out[data.toString('latin1', 0, nul)] = data.toString('latin1', nul + 1);
    if (type === 'iTXt' && nul > 0 && data[nul + 1] === 0) {
      const textStart = data.indexOf(0, data.indexOf(0, nul + 3) + 1) + 1;
      out[data.toString('latin1', 0, nul)] = data.toString('utf8', textStart);
    }
    at += 12 + length;
  }
  return out;
}
