/** A small image+caption folder for distillation tests: flat-coloured shapes on white, one caption each. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

const COLORS: Record<string, [number, number, number]> = {
  red: [220, 30, 30],
  green: [30, 160, 60],
  blue: [40, 60, 210],
  yellow: [230, 200, 20],
};
const SHAPES = ['square', 'circle'] as const;

function shapeSvg(shape: (typeof SHAPES)[number], [r, g, b]: [number, number, number], size: number): string {
  const fill = `rgb(${r},${g},${b})`;
  const body =
    shape === 'square'
      ? `<rect x="${size / 4}" y="${size / 4}" width="${size / 2}" height="${size / 2}" fill="${fill}"/>`
      : `<circle cx="${size / 2}" cy="${size / 2}" r="${size / 4}" fill="${fill}"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="white"/>${body}</svg>`;
}

/** Writes `count` (≤ 8) PNGs with `.txt` captions into `dir`; returns the captions in file order. */
export async function writeToyDataset(dir: string, count = 8, size = 64): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const captions: string[] = [];
  let i = 0;
  for (const shape of SHAPES) {
    for (const [name, rgb] of Object.entries(COLORS)) {
      if (i >= count) return captions;
      const file = `img-${i}`;
      writeFileSync(
        join(dir, `${file}.png`),
        await sharp(Buffer.from(shapeSvg(shape, rgb, size)))
          .png()
          .toBuffer(),
      );
      const caption = `a ${name} ${shape}`;
      writeFileSync(join(dir, `${file}.txt`), caption);
      captions.push(caption);
      i++;
    }
  }
  return captions;
}
