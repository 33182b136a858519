import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { coverCrop, ImagePrepError, prepareTrainingImage } from '../../src/data/index.js';
import { pngFromPixels, solidImage } from './helpers.js';

const ONE_BYTE = 1 / 127.5 + 1e-6;
const toSigned = (byte: number): number => byte / 127.5 - 1;

function assertCloseArray(actual: Float32Array, expected: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${e}`));
}

/** Alpha compositing by hand: c·α + bg·(1 − α), rounded to a byte. */
const over = (c: number, alpha: number, bg: number): number => Math.round((c * alpha + bg * (255 - alpha)) / 255);

test('2×1 RGBA: alpha composited on white (default) or a given background; CHW layout', async () => {
  const png = await pngFromPixels([255, 0, 0, 128, 0, 0, 255, 255], 2, 1, 4); // half-transparent red, opaque blue
  const white = await prepareTrainingImage(png, { width: 2, height: 1 });
  const g = toSigned(over(0, 128, 255));
  assertCloseArray(white, [1, -1, /* G */ g, -1, /* B */ g, 1], ONE_BYTE, 'on white');
  assert.ok(g > -0.02 && g < 0.02, 'half-transparent red on white is pink: G ≈ B ≈ 0');

  const black = await prepareTrainingImage(png, { width: 2, height: 1, background: { r: 0, g: 0, b: 0 } });
  assertCloseArray(black, [toSigned(over(255, 128, 0)), -1, -1, -1, -1, 1], ONE_BYTE, 'on black');
});

test('2×1 to size 1: no resize (shorter side already 1), center crop keeps the left pixel (Python rounding of 0.5)', async () => {
  const png = await pngFromPixels([255, 0, 0, 128, 0, 0, 255, 255], 2, 1, 4);
  const out = await prepareTrainingImage(png, { size: 1 });
  const g = toSigned(over(0, 128, 255));
  assertCloseArray(out, [1, g, g], ONE_BYTE, 'size 1');
});

/** An image whose pixel (x, y) has R = 10·x + 50·y, so crops can be read off the values. */
function coordinateImage(width: number, height: number): Promise<Buffer> {
  const pixels: number[] = [];
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels.push(10 * x + 50 * y, 7, 200);
  return pngFromPixels(pixels, width, height, 3);
}

test('center crop offsets follow torchvision (round half to even) when no resize is needed', async () => {
  const cases: Array<[number, number, { size?: number; width?: number; height?: number }, number[]]> = [
    [4, 2, { size: 2 }, [10, 20, 60, 70]], // left = 1
    [3, 2, { size: 2 }, [0, 10, 50, 60]], // left = round(0.5) = 0
    [5, 2, { size: 2 }, [20, 30, 70, 80]], // left = round(1.5) = 2
    [2, 5, { size: 2 }, [100, 110, 150, 160]], // top = 2
    [4, 2, { width: 4, height: 1 }, [0, 10, 20, 30]], // top = round(0.5) = 0
  ];
  for (const [w, h, options, expectedRed] of cases) {
    const out = await prepareTrainingImage(await coordinateImage(w, h), options);
    const plane = expectedRed.length;
    assert.equal(out.length, 3 * plane);
    assertCloseArray(out.subarray(0, plane), expectedRed.map(toSigned), 1e-6, `${w}×${h} ${JSON.stringify(options)} red`);
    assert.ok(out.subarray(plane, 2 * plane).every((v) => Math.abs(v - toSigned(7)) < 1e-6));
    assert.ok(out.subarray(2 * plane).every((v) => Math.abs(v - toSigned(200)) < 1e-6));
  }
});

test('coverCrop: the limiting side becomes exact, the other truncates; offsets centered', () => {
  assert.deepEqual(coverCrop(640, 480, 512, 512), { resizedWidth: 682, resizedHeight: 512, left: 85, top: 0 });
  assert.deepEqual(coverCrop(480, 640, 512, 512), { resizedWidth: 512, resizedHeight: 682, left: 0, top: 85 });
  assert.deepEqual(coverCrop(2, 1, 4, 4), { resizedWidth: 8, resizedHeight: 4, left: 2, top: 0 });
  assert.deepEqual(coverCrop(1000, 1000, 768, 512), { resizedWidth: 768, resizedHeight: 768, left: 0, top: 128 });
  assert.deepEqual(coverCrop(300, 100, 64, 64), { resizedWidth: 192, resizedHeight: 64, left: 64, top: 0 });
});

test('up- and downscaling: constant images stay constant, mirror-symmetric ones stay symmetric', async () => {
  const up = await prepareTrainingImage(await solidImage([30, 60, 90], 'png', 2, 1), { size: 4 });
  assert.equal(up.length, 3 * 16);
  [30, 60, 90].forEach((c, ch) =>
    assert.ok(
      up.subarray(16 * ch, 16 * (ch + 1)).every((v) => Math.abs(v - toSigned(c)) <= ONE_BYTE),
      `channel ${ch}`,
    ),
  );

  const down = await prepareTrainingImage(await solidImage([200, 100, 0], 'png', 16, 8), { width: 4, height: 2 });
  assert.equal(down.length, 3 * 8);
  assert.ok(down.subarray(0, 8).every((v) => Math.abs(v - toSigned(200)) <= ONE_BYTE));

  // left half black, right half white: after an 8→4 downscale the columns mirror each other (v[x] = −v[3−x]).
  const pixels: number[] = [];
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) pixels.push(...(x < 4 ? [0, 0, 0] : [255, 255, 255]));
  const edge = await prepareTrainingImage(await pngFromPixels(pixels, 8, 8, 3), { size: 4 });
  for (let x = 0; x < 4; x++) assert.ok(Math.abs(edge[x] + edge[3 - x]) <= ONE_BYTE, `column ${x}: ${edge[x]} vs ${edge[3 - x]}`);
  assert.ok(edge[0] < -0.9 && edge[3] > 0.9, 'far columns keep their colour');
});

test('grayscale (with and without alpha), 16-bit and JPEG inputs become 3 channels', async () => {
  const gray = await prepareTrainingImage(await pngFromPixels([0, 128], 2, 1, 1), { width: 2, height: 1 });
  assertCloseArray(gray, [-1, toSigned(128), -1, toSigned(128), -1, toSigned(128)], ONE_BYTE, 'gray');

  const grayAlpha = await prepareTrainingImage(await pngFromPixels([0, 0, 0, 255], 2, 1, 2), { width: 2, height: 1 });
  assertCloseArray(grayAlpha, [1, -1, 1, -1, 1, -1], ONE_BYTE, 'transparent black → white');

  const sixteen = await sharp(Buffer.from([255, 0, 0, 0, 0, 255]), { raw: { width: 2, height: 1, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toBuffer();
  assert.equal((await sharp(sixteen).metadata()).depth, 'ushort');
  assertCloseArray(await prepareTrainingImage(sixteen, { width: 2, height: 1 }), [1, -1, -1, -1, -1, 1], ONE_BYTE, '16-bit');

  const jpeg = await prepareTrainingImage(await solidImage([0, 255, 0], 'jpeg', 8, 8), { size: 2 });
  assert.ok(jpeg.subarray(4, 8).every((v) => v > 0.97) && jpeg.subarray(0, 4).every((v) => v < -0.97));
});

test('undecodable bytes and bad options fail clearly', async () => {
  await assert.rejects(prepareTrainingImage(Buffer.from('not an image'), { size: 2, id: 'shard-3/0042' }), (err: Error) => {
    assert.ok(err instanceof ImagePrepError);
    assert.match(err.message, /^shard-3\/0042: cannot decode/);
    return true;
  });
  const png = await solidImage([1, 2, 3]);
  const truncated = png.subarray(0, png.length - 20);
  await assert.rejects(prepareTrainingImage(truncated, { size: 2, id: 'cut.png' }), /cut\.png: cannot decode/);
  await assert.rejects(prepareTrainingImage(png, { size: 0 }), /size must be a positive integer/);
  await assert.rejects(prepareTrainingImage(png, { size: 2, width: 2 }), /size or width\+height/);
  await assert.rejects(prepareTrainingImage(png, { width: 2 }), /height must be a positive integer/);
});
