/**
 * The chart legend: colour swatches with series names, packed into centred rows under the title so it never hides
 * data. Names wider than the chart wrap onto more lines instead of being cut.
 */
import type { Rgb } from './color.js';
import { cssColor, element } from './svg.js';
import { linesWidth, textWidth, wrapText } from './text-metrics.js';
import { blockHeight, textBlock } from './labels.js';

export interface LegendItem {
  readonly name: string;
  readonly color: Rgb;
}

export const LEGEND_FONT = 12;
const SWATCH = 10;
const SWATCH_GAP = 5;
const ITEM_GAP = 18;
const ROW_GAP = 4;

interface PlacedItem {
  readonly item: LegendItem;
  readonly lines: readonly string[];
  /** Relative to the legend's top-left corner. */
  readonly x: number;
  readonly y: number;
}

export interface LegendLayout {
  readonly items: readonly PlacedItem[];
  readonly height: number;
}

/** Rows of items no wider than maxWidth, each row centred in it. */
export function layoutLegend(items: readonly LegendItem[], maxWidth: number): LegendLayout {
  const sized = items.map((item) => {
    const lines =
      textWidth(item.name, LEGEND_FONT) <= maxWidth - SWATCH - SWATCH_GAP
        ? [item.name]
        : wrapText(item.name, Math.max(1, maxWidth - SWATCH - SWATCH_GAP), LEGEND_FONT);
    return { item, lines, width: SWATCH + SWATCH_GAP + linesWidth(lines, LEGEND_FONT), height: blockHeight(lines.length, LEGEND_FONT) };
  });
  const rows: (typeof sized)[] = [];
  let rowWidth = 0;
  for (const s of sized) {
    const row = rows[rows.length - 1];
    if (row && rowWidth + ITEM_GAP + s.width <= maxWidth) {
      row.push(s);
      rowWidth += ITEM_GAP + s.width;
    } else {
      rows.push([s]);
      rowWidth = s.width;
    }
  }
  const placed: PlacedItem[] = [];
  let y = 0;
  for (const row of rows) {
    const width = row.reduce((w, s) => w + s.width, 0) + ITEM_GAP * (row.length - 1);
    let x = (maxWidth - width) / 2;
    for (const s of row) {
      placed.push({ item: s.item, lines: s.lines, x, y });
      x += s.width + ITEM_GAP;
    }
    y += Math.max(...row.map((s) => s.height)) + ROW_GAP;
  }
  return { items: placed, height: rows.length ? y - ROW_GAP : 0 };
}

/** The legend's SVG with its top-left corner at (left, top). */
export function legendSvg(layout: LegendLayout, left: number, top: number, ink: Rgb): string {
  return layout.items
    .map(({ item, lines, x, y }) => {
      const swatchTop = Math.round(top + y + (blockHeight(1, LEGEND_FONT) - SWATCH) / 2);
      return (
        element('rect', {
          x: Math.round(left + x),
          y: swatchTop,
          width: SWATCH,
          height: SWATCH,
          fill: cssColor(item.color),
          'shape-rendering': 'crispEdges',
        }) + textBlock(lines, left + x + SWATCH + SWATCH_GAP, top + y, { fontSize: LEGEND_FONT, color: ink })
      );
    })
    .join('');
}
