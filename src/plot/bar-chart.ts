/**
 * Grouped bar charts (the `tdd eval` results chart): one group per label along x, one bar per series in each
 * group, value labels on the bars' ends, legend and title. Missing values (null, NaN) leave a gap.
 */
import { PlotError, WHITE, paletteColor, parseColor, type Color, type Rgb } from './color.js';
import { createRaster, drawLine, fillRect, type Raster, type Rect } from './raster.js';
import { GLYPH_HEIGHT, drawText, fitText, measureText, wrapText } from './bitmap-font.js';
import { formatCompact, niceTicks, tickLabels, type Ticks } from './ticks.js';
import {
  AXIS_COLOR,
  INK,
  X_LABEL_TOP_OFFSET,
  axisScale,
  drawAxisLines,
  drawFrameText,
  drawYAxis,
  layoutFrame,
  tickTargets,
  type FrameSpec,
} from './chart-frame.js';

export interface BarSeries {
  name: string;
  /** One value per group; null (or a non-finite number) draws no bar. */
  values: readonly (number | null)[];
  color?: Color;
}

export interface BarChartOptions {
  /** Group labels along the x axis. */
  groups: readonly string[];
  series: readonly BarSeries[];
  title?: string;
  yLabel?: string;
  width?: number;
  height?: number;
}

export interface BarChartRender {
  raster: Raster;
  plot: Rect;
  yTicks: Ticks;
  /** Pixel rectangle of each drawn bar: bars[series][group], undefined for missing values. */
  bars: (Rect | undefined)[][];
}

const GROUP_GAP_FRACTION = 0.25;

function validate(options: BarChartOptions): void {
  if (!Array.isArray(options.groups)) throw new PlotError('bar chart: groups must be an array of labels');
  if (!Array.isArray(options.series)) throw new PlotError('bar chart: series must be an array');
  options.series.forEach((s, i) => {
    if (typeof s?.name !== 'string') throw new PlotError(`bar chart: series[${i}].name must be a string, got ${typeof s?.name}`);
    if (!s || !Array.isArray(s.values) || s.values.length !== options.groups.length) {
      throw new PlotError(
        `bar chart: series[${i}] (${JSON.stringify(s?.name)}) needs ${options.groups.length} values (one per group), got ${s?.values?.length}`,
      );
    }
  });
}

const finiteOrNull = (v: number | null): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The value axis always includes 0 (the bars' base), with headroom for the value labels. */
function valueTicks(values: number[], target: number): Ticks {
  let min = 0,
    max = 0;
  for (const v of values) [min, max] = [Math.min(min, v), Math.max(max, v)];
  if (max === min) return niceTicks(0, 1, target);
  const headroom = 0.08 * (max - min);
  return niceTicks(min < 0 ? min - headroom : 0, max > 0 ? max + headroom : 0, target);
}

/** Renders the chart and reports its layout. */
export function renderBarChartDetailed(options: BarChartOptions): BarChartRender {
  validate(options);
  const { width = 640, height = 400, groups, series } = options;
  const raster = createRaster(width, height, WHITE);
  const values = series.map((s) => s.values.map(finiteOrNull));
  const yTicks = valueTicks(
    values.flat().filter((v): v is number => v !== null),
    tickTargets(width, height).y,
  );
  const colors: Rgb[] = series.map((s, i) => (s.color === undefined ? paletteColor(i) : parseColor(s.color, `series[${i}].color`)));
  const spec: FrameSpec = {
    width,
    height,
    title: options.title,
    yLabel: options.yLabel,
    legend: series.map((s, i) => ({ name: s.name, color: colors[i] })),
    yTickLabels: tickLabels(yTicks),
    xTickLabelLines: 2,
  };
  const frame = layoutFrame(spec);
  const { plot } = frame;
  const toY = axisScale(yTicks, plot.y + plot.height - 1, plot.y);
  drawYAxis(raster, plot, yTicks, toY);
  const groupWidth = plot.width / Math.max(1, groups.length);
  const barWidth = Math.max(1, Math.floor((groupWidth * (1 - GROUP_GAP_FRACTION)) / Math.max(1, series.length)));
  const zeroY = Math.round(toY(0));
  const bars = values.map((row, s) =>
    row.map((value, g) => {
      if (value === null) return undefined;
      const left = Math.round(plot.x + g * groupWidth + (groupWidth - barWidth * series.length) / 2) + s * barWidth;
      const end = Math.round(toY(value));
      const bar = { x: left, y: Math.min(zeroY, end), width: barWidth, height: Math.abs(end - zeroY) + 1 };
      fillRect(raster, bar.x, bar.y, bar.width, bar.height, colors[s], plot);
      drawValueLabel(raster, value, bar);
      return bar;
    }),
  );
  if (zeroY > plot.y && zeroY < plot.y + plot.height - 1) drawLine(raster, plot.x, zeroY, plot.x + plot.width - 1, zeroY, AXIS_COLOR);
  drawGroupLabels(raster, plot, groups, groupWidth);
  drawAxisLines(raster, plot);
  drawFrameText(raster, spec, frame);
  return { raster, plot, yTicks, bars };
}

/** The value just above a bar (below a negative one), when it fits within the bar plus a little. */
function drawValueLabel(raster: Raster, value: number, bar: Rect): void {
  const label = formatCompact(value);
  if (measureText(label).width > bar.width + 8) return;
  const y = value < 0 ? bar.y + bar.height + 2 : bar.y - GLYPH_HEIGHT - 2;
  drawText(raster, label, bar.x + bar.width / 2, y, { color: INK, align: 'center' });
}

/** Group labels centred under each group, wrapped onto two lines and shortened to the group's width. */
function drawGroupLabels(raster: Raster, plot: Rect, groups: readonly string[], groupWidth: number): void {
  const top = plot.y + plot.height - 1 + X_LABEL_TOP_OFFSET;
  groups.forEach((label, g) => {
    const lines = wrapText(String(label), Math.max(6, groupWidth - 4), 1, 2);
    const centerX = plot.x + (g + 0.5) * groupWidth;
    lines.forEach((line, i) =>
      drawText(raster, fitText(line, groupWidth - 4), centerX, top + i * (GLYPH_HEIGHT + 2), { color: INK, align: 'center' }),
    );
  });
}

/** Renders a grouped bar chart (default 640×400). */
export function renderBarChart(options: BarChartOptions): Raster {
  return renderBarChartDetailed(options).raster;
}
