/**
 * Line charts (the distillation loss plot): numeric x and y axes with nice ticks (decades for logY), one
 * polyline per series, an optional EMA-smoothed line drawn over a lighter raw line, legend and title.
 */
import { PlotError, WHITE, mixColors, paletteColor, parseColor, type Color, type Rgb } from './color.js';
import { createRaster, drawPolyline, fillRect, type Raster, type Rect } from './raster.js';
import { drawText, measureText } from './bitmap-font.js';
import { logTicks, niceTicks, tickLabels, type Ticks } from './ticks.js';
import {
  MUTED_INK,
  axisScale,
  drawAxisLines,
  drawFrameText,
  drawXAxis,
  drawYAxis,
  layoutFrame,
  tickTargets,
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

/** The raster plus where things went, for callers (and tests) that need to relate pixels to data. */
export interface LineChartRender {
  raster: Raster;
  plot: Rect;
  xTicks: Ticks;
  yTicks: Ticks;
  /** Data → pixel coordinates (fractional; round for the pixel). */
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

function validate(options: LineChartOptions): { width: number; height: number } {
  if (!Array.isArray(options.series)) throw new PlotError('line chart: series must be an array');
  options.series.forEach((s, i) => {
    if (typeof s?.name !== 'string') throw new PlotError(`line chart: series[${i}].name must be a string, got ${typeof s?.name}`);
    if (!s || !Array.isArray(s.points)) throw new PlotError(`line chart: series[${i}] (${JSON.stringify(s?.name)}) needs a points array`);
  });
  const { smooth } = options;
  if (smooth !== undefined && !(smooth >= 0 && smooth < 1))
    throw new PlotError(`line chart: smooth must be an EMA factor in [0, 1), got ${smooth}`);
  return { width: options.width ?? 800, height: options.height ?? 480 };
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
  const raster = createRaster(width, height, WHITE);
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
    xTickLabelLines: 1,
    rightPad: measureText(xLabels[xLabels.length - 1]).width / 2 + 6,
  };
  const frame = layoutFrame(spec);
  const { plot } = frame;
  const toX = axisScale(xTicks, plot.x, plot.x + plot.width - 1);
  const toY = axisScale(yTicks, plot.y + plot.height - 1, plot.y);
  const toPixel = (x: number, y: number): [number, number] => [toX(x), toY(y)];

  drawYAxis(raster, plot, yTicks, toY);
  drawXAxis(raster, plot, xTicks, toX);
  seriesPoints.forEach((points, i) => drawSeries(raster, plot, points, colors[i], options.smooth, toPixel));
  drawAxisLines(raster, plot);
  drawFrameText(raster, spec, frame);
  if (!hasData) {
    drawText(raster, 'no data', plot.x + plot.width / 2, plot.y + plot.height / 2 - 4, { color: MUTED_INK, scale: 2, align: 'center' });
  }
  return { raster, plot, xTicks, yTicks, toPixel, hasData };
}

/** One series inside the plot: a marker for a lone point, else a line (raw and lighter when smoothing). */
function drawSeries(
  raster: Raster,
  plot: Rect,
  data: Point[],
  color: Rgb,
  smooth: number | undefined,
  toPixel: (x: number, y: number) => Point,
): void {
  const pixels = data.map(([x, y]) => toPixel(x, y));
  if (pixels.length === 1) {
    fillRect(raster, Math.round(pixels[0][0]) - 2, Math.round(pixels[0][1]) - 2, 5, 5, color, plot);
  } else if (smooth === undefined) {
    drawPolyline(raster, pixels, color, { thickness: 2, clip: plot });
  } else {
    drawPolyline(raster, pixels, mixColors(color, WHITE, 0.6), { thickness: 1, clip: plot });
    drawPolyline(
      raster,
      emaSmooth(data, smooth).map(([x, y]) => toPixel(x, y)),
      color,
      { thickness: 2, clip: plot },
    );
  }
}

/** Renders a line chart (default 800×480). */
export function renderLineChart(options: LineChartOptions): Raster {
  return renderLineChartDetailed(options).raster;
}
