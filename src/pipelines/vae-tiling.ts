/**
 * Tiled VAE decoding for images larger than the VAE's native tile, as diffusers' AutoencoderKL.tiled_decode:
 * latent tiles of `tile` cells every `tile·(1 − 0.25)` cells are decoded separately; each decoded tile is
 * blended linearly into its upper and left neighbours over 25 % of the tile (blending in place, so later
 * tiles blend with already-blended neighbours, as diffusers does), cropped to the stride and stitched.
 * Memory then stays at one tile's activations whatever the image size.
 */

export interface TiledDecodeOptions {
  /** Latent tile size in cells (diffusers: sample_size / vae scale factor, 64 for SD). */
  tile: number;
  /** Pixels per latent cell. */
  factor: number;
  /** Decodes one latent tile [n,c,th,tw] → image [n,3,th·f,tw·f]. */
  decodeTile: (latents: Float32Array, th: number, tw: number) => Promise<Float32Array>;
}

const OVERLAP = 0.25;

interface Tile {
  data: Float32Array;
  h: number;
  w: number;
}

function cropLatents(
  z: Float32Array,
  n: number,
  c: number,
  h: number,
  w: number,
  top: number,
  left: number,
  th: number,
  tw: number,
): Float32Array {
  const out = new Float32Array(n * c * th * tw);
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < th; y++) {
      const from = p * h * w + (top + y) * w + left;
      out.set(z.subarray(from, from + tw), p * th * tw + y * tw);
    }
  }
  return out;
}

/** b's first rows ← a's last rows·(1 − y/e) + b's rows·(y/e). */
function blendVertical(a: Tile, b: Tile, planes: number, extent: number): void {
  const e = Math.min(a.h, b.h, extent);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < e; y++) {
      const wB = y / e;
      const rowA = p * a.h * a.w + (a.h - e + y) * a.w;
      const rowB = p * b.h * b.w + y * b.w;
      for (let x = 0; x < Math.min(a.w, b.w); x++) b.data[rowB + x] = a.data[rowA + x] * (1 - wB) + b.data[rowB + x] * wB;
    }
  }
}

/** b's first columns ← a's last columns·(1 − x/e) + b's columns·(x/e). */
function blendHorizontal(a: Tile, b: Tile, planes: number, extent: number): void {
  const e = Math.min(a.w, b.w, extent);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < Math.min(a.h, b.h); y++) {
      const rowA = p * a.h * a.w + y * a.w + a.w - e;
      const rowB = p * b.h * b.w + y * b.w;
      for (let x = 0; x < e; x++) b.data[rowB + x] = a.data[rowA + x] * (1 - x / e) + b.data[rowB + x] * (x / e);
    }
  }
}

/** Latents [n,c,h,w] → image [n,3,h·f,w·f] decoded tile by tile. */
export async function tiledDecode(
  z: Float32Array,
  n: number,
  c: number,
  h: number,
  w: number,
  o: TiledDecodeOptions,
): Promise<Float32Array> {
  const stride = Math.floor(o.tile * (1 - OVERLAP));
  const tilePixels = o.tile * o.factor;
  const extent = Math.floor(tilePixels * OVERLAP);
  const limit = tilePixels - extent;
  const planes = n * 3;
  const rows: Tile[][] = [];
  for (let i = 0; i < h; i += stride) {
    const row: Tile[] = [];
    for (let j = 0; j < w; j += stride) {
      const th = Math.min(o.tile, h - i);
      const tw = Math.min(o.tile, w - j);
      const data = await o.decodeTile(cropLatents(z, n, c, h, w, i, j, th, tw), th, tw);
      const tile = { data, h: th * o.factor, w: tw * o.factor };
      if (rows.length > 0) blendVertical(rows[rows.length - 1][row.length], tile, planes, extent);
      if (row.length > 0) blendHorizontal(row[row.length - 1], tile, planes, extent);
      row.push(tile);
    }
    rows.push(row);
  }
  return stitch(rows, planes, h * o.factor, w * o.factor, limit);
}

/** Each tile cropped to its first `limit` rows/columns, placed at its grid position. */
function stitch(rows: Tile[][], planes: number, height: number, width: number, limit: number): Float32Array {
  const out = new Float32Array(planes * height * width);
  let top = 0;
  for (const row of rows) {
    let left = 0;
    let rowHeight = 0;
    for (const tile of row) {
      const ch = Math.min(limit, tile.h);
      const cw = Math.min(limit, tile.w);
      for (let p = 0; p < planes; p++) {
        for (let y = 0; y < ch; y++) {
          const from = p * tile.h * tile.w + y * tile.w;
          out.set(tile.data.subarray(from, from + cw), p * height * width + (top + y) * width + left);
        }
      }
      left += cw;
      rowHeight = ch;
    }
    top += rowHeight;
  }
  return out;
}
