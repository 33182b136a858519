/** Text in the charts as SVG: blocks of lines at a position, horizontal or turned, in the charts' font. */
import type { Rgb } from './color.js';
import { cssColor, num, textElement } from './svg.js';
import { BASELINE, FONT_FAMILY, LINE_HEIGHT } from './text-metrics.js';

export interface TextBlockStyle {
  fontSize: number;
  color: Rgb;
  /** Where x is along each line: its start (default), middle or end. */
  anchor?: 'start' | 'middle' | 'end';
  /** Degrees clockwise about (x, top); −90 reads bottom to top. */
  rotate?: number;
}

/** Lines of text whose first line box starts at `top` (the box, not the baseline), LINE_HEIGHT apart. */
export function textBlock(lines: readonly string[], x: number, top: number, style: TextBlockStyle): string {
  const { fontSize, anchor = 'start', rotate } = style;
  return lines
    .map((line, i) =>
      textElement(line, {
        x,
        y: top + (BASELINE + i * LINE_HEIGHT) * fontSize,
        'font-family': FONT_FAMILY,
        'font-size': fontSize,
        fill: cssColor(style.color),
        'text-anchor': anchor === 'start' ? undefined : anchor,
        transform: rotate ? `rotate(${num(rotate)} ${num(x)} ${num(top)})` : undefined,
      }),
    )
    .join('');
}

/** The height of `count` lines. */
export const blockHeight = (count: number, fontSize: number): number => count * LINE_HEIGHT * fontSize;
