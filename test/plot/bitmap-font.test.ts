import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  GLYPH_ADVANCE,
  createRaster,
  drawText,
  drawTextVertical,
  fitText,
  hasGlyph,
  measureText,
  wrapText,
  type Raster,
  type Rect,
} from '../../src/plot/index.js';
import { inkPixels } from './helpers.js';

const REQUIRED = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,:;-+=_/()[]%×·';

function assertInkInsideBox(raster: Raster, box: Rect, label: string): void {
  const ink = inkPixels(raster);
  assert.ok(ink.length > 0, `${label}: something drawn`);
  const outside = ink.filter(([x, y]) => x < box.x || y < box.y || x >= box.x + box.width || y >= box.y + box.height);
  assert.deepEqual(outside, [], `${label}: pixels outside the measured box`);
}

function glyphSignature(char: string): string {
  const r = createRaster(8, 10);
  drawText(r, char, 1, 1);
  return inkPixels(r)
    .map(([x, y]) => `${x},${y}`)
    .join(' ');
}

describe('bitmap font', () => {
  it('has a glyph for every required character, and no two glyphs look alike', () => {
    const missing = [...REQUIRED].filter((c) => !hasGlyph(c));
    assert.deepEqual(missing, []);
    const seen = new Map<string, string>();
    for (const char of REQUIRED.replace(' ', '') + '!?*#|&@$^~{}<>') {
      const signature = glyphSignature(char);
      assert.notEqual(signature, '', `${char} draws something`);
      assert.equal(seen.get(signature), undefined, `${char} looks like ${seen.get(signature)}`);
      seen.set(signature, char);
    }
  });

  it('draws text only inside its measured box, touching all four edges', () => {
    for (const [text, scale] of [
      ['Hg', 1],
      ['Loss: 2.5e-3 (×4)', 2],
      ['step 1000\nlr 1e-4', 3],
      ['[a_b]', 1],
    ] as const) {
      const r = createRaster(260, 90);
      const box = drawText(r, text, 7, 5, { scale });
      assert.deepEqual({ width: box.width, height: box.height }, measureText(text, scale));
      assertInkInsideBox(r, box, text);
      if (text === 'Hg') {
        const ink = inkPixels(r);
        assert.ok(ink.some(([x]) => x === box.x) && ink.some(([x]) => x === box.x + box.width - 1), 'left and right edges');
        assert.ok(ink.some(([, y]) => y === box.y) && ink.some(([, y]) => y === box.y + box.height - 1), 'top edge and descender');
      }
    }
  });

  it('measures characters at a 6-pixel advance and lines 10 apart', () => {
    assert.deepEqual(measureText('abc'), { width: 3 * GLYPH_ADVANCE - 1, height: 8 });
    assert.deepEqual(measureText('ab\nabcd', 2), { width: (4 * 6 - 1) * 2, height: 18 * 2 });
    assert.deepEqual(measureText(''), { width: 0, height: 0 });
    assert.throws(() => measureText('a', 0), /scale/);
  });

  it('scales every font pixel to a scale×scale block', () => {
    const count = (scale: number) => {
      const r = createRaster(200, 40);
      drawText(r, 'Ag5%', 0, 0, { scale });
      return inkPixels(r).length;
    };
    assert.equal(count(2), 4 * count(1));
    assert.equal(count(3), 9 * count(1));
  });

  it('aligns on the centre or right edge', () => {
    const r = createRaster(100, 20);
    const centred = drawText(r, 'abcd', 50, 2, { align: 'center' });
    assert.ok(Math.abs(centred.x + centred.width / 2 - 50) <= 0.5, `centre ${centred.x + centred.width / 2}`);
    const right = drawText(createRaster(100, 20), 'abcd', 90, 2, { align: 'right' });
    assert.equal(right.x + right.width, 90);
  });

  it('draws unknown characters as a hollow 5×7 box', () => {
    const r = createRaster(20, 20);
    drawText(r, '☃', 3, 4);
    const ink = new Set(inkPixels(r).map(([x, y]) => `${x},${y}`));
    const expected = new Set<string>();
    for (let y = 0; y < 7; y++) for (let x = 0; x < 5; x++) if (x === 0 || x === 4 || y === 0 || y === 6) expected.add(`${x + 3},${y + 4}`);
    assert.deepEqual(ink, expected);
  });

  it('vertical text is the horizontal text turned a quarter anticlockwise', () => {
    const r = createRaster(30, 30);
    const box = drawTextVertical(r, 'L', 10, 5);
    assert.deepEqual({ width: box.width, height: box.height }, { width: 8, height: 5 });
    // 'L' is column 0 (rows 0–6) plus row 6 (columns 0–4); column c lands on y = top + 4 − c, row on x = left + row
    const expected = new Set<string>();
    for (let row = 0; row < 7; row++) expected.add(`${10 + row},${5 + 4}`);
    for (let col = 0; col < 5; col++) expected.add(`${10 + 6},${5 + 4 - col}`);
    assert.deepEqual(new Set(inkPixels(r).map(([x, y]) => `${x},${y}`)), expected);
    const long = createRaster(40, 120);
    assertInkInsideBox(long, drawTextVertical(long, 'learning rate', 20, 60, { align: 'center', scale: 1 }), 'vertical');
  });

  it('fitText and wrapText keep within the width', () => {
    assert.equal(fitText('short', 100), 'short');
    const fitted = fitText('a very long validation prompt', 60);
    assert.ok(fitted.endsWith('..') && measureText(fitted).width <= 60, fitted);
    const lines = wrapText('a photo of a cat sitting on a mat in the sun', 60, 1, 3);
    assert.ok(lines.length <= 3 && lines.every((l) => measureText(l).width <= 60), JSON.stringify(lines));
    assert.ok(lines[0].startsWith('a photo'));
    assert.deepEqual(wrapText('two words', 200), ['two words']);
    assert.deepEqual(wrapText('one two', 4 * 6), ['one', 'two']);
  });
});
