/**
 * Axis ticks and their labels: 'nice' linear ticks on 1-2-5 steps, decade ticks for log axes, and compact
 * number formatting (1k, 2.5e-3) that keeps tick labels short.
 */
import { PlotError } from './color.js';

export interface Ticks {
  /** The axis range, widened to whole steps (or whole decades for log axes). */
  readonly min: number;
  readonly max: number;
  /** Tick values from min to max inclusive. */
  readonly values: readonly number[];
  /** The linear step; for log axes, the exponent step between ticks (usually 1 decade). */
  readonly step: number;
  readonly log: boolean;
}

/** Spreads a zero-width range so that a single value or a flat series still gets an axis around it. */
function widenFlat(min: number, max: number): [number, number] {
  if (max > min) return [min, max];
  const half = min === 0 ? 1 : Math.abs(min) * 0.1;
  return [min - half, max + half];
}

/** The smallest step of the form {1, 2, 5}·10^k that covers `span` in at most `maxSteps` steps. */
export function niceStep(span: number, maxSteps: number): number {
  if (!(span > 0) || !Number.isFinite(span)) throw new PlotError(`tick span must be positive and finite, got ${span}`);
  const raw = span / Math.max(1, maxSteps);
  const exponent = Math.floor(Math.log10(raw));
  for (const e of [exponent - 1, exponent, exponent + 1]) {
    for (const m of [1, 2, 5]) {
      const step = Number(`${m}e${e}`); // exact decimal, unlike m * 10 ** e
      if (span / step <= maxSteps * (1 + 1e-9)) return step;
    }
  }
  return Number(`1e${exponent + 2}`);
}

/** Decimal places that print every multiple of a 1-2-5 `step` exactly. */
function stepDecimals(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/**
 * Linear ticks for data in [min, max]: at most ~targetCount + 1 ticks on a 1-2-5 step, the range widened
 * outwards to whole steps. E.g. [0, 0.93] → 0, 0.2, …, 1.
 */
export function niceTicks(min: number, max: number, targetCount = 5): Ticks {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max)
    throw new PlotError(`niceTicks needs finite min ≤ max, got [${min}, ${max}]`);
  [min, max] = widenFlat(min, max);
  const step = niceStep(max - min, targetCount);
  const first = Math.floor(min / step + 1e-9),
    last = Math.ceil(max / step - 1e-9);
  const values: number[] = [];
  // 12 significant digits drop the float noise of k·step (0.6000000000000001) at any magnitude; + 0 turns -0 into 0
  for (let k = first; k <= last; k++) values.push(Number((k * step).toPrecision(12)) + 0);
  return { min: values[0], max: values[values.length - 1], values, step, log: false };
}

/**
 * Log-axis ticks: powers of ten from the decade at or below min to the decade at or above max (at least one
 * decade apart), thinned to about maxTicks when the data spans many decades.
 */
export function logTicks(min: number, max: number, maxTicks = 8): Ticks {
  if (!(min > 0) || !Number.isFinite(max) || min > max) throw new PlotError(`logTicks needs 0 < min ≤ max (finite), got [${min}, ${max}]`);
  let lo = Math.floor(Math.log10(min) + 1e-12),
    hi = Math.ceil(Math.log10(max) - 1e-12);
  if (hi === lo) hi = lo + 1;
  const stride = Math.max(1, Math.ceil((hi - lo) / Math.max(1, maxTicks - 1)));
  lo = Math.floor(lo / stride) * stride;
  hi = Math.ceil(hi / stride) * stride;
  const values: number[] = [];
  for (let e = lo; e <= hi; e += stride) values.push(Number(`1e${e}`));
  return { min: values[0], max: values[values.length - 1], values, step: stride, log: true };
}

const SUFFIXES: readonly [number, string][] = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

const trimZeros = (s: string): string => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);

/** Exponent notation without '+' and without trailing mantissa zeros: 2.5e-3, 1e12. */
function exponential(value: number, digits: number): string {
  const [mantissa, exponent] = value.toExponential(Math.min(20, Math.max(0, digits))).split('e');
  return `${trimZeros(mantissa)}e${exponent.replace('+', '')}`;
}

/** A short label for any number: 3 significant digits, k/M/G/T suffixes, exponents below 0.01 or from 1e15. */
export function formatCompact(value: number, significant = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs < 1e-2 || abs >= 1e15) return exponential(value, significant - 1);
  const rounded = Number(value.toPrecision(significant));
  const suffix = SUFFIXES.find(([unit]) => Math.abs(rounded) >= unit);
  if (suffix) return trimZeros((rounded / suffix[0]).toPrecision(significant)) + suffix[1];
  return trimZeros(rounded.toPrecision(significant));
}

/** A tick label precise enough to tell neighbouring ticks `step` apart, yet compact (1.5k, 2.5e-3). */
export function formatTick(value: number, step: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs < 1e-2 || abs >= 1e15) return exponential(value, Math.floor(Math.log10(abs)) - Math.floor(Math.log10(step) + 1e-9));
  const suffix = SUFFIXES.find(([unit]) => abs >= unit && step >= unit / 100);
  if (suffix) return trimZeros((value / suffix[0]).toFixed(stepDecimals(step / suffix[0])).toString()) + suffix[1];
  return trimZeros(value.toFixed(Math.min(20, stepDecimals(step))));
}

/** Labels for a Ticks object (decades print as 1e-3 … 1 … 1k). */
export function tickLabels(ticks: Ticks): string[] {
  return ticks.values.map((v) => (ticks.log ? formatCompact(v) : formatTick(v, ticks.step)));
}
