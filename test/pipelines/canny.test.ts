import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cannyEdges, type CannyOptions } from '../../src/pipelines/canny.js';
import { ImageInputError, type RawImage } from '../../src/pipelines/image-input.js';

interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  rgb: [number, number, number];
}

/** A black RGB image with filled rectangles [x0, x1) × [y0, y1). */
function image(width: number, height: number, rects: Rect[]): RawImage {
  const pixels = new Uint8Array(width * height * 3);
  for (const { x0, y0, x1, y1, rgb } of rects) {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) pixels.set(rgb, 3 * (y * width + x));
  }
  return { width, height, channels: 3, pixels };
}

const gray = (v: number): [number, number, number] => [v, v, v];

/** Edge pixels as [x, y], checking the output is white-on-black RGB. */
function edgePixels(img: RawImage, options?: CannyOptions): [number, number][] {
  const out = cannyEdges(img, options);
  assert.equal(out.channels, 3);
  assert.equal(out.pixels.length, img.width * img.height * 3);
  const found: [number, number][] = [];
  for (let i = 0; i < img.width * img.height; i++) {
    const [r, g, b] = out.pixels.subarray(3 * i, 3 * i + 3);
    assert.ok(r === g && g === b && (r === 0 || r === 255), `pixel ${i} is (${r}, ${g}, ${b})`);
    if (r === 255) found.push([i % img.width, Math.floor(i / img.width)]);
  }
  return found;
}

const has = (edges: [number, number][], x: number, y: number): boolean => edges.some(([a, b]) => a === x && b === y);

describe('Canny edges', () => {
  // A 16×16 square at [8, 24)² on a 32×32 black image: its boundary lies between pixels 7|8 and 23|24.
  const square = (v: number, rgb = gray(v)): RawImage => image(32, 32, [{ x0: 8, y0: 8, x1: 24, y1: 24, rgb }]);
  const nearBoundary = (c: number): boolean => c === 7 || c === 8 || c === 23 || c === 24;
  const onBorder = ([x, y]: [number, number]): boolean => (nearBoundary(x) && y >= 7 && y <= 24) || (nearBoundary(y) && x >= 7 && x <= 24);

  test('a filled square has edges only on its border, one pixel thick, on all four sides', () => {
    const edges = edgePixels(square(255));
    assert.ok(edges.length > 0);
    const off = edges.filter((p) => !onBorder(p));
    assert.deepEqual(off, [], 'edge pixels away from the square border');
    for (let t = 10; t <= 21; t++) {
      // Each straight side is exactly one of its two boundary pixels wide.
      assert.equal(+has(edges, 7, t) + +has(edges, 8, t), 1, `left side at y=${t}`);
      assert.equal(+has(edges, 23, t) + +has(edges, 24, t), 1, `right side at y=${t}`);
      assert.equal(+has(edges, t, 7) + +has(edges, t, 8), 1, `top side at x=${t}`);
      assert.equal(+has(edges, t, 23) + +has(edges, t, 24), 1, `bottom side at x=${t}`);
    }
  });

  // A step of height v gives |dx| + |dy| = 4v on a straight side and at most 6v at a corner.
  test('the double threshold: nothing below low, nothing without a strong pixel, edges above high', () => {
    assert.equal(edgePixels(square(16)).length, 0, '6·16 = 96 < low 100');
    assert.equal(edgePixels(square(30)).length, 0, 'candidates (4·30 = 120 > 100) but nothing above high (6·30 = 180 < 200)');
    assert.ok(edgePixels(square(60)).length >= 4 * 14, '4·60 = 240 > high 200');
    assert.ok(edgePixels(square(30), { low: 50, high: 100 }).length >= 4 * 14, 'lower thresholds find the weak square');
    assert.deepEqual(
      edgePixels(square(30), { low: 100, high: 50 }),
      edgePixels(square(30), { low: 50, high: 100 }),
      'low > high is swapped, as OpenCV',
    );
  });

  test('hysteresis keeps weak edges connected to strong ones and drops isolated weak edges', () => {
    // One bar: left half strong (60), right half weak (30); and a separate weak (30) square.
    const img = image(64, 40, [
      { x0: 4, y0: 4, x1: 24, y1: 14, rgb: gray(60) },
      { x0: 24, y0: 4, x1: 44, y1: 14, rgb: gray(30) },
      { x0: 4, y0: 24, x1: 20, y1: 36, rgb: gray(30) },
    ]);
    const edges = edgePixels(img);
    for (const x of [10, 30, 40]) assert.ok(has(edges, x, 3) || has(edges, x, 4), `top edge of the bar at x=${x}`);
    assert.deepEqual(
      edges.filter(([, y]) => y >= 20),
      [],
      'the isolated weak square has no edges',
    );
  });

  test('colour images use the strongest channel; grayscale mode uses luma', () => {
    const blue = square(0, [0, 0, 255]);
    assert.ok(edgePixels(blue).length >= 4 * 14, 'blue channel step 255');
    // Luma of pure blue is 0.114·255 ≈ 29: candidates only, no strong pixel.
    assert.equal(edgePixels(blue, { grayscale: true }).length, 0);
    assert.deepEqual(edgePixels(square(255), { grayscale: true }), edgePixels(square(255)));
  });

  test('gray and RGBA inputs give the same edges as RGB', () => {
    const rgb = square(200);
    const n = rgb.width * rgb.height;
    const grayImage: RawImage = { ...rgb, channels: 1, pixels: Uint8Array.from({ length: n }, (_, i) => rgb.pixels[3 * i]) };
    const rgba: RawImage = {
      ...rgb,
      channels: 4,
      pixels: Uint8Array.from({ length: 4 * n }, (_, i) => (i % 4 === 3 ? 77 : rgb.pixels[3 * Math.floor(i / 4) + (i % 4)])),
    };
    assert.deepEqual(edgePixels(grayImage), edgePixels(rgb));
    assert.deepEqual(edgePixels(rgba), edgePixels(rgb));
  });

  test('Gaussian blur (sigma) suppresses noise edges but keeps the square', () => {
    let state = 12345;
    const noisy = square(255);
    noisy.pixels.forEach((v, i) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      noisy.pixels[i] = Math.max(0, Math.min(255, v + ((state >> 8) % 121) - 60));
    });
    const sharp = edgePixels(noisy).length;
    const blurred = edgePixels(noisy, { sigma: 1.5, low: 40, high: 80 });
    assert.ok(blurred.length < sharp, `blurred ${blurred.length} edge pixels, unblurred ${sharp}`);
    for (const t of [12, 16, 20])
      assert.ok(
        [6, 7, 8, 9].some((x) => has(blurred, x, t)),
        `left side near y=${t}`,
      );
  });

  test('bad input is refused', () => {
    assert.throws(() => cannyEdges({ width: 4, height: 4, pixels: new Uint8Array(10) }), ImageInputError);
    assert.throws(() => cannyEdges(square(1), { sigma: -1 }), /sigma/);
  });
});
