/** Charts and image grids as SVG (loss plots, eval charts, validation grids), rendered to PNG by sharp. */
export { PlotError, PALETTE, WHITE, BLACK, paletteColor, parseColor, mixColors, type Color, type Rgb } from './color.js';
export { escapeXml, stackCharts, svgDocument, type Chart } from './svg.js';
export { FONT_FAMILY, textWidth, wrapText } from './text-metrics.js';
export { type Raster, type ImageLike, type Rect } from './image.js';
export { rasterize, toPng, savePng } from './render.js';
export { niceTicks, niceStep, logTicks, formatCompact, formatTick, tickLabels, type Ticks } from './ticks.js';
export {
  renderLineChart,
  renderLineChartDetailed,
  emaSmooth,
  type LineChartOptions,
  type LineSeries,
  type LineChartRender,
} from './line-chart.js';
export { renderBarChart, renderBarChartDetailed, type BarChartOptions, type BarSeries, type BarChartRender } from './bar-chart.js';
export { composeGrid, composeGridDetailed, type GridOptions, type GridRender } from './image-grid.js';
