/**
 * What line and bar charts share: the layout of title, legend, axis labels and plot area (margins sized from the
 * estimated text widths, so no label is cut), the y axis with its grid, and the axis lines. Lines are 1-pixel
 * crisp rectangles on whole pixels; pixel (x, y) covers SVG [x, x + 1) × [y, y + 1).
 */
import { PlotError, type Rgb } from './color.js';
import type { Rect } from './image.js';
import { cssColor, element } from './svg.js';
import { LINE_HEIGHT, linesWidth, textWidth, wrapText } from './text-metrics.js';
import { blockHeight, textBlock } from './labels.js';
import { layoutLegend, legendSvg, type LegendItem, type LegendLayout } from './legend.js';
import { tickLabels, type Ticks } from './ticks.js';

export const INK: Rgb = [30, 30, 30];
export const AXIS_COLOR: Rgb = [60, 60, 60];
export const GRID_COLOR: Rgb = [222, 222, 222];
export const MINOR_GRID_COLOR: Rgb = [240, 240, 240];
export const MUTED_INK: Rgb = [120, 120, 120];

export const FONT = 12;
export const TITLE_FONT = 16;
const MARGIN = 10;
export const TICK_LENGTH = 4;
export const LABEL_GAP = 4;

export interface FrameSpec {
  width: number;
  height: number;
  title?: string;
  legend: readonly LegendItem[];
  xLabel?: string;
  yLabel?: string;
  yTickLabels: readonly string[];
  /** Room under the x axis for the tick (or category) labels, in pixels. */
  xTickLabelHeight: number;
  /** Room the x tick labels need left of the plot and right of it (e.g. half of the first and last label). */
  leftPad?: number;
  rightPad?: number;
}

export interface Frame {
  readonly plot: Rect;
  readonly titleLines: readonly string[];
  readonly legend: LegendLayout;
  readonly legendTop: number;
  readonly xLabelLines: readonly string[];
  readonly yLabelLines: readonly string[];
}

/** Places title, legend, axis labels and the plot rectangle; throws when the chart is too small for them. */
export function layoutFrame(spec: FrameSpec): Frame {
  const { width, height } = spec;
  const inner = Math.max(1, width - 2 * MARGIN);
  const titleLines = spec.title ? wrapText(spec.title, inner, TITLE_FONT) : [];
  const legendTop = MARGIN + (titleLines.length ? blockHeight(titleLines.length, TITLE_FONT) + 4 : 0);
  const legend = layoutLegend(spec.legend, inner);
  // the top tick label is centred on the plot's top edge, so half a line of it sits above the plot
  const top = Math.ceil(legendTop + (legend.height ? legend.height + 8 : 0) + (FONT * LINE_HEIGHT) / 2);
  const yLabelLines = spec.yLabel ? wrapText(spec.yLabel, Math.max(1, height - top - MARGIN), FONT) : [];
  const xLabelLines = spec.xLabel ? wrapText(spec.xLabel, inner, FONT) : [];
  const yLabelSpace = yLabelLines.length ? blockHeight(yLabelLines.length, FONT) + LABEL_GAP : 0;
  const tickLabelWidth = linesWidth(spec.yTickLabels, FONT);
  const left = Math.ceil(Math.max(MARGIN + yLabelSpace + tickLabelWidth + LABEL_GAP + TICK_LENGTH, MARGIN + (spec.leftPad ?? 0)));
  const xLabelSpace = xLabelLines.length ? blockHeight(xLabelLines.length, FONT) + LABEL_GAP : 0;
  const bottom = Math.ceil(height - MARGIN - xLabelSpace - spec.xTickLabelHeight - LABEL_GAP - TICK_LENGTH);
  const right = Math.floor(width - Math.max(MARGIN + 6, MARGIN + (spec.rightPad ?? 0)));
  const plot = { x: left, y: top, width: right - left, height: bottom - top };
  if (plot.width < 20 || plot.height < 20) {
    throw new PlotError(`chart ${width}×${height} is too small for its labels (plot area would be ${plot.width}×${plot.height})`);
  }
  return { plot, titleLines, legend, legendTop, xLabelLines, yLabelLines };
}

/** Title, legend and axis labels around the plot. */
export function frameTextSvg(spec: FrameSpec, frame: Frame): string {
  const { plot } = frame;
  const parts = [
    textBlock(frame.titleLines, spec.width / 2, MARGIN, { fontSize: TITLE_FONT, color: INK, anchor: 'middle' }),
    legendSvg(frame.legend, MARGIN, frame.legendTop, INK),
  ];
  if (frame.xLabelLines.length) {
    const top = spec.height - MARGIN - blockHeight(frame.xLabelLines.length, FONT);
    // centred under the plot when it fits there, else under the whole chart
    const wide = linesWidth(frame.xLabelLines, FONT) > plot.width;
    parts.push(
      textBlock(frame.xLabelLines, wide ? spec.width / 2 : plot.x + plot.width / 2, top, { fontSize: FONT, color: INK, anchor: 'middle' }),
    );
  }
  if (frame.yLabelLines.length) {
    // turned −90° about (left, centre): the lines' boxes run from the left margin towards the plot
    const left = MARGIN + blockHeight(frame.yLabelLines.length, FONT);
    const centre = plot.y + plot.height / 2;
    const wide = linesWidth(frame.yLabelLines, FONT) > plot.height;
    const y = wide ? spec.height / 2 : centre;
    parts.push(
      frame.yLabelLines
        .map((line, i) =>
          textBlock([line], left - blockHeight(frame.yLabelLines.length - i, FONT), y, {
            fontSize: FONT,
            color: INK,
            anchor: 'middle',
            rotate: -90,
          }),
        )
        .join(''),
    );
  }
  return parts.join('');
}

/** A filled rectangle on whole pixels, drawn without anti-aliasing. */
export function crispRect(x: number, y: number, width: number, height: number, color: Rgb): string {
  return element('rect', { x, y, width, height, fill: cssColor(color), 'shape-rendering': 'crispEdges' });
}

/** Maps data values to pixel coordinates along one axis (log10 for log ticks): from ↔ ticks.min, to ↔ ticks.max. */
export function axisScale(ticks: Ticks, from: number, to: number): (value: number) => number {
  const f = ticks.log ? Math.log10 : (v: number) => v;
  const a = f(ticks.min),
    b = f(ticks.max);
  return (value) => from + ((f(value) - a) / (b - a)) * (to - from);
}

/** Horizontal grid lines, tick marks and labels for the y axis; minor log grid lines at 2…9 × 10^k. */
export function yAxisSvg(plot: Rect, ticks: Ticks, toY: (v: number) => number): string {
  const parts: string[] = [];
  if (ticks.log && ticks.step === 1 && ticks.values.length <= 7) {
    for (const decade of ticks.values.slice(0, -1)) {
      for (let m = 2; m <= 9; m++) parts.push(crispRect(plot.x, Math.round(toY(m * decade)), plot.width, 1, MINOR_GRID_COLOR));
    }
  }
  const labels = tickLabels(ticks);
  ticks.values.forEach((value, i) => {
    const y = Math.round(toY(value));
    parts.push(crispRect(plot.x, y, plot.width, 1, GRID_COLOR), crispRect(plot.x - TICK_LENGTH, y, TICK_LENGTH, 1, AXIS_COLOR));
    parts.push(
      textBlock([labels[i]], plot.x - TICK_LENGTH - LABEL_GAP, y + 0.5 - blockHeight(1, FONT) / 2, {
        fontSize: FONT,
        color: INK,
        anchor: 'end',
      }),
    );
  });
  return parts.join('');
}

/** Vertical grid lines, tick marks and labels for a numeric x axis; labels that would collide are left out. */
export function xAxisSvg(plot: Rect, ticks: Ticks, toX: (v: number) => number): string {
  const bottom = plot.y + plot.height - 1;
  const labels = tickLabels(ticks);
  const parts: string[] = [];
  let lastLabelRight = -Infinity;
  ticks.values.forEach((value, i) => {
    const x = Math.round(toX(value));
    parts.push(crispRect(x, plot.y, 1, plot.height, GRID_COLOR), crispRect(x, bottom + 1, 1, TICK_LENGTH, AXIS_COLOR));
    const width = textWidth(labels[i], FONT);
    if (x + 0.5 - width / 2 < lastLabelRight + 8) return;
    parts.push(textBlock([labels[i]], x + 0.5, bottom + 1 + TICK_LENGTH + LABEL_GAP, { fontSize: FONT, color: INK, anchor: 'middle' }));
    lastLabelRight = x + 0.5 + width / 2;
  });
  return parts.join('');
}

/** The two axis lines along the left and bottom edges of the plot. */
export function axisLinesSvg(plot: Rect): string {
  return crispRect(plot.x, plot.y, 1, plot.height, AXIS_COLOR) + crispRect(plot.x, plot.y + plot.height - 1, plot.width, 1, AXIS_COLOR);
}

/** Target tick counts for a chart of this size (about one tick per 110 px across, 70 px up). */
export function tickTargets(width: number, height: number): { x: number; y: number } {
  const clamp = (n: number) => Math.min(10, Math.max(2, Math.round(n)));
  return { x: clamp(width / 110), y: clamp(height / 70) };
}
