import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlotError, rasterize, renderBarChart, renderBarChartDetailed, textWidth, type Rgb } from '../../src/plot/index.js';
import { pixelsOf, pixelsWhere, svgTexts } from './helpers.js';

const RED: Rgb = [255, 0, 0];
const BLUE: Rgb = [0, 0, 255];

/** The red run in column x (the bar as actually drawn). */
function columnRun(pixels: [number, number][], x: number): { top: number; bottom: number } {
  const ys = pixels.filter(([px]) => px === x).map(([, y]) => y);
  return { top: Math.min(...ys), bottom: Math.max(...ys) };
}

describe('renderBarChart', () => {
  it('draws bars whose heights are proportional to the values, from a shared base', async () => {
    const chart = renderBarChartDetailed({
      groups: ['a', 'b', 'c'],
      series: [{ name: 's', values: [1, 2, 4], color: RED }],
      width: 400,
      height: 300,
    });
    const { plot } = chart;
    const red = pixelsOf(await rasterize(chart.chart), RED).filter(([, y]) => y >= plot.y);
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

  it('puts the series of a group side by side and leaves null values out', async () => {
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
    const redInSecondGroup = pixelsOf(await rasterize(chart.chart), RED).filter(([x, y]) => x > g2 && y >= chart.plot.y);
    assert.equal(redInSecondGroup.length, 0);
  });

  it('labels each bar with its value just above it', async () => {
    const chart = renderBarChartDetailed({ groups: ['x'], series: [{ name: 's', values: [42], color: RED }], width: 300, height: 240 });
    const bar = chart.bars[0][0]!;
    assert.ok(svgTexts(chart.chart.svg).includes('42'));
    const label = pixelsWhere(await rasterize(chart.chart), (r, g, b) => r < 120 && g < 120 && b < 120).filter(
      ([x, y]) => x >= bar.x - 4 && x < bar.x + bar.width + 4 && y < bar.y && y >= bar.y - 16,
    );
    assert.ok(label.length > 10, `value label pixels: ${label.length}`);
  });

  it('draws negative values below the zero line', () => {
    const chart = renderBarChartDetailed({ groups: ['a', 'b'], series: [{ name: 's', values: [3, -1], color: RED }] });
    const [up, down] = chart.bars[0] as { y: number; height: number }[];
    assert.ok(chart.yTicks.min < -1 && chart.yTicks.values.includes(0));
    assert.equal(down.y, up.y + up.height - 1, 'the negative bar starts where the positive one ends');
  });

  it('keeps long group labels whole, turned 45° inside the chart', async () => {
    const groups = ['teacher-ddim-25', 'tdd-lora-4', 'tdd-lora-2-eta-0.2', 'lcm-lora-8', 'dmd2-1', 'a & <b>', 'tcd-lora-4', 'x', 'y'];
    const chart = renderBarChartDetailed({
      groups,
      width: 800,
      height: 420,
      title: 'FD-emoji per row (lower is better)',
      yLabel: 'Frechet distance',
      series: [{ name: 'FD-emoji (data)', values: groups.map((_, i) => 10 + i) }],
    });
    assert.equal(chart.rotatedLabels, true);
    const texts = svgTexts(chart.chart.svg);
    for (const label of [...groups, 'FD-emoji per row (lower is better)', 'Frechet distance', 'FD-emoji (data)'])
      assert.ok(texts.includes(label), label);
    // the longest label, turned, fits between the axis and the bottom edge, and the first one right of the left edge
    const { plot } = chart;
    const room = chart.chart.height - (plot.y + plot.height);
    assert.ok(room >= Math.SQRT1_2 * textWidth('tdd-lora-2-eta-0.2', 12), `room under the axis: ${room}`);
    assert.ok(plot.x + plot.width / groups.length / 2 >= Math.SQRT1_2 * textWidth('teacher-ddim-25', 12));
    const raster = await rasterize(chart.chart);
    const inkUnderAxis = pixelsWhere(raster, (r, g, b) => r + g + b < 300).filter(([, y]) => y > plot.y + plot.height + 10);
    assert.ok(inkUnderAxis.length > 200, `group labels drawn: ${inkUnderAxis.length}`);
    // short labels stay horizontal
    assert.equal(renderBarChartDetailed({ groups: ['a', 'b'], series: [{ name: 's', values: [1, 2] }] }).rotatedLabels, false);
  });

  it('validates its input', async () => {
    assert.throws(() => renderBarChart({ groups: ['a', 'b'], series: [{ name: 'short', values: [1] }] }), /series\[0\].*"short".*2 values/);
    assert.throws(() => renderBarChart({ groups: ['a'], series: [{ name: 's', values: [1], color: 'blue' }] }), PlotError);
    const empty = await rasterize(renderBarChart({ groups: [], series: [], width: 200, height: 150 }));
    assert.deepEqual([empty.width, empty.height], [200, 150]);
    const allNull = renderBarChartDetailed({ groups: ['a'], series: [{ name: 's', values: [null] }] });
    assert.deepEqual(allNull.bars, [[undefined]]);
  });
});
