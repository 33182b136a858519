// Pixel queries shared by the plot tests.
import type { Raster, Rgb } from '../../src/plot/index.js';

/** [x, y] of every pixel (row-major order) whose colour satisfies `match`. */
export function pixelsWhere(raster: Raster, match: (r: number, g: number, b: number) => boolean): [number, number][] {
  const out: [number, number][] = [];
  for (let y = 0; y < raster.height; y++) {
    for (let x = 0; x < raster.width; x++) {
      const i = (y * raster.width + x) * 3;
      if (match(raster.rgb[i], raster.rgb[i + 1], raster.rgb[i + 2])) out.push([x, y]);
    }
  }
  return out;
}

/** Pixels that differ from the background (white unless given). */
export function inkPixels(raster: Raster, background: Rgb = [255, 255, 255]): [number, number][] {
  return pixelsWhere(raster, (r, g, b) => r !== background[0] || g !== background[1] || b !== background[2]);
}

/** Pixels of exactly this colour. */
export function pixelsOf(raster: Raster, color: Rgb): [number, number][] {
  return pixelsWhere(raster, (r, g, b) => r === color[0] && g === color[1] && b === color[2]);
}

/** Pixels within `tolerance` of this colour on every channel (anti-aliased lines are not exact). */
export function pixelsNear(raster: Raster, color: Rgb, tolerance = 60): [number, number][] {
  return pixelsWhere(
    raster,
    (r, g, b) => Math.abs(r - color[0]) <= tolerance && Math.abs(g - color[1]) <= tolerance && Math.abs(b - color[2]) <= tolerance,
  );
}

export function pixelAt(raster: Raster, x: number, y: number): Rgb {
  const i = (y * raster.width + x) * 3;
  return [raster.rgb[i], raster.rgb[i + 1], raster.rgb[i + 2]];
}

/** The texts of the chart's <text> elements, unescaped. */
export function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
    m[1].replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]!),
  );
}
