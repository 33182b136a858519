/**
 * Line charts (the training loss plots): numeric x and y axes with nice ticks (decades for logY), one polyline per
 * series, an optional EMA-smoothed line drawn over a lighter raw line, legend and title, as SVG.
 */
import { PlotError, WHITE, mixColors, paletteColor, parseColor, type Color, type Rgb } from './color.js';
import { checkSize, type Rect } from './image.js';
import { cssColor, element, num, svgDocument, type Chart } from './svg.js';
import { textWidth } from './text-metrics.js';
import { blockHeight, textBlock } from './labels.js';
import { logTicks, niceTicks, tickLabels, type Ticks } from './ticks.js';
import {
  FONT,
  MUTED_INK,
  axisLinesSvg,
  axisScale,
  frameTextSvg,
  layoutFrame,
  tickTargets,
  xAxisSvg,
  yAxisSvg,
  type FrameSpec,
} from './chart-frame.js';

export interface LineSeries {
  name: string;
  /** [x, y] pairs drawn in the given order; non-finite pairs (and y ≤ 0 with logY) are skipped. */
  points: readonly (readonly [number, number])[];
  color?: Color;
}

export interface LineChartOptions {
  series: readonly LineSeries[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  logY?: boolean;
  /** EMA factor in [0, 1): when set, each series is drawn lighter and a smoothed line over it. */
  smooth?: number;
}

/** The chart plus where things went, for callers (and tests) that need to relate pixels to data. */
export interface LineChartRender {
  chart: Chart;
  plot: Rect;
  xTicks: Ticks;
  yTicks: Ticks;
  /** Data → pixel coordinates (fractional pixel indices; round for the pixel). */
  toPixel: (x: number, y: number) => [number, number];
  /** False when no series had a drawable point ("no data" is shown). */
  hasData: boolean;
}

type Point = readonly [number, number];

function drawablePoints(series: LineSeries, logY: boolean): Point[] {
  return series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0));
}

/** Bias-corrected exponential moving average of the y values (so the line starts at the data, not at 0). */
export function emaSmooth(points: readonly Point[], factor: number): Point[] {
  let average = 0,
    weight = 0;
  return points.map(([x, y]) => {
    average = factor * average + (1 - factor) * y;
    weight = factor * weight + (1 - factor);
    return [x, average / weight] as const;
  });
}

/**
 * Fewer vertices, same picture: of each run of consecutive pixels in one column, the first, lowest, highest and
 * last are kept (in their order), so 100k steps do not make a 100k-vertex polyline.
 */
export function decimate(pixels: readonly Point[]): Point[] {
  const out: Point[] = [];
  for (let start = 0; start < pixels.length;) {
    const column = Math.round(pixels[start][0]);
    let end = start + 1,
      lo = start,
      hi = start;
    for (; end < pixels.length && Math.round(pixels[end][0]) === column; end++) {
      if (pixels[end][1] < pixels[lo][1]) lo = end;
      if (pixels[end][1] > pixels[hi][1]) hi = end;
    }
    for (const i of [...new Set([start, lo, hi, end - 1])].sort((a, b) => a - b)) out.push(pixels[i]);
    start = end;
  }
  return out;
}

function validate(options: LineChartOptions): { width: number; height: number } {
  if (!Array.isArray(options.series)) throw new PlotError('line chart: series must be an array');
  options.series.forEach((s, i) => {
    if (typeof s?.name !== 'string') throw new PlotError(`line chart: series[${i}].name must be a string, got ${typeof s?.name}`);
    if (!s || !Array.isArray(s.points)) throw new PlotError(`line chart: series[${i}] (${JSON.stringify(s?.name)}) needs a points array`);
  });
  const { smooth } = options;
  if (smooth !== undefined && !(smooth >= 0 && smooth < 1))
    throw new PlotError(`line chart: smooth must be an EMA factor in [0, 1), got ${smooth}`);
  const size = { width: options.width ?? 800, height: options.height ?? 480 };
  checkSize(size.width, size.height, 'line chart');
  return size;
}

function dataTicks(values: number[], target: number, log: boolean): Ticks {
  if (values.length === 0) return log ? logTicks(1, 10) : niceTicks(0, 1, target);
  let min = Infinity,
    max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return log ? logTicks(min, max, target + 2) : niceTicks(min, max, target);
}

function seriesColor(series: LineSeries, index: number): Rgb {
  return series.color === undefined ? paletteColor(index) : parseColor(series.color, `series[${index}].color`);
}

/** Renders the chart and reports its layout. */
export function renderLineChartDetailed(options: LineChartOptions): LineChartRender {
  const { width, height } = validate(options);
  const logY = options.logY ?? false;
  const seriesPoints = options.series.map((s) => drawablePoints(s, logY));
  const all = seriesPoints.flat();
  const hasData = all.length > 0;
  const targets = tickTargets(width, height);
  const xTicks = dataTicks(
    all.map((p) => p[0]),
    targets.x,
    false,
  );
  const yTicks = dataTicks(
    all.map((p) => p[1]),
    targets.y,
    logY,
  );
  const colors = options.series.map(seriesColor);
  const xLabels = tickLabels(xTicks);
  const spec: FrameSpec = {
    width,
    height,
    title: options.title,
    xLabel: options.xLabel,
    yLabel: options.yLabel,
    legend: options.series.map((s, i) => ({ name: s.name, color: colors[i] })),
    yTickLabels: tickLabels(yTicks),
    xTickLabelHeight: blockHeight(1, FONT),
    leftPad: textWidth(xLabels[0], FONT) / 2,
    rightPad: textWidth(xLabels[xLabels.length - 1], FONT) / 2,
  };
  const frame = layoutFrame(spec);
  const { plot } = frame;
  const toX = axisScale(xTicks, plot.x, plot.x + plot.width - 1);
  const toY = axisScale(yTicks, plot.y + plot.height - 1, plot.y);
  const toPixel = (x: number, y: number): [number, number] => [toX(x), toY(y)];

  const body = [yAxisSvg(plot, yTicks, toY), xAxisSvg(plot, xTicks, toX)];
  seriesPoints.forEach((points, i) => body.push(seriesSvg(points, colors[i], options.smooth, toPixel)));
  body.push(axisLinesSvg(plot), frameTextSvg(spec, frame));
  if (!hasData) {
    body.push(
      textBlock(['no data'], plot.x + plot.width / 2, plot.y + plot.height / 2 - blockHeight(1, 2 * FONT) / 2, {
        fontSize: 2 * FONT,
        color: MUTED_INK,
        anchor: 'middle',
      }),
    );
  }
  return { chart: svgDocument(width, height, WHITE, body), plot, xTicks, yTicks, toPixel, hasData };
}

/** A polyline through pixel centres. */
function polyline(pixels: readonly Point[], color: Rgb, strokeWidth: number): string {
  const points = decimate(pixels)
    .map(([x, y]) => `${num(x + 0.5)},${num(y + 0.5)}`)
    .join(' ');
  return element('polyline', {
    points,
    fill: 'none',
    stroke: cssColor(color),
    'stroke-width': strokeWidth,
    'stroke-linejoin': 'round',
    'stroke-linecap': 'round',
  });
}

/** One series: a marker for a lone point, else a line (raw and lighter under the smoothed one when smoothing). */
function seriesSvg(data: Point[], color: Rgb, smooth: number | undefined, toPixel: (x: number, y: number) => Point): string {
  const pixels = data.map(([x, y]) => toPixel(x, y));
  if (pixels.length === 0) return '';
  if (pixels.length === 1) {
    const [x, y] = pixels[0].map(Math.round);
    return element('rect', { x: x - 2, y: y - 2, width: 5, height: 5, fill: cssColor(color), 'shape-rendering': 'crispEdges' });
  }
  if (smooth === undefined) return polyline(pixels, color, 2);
  return (
    polyline(pixels, mixColors(color, WHITE, 0.6), 1) +
    polyline(
      emaSmooth(data, smooth).map(([x, y]) => toPixel(x, y)),
      color,
      2,
    )
  );
}

/** Renders a line chart (default 800×480) as SVG; savePng or rasterize turn it into pixels. */
export function renderLineChart(options: LineChartOptions): Chart {
  return renderLineChartDetailed(options).chart;
}
