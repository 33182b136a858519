/**
 * Grouped bar charts (the `tdd eval` results chart): one group per label along x, one bar per series in each
 * group, value labels on the bars' ends, legend and title, as SVG. Missing values (null, NaN) leave a gap. Group
 * labels that do not fit across their group are turned 45° rather than shortened.
 */
import { PlotError, WHITE, paletteColor, parseColor, type Color, type Rgb } from './color.js';
import { checkSize, type Rect } from './image.js';
import { svgDocument, type Chart } from './svg.js';
import { LINE_HEIGHT, textWidth } from './text-metrics.js';
import { blockHeight, textBlock } from './labels.js';
import { formatCompact, niceTicks, tickLabels, type Ticks } from './ticks.js';
import {
  AXIS_COLOR,
  FONT,
  INK,
  LABEL_GAP,
  TICK_LENGTH,
  axisLinesSvg,
  axisScale,
  crispRect,
  frameTextSvg,
  layoutFrame,
  tickTargets,
  yAxisSvg,
  type Frame,
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
  chart: Chart;
  plot: Rect;
  yTicks: Ticks;
  /** Pixel rectangle of each drawn bar: bars[series][group], undefined for missing values. */
  bars: (Rect | undefined)[][];
  /** Whether the group labels were turned 45° to fit. */
  rotatedLabels: boolean;
}

const GROUP_GAP_FRACTION = 0.25;
const VALUE_FONT = 10;
const SIN45 = Math.SQRT1_2;

function validate(options: BarChartOptions): { width: number; height: number } {
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
  const size = { width: options.width ?? 640, height: options.height ?? 400 };
  checkSize(size.width, size.height, 'bar chart');
  return size;
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

/**
 * The frame, with room under the axis for the group labels: one line when each fits across its group, else the
 * height (and the room left of the plot) of labels turned 45°, which depend on the group width they leave.
 */
function layoutWithGroupLabels(base: FrameSpec, labels: readonly string[]): { frame: Frame; spec: FrameSpec; rotated: boolean } {
  const widths = labels.map((l) => textWidth(l, FONT));
  const lineHeight = FONT * LINE_HEIGHT;
  let spec: FrameSpec = { ...base, xTickLabelHeight: blockHeight(1, FONT) };
  let frame = layoutFrame(spec);
  const groupWidth = (f: Frame) => f.plot.width / Math.max(1, labels.length);
  if (widths.every((w) => w <= groupWidth(frame) - 4)) return { frame, spec, rotated: false };
  const xTickLabelHeight = Math.ceil(SIN45 * (Math.max(0, ...widths) + lineHeight)) + 2;
  for (let i = 0; i < 4; i++) {
    const gw = groupWidth(frame);
    // a turned label ends at its group's centre and reaches SIN45 × width to the left of it
    const leftPad = Math.max(0, ...widths.map((w, g) => SIN45 * w + 4 - (g + 0.5) * gw));
    spec = { ...base, xTickLabelHeight, leftPad: Math.max(base.leftPad ?? 0, leftPad) };
    frame = layoutFrame(spec);
  }
  return { frame, spec, rotated: true };
}

/** Renders the chart and reports its layout. */
export function renderBarChartDetailed(options: BarChartOptions): BarChartRender {
  const { width, height } = validate(options);
  const { series } = options;
  const groups = options.groups.map(String);
  const values = series.map((s) => s.values.map(finiteOrNull));
  const yTicks = valueTicks(
    values.flat().filter((v): v is number => v !== null),
    tickTargets(width, height).y,
  );
  const colors: Rgb[] = series.map((s, i) => (s.color === undefined ? paletteColor(i) : parseColor(s.color, `series[${i}].color`)));
  const { frame, spec, rotated } = layoutWithGroupLabels(
    {
      width,
      height,
      title: options.title,
      yLabel: options.yLabel,
      legend: series.map((s, i) => ({ name: s.name, color: colors[i] })),
      yTickLabels: tickLabels(yTicks),
      xTickLabelHeight: 0,
    },
    groups,
  );
  const { plot } = frame;
  const toY = axisScale(yTicks, plot.y + plot.height - 1, plot.y);
  const body = [yAxisSvg(plot, yTicks, toY)];
  const groupWidth = plot.width / Math.max(1, groups.length);
  const barWidth = Math.max(1, Math.floor((groupWidth * (1 - GROUP_GAP_FRACTION)) / Math.max(1, series.length)));
  const zeroY = Math.round(toY(0));
  const bars = values.map((row, s) =>
    row.map((value, g) => {
      if (value === null) return undefined;
      const left = Math.round(plot.x + g * groupWidth + (groupWidth - barWidth * series.length) / 2) + s * barWidth;
      const end = Math.round(toY(value));
      const bar = { x: left, y: Math.min(zeroY, end), width: barWidth, height: Math.abs(end - zeroY) + 1 };
      body.push(crispRect(bar.x, bar.y, bar.width, bar.height, colors[s]), valueLabelSvg(value, bar));
      return bar;
    }),
  );
  if (zeroY > plot.y && zeroY < plot.y + plot.height - 1) body.push(crispRect(plot.x, zeroY, plot.width, 1, AXIS_COLOR));
  body.push(groupLabelsSvg(plot, groups, groupWidth, rotated), axisLinesSvg(plot), frameTextSvg(spec, frame));
  return { chart: svgDocument(width, height, WHITE, body), plot, yTicks, bars, rotatedLabels: rotated };
}

/** The value just above a bar (below a negative one), when it is not much wider than the bar. */
function valueLabelSvg(value: number, bar: Rect): string {
  const label = formatCompact(value);
  if (textWidth(label, VALUE_FONT) > bar.width + 8) return '';
  const top = value < 0 ? bar.y + bar.height + 1 : bar.y - blockHeight(1, VALUE_FONT) - 1;
  return textBlock([label], bar.x + bar.width / 2, top, { fontSize: VALUE_FONT, color: INK, anchor: 'middle' });
}

/** Group labels under each group: centred across it, or turned 45° and ending under its centre. */
function groupLabelsSvg(plot: Rect, groups: readonly string[], groupWidth: number, rotated: boolean): string {
  const top = plot.y + plot.height + TICK_LENGTH + LABEL_GAP;
  return groups
    .map((label, g) => {
      const centreX = plot.x + (g + 0.5) * groupWidth;
      return rotated
        ? textBlock([label], centreX, top, { fontSize: FONT, color: INK, anchor: 'end', rotate: -45 })
        : textBlock([label], centreX, top, { fontSize: FONT, color: INK, anchor: 'middle' });
    })
    .join('');
}

/** Renders a grouped bar chart (default 640×400) as SVG; savePng or rasterize turn it into pixels. */
export function renderBarChart(options: BarChartOptions): Chart {
  return renderBarChartDetailed(options).chart;
}
