/**
 * SVG as strings: XML escaping, elements with attributes, and the document a chart is (its size travels with it,
 * so it can be rasterised or stacked without parsing).
 */
import type { Rgb } from './color.js';

/** An SVG document of a known pixel size. */
export interface Chart {
  readonly svg: string;
  readonly width: number;
  readonly height: number;
}

/** Characters XML 1.0 does not allow anywhere (C0 controls but tab/newline/CR, lone surrogates, U+FFFE/U+FFFF). */
const INVALID_XML =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text safe inside an element or a double-quoted attribute; characters XML cannot carry become U+FFFD. */
export function escapeXml(text: string): string {
  return text
    .replace(INVALID_XML, '\ufffd')
    .replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);
}

/** A coordinate with at most two decimals (short, and stable against float noise). */
export function num(value: number): string {
  return String(Math.round(value * 100) / 100 + 0);
}

export function cssColor(color: Rgb): string {
  return '#' + color.map((c) => c.toString(16).padStart(2, '0')).join('');
}

export type Attributes = Readonly<Record<string, string | number | undefined>>;

function attributes(attrs: Attributes): string {
  return Object.entries(attrs)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${typeof value === 'number' ? num(value) : escapeXml(value)}"`)
    .join('');
}

/** `<tag attrs>children</tag>`; children are markup (already escaped), none makes a self-closing element. */
export function element(tag: string, attrs: Attributes, children?: string | readonly string[]): string {
  const inner = typeof children === 'string' ? children : children?.join('');
  return inner === undefined || inner === '' ? `<${tag}${attributes(attrs)}/>` : `<${tag}${attributes(attrs)}>${inner}</${tag}>`;
}

/** A `<text>` element whose content is escaped. */
export function textElement(text: string, attrs: Attributes): string {
  return `<text${attributes(attrs)}>${escapeXml(text)}</text>`;
}

/** A whole document: a background rectangle under `body`. */
export function svgDocument(width: number, height: number, background: Rgb, body: readonly string[]): Chart {
  const svg = element('svg', { xmlns: 'http://www.w3.org/2000/svg', width, height, viewBox: `0 0 ${width} ${height}` }, [
    element('rect', { width, height, fill: cssColor(background) }),
    ...body,
  ]);
  return { svg, width, height };
}

/** Charts one under the other, left-aligned, on white (e.g. the two panels of the eval chart). */
export function stackCharts(charts: readonly Chart[]): Chart {
  const width = Math.max(1, ...charts.map((c) => c.width));
  let y = 0;
  const nested = charts.map((chart) => {
    // a nested <svg> with a position is a viewport: the chart keeps its own coordinates
    const svg = chart.svg.replace(/^<svg /, `<svg x="0" y="${y}" `);
    y += chart.height;
    return svg;
  });
  return svgDocument(width, Math.max(1, y), [255, 255, 255], nested);
}
