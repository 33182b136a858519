import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  PlotError,
  emaSmooth,
  mixColors,
  renderLineChart,
  renderLineChartDetailed,
  type Raster,
  type Rect,
  type Rgb,
} from '../../src/plot/index.js';
import { inkPixels, pixelsOf } from './helpers.js';

const RED: Rgb = [255, 0, 0];
const inside = (r: Rect, x: number, y: number) => x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height;
const linspace = (n: number) => Array.from({ length: n }, (_, i) => i / (n - 1));
const SWATCH_PIXELS = 8 * 8;

/** The series' pixels below the header; the header (above the plot) may only hold its 8×8 legend swatch. */
function seriesPixels(raster: Raster, plot: Rect, color: Rgb): [number, number][] {
  const all = pixelsOf(raster, color);
  assert.equal(all.filter(([, y]) => y < plot.y).length, SWATCH_PIXELS, 'legend swatch in the header');
  return all.filter(([, y]) => y >= plot.y);
}

/** Checks that the red pixels run along the plot's diagonal, from corner to corner, without gaps. */
function assertDiagonal(pixels: [number, number][], plot: Rect): void {
  assert.ok(pixels.length > plot.width, `${pixels.length} series pixels`);
  const columns = new Set<number>();
  for (const [x, y] of pixels) {
    assert.ok(inside(plot, x, y), `(${x}, ${y}) inside the plot area`);
    const u = (x - plot.x) / (plot.width - 1),
      v = (plot.y + plot.height - 1 - y) / (plot.height - 1);
    assert.ok(Math.abs(u - v) < 0.015, `(${x}, ${y}) off the diagonal: u=${u.toFixed(3)} v=${v.toFixed(3)}`);
    columns.add(x);
  }
  for (let x = plot.x + 1; x < plot.x + plot.width - 1; x++) assert.ok(columns.has(x), `column ${x} drawn`);
}

describe('renderLineChart', () => {
  it('draws y = x along the diagonal between the axes', () => {
    const chart = renderLineChartDetailed({
      series: [{ name: 'y=x', points: linspace(50).map((t) => [t, t]), color: RED }],
      title: 'identity',
      xLabel: 'x',
      yLabel: 'y',
    });
    assert.deepEqual(chart.xTicks.values, [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(chart.yTicks.values, chart.xTicks.values);
    assertDiagonal(seriesPixels(chart.raster, chart.plot, RED), chart.plot);
    // the axes: dark pixels all along the left and bottom edges of the plot
    const { plot, raster } = chart;
    const dark = (x: number, y: number) => raster.rgb[(y * raster.width + x) * 3] < 100;
    for (let y = plot.y; y < plot.y + plot.height; y++) assert.ok(dark(plot.x, y), `left axis at y=${y}`);
    for (let x = plot.x; x < plot.x + plot.width; x++) assert.ok(dark(x, plot.y + plot.height - 1), `bottom axis at x=${x}`);
  });

  it('with logY puts an exponential on the diagonal and ticks on powers of ten', () => {
    const points = linspace(60).map((t) => [t, 10 ** (3 * t - 2)] as [number, number]); // 0.01 … 10
    const chart = renderLineChartDetailed({ series: [{ name: 'exp', points, color: '#ff0000' }], logY: true });
    assert.deepEqual(chart.yTicks.values, [0.01, 0.1, 1, 10]);
    assert.ok(chart.yTicks.values.every((v) => Number.isInteger(Math.log10(v))));
    assertDiagonal(seriesPixels(chart.raster, chart.plot, RED), chart.plot);
  });

  it('logY skips non-positive values instead of failing', () => {
    const chart = renderLineChartDetailed({
      series: [
        {
          name: 's',
          points: [
            [0, 0],
            [1, -1],
            [2, 1],
            [3, 100],
          ],
          color: RED,
        },
      ],
      logY: true,
    });
    assert.deepEqual(chart.yTicks.values, [1, 10, 100]);
    assert.ok(pixelsOf(chart.raster, RED).length > 0);
  });

  it('skips non-finite points', () => {
    const points: [number, number][] = [
      [0, 0],
      [NaN, 0.5],
      [0.5, Infinity],
      [0.5, 0.5],
      [-Infinity, 3],
      [1, 1],
    ];
    const chart = renderLineChartDetailed({ series: [{ name: 'gappy', points, color: RED }] });
    assert.equal(chart.hasData, true);
    assertDiagonal(seriesPixels(chart.raster, chart.plot, RED), chart.plot);
  });

  it('marks a single point with a 5×5 square at its position', () => {
    const chart = renderLineChartDetailed({ series: [{ name: 'one', points: [[3, 7]], color: RED }] });
    const red = seriesPixels(chart.raster, chart.plot, RED);
    assert.equal(red.length, 25);
    const [px, py] = chart.toPixel(3, 7).map(Math.round);
    assert.ok(red.every(([x, y]) => Math.abs(x - px) <= 2 && Math.abs(y - py) <= 2));
    assert.ok(chart.xTicks.min < 3 && chart.xTicks.max > 3 && chart.yTicks.min < 7 && chart.yTicks.max > 7);
  });

  it('draws a flat series as a horizontal band', () => {
    const chart = renderLineChartDetailed({ series: [{ name: 'flat', points: linspace(20).map((t) => [t * 10, 3]), color: RED }] });
    const rows = new Set(seriesPixels(chart.raster, chart.plot, RED).map(([, y]) => y));
    assert.ok(rows.size <= 2, `rows ${[...rows]}`);
    assert.ok(Math.abs([...rows][0] - chart.toPixel(0, 3)[1]) <= 1);
  });

  it('shows "no data" on empty axes for empty or all-NaN series', () => {
    for (const series of [[], [{ name: 'empty', points: [] }], [{ name: 'nan', points: [[NaN, NaN]] as [number, number][] }]]) {
      const chart = renderLineChartDetailed({ series, title: 'nothing yet' });
      assert.equal(chart.hasData, false);
      const { plot } = chart;
      const centre: Rect = { x: plot.x + plot.width / 2 - 40, y: plot.y + plot.height / 2 - 15, width: 80, height: 30 };
      const text = inkPixels(chart.raster).filter(([x, y]) => inside(centre, x, y));
      assert.ok(text.length > 40, `"no data" drawn (${text.length} pixels)`);
    }
  });

  it('smooth draws the raw series lighter under the smoothed line', () => {
    let seed = 3;
    const noise = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
    const points = linspace(100).map((t) => [t * 1000, 1 + t + noise()] as [number, number]);
    const raster = renderLineChart({ series: [{ name: 'loss', points, color: RED }], smooth: 0.9 });
    assert.ok(pixelsOf(raster, RED).length > 100);
    assert.ok(pixelsOf(raster, mixColors(RED, [255, 255, 255], 0.6)).length > 100);
    assert.throws(() => renderLineChart({ series: [], smooth: 1 }), PlotError);
    assert.throws(() => renderLineChart({ series: [], smooth: -0.1 }), /smooth/);
  });

  it('emaSmooth is a bias-corrected running average', () => {
    assert.deepEqual(
      emaSmooth(
        [
          [0, 4],
          [1, 4],
          [2, 4],
        ],
        0.9,
      ).map(([, y]) => Number(y.toFixed(12))),
      [4, 4, 4],
    );
    const [, second] = emaSmooth(
      [
        [0, 0],
        [1, 10],
      ],
      0.5,
    );
    assert.ok(Math.abs(second[1] - (0.5 * 10) / 0.75) < 1e-12);
  });

  it('uses the requested size and rejects charts too small for their labels', () => {
    const raster = renderLineChart({
      series: [
        {
          name: 'a',
          points: [
            [0, 1],
            [1, 2],
          ],
        },
      ],
      width: 320,
      height: 200,
    });
    assert.deepEqual([raster.width, raster.height], [320, 200]);
    assert.throws(() => renderLineChart({ series: [], width: 40, height: 30, title: 'tiny' }), /too small/);
    assert.throws(() => renderLineChart({ series: [{ name: 'bad' } as never] }), /series\[0\]/);
  });
});
