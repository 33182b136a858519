/**
 * Image grids (the distillation validation grids: prompts × checkpoints). Every cell has the size of the
 * largest image; smaller images are centred in their cell. Optional labels go left of the rows and above the
 * columns, in the bitmap font.
 */
import { BLACK, PlotError, WHITE, parseColor, type Color } from './color.js';
import { blit, channelsOf, createRaster, type ImageLike, type Raster, type Rect } from './raster.js';
import { LINE_ADVANCE, drawText, fitText, measureText, wrapText } from './bitmap-font.js';

export interface GridOptions {
  /** One label per row, drawn left of the row (shortened past 240 px × labelScale). */
  rowLabels?: readonly string[];
  /** One label per column, drawn above it, word-wrapped onto up to 3 lines of the cell's width. */
  colLabels?: readonly string[];
  /** Pixels around and between cells (default 4). */
  padding?: number;
  background?: Color;
  labelColor?: Color;
  /** Integer text magnification (default 1). */
  labelScale?: number;
}

export interface GridRender {
  raster: Raster;
  /** The rectangle each image occupies: cells[row][col], undefined for empty cells. */
  cells: (Rect | undefined)[][];
  cellWidth: number;
  cellHeight: number;
}

type GridImages = readonly (readonly (ImageLike | null | undefined)[])[];

/** Array.isArray without its type guard, which would widen readonly arrays to any[]. */
const isArray = (value: unknown): boolean => Array.isArray(value);

function checkLabels(labels: readonly string[] | undefined, count: number, what: string): void {
  if (labels !== undefined && (!Array.isArray(labels) || labels.length !== count)) {
    throw new PlotError(`image grid: ${what} must have ${count} entries, got ${Array.isArray(labels) ? labels.length : typeof labels}`);
  }
}

function cellSize(images: GridImages): { width: number; height: number; cols: number } {
  let width = 0,
    height = 0,
    cols = 0;
  images.forEach((row, r) => {
    if (!isArray(row)) throw new PlotError(`image grid: images[${r}] must be an array (a row of images)`);
    cols = Math.max(cols, row.length);
    row.forEach((image, c) => {
      if (!image) return;
      channelsOf(image, `image grid: images[${r}][${c}]`);
      width = Math.max(width, image.width);
      height = Math.max(height, image.height);
    });
  });
  if (width === 0) throw new PlotError('image grid: no images to place (every cell is empty)');
  return { width, height, cols };
}

/** Column labels wrapped to the cell width; the header is as tall as the longest of them. */
function columnHeader(labels: readonly string[] | undefined, cellWidth: number, scale: number): { lines: string[][]; height: number } {
  if (!labels) return { lines: [], height: 0 };
  const lines = labels.map((label) => wrapText(String(label), cellWidth, scale, 3));
  const maxLines = Math.max(1, ...lines.map((l) => l.length));
  return { lines, height: measureText(Array(maxLines).fill('x').join('\n'), scale).height };
}

/** Composes the grid and reports where each image went. */
export function composeGridDetailed(images: GridImages, options: GridOptions = {}): GridRender {
  if (!isArray(images) || images.length === 0) throw new PlotError('image grid: images must be a non-empty array of rows');
  const padding = options.padding ?? 4;
  if (!Number.isInteger(padding) || padding < 0 || padding > 1024)
    throw new PlotError(`image grid: padding must be an integer 0–1024, got ${padding}`);
  const scale = options.labelScale ?? 1;
  const cell = cellSize(images);
  checkLabels(options.rowLabels, images.length, 'rowLabels');
  checkLabels(options.colLabels, cell.cols, 'colLabels');
  const rowLabels = options.rowLabels?.map((l) => fitText(String(l), 240 * scale, scale));
  const labelWidth = rowLabels ? Math.max(0, ...rowLabels.map((l) => measureText(l, scale).width)) + padding : 0;
  const header = columnHeader(options.colLabels, cell.width, scale);
  const headerHeight = header.height ? header.height + padding : 0;
  const width = labelWidth + padding + cell.cols * (cell.width + padding);
  const height = headerHeight + padding + images.length * (cell.height + padding);
  const raster = createRaster(width, height, parseColor(options.background ?? WHITE, 'image grid background'));
  const textStyle = { color: parseColor(options.labelColor ?? BLACK, 'image grid labelColor'), scale };
  const cellX = (c: number) => labelWidth + padding + c * (cell.width + padding);
  const cellY = (r: number) => headerHeight + padding + r * (cell.height + padding);

  header.lines.forEach((lines, c) => {
    lines.forEach((line, i) =>
      drawText(raster, line, cellX(c) + cell.width / 2, padding + i * LINE_ADVANCE * scale, { ...textStyle, align: 'center' }),
    );
  });
  rowLabels?.forEach((label, r) => {
    drawText(raster, label, padding, cellY(r) + Math.round((cell.height - measureText(label, scale).height) / 2), textStyle);
  });
  const cells = images.map((row, r) =>
    row.map((image, c) => {
      if (!image) return undefined;
      const x = cellX(c) + Math.floor((cell.width - image.width) / 2),
        y = cellY(r) + Math.floor((cell.height - image.height) / 2);
      blit(raster, image, x, y, `image grid: images[${r}][${c}]`);
      return { x, y, width: image.width, height: image.height };
    }),
  );
  return { raster, cells, cellWidth: cell.width, cellHeight: cell.height };
}

/** Places images (rows × cols, possibly of different sizes) in a grid of equal cells. */
export function composeGrid(images: GridImages, options: GridOptions = {}): Raster {
  return composeGridDetailed(images, options).raster;
}
