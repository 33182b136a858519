/**
 * What line and bar charts share: the layout of title, legend, axis labels and plot area; the y axis with its
 * grid; the legend. Both charts put the legend in a row under the title so it never hides data.
 */
import { PlotError, type Rgb } from './color.js';
import { drawLine, fillRect, type Raster, type Rect } from './raster.js';
import { GLYPH_HEIGHT, drawText, drawTextVertical, fitText, measureText } from './bitmap-font.js';
import { tickLabels, type Ticks } from './ticks.js';

export const INK: Rgb = [30, 30, 30];
export const AXIS_COLOR: Rgb = [60, 60, 60];
export const GRID_COLOR: Rgb = [222, 222, 222];
export const MINOR_GRID_COLOR: Rgb = [240, 240, 240];
export const MUTED_INK: Rgb = [120, 120, 120];

const TITLE_SCALE = 2;
const MARGIN = 10;
const TICK_LENGTH = 4;
const LABEL_GAP = 4;
const SWATCH = 8;
const LEGEND_ITEM_GAP = 16;
const LEGEND_ROW_HEIGHT = 12;

export interface LegendItem {
  readonly name: string;
  readonly color: Rgb;
}

/** Legend entries packed into rows no wider than maxWidth. */
function legendRows(items: readonly LegendItem[], maxWidth: number): { items: LegendItem[]; width: number }[] {
  const rows: { items: LegendItem[]; width: number }[] = [];
  for (const item of items) {
    const name = fitText(item.name, Math.max(6, maxWidth - SWATCH - LABEL_GAP));
    const itemWidth = SWATCH + LABEL_GAP + measureText(name).width;
    const row = rows[rows.length - 1];
    if (row && row.width + LEGEND_ITEM_GAP + itemWidth <= maxWidth) {
      row.items.push({ ...item, name });
      row.width += LEGEND_ITEM_GAP + itemWidth;
    } else {
      rows.push({ items: [{ ...item, name }], width: itemWidth });
    }
  }
  return rows;
}

export function legendHeight(items: readonly LegendItem[], maxWidth: number): number {
  return legendRows(items, maxWidth).length * LEGEND_ROW_HEIGHT;
}

/** Draws the legend rows centred on centerX, starting at y. */
export function drawLegend(raster: Raster, items: readonly LegendItem[], centerX: number, y: number, maxWidth: number): void {
  legendRows(items, maxWidth).forEach((row, r) => {
    let x = Math.round(centerX - row.width / 2);
    const top = y + r * LEGEND_ROW_HEIGHT;
    for (const item of row.items) {
      fillRect(raster, x, top, SWATCH, SWATCH, item.color);
      const box = drawText(raster, item.name, x + SWATCH + LABEL_GAP, top, { color: INK });
      x = box.x + box.width + LEGEND_ITEM_GAP;
    }
  });
}

export interface FrameSpec {
  width: number;
  height: number;
  title?: string;
  legend: readonly LegendItem[];
  xLabel?: string;
  yLabel?: string;
  yTickLabels: readonly string[];
  /** Text lines under the x axis for the tick (or category) labels. */
  xTickLabelLines: number;
  /** Extra room on the right, e.g. for half of the last x tick label. */
  rightPad?: number;
}

export interface Frame {
  readonly plot: Rect;
  readonly titleY: number;
  readonly legendY: number;
}

/** Places title, legend, axis labels and the plot rectangle; throws when the chart is too small for them. */
export function layoutFrame(spec: FrameSpec): Frame {
  const { width, height } = spec;
  const titleY = MARGIN;
  const titleHeight = spec.title ? GLYPH_HEIGHT * TITLE_SCALE + 6 : 0;
  const legendY = titleY + titleHeight;
  const legendSpace = spec.legend.length ? legendHeight(spec.legend, width - 2 * MARGIN) + 4 : 0;
  const top = legendY + legendSpace + 4;
  const yLabelSpace = spec.yLabel ? GLYPH_HEIGHT + LABEL_GAP : 0;
  const tickLabelWidth = Math.max(0, ...spec.yTickLabels.map((l) => measureText(l).width));
  const left = MARGIN + yLabelSpace + tickLabelWidth + LABEL_GAP + TICK_LENGTH;
  const xLabelSpace = spec.xLabel ? GLYPH_HEIGHT + LABEL_GAP : 0;
  const bottomSpace = TICK_LENGTH + LABEL_GAP + spec.xTickLabelLines * (GLYPH_HEIGHT + 2) + xLabelSpace + MARGIN;
  const right = width - Math.max(MARGIN + 6, spec.rightPad ?? 0);
  const plot = { x: left, y: top, width: right - left, height: height - bottomSpace - top };
  if (plot.width < 20 || plot.height < 20) {
    throw new PlotError(`chart ${width}×${height} is too small for its labels (plot area would be ${plot.width}×${plot.height})`);
  }
  return { plot, titleY, legendY };
}

/** Title, legend and axis labels around the plot. */
export function drawFrameText(raster: Raster, spec: FrameSpec, frame: Frame): void {
  const centerX = spec.width / 2;
  if (spec.title) {
    const title = fitText(spec.title, spec.width - 2 * MARGIN, TITLE_SCALE);
    drawText(raster, title, centerX, frame.titleY, { color: INK, scale: TITLE_SCALE, align: 'center' });
  }
  if (spec.legend.length) drawLegend(raster, spec.legend, centerX, frame.legendY, spec.width - 2 * MARGIN);
  const { plot } = frame;
  if (spec.xLabel) {
    const label = fitText(spec.xLabel, plot.width);
    drawText(raster, label, plot.x + plot.width / 2, spec.height - MARGIN - GLYPH_HEIGHT, { color: INK, align: 'center' });
  }
  if (spec.yLabel) {
    const label = fitText(spec.yLabel, plot.height);
    drawTextVertical(raster, label, MARGIN, plot.y + plot.height / 2, { color: INK, align: 'center' });
  }
}

/** Maps data values to pixel coordinates along one axis (log10 for log ticks): from ↔ ticks.min, to ↔ ticks.max. */
export function axisScale(ticks: Ticks, from: number, to: number): (value: number) => number {
  const f = ticks.log ? Math.log10 : (v: number) => v;
  const a = f(ticks.min),
    b = f(ticks.max);
  return (value) => from + ((f(value) - a) / (b - a)) * (to - from);
}

/** Horizontal grid lines, tick marks and labels for the y axis; minor log grid lines at 2…9 × 10^k. */
export function drawYAxis(raster: Raster, plot: Rect, ticks: Ticks, toY: (v: number) => number): void {
  const right = plot.x + plot.width - 1;
  if (ticks.log && ticks.step === 1 && ticks.values.length <= 7) {
    for (const decade of ticks.values.slice(0, -1)) {
      for (let m = 2; m <= 9; m++) drawLine(raster, plot.x, toY(m * decade), right, toY(m * decade), MINOR_GRID_COLOR);
    }
  }
  const labels = tickLabels(ticks);
  ticks.values.forEach((value, i) => {
    const y = Math.round(toY(value));
    drawLine(raster, plot.x, y, right, y, GRID_COLOR);
    drawLine(raster, plot.x - TICK_LENGTH, y, plot.x - 1, y, AXIS_COLOR);
    drawText(raster, labels[i], plot.x - TICK_LENGTH - LABEL_GAP, y - 3, { color: INK, align: 'right' });
  });
}

/** Vertical grid lines, tick marks and labels for a numeric x axis; labels that would collide are skipped. */
export function drawXAxis(raster: Raster, plot: Rect, ticks: Ticks, toX: (v: number) => number): void {
  const bottom = plot.y + plot.height - 1;
  const labels = tickLabels(ticks);
  let lastLabelRight = -Infinity;
  ticks.values.forEach((value, i) => {
    const x = Math.round(toX(value));
    drawLine(raster, x, plot.y, x, bottom, GRID_COLOR);
    drawLine(raster, x, bottom + 1, x, bottom + TICK_LENGTH, AXIS_COLOR);
    const width = measureText(labels[i]).width;
    if (x - width / 2 < lastLabelRight + 6) return;
    const box = drawText(raster, labels[i], x, bottom + TICK_LENGTH + LABEL_GAP, { color: INK, align: 'center' });
    lastLabelRight = box.x + box.width;
  });
}

/** The two axis lines along the left and bottom edges of the plot. */
export function drawAxisLines(raster: Raster, plot: Rect): void {
  const bottom = plot.y + plot.height - 1;
  drawLine(raster, plot.x, plot.y, plot.x, bottom, AXIS_COLOR);
  drawLine(raster, plot.x, bottom, plot.x + plot.width - 1, bottom, AXIS_COLOR);
}

/** Target tick counts for a chart of this size (about one tick per 100 px across, 60 px up). */
export function tickTargets(width: number, height: number): { x: number; y: number } {
  const clamp = (n: number) => Math.min(10, Math.max(2, Math.round(n)));
  return { x: clamp(width / 110), y: clamp(height / 70) };
}

export const X_LABEL_TOP_OFFSET = TICK_LENGTH + LABEL_GAP;
