/** Dependency-free chart and image-grid rasters (loss plots, validation grids, eval charts) and their PNGs. */
export { PlotError, PALETTE, WHITE, BLACK, paletteColor, parseColor, mixColors, type Color, type Rgb } from './color.js';
export {
  createRaster,
  fillRaster,
  getPixel,
  setPixel,
  fillRect,
  strokeRect,
  drawLine,
  drawPolyline,
  blit,
  toPng,
  savePng,
  type Raster,
  type Rect,
  type LineStyle,
  type ImageLike,
} from './raster.js';
export {
  drawText,
  drawTextVertical,
  measureText,
  fitText,
  wrapText,
  hasGlyph,
  GLYPH_ADVANCE,
  GLYPH_HEIGHT,
  LINE_ADVANCE,
  type TextStyle,
} from './bitmap-font.js';
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
