import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { readPngText } from '../../src/util/png.js';
import {
  PlotError,
  blit,
  createRaster,
  drawLine,
  drawPolyline,
  fillRect,
  getPixel,
  parseColor,
  strokeRect,
  toPng,
  type Raster,
} from '../../src/plot/index.js';
import { inkPixels } from './helpers.js';

const RED = [255, 0, 0] as const;
const key = (x: number, y: number) => `${x},${y}`;
const keysOf = (raster: Raster) => new Set(inkPixels(raster).map(([x, y]) => key(x, y)));

function rectKeys(x0: number, y0: number, x1: number, y1: number): Set<string> {
  const out = new Set<string>();
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) out.add(key(x, y));
  return out;
}

describe('lines', () => {
  it('a thin horizontal line covers exactly the pixels between its endpoints', () => {
    const r = createRaster(20, 10);
    drawLine(r, 3, 5, 12, 5, RED);
    assert.deepEqual(keysOf(r), rectKeys(3, 5, 12, 5));
    assert.deepEqual(getPixel(r, 3, 5), [255, 0, 0]);
  });

  it('thickness 2 and 3 widen the pen downwards / symmetrically', () => {
    const r2 = createRaster(20, 10);
    drawLine(r2, 3, 5, 12, 5, RED, { thickness: 2 });
    assert.deepEqual(keysOf(r2), rectKeys(3, 5, 13, 6));
    const r3 = createRaster(20, 10);
    drawLine(r3, 3, 5, 12, 5, RED, { thickness: 3 });
    assert.deepEqual(keysOf(r3), rectKeys(2, 4, 13, 6));
  });

  it('a 45° line is the diagonal, and a steep line has exactly one pixel per row', () => {
    const diag = createRaster(12, 12);
    drawLine(diag, 0, 0, 9, 9, RED);
    assert.deepEqual(keysOf(diag), new Set(Array.from({ length: 10 }, (_, i) => key(i, i))));
    const steep = createRaster(12, 40);
    drawLine(steep, 2, 1, 7, 33, RED);
    const rows = new Map<number, number>();
    for (const [, y] of inkPixels(steep)) rows.set(y, (rows.get(y) ?? 0) + 1);
    assert.deepEqual(
      [...rows.keys()].sort((a, b) => a - b),
      Array.from({ length: 33 }, (_, i) => i + 1),
    );
    assert.ok([...rows.values()].every((n) => n === 1));
    assert.ok(keysOf(steep).has(key(2, 1)) && keysOf(steep).has(key(7, 33)), 'both endpoints drawn');
  });

  it('dashes follow the [on, off] pattern and continue across polyline vertices', () => {
    const r = createRaster(25, 3);
    drawLine(r, 0, 1, 19, 1, RED, { dash: [3, 2] });
    const xs = inkPixels(r).map(([x]) => x);
    assert.deepEqual(
      xs,
      Array.from({ length: 20 }, (_, x) => x).filter((x) => x % 5 < 3),
    );
    const poly = createRaster(25, 3);
    drawPolyline(
      poly,
      [
        [0, 1],
        [4, 1],
        [11, 1],
        [19, 1],
      ],
      RED,
      { dash: [3, 2] },
    );
    assert.deepEqual(keysOf(poly), keysOf(r));
  });

  it('clipping to the raster gives the same pixels as drawing on a larger canvas', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 260 - 110;
    for (let trial = 0; trial < 150; trial++) {
      const [x0, y0, x1, y1] = [rand(), rand(), rand(), rand()];
      const thickness = 1 + (trial % 3);
      const small = createRaster(40, 30);
      drawLine(small, x0, y0, x1, y1, RED, { thickness });
      const big = createRaster(400, 400);
      drawLine(big, x0 + 150, y0 + 150, x1 + 150, y1 + 150, RED, { thickness });
      const window = new Set(
        inkPixels(big)
          .map(([x, y]) => [x - 150, y - 150])
          .filter(([x, y]) => x >= 0 && y >= 0 && x < 40 && y < 30)
          .map(([x, y]) => key(x, y)),
      );
      assert.deepEqual(keysOf(small), window, `line ${[x0, y0, x1, y1].map((v) => v.toFixed(1))} thickness ${thickness}`);
    }
  });

  it('far-away endpoints are clipped cheaply and non-finite ones draw nothing', () => {
    const r = createRaster(30, 10);
    const started = performance.now();
    drawLine(r, -1e12, 4, 1e12, 4, RED);
    assert.ok(performance.now() - started < 200, 'clipped before stepping');
    assert.deepEqual(keysOf(r), rectKeys(0, 4, 29, 4));
    const empty = createRaster(30, 10);
    drawLine(empty, 0, 0, NaN, 5, RED);
    drawLine(empty, 0, 0, Infinity, 5, RED);
    assert.equal(inkPixels(empty).length, 0);
  });

  it('an explicit clip rectangle limits the pixels', () => {
    const r = createRaster(20, 20);
    drawLine(r, 0, 10, 19, 10, RED, { thickness: 3, clip: { x: 5, y: 10, width: 6, height: 5 } });
    assert.deepEqual(keysOf(r), rectKeys(5, 10, 10, 11));
  });

  it('rejects unsupported thickness and dash patterns', () => {
    const r = createRaster(5, 5);
    assert.throws(() => drawLine(r, 0, 0, 4, 4, RED, { thickness: 4 }), PlotError);
    assert.throws(() => drawLine(r, 0, 0, 4, 4, RED, { dash: [0, 2] }), PlotError);
  });
});

describe('rectangles, colours and images', () => {
  it('fillRect clips at the edges and strokeRect draws only the outline', () => {
    const r = createRaster(10, 8);
    fillRect(r, -3, 6, 5, 10, RED);
    assert.deepEqual(keysOf(r), rectKeys(0, 6, 1, 7));
    const s = createRaster(10, 8);
    strokeRect(s, { x: 1, y: 1, width: 6, height: 5 }, RED);
    assert.equal(inkPixels(s).length, 2 * 6 + 2 * 3);
    assert.deepEqual(getPixel(s, 3, 3), [255, 255, 255]);
  });

  it('parses hex colours and rejects malformed ones', () => {
    assert.deepEqual(parseColor('#f80'), [255, 136, 0]);
    assert.deepEqual(parseColor('#0a0B0c'), [10, 11, 12]);
    assert.throws(() => parseColor('red', 'series[0].color'), /series\[0\]\.color/);
    assert.throws(() => parseColor([256, 0, 0]), PlotError);
    assert.throws(() => createRaster(0, 4), PlotError);
  });

  it('blit copies RGB and RGBA images and checks their size', () => {
    const r = createRaster(6, 6);
    const rgba = new Uint8Array(2 * 2 * 4).fill(7);
    blit(r, { rgb: rgba, width: 2, height: 2 }, 5, 5);
    assert.deepEqual(keysOf(r), rectKeys(5, 5, 5, 5));
    assert.deepEqual(getPixel(r, 5, 5), [7, 7, 7]);
    assert.throws(() => blit(r, { rgb: new Uint8Array(5), width: 2, height: 2 }, 0, 0, 'images[1][2]'), /images\[1\]\[2\]/);
  });

  it('toPng decodes to the same size and pixels and keeps text chunks', async () => {
    const r = createRaster(13, 7, [10, 20, 30]);
    drawLine(r, 0, 0, 12, 6, RED, { thickness: 2 });
    const png = await toPng(r, { Software: 'tdd-diffusion' });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.width, 13);
    assert.equal(info.height, 7);
    assert.equal(info.channels, 3);
    assert.deepEqual(new Uint8Array(data), r.rgb);
    assert.equal(readPngText(png).Software, 'tdd-diffusion');
  });
});
