import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { readPngText } from '../../src/util/png.js';
import { composeGrid, renderBarChart, renderLineChart, savePng, stackCharts, type ImageLike } from '../../src/plot/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tdd-plot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Saves, decodes with sharp, and checks size, text chunk and that something besides the background was drawn. */
async function assertPng(image: Parameters<typeof savePng>[0], file: string, size: [number, number]): Promise<void> {
  await savePng(image, file, { Software: 'tdd-diffusion' });
  const png = readFileSync(file);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [...size, 3], file);
  assert.ok(
    data.some((v) => v < 200),
    `${file}: not blank`,
  );
  assert.equal(readPngText(png).Software, 'tdd-diffusion');
}

const tile = (r: number, g: number, b: number, width = 64): ImageLike => ({
  width,
  height: 64,
  rgb: new Uint8Array(width * 64 * 3).map((_, i) => [r, g, b][i % 3]),
});

describe('example PNGs', () => {
  it('writes a loss plot, a two-panel eval chart and a validation grid that decode at their sizes', async () => {
    const steps = Array.from({ length: 300 }, (_, i) => i * 10);
    const loss = renderLineChart({
      title: 'Distillation loss',
      xLabel: 'step',
      yLabel: 'loss',
      logY: true,
      smooth: 0.9,
      series: [
        { name: 'tdd', points: steps.map((s, i) => [s, 0.4 * Math.exp(-s / 900) + 0.02 + 0.01 * Math.sin(i * 1.7)]) },
        { name: 'lcm', points: steps.map((s, i) => [s, 0.3 * Math.exp(-s / 1500) + 0.03 + 0.01 * Math.cos(i * 2.3)]) },
      ],
    });
    const groups = ['teacher-ddim-25', 'tdd-2', 'tdd-4', 'lcm-4'];
    const fd = renderBarChart({
      title: 'FD-emoji per row (lower is better)',
      yLabel: 'Frechet distance',
      width: 800,
      height: 420,
      groups,
      series: [
        { name: 'FD-emoji (data)', values: [12.5, 20.1, 15.3, 18] },
        { name: 'FD to teacher', values: [null, 8.2, 5.1, 7] },
      ],
    });
    const alignment = renderBarChart({ groups, width: 800, height: 360, series: [{ name: 'alignment', values: [80, 62, 70, 66] }] });
    const grid = await composeGrid(
      [
        [tile(200, 40, 40), tile(40, 200, 40)],
        [tile(40, 40, 200), tile(90, 90, 90, 48)],
      ],
      {
        rowLabels: ['step 0', 'step 500'],
        colLabels: ['a red fox in the snow', 'a lighthouse'],
      },
    );
    await assertPng(loss, path.join(dir, 'loss.png'), [800, 480]);
    await assertPng(stackCharts([fd, alignment]), path.join(dir, 'eval.png'), [800, 780]);
    await assertPng(grid, path.join(dir, 'grid.png'), [grid.width, grid.height]);
    assert.deepEqual(readdirSync(dir).sort(), ['eval.png', 'grid.png', 'loss.png'], 'no temporary files left');
  });
});
