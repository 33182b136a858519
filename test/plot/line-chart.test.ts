import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  PlotError,
  emaSmooth,
  mixColors,
  rasterize,
  renderLineChart,
  renderLineChartDetailed,
  type Rect,
  type Rgb,
} from '../../src/plot/index.js';
import { inkPixels, pixelAt, pixelsNear, pixelsOf, svgTexts } from './helpers.js';

const RED: Rgb = [255, 0, 0];
const inside = (r: Rect, x: number, y: number) => x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height;
const linspace = (n: number) => Array.from({ length: n }, (_, i) => i / (n - 1));

/** Checks that the strongly red pixels of the plot run along its diagonal, from corner to corner, without gaps. */
function assertDiagonal(pixels: [number, number][], plot: Rect): void {
  const inPlot = pixels.filter(([x, y]) => inside(plot, x, y));
  assert.ok(inPlot.length > plot.width, `${inPlot.length} series pixels`);
  const columns = new Set<number>();
  for (const [x, y] of inPlot) {
    const u = (x - plot.x) / (plot.width - 1),
      v = (plot.y + plot.height - 1 - y) / (plot.height - 1);
    assert.ok(Math.abs(u - v) < 0.02, `(${x}, ${y}) off the diagonal: u=${u.toFixed(3)} v=${v.toFixed(3)}`);
    columns.add(x);
  }
  for (let x = plot.x + 2; x < plot.x + plot.width - 2; x++) assert.ok(columns.has(x), `column ${x} drawn`);
}

const strongRed = (raster: Parameters<typeof pixelsNear>[0]) => pixelsNear(raster, RED, 90);

describe('renderLineChart', () => {
  it('draws y = x along the diagonal between the axes', async () => {
    const chart = renderLineChartDetailed({
      series: [{ name: 'y=x', points: linspace(50).map((t) => [t, t]), color: RED }],
      title: 'identity',
      xLabel: 'x',
      yLabel: 'y',
    });
    assert.deepEqual(chart.xTicks.values, [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(chart.yTicks.values, chart.xTicks.values);
    const raster = await rasterize(chart.chart);
    assertDiagonal(strongRed(raster), chart.plot);
    // the axes: dark pixels all along the left and bottom edges of the plot
    const { plot } = chart;
    const dark = (x: number, y: number) => pixelAt(raster, x, y)[1] < 100;
    for (let y = plot.y; y < plot.y + plot.height; y++) assert.ok(dark(plot.x, y), `left axis at y=${y}`);
    for (let x = plot.x; x < plot.x + plot.width; x++) assert.ok(dark(x, plot.y + plot.height - 1), `bottom axis at x=${x}`);
  });

  it('has the series colour at the pixels of the data points', async () => {
    const points = linspace(9).map((t) => [t * 100, Math.sin(t * 6)] as [number, number]);
    const chart = renderLineChartDetailed({ series: [{ name: 'sine', points, color: RED }] });
    const raster = await rasterize(chart.chart);
    for (const [x, y] of points.slice(1)) {
      // (the first point is on the y axis, which is drawn over the series)
      const [px, py] = chart.toPixel(x, y).map(Math.round);
      const [r, g, b] = pixelAt(raster, px, py);
      assert.ok(r > 200 && g < 110 && b < 110, `(${x}, ${y}) → pixel (${px}, ${py}) is ${[r, g, b]}`);
    }
  });

  it('with logY puts an exponential on the diagonal and ticks on powers of ten', async () => {
    const points = linspace(60).map((t) => [t, 10 ** (3 * t - 2)] as [number, number]); // 0.01 … 10
    const chart = renderLineChartDetailed({ series: [{ name: 'exp', points, color: '#ff0000' }], logY: true });
    assert.deepEqual(chart.yTicks.values, [0.01, 0.1, 1, 10]);
    assertDiagonal(strongRed(await rasterize(chart.chart)), chart.plot);
  });

  it('skips non-finite points, and non-positive ones with logY, instead of failing', async () => {
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
    assertDiagonal(strongRed(await rasterize(chart.chart)), chart.plot);
    const log = renderLineChartDetailed({
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
    assert.deepEqual(log.yTicks.values, [1, 10, 100]);
  });

  it('marks a single point with a 5×5 square at its position', async () => {
    const chart = renderLineChartDetailed({ series: [{ name: 'one', points: [[3, 7]], color: RED }] });
    const red = pixelsOf(await rasterize(chart.chart), RED).filter(([x, y]) => inside(chart.plot, x, y));
    assert.equal(red.length, 25);
    const [px, py] = chart.toPixel(3, 7).map(Math.round);
    assert.ok(red.every(([x, y]) => Math.abs(x - px) <= 2 && Math.abs(y - py) <= 2));
    assert.ok(chart.xTicks.min < 3 && chart.xTicks.max > 3 && chart.yTicks.min < 7 && chart.yTicks.max > 7);
  });

  it('shows "no data" on empty axes for empty or all-NaN series', async () => {
    for (const series of [[], [{ name: 'empty', points: [] }], [{ name: 'nan', points: [[NaN, NaN]] as [number, number][] }]]) {
      const chart = renderLineChartDetailed({ series, title: 'nothing yet' });
      assert.equal(chart.hasData, false);
      assert.ok(svgTexts(chart.chart.svg).includes('no data'));
      const { plot } = chart;
      const centre: Rect = { x: plot.x + plot.width / 2 - 45, y: plot.y + plot.height / 2 - 15, width: 90, height: 30 };
      const text = inkPixels(await rasterize(chart.chart)).filter(([x, y]) => inside(centre, x, y));
      assert.ok(text.length > 40, `"no data" drawn (${text.length} pixels)`);
    }
  });

  it('smooth draws the raw series lighter under the smoothed line', async () => {
    let seed = 3;
    const noise = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
    const points = linspace(100).map((t) => [t * 1000, 1 + t + noise()] as [number, number]);
    const raster = await rasterize(renderLineChart({ series: [{ name: 'loss', points, color: RED }], smooth: 0.9 }));
    assert.ok(pixelsNear(raster, RED, 30).length > 100);
    assert.ok(pixelsNear(raster, mixColors(RED, [255, 255, 255], 0.6), 30).length > 100);
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

  it('keeps every label whole, XML-escaped, and wraps a title wider than the chart', () => {
    const title = 'A title that is much longer than a chart of four hundred pixels could ever show on one line';
    const { svg } = renderLineChart({
      series: [
        { name: 'teacher-ddim-25', points: [[0, 1]] },
        { name: 'a <b> & "c"', points: [[1, 2]] },
      ],
      title,
      xLabel: 'optimizer step',
      yLabel: 'loss',
      width: 400,
      height: 300,
    });
    const texts = svgTexts(svg);
    for (const label of ['teacher-ddim-25', 'a <b> & "c"', 'optimizer step', 'loss']) assert.ok(texts.includes(label), label);
    assert.ok(svg.includes('a &lt;b&gt; &amp; &quot;c&quot;'));
    const titleLines = texts.filter((t) => title.includes(t) && t.length > 10);
    assert.ok(titleLines.length >= 2, `title wrapped: ${JSON.stringify(titleLines)}`);
    assert.equal(titleLines.join(' '), title);
  });

  it('draws many points with a bounded number of vertices', () => {
    const points = Array.from({ length: 100_000 }, (_, i) => [i, Math.cos(i)] as [number, number]);
    const chart = renderLineChartDetailed({ series: [{ name: 'long run', points }] });
    const vertices = /<polyline points="([^"]*)"/.exec(chart.chart.svg)![1].split(' ').length;
    assert.ok(vertices <= 4 * chart.plot.width, `${vertices} vertices`);
  });

  it('uses the requested size and rejects charts too small for their labels', async () => {
    const chart = renderLineChart({
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
    assert.deepEqual([chart.width, chart.height], [320, 200]);
    const raster = await rasterize(chart);
    assert.deepEqual([raster.width, raster.height, raster.rgb.length], [320, 200, 320 * 200 * 3]);
    assert.throws(() => renderLineChart({ series: [], width: 40, height: 30, title: 'tiny' }), /too small/);
    assert.throws(() => renderLineChart({ series: [], width: 0 }), /width/);
    assert.throws(() => renderLineChart({ series: [{ name: 'bad' } as never] }), /series\[0\]/);
  });
});
