import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlotError, composeGrid, composeGridDetailed, type ImageLike, type Rgb } from '../../src/plot/index.js';
import { inkPixels, pixelsOf, pixelsWhere, svgTexts } from './helpers.js';

const RED: Rgb = [255, 0, 0];
const BLUE: Rgb = [0, 0, 255];
const solid = (width: number, height: number, color: Rgb): ImageLike => ({
  width,
  height,
  rgb: new Uint8Array(width * height * 3).map((_, i) => color[i % 3]),
});

function boundsOf(pixels: [number, number][]): { x0: number; y0: number; x1: number; y1: number; count: number } {
  const xs = pixels.map(([x]) => x),
    ys = pixels.map(([, y]) => y);
  return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys), count: pixels.length };
}

describe('composeGrid', () => {
  it('places a smaller red image centred in its cell of the largest size', async () => {
    const pad = 4;
    const big = () => solid(16, 12, BLUE);
    const grid = await composeGrid(
      [
        [big(), big()],
        [solid(10, 6, RED), big()],
      ],
      { padding: pad },
    );
    assert.deepEqual([grid.width, grid.height], [pad + 2 * (16 + pad), pad + 2 * (12 + pad)]);
    const x0 = pad + 3,
      y0 = pad + (12 + pad) + 3; // column 0, row 1, centred: (16−10)/2, (12−6)/2
    assert.deepEqual(boundsOf(pixelsOf(grid, RED)), { x0, y0, x1: x0 + 9, y1: y0 + 5, count: 60 });
    assert.equal(pixelsOf(grid, BLUE).length, 3 * 16 * 12);
    assert.equal(inkPixels(grid).length, 60 + 3 * 16 * 12, 'padding stays background');
  });

  it('makes room for row and column labels and draws them there', async () => {
    const images = [[solid(20, 20, RED), solid(20, 20, BLUE)]];
    const plain = await composeGridDetailed(images);
    const labelled = await composeGridDetailed(images, { rowLabels: ['step 500'], colLabels: ['a cat', 'a dog'], fontSize: 16 });
    const red = boundsOf(pixelsOf(labelled.raster, RED)),
      plainRed = boundsOf(pixelsOf(plain.raster, RED));
    assert.ok(red.x0 > plainRed.x0 + 50 && red.y0 > plainRed.y0 + 16, `moved by the labels: ${JSON.stringify(red)}`);
    assert.deepEqual(labelled.cells[0][0], { x: red.x0, y: red.y0, width: 20, height: 20 });
    const dark = pixelsWhere(labelled.raster, (r, g, b) => r + g + b < 200);
    assert.ok(
      dark.some(([x, y]) => x < red.x0 && y >= red.y0 && y <= red.y1),
      'row label left of the row',
    );
    assert.ok(
      dark.some(([x, y]) => y < red.y0 && x >= red.x0 && x <= red.x1),
      'column label above column 0',
    );
    const blue = labelled.cells[0][1]!;
    assert.ok(
      dark.some(([x, y]) => y < blue.y && x >= blue.x && x < blue.x + blue.width),
      'column label above column 1',
    );
  });

  it('wraps long labels instead of cutting them, and escapes them', async () => {
    const caption = 'grinning face, smileys and emotion, face smiling, twemoji style & <more>';
    const grid = await composeGridDetailed([[solid(32, 32, RED), solid(32, 32, BLUE)]], {
      rowLabels: [caption],
      colLabels: ['teacher, DDIM 25', 'TDD 2 steps'],
    });
    const texts = svgTexts(grid.labels.svg);
    assert.ok(grid.labels.svg.includes('&amp; &lt;more&gt;'));
    const words = (s: string) => s.split(/\s+/).filter(Boolean);
    assert.deepEqual(words(texts.join(' ')), words(`teacher, DDIM 25 TDD 2 steps ${caption}`));
    const rowLines = texts.filter((t) => caption.includes(t));
    assert.ok(rowLines.length >= 2, 'the caption takes more than one line');
    // a row label taller than the images makes the row taller
    const tall = await composeGridDetailed([[solid(8, 8, RED)]], { rowLabels: ['a\nb\nc\nd'] });
    assert.ok(tall.raster.height >= 4 * 15, `height ${tall.raster.height}`);
  });

  it('accepts RGBA images (alpha ignored), ragged rows, empty cells and a background colour', async () => {
    const rgba = { rgb: new Uint8Array(4 * 4 * 4).map((_, i) => (i % 4 === 0 ? 255 : i % 4 === 3 ? 128 : 0)), width: 4, height: 4 };
    const grid = await composeGridDetailed([[rgba], [null, solid(4, 4, BLUE)]], { padding: 2, background: [0, 255, 0] });
    assert.equal(pixelsOf(grid.raster, RED).length, 16);
    assert.equal(grid.cells[1][0], undefined);
    assert.deepEqual(grid.cells[1][1], { x: 2 + 6, y: 2 + 6, width: 4, height: 4 });
    assert.equal(pixelsOf(grid.raster, [0, 255, 0]).length, grid.raster.width * grid.raster.height - 32);
  });

  it('names the bad image or option in errors', async () => {
    await assert.rejects(composeGrid([[solid(2, 2, RED), { rgb: new Uint8Array(3), width: 2, height: 2 }]]), /images\[0\]\[1\]/);
    await assert.rejects(composeGrid([[solid(2, 2, RED)]], { colLabels: ['a', 'b'] }), /colLabels must have 1/);
    await assert.rejects(composeGrid([]), PlotError);
    await assert.rejects(composeGrid([[null]]), /no images/);
    await assert.rejects(composeGrid([[solid(2, 2, RED)]], { padding: -1 }), /padding/);
  });
});
