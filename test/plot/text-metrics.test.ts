import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FONT_FAMILY, PlotError, escapeXml, rasterize, svgDocument, textWidth, wrapText } from '../../src/plot/index.js';
import { pixelsWhere } from './helpers.js';

/** The ink extent of one line of text as sharp renders it, in px (0 when no font renders it). */
async function renderedWidth(text: string, fontSize: number): Promise<number> {
  const width = Math.ceil(textWidth(text, fontSize)) + 100;
  const body = `<text x="20" y="${fontSize * 1.5}" font-family="${escapeXml(FONT_FAMILY)}" font-size="${fontSize}" fill="#000000">${escapeXml(text)}</text>`;
  const ink = pixelsWhere(await rasterize(svgDocument(width, fontSize * 2, [255, 255, 255], [body])), (r) => r < 200).map(([x]) => x);
  return ink.length ? Math.max(...ink) - Math.min(...ink) + 1 : 0;
}

describe('text metrics', () => {
  it('estimates widths at least as wide as the rendered text', async () => {
    for (const text of ['teacher-ddim-25', 'FD-emoji per row (lower is better)', 'WWWWMMMM mmmm', '0.0123456789', 'Fréchet, η = 0.2 ≤ 1']) {
      for (const size of [10, 12, 16]) {
        const rendered = await renderedWidth(text, size);
        assert.ok(
          rendered <= textWidth(text, size),
          `${JSON.stringify(text)} at ${size}px: rendered ${rendered} > estimated ${textWidth(text, size)}`,
        );
        assert.ok(rendered === 0 || rendered > 0.6 * textWidth(text, size), `${JSON.stringify(text)}: estimate is not far too wide`);
      }
    }
  });

  it('measures width from per-character advances', () => {
    assert.equal(textWidth('', 12), 0);
    assert.ok(textWidth('iiii', 12) < textWidth('MMMM', 12));
    assert.ok(Math.abs(textWidth('ab', 20) - 2 * textWidth('ab', 10)) < 1e-9);
    assert.equal(textWidth('é', 12), textWidth('e', 12), 'accented letters measure as their base letter');
    assert.ok(textWidth('漢字', 12) >= 24, 'wide scripts get at least an em');
  });

  it('wraps at spaces, then after hyphens, then inside over-long words, keeping every character', () => {
    const text = 'grinning face, smileys and emotion, face smiling, twemoji style';
    const lines = wrapText(text, 120, 12);
    assert.ok(lines.length > 1);
    assert.ok(
      lines.every((l) => textWidth(l, 12) <= 120),
      JSON.stringify(lines),
    );
    assert.equal(lines.join(' '), text);
    assert.deepEqual(wrapText('teacher-ddim-25', textWidth('teacher-ddim-', 12), 12), ['teacher-ddim-', '25']);
    const word = 'x'.repeat(40);
    const broken = wrapText(word, 50, 12);
    assert.ok(broken.length > 1 && broken.every((l) => textWidth(l, 12) <= 50));
    assert.equal(broken.join(''), word);
    assert.deepEqual(wrapText('short', 500, 12), ['short']);
    assert.deepEqual(wrapText('a\nb', 500, 12), ['a', 'b']);
    assert.deepEqual(wrapText('', 500, 12), ['']);
    assert.throws(() => wrapText('a', 0, 12), PlotError);
  });
});
