import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { readPngText } from '../../src/util/png.js';
import { composeGrid, createRaster, renderBarChart, renderLineChart, savePng, type Raster } from '../../src/plot/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tdd-plot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function assertRoundTrip(raster: Raster, file: string): Promise<void> {
  await savePng(raster, file, { Software: 'tdd-diffusion' });
  const png = readFileSync(file);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [raster.width, raster.height, 3], file);
  assert.ok(Buffer.from(raster.rgb).equals(data), `${file}: decoded pixels equal the raster`);
  assert.equal(readPngText(png).Software, 'tdd-diffusion');
}

describe('example PNGs', () => {
  it('writes a loss plot, an eval bar chart and a validation grid that decode back exactly', async () => {
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
    const evaluation = renderBarChart({
      title: 'CLIP score by steps',
      yLabel: 'CLIP score',
      width: 640,
      height: 400,
      groups: ['2 steps', '4 steps', '8 steps', 'teacher'],
      series: [
        { name: 'TDD', values: [0.29, 0.31, 0.32, null] },
        { name: 'LCM', values: [0.27, 0.3, 0.31, null] },
        { name: 'SD', values: [null, null, null, 0.33] },
      ],
    });
    const tile = (r: number, g: number, b: number) => createRaster(64, 64, [r, g, b]);
    const grid = composeGrid(
      [
        [tile(200, 40, 40), tile(40, 200, 40)],
        [tile(40, 40, 200), createRaster(48, 64, [90, 90, 90])],
      ],
      {
        rowLabels: ['step 0', 'step 500'],
        colLabels: ['a red fox in the snow', 'a lighthouse'],
      },
    );
    await assertRoundTrip(loss, path.join(dir, 'loss.png'));
    await assertRoundTrip(evaluation, path.join(dir, 'eval.png'));
    await assertRoundTrip(grid, path.join(dir, 'grid.png'));
    assert.deepEqual(readdirSync(dir).sort(), ['eval.png', 'grid.png', 'loss.png'], 'no temporary files left');
  });
});
