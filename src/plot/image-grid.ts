/**
 * Image grids (validation grids: prompts × checkpoints, eval sample grids). Every cell has the size of the largest
 * image; smaller images are centred in their cell. Optional labels go left of the rows and above the columns,
 * word-wrapped (never shortened). The labels are SVG; sharp renders them and composites the images over them.
 */
import { BLACK, PlotError, WHITE, parseColor, type Color } from './color.js';
import { MAX_SIDE, channelsOf, rgbBytes, type ImageLike, type Raster, type Rect } from './image.js';
import { svgDocument, type Chart } from './svg.js';
import { linesWidth, wrapText } from './text-metrics.js';
import { blockHeight, textBlock } from './labels.js';
import { rasterize, type Overlay } from './render.js';

export interface GridOptions {
  /** One label per row, drawn left of the row, wrapped to lines of at most 260 px (× fontSize / 12). */
  rowLabels?: readonly string[];
  /** One label per column, drawn above it, wrapped to the cell's width (widened to the label's longest word). */
  colLabels?: readonly string[];
  /** Pixels around and between cells (default 4). */
  padding?: number;
  background?: Color;
  labelColor?: Color;
  /** Label size in pixels (default 12). */
  fontSize?: number;
}

export interface GridRender {
  raster: Raster;
  /** The background and labels, as rendered under the images. */
  labels: Chart;
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

function checkOptions(options: GridOptions): { padding: number; fontSize: number } {
  const padding = options.padding ?? 4;
  if (!Number.isInteger(padding) || padding < 0 || padding > 1024)
    throw new PlotError(`image grid: padding must be an integer 0–1024, got ${padding}`);
  const fontSize = options.fontSize ?? 12;
  if (!(fontSize >= 4 && fontSize <= 200)) throw new PlotError(`image grid: fontSize must be 4–200 px, got ${fontSize}`);
  return { padding, fontSize };
}

/** Composes the grid and reports where each image went. */
export async function composeGridDetailed(images: GridImages, options: GridOptions = {}): Promise<GridRender> {
  if (!isArray(images) || images.length === 0) throw new PlotError('image grid: images must be a non-empty array of rows');
  const { padding, fontSize } = checkOptions(options);
  const cell = cellSize(images);
  checkLabels(options.rowLabels, images.length, 'rowLabels');
  checkLabels(options.colLabels, cell.cols, 'colLabels');
  const maxLine = (260 * fontSize) / 12;
  const rowLines = options.rowLabels?.map((l) => wrapText(String(l), maxLine, fontSize));
  // columns widen to their labels' longest word (up to the row label limit), so words are not split
  const words = (options.colLabels ?? []).flatMap((l) => String(l).split(/\s+/));
  const colWidth = Math.ceil(Math.max(cell.width, Math.min(maxLine, linesWidth(words, fontSize))));
  const colLines = options.colLabels?.map((l) => wrapText(String(l), colWidth, fontSize));
  const labelWidth = rowLines ? Math.ceil(Math.max(0, ...rowLines.map((l) => linesWidth(l, fontSize)))) + padding : 0;
  const headerLines = colLines ? Math.max(1, ...colLines.map((l) => l.length)) : 0;
  const headerHeight = headerLines ? Math.ceil(blockHeight(headerLines, fontSize)) + padding : 0;
  // a row label taller than the images makes its row taller, so labels never overlap
  const rowHeight = Math.max(cell.height, ...(rowLines ?? []).map((l) => Math.ceil(blockHeight(l.length, fontSize))));
  const width = labelWidth + padding + cell.cols * (colWidth + padding);
  const height = headerHeight + padding + images.length * (rowHeight + padding);
  if (width > MAX_SIDE || height > MAX_SIDE) throw new PlotError(`image grid: ${width}×${height} is larger than ${MAX_SIDE} px a side`);
  const background = parseColor(options.background ?? WHITE, 'image grid background');
  const style = { fontSize, color: parseColor(options.labelColor ?? BLACK, 'image grid labelColor') };
  const cellX = (c: number) => labelWidth + padding + c * (colWidth + padding);
  const rowY = (r: number) => headerHeight + padding + r * (rowHeight + padding);

  const body: string[] = [];
  colLines?.forEach((lines, c) => body.push(textBlock(lines, cellX(c) + colWidth / 2, padding, { ...style, anchor: 'middle' })));
  rowLines?.forEach((lines, r) =>
    body.push(textBlock(lines, padding, rowY(r) + (rowHeight - blockHeight(lines.length, fontSize)) / 2, style)),
  );
  const labels = svgDocument(width, height, background, body);

  const overlays: Overlay[] = [];
  const cells = images.map((row, r) =>
    row.map((image, c) => {
      if (!image) return undefined;
      const x = cellX(c) + Math.floor((colWidth - image.width) / 2),
        y = rowY(r) + Math.floor((rowHeight - image.height) / 2);
      overlays.push({ rgb: rgbBytes(image, `image grid: images[${r}][${c}]`), width: image.width, height: image.height, left: x, top: y });
      return { x, y, width: image.width, height: image.height };
    }),
  );
  return { raster: await rasterize(labels, overlays), labels, cells, cellWidth: cell.width, cellHeight: cell.height };
}

/** Places images (rows × cols, possibly of different sizes) in a grid of equal cells. */
export async function composeGrid(images: GridImages, options: GridOptions = {}): Promise<Raster> {
  return (await composeGridDetailed(images, options)).raster;
}
