import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { escapeXml, rasterize, renderBarChart, renderLineChart, stackCharts, svgDocument } from '../../src/plot/index.js';
import { pixelAt } from './helpers.js';

describe('svg', () => {
  it('escapes markup characters and drops characters XML cannot carry', () => {
    assert.equal(escapeXml(`a<b>&"c"'d'`), 'a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;');
    assert.equal(escapeXml('bell\u0007 tab\t'), 'bell\ufffd tab\t');
    assert.equal(escapeXml('lone \ud800 surrogate, pair 😀'), 'lone \ufffd surrogate, pair 😀');
  });

  it('renders a document at its size, with its background', async () => {
    const raster = await rasterize(svgDocument(30, 20, [10, 20, 30], []));
    assert.deepEqual([raster.width, raster.height], [30, 20]);
    assert.deepEqual(pixelAt(raster, 29, 19), [10, 20, 30]);
  });

  it('labels with markup in them still make a valid document', async () => {
    const chart = renderLineChart({ series: [{ name: '</text><script>', points: [[0, 1]] }], title: '&amp; <b>bold?</b>' });
    assert.ok(!chart.svg.includes('<script>') && !chart.svg.includes('<b>'));
    await rasterize(chart); // librsvg would reject malformed XML
  });

  it('stacks charts one under the other', async () => {
    const top = renderBarChart({ groups: ['a'], series: [{ name: 's', values: [1], color: [255, 0, 0] }], width: 300, height: 200 });
    const bottom = renderBarChart({ groups: ['b'], series: [{ name: 't', values: [1], color: [0, 0, 255] }], width: 240, height: 150 });
    const both = stackCharts([top, bottom]);
    assert.deepEqual([both.width, both.height], [300, 350]);
    const raster = await rasterize(both);
    const reds = [],
      blues = [];
    for (let y = 0; y < raster.height; y++) {
      for (let x = 0; x < raster.width; x++) {
        const [r, g, b] = pixelAt(raster, x, y);
        if (r === 255 && g === 0 && b === 0) reds.push(y);
        if (r === 0 && g === 0 && b === 255) blues.push(y);
      }
    }
    assert.ok(reds.length > 100 && Math.max(...reds) < 200, 'the first chart on top');
    assert.ok(blues.length > 100 && Math.min(...blues) >= 200, 'the second under it');
  });
});
