import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import {
  applyEmojiAugmentation,
  augmentEmoji,
  drawEmojiAugmentation,
  emojiPngToPixels,
  loadEmojiCatalog,
  loadEmojiImage,
  type EmojiEntry,
} from '../../src/data/emoji/index.js';
import { TorchGenerator } from '../../src/util/torch-generator.js';

const entries = loadEmojiCatalog().entries;
/** ~20 entries spread over both styles and all categories (catalogue order groups by style, then emoji.json). */
const sample: EmojiEntry[] = entries.filter((_, i) => i % Math.floor(entries.length / 20) === 7);

async function rgbaOf(path: string): Promise<{ data: Buffer; width: number }> {
  const { data, info } = await sharp(readFileSync(path)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width };
}

/** A deterministic test image: values spread over [−1, 1]. */
function patternImage(size: number): Float32Array {
  const chw = new Float32Array(3 * size * size);
  for (let i = 0; i < chw.length; i++) chw[i] = ((i * 37) % 101) / 50 - 1;
  return chw;
}

describe('emoji image loading', () => {
  test('3×64×64 in [−1, 1]: white where the PNG is transparent, the PNG colour where it is opaque', async () => {
    assert.ok(sample.length >= 18 && new Set(sample.map((e) => e.style)).size === 2);
    for (const entry of sample) {
      const chw = await loadEmojiImage(entry);
      assert.equal(chw.length, 3 * 64 * 64, entry.id);
      const { data, width } = await rgbaOf(entry.imagePath);
      assert.equal(width, 64);
      let transparent = 0;
      for (let i = 0; i < 64 * 64; i++) {
        const alpha = data[i * 4 + 3];
        for (let c = 0; c < 3; c++) {
          const v = chw[c * 4096 + i];
          assert.ok(v >= -1 && v <= 1, `${entry.id}: ${v}`);
          if (alpha === 0) assert.equal(v, 1, `${entry.id} pixel ${i} is transparent, so white`);
          if (alpha === 255) assert.ok(Math.abs(v - (data[i * 4 + c] / 127.5 - 1)) < 1e-6, `${entry.id} pixel ${i}`);
        }
        if (alpha === 0) transparent++;
      }
      assert.ok(transparent > 0, `${entry.id} has a transparent border`);
    }
  });

  test('half-transparent pixels are blended with white; other sizes are resampled', async () => {
    const rgba = Buffer.from([255, 0, 0, 128, 0, 0, 255, 255, 0, 255, 0, 0, 0, 0, 0, 255]);
    const png = await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } })
      .png()
      .toBuffer();
    const chw = await emojiPngToPixels(png, { size: 2 });
    const expectRed = (255 * 128 + 255 * 127) / 255; // red channel of red over white at alpha 128/255
    const expectGreen = (255 * 127) / 255;
    assert.ok(Math.abs((chw[0] + 1) * 127.5 - expectRed) <= 1, `red ${chw[0]}`);
    assert.ok(Math.abs((chw[4] + 1) * 127.5 - expectGreen) <= 1, `green ${chw[4]}`);
    assert.deepEqual([chw[1], chw[5], chw[9]], [-1, -1, 1], 'opaque blue');
    assert.deepEqual([chw[2], chw[6], chw[10]], [1, 1, 1], 'transparent green is white');
    assert.deepEqual([chw[3], chw[7], chw[11]], [-1, -1, -1], 'opaque black');
    const small = await loadEmojiImage(sample[0], { size: 32 });
    assert.equal(small.length, 3 * 32 * 32);
    assert.deepEqual([small[0], small[1024], small[2048]], [1, 1, 1], 'corner stays white');
    await assert.rejects(emojiPngToPixels(Buffer.from('not a png')), /cannot decode/);
  });
});

describe('emoji augmentation', () => {
  const size = 16;
  const image = patternImage(size);

  test('an integer shift moves pixels exactly and pads with white', () => {
    for (const [dx, dy] of [
      [2, -1],
      [-3, 3],
      [0, 0],
    ]) {
      const out = applyEmojiAugmentation(image, size, { dx, dy, scale: 1 });
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) {
            const [sx, sy] = [x - dx, y - dy];
            const inside = sx >= 0 && sy >= 0 && sx < size && sy < size;
            const expected = inside ? image[c * size * size + sy * size + sx] : 1;
            assert.equal(out[c * size * size + y * size + x], expected, `dx ${dx} dy ${dy} at ${c},${y},${x}`);
          }
        }
      }
    }
    assert.deepEqual(image, patternImage(size), 'input unchanged');
  });

  test('scaling shrinks about the centre and fills with white', () => {
    const black = new Float32Array(3 * size * size).fill(-1);
    const out = applyEmojiAugmentation(black, size, { dx: 0, dy: 0, scale: 0.75 });
    const dark = out.filter((v) => v < 0).length / 3;
    assert.ok(Math.abs(dark - (0.75 * size) ** 2) <= 2 * size, `${dark} dark pixels`);
    assert.equal(out[0], 1, 'corner is white');
    assert.equal(out[(size / 2) * size + size / 2], -1, 'centre stays black');
    assert.ok(out.every((v) => v >= -1 && v <= 1));
  });

  test('deterministic from the generator, within the ranges, and always the same draws', () => {
    const a = augmentEmoji(image, size, new TorchGenerator(7));
    const b = augmentEmoji(image, size, new TorchGenerator(7));
    assert.deepEqual(a, b);
    const params = drawEmojiAugmentation(new TorchGenerator(7));
    assert.deepEqual(a, applyEmojiAugmentation(image, size, params));
    const seen = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const { dx, dy, scale } = drawEmojiAugmentation(new TorchGenerator(seed), { maxShift: 2, minScale: 0.9 });
      assert.ok(Math.abs(dx) <= 2 && Math.abs(dy) <= 2 && scale >= 0.9 && scale < 1, `${dx} ${dy} ${scale}`);
      seen.add(dx);
    }
    assert.deepEqual(
      [...seen].sort((p, q) => p - q),
      [-2, -1, 0, 1, 2],
    );
    // The stream after one augmentation is that after rand([1]) and randint(·, [2]), whatever the options.
    const used = new TorchGenerator(3);
    augmentEmoji(image, size, used, { maxShift: 0, minScale: 1 });
    const reference = new TorchGenerator(3);
    reference.rand([1]);
    reference.randint(-5, 6, [2]);
    assert.deepEqual(used.rand([4]), reference.rand([4]));
  });

  test('bad arguments are refused', () => {
    assert.throws(() => augmentEmoji(image, size + 1, new TorchGenerator(0)), /expected 3×17×17/);
    assert.throws(() => drawEmojiAugmentation(new TorchGenerator(0), { maxShift: 1.5 }), /maxShift/);
    assert.throws(() => drawEmojiAugmentation(new TorchGenerator(0), { minScale: 0 }), /minScale/);
  });
});
