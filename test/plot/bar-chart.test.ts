import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlotError, renderBarChart, renderBarChartDetailed, type Rgb } from '../../src/plot/index.js';
import { pixelsOf, pixelsWhere } from './helpers.js';

const RED: Rgb = [255, 0, 0];
const BLUE: Rgb = [0, 0, 255];

/** Height of the red run in column x below the header (the bar as actually drawn). */
function columnRun(pixels: [number, number][], x: number): { top: number; bottom: number } {
  const ys = pixels.filter(([px]) => px === x).map(([, y]) => y);
  return { top: Math.min(...ys), bottom: Math.max(...ys) };
}

describe('renderBarChart', () => {
  it('draws bars whose heights are proportional to the values, from a shared base', () => {
    const chart = renderBarChartDetailed({
      groups: ['a', 'b', 'c'],
      series: [{ name: 's', values: [1, 2, 4], color: RED }],
      width: 400,
      height: 300,
    });
    const { plot } = chart;
    const red = pixelsOf(chart.raster, RED).filter(([, y]) => y >= plot.y);
    const runs = chart.bars[0].map((bar) => columnRun(red, bar!.x + 1));
    assert.equal(new Set(runs.map((r) => r.bottom)).size, 1, 'one baseline');
    // the axis line covers the zero row, so a run spans value × pixels-per-unit rows above it
    const heights = runs.map((r) => r.bottom - r.top + 1);
    const pixelsPerUnit = (plot.height - 1) / (chart.yTicks.max - chart.yTicks.min);
    [1, 2, 4].forEach((value, g) =>
      assert.ok(Math.abs(heights[g] - value * pixelsPerUnit) <= 1, `bar ${g}: ${heights[g]} px for ${value}`),
    );
    assert.equal(runs[0].bottom, plot.y + plot.height - 2, 'bars stand on the x axis');
    // bars sit left to right in their groups, inside the plot
    const centres = chart.bars[0].map((b) => b!.x + b!.width / 2);
    centres.forEach((c, g) => assert.ok(Math.abs(c - (plot.x + (g + 0.5) * (plot.width / 3))) <= 1.5));
  });

  it('puts the series of a group side by side and leaves null values out', () => {
    const chart = renderBarChartDetailed({
      groups: ['4 steps', '8 steps'],
      series: [
        { name: 'CLIP', values: [0.3, null], color: RED },
        { name: 'IR', values: [0.2, 0.25], color: BLUE },
      ],
    });
    assert.equal(chart.bars[0][1], undefined);
    const [red, blue] = [chart.bars[0][0]!, chart.bars[1][0]!];
    assert.equal(blue.x, red.x + red.width, 'adjacent within the group');
    const g2 = chart.plot.x + chart.plot.width / 2;
    const redInSecondGroup = pixelsOf(chart.raster, RED).filter(([x, y]) => x > g2 && y >= chart.plot.y);
    assert.equal(redInSecondGroup.length, 0);
  });

  it('labels each bar with its value just above it', () => {
    const chart = renderBarChartDetailed({ groups: ['x'], series: [{ name: 's', values: [42], color: RED }], width: 300, height: 240 });
    const bar = chart.bars[0][0]!;
    const label = pixelsWhere(chart.raster, (r, g, b) => r < 80 && g < 80 && b < 80).filter(
      ([x, y]) => x >= bar.x - 4 && x < bar.x + bar.width + 4 && y < bar.y && y >= bar.y - 12,
    );
    assert.ok(label.length > 10, `value label pixels: ${label.length}`);
  });

  it('draws negative values below the zero line', () => {
    const chart = renderBarChartDetailed({ groups: ['a', 'b'], series: [{ name: 's', values: [3, -1], color: RED }] });
    const [up, down] = chart.bars[0] as { y: number; height: number }[];
    assert.ok(chart.yTicks.min < -1 && chart.yTicks.values.includes(0));
    assert.equal(down.y, up.y + up.height - 1, 'the negative bar starts where the positive one ends');
  });

  it('validates its input', () => {
    assert.throws(() => renderBarChart({ groups: ['a', 'b'], series: [{ name: 'short', values: [1] }] }), /series\[0\].*"short".*2 values/);
    assert.throws(() => renderBarChart({ groups: ['a'], series: [{ name: 's', values: [1], color: 'blue' }] }), PlotError);
    const empty = renderBarChart({ groups: [], series: [], width: 200, height: 150 });
    assert.deepEqual([empty.width, empty.height], [200, 150]);
    const allNull = renderBarChartDetailed({ groups: ['a'], series: [{ name: 's', values: [null] }] });
    assert.deepEqual(allNull.bars, [[undefined]]);
  });
});
