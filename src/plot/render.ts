/**
 * SVG to pixels with sharp (librsvg, fonts through fontconfig), 1 SVG unit = 1 pixel, and the PNG files of charts
 * and grids, written atomically so readers never see half a chart.
 */
import sharp from 'sharp';
import { encodePng } from '../util/png.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import { PlotError } from './color.js';
import type { Chart } from './svg.js';
import type { Raster } from './image.js';

/** One image to put over the rendered SVG: RGB pixels with their top-left corner at (left, top). */
export interface Overlay {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly top: number;
}

/** Renders the chart (with optional images composited over it) to RGB pixels of the chart's size. */
export async function rasterize(chart: Chart, overlays: readonly Overlay[] = []): Promise<Raster> {
  const { data, info } = await sharp(Buffer.from(chart.svg), { limitInputPixels: false, unlimited: true })
    .composite(
      overlays.map((o) => ({
        input: Buffer.from(o.rgb.buffer, o.rgb.byteOffset, o.rgb.byteLength),
        raw: { width: o.width, height: o.height, channels: 3 as const },
        left: o.left,
        top: o.top,
      })),
    )
    .flatten({ background: '#ffffff' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== chart.width || info.height !== chart.height || info.channels !== 3) {
    throw new PlotError(`SVG rendered as ${info.width}×${info.height}×${info.channels}, expected ${chart.width}×${chart.height}×3`);
  }
  return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

const isChart = (image: Chart | Raster): image is Chart => typeof (image as Chart).svg === 'string';

/** PNG bytes of a chart or raster, with optional tEXt/iTXt chunks (e.g. { Software: 'tdd-diffusion' }). */
export async function toPng(image: Chart | Raster, text?: Record<string, string>): Promise<Uint8Array> {
  const raster = isChart(image) ? await rasterize(image) : image;
  return encodePng(raster.rgb, raster.width, raster.height, text);
}

/** Writes a chart or raster as a PNG file atomically. */
export async function savePng(image: Chart | Raster, path: string, text?: Record<string, string>): Promise<void> {
  writeFileAtomically(path, await toPng(image, text));
}
