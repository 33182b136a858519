import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlotError, formatCompact, formatTick, logTicks, niceStep, niceTicks, tickLabels } from '../../src/plot/index.js';

/** Parses a compact label back (1.5k, 2.5e-3, -0.4) so tests can check labels against tick values. */
function parseLabel(label: string): number {
  const match = /^(-?[\d.]+(?:e-?\d+)?)([kMGT]?)$/.exec(label);
  assert.ok(match, `label ${JSON.stringify(label)} is a compact number`);
  return Number(match[1]) * { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[match[2] as '' | 'k' | 'M' | 'G' | 'T'];
}

function mantissa(step: number): number {
  return Number((step / 10 ** Math.floor(Math.log10(step) + 1e-9)).toPrecision(6));
}

describe('niceTicks', () => {
  it('[0, 0.93] gives 0, 0.2, …, 1.0', () => {
    const ticks = niceTicks(0, 0.93);
    assert.deepEqual(ticks.values, [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.equal(ticks.step, 0.2);
    assert.deepEqual([ticks.min, ticks.max], [0, 1]);
  });

  it('handles negative, large and tiny ranges', () => {
    assert.deepEqual(niceTicks(-3, 7).values, [-4, -2, 0, 2, 4, 6, 8]);
    assert.deepEqual(niceTicks(0, 100).values, [0, 20, 40, 60, 80, 100]);
    assert.deepEqual(niceTicks(0.001, 0.0042).values, [0.001, 0.002, 0.003, 0.004, 0.005]);
    assert.deepEqual(niceTicks(0, 10, 2).values, [0, 5, 10]);
  });

  it('always covers the data on an evenly spaced 1-2-5 step (random ranges)', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 500; i++) {
      const scale = 10 ** Math.floor(rand() * 16 - 8);
      const a = (rand() - 0.5) * scale,
        b = a + rand() * scale;
      const target = 2 + Math.floor(rand() * 8);
      const t = niceTicks(a, b, target);
      assert.ok(t.min <= a && t.max >= b, `[${a}, ${b}] inside [${t.min}, ${t.max}]`);
      assert.ok([1, 2, 5].includes(mantissa(t.step)), `step ${t.step}`);
      assert.ok(t.values.length <= target + 2, `${t.values.length} ticks for target ${target}`);
      for (let k = 1; k < t.values.length; k++) assert.ok(Math.abs(t.values[k] - t.values[k - 1] - t.step) < t.step * 1e-6);
      assert.ok(
        t.values.every((v) => Math.abs(v / t.step - Math.round(v / t.step)) < 1e-6),
        'multiples of the step',
      );
    }
  });

  it('widens a flat range around the value', () => {
    const five = niceTicks(5, 5);
    assert.ok(five.min < 5 && five.max > 5 && five.values.includes(5));
    const zero = niceTicks(0, 0);
    assert.ok(zero.min < 0 && zero.max > 0 && zero.values.includes(0));
  });

  it('rejects non-finite or reversed ranges', () => {
    assert.throws(() => niceTicks(NaN, 1), PlotError);
    assert.throws(() => niceTicks(0, Infinity), PlotError);
    assert.throws(() => niceTicks(2, 1), PlotError);
    assert.throws(() => niceStep(0, 5), PlotError);
  });
});

describe('logTicks', () => {
  it('are powers of ten spanning the data', () => {
    const t = logTicks(0.003, 20);
    assert.deepEqual(t.values, [1e-3, 1e-2, 1e-1, 1, 10, 100]);
    assert.deepEqual(tickLabels(t), ['1e-3', '0.01', '0.1', '1', '10', '100']);
    assert.deepEqual(logTicks(2, 3).values, [1, 10]);
    assert.deepEqual(logTicks(10, 10).values, [10, 100]);
  });

  it('stay powers of ten, thinned, over many decades', () => {
    for (const [lo, hi] of [
      [1e-30, 1e30],
      [3e-7, 0.5],
      [1, 1e100],
      [0.07, 0.09],
    ]) {
      const t = logTicks(lo, hi, 8);
      assert.ok(
        t.values.every((v) => Number.isInteger(Math.log10(v)) && Number(`1e${Math.log10(v)}`) === v),
        t.values.join(),
      );
      assert.ok(t.min <= lo && t.max >= hi && t.values.length <= 9, `[${lo}, ${hi}] → ${t.values.join()}`);
    }
  });

  it('rejects ranges that reach zero or below', () => {
    assert.throws(() => logTicks(0, 1), PlotError);
    assert.throws(() => logTicks(-1, 1), PlotError);
  });
});

describe('number formatting', () => {
  it('formatCompact is short', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [1000, '1k'],
      [2500, '2.5k'],
      [1234567, '1.23M'],
      [0.0025, '2.5e-3'],
      [0.5, '0.5'],
      [-0.123456, '-0.123'],
      [12.345, '12.3'],
      [1e20, '1e20'],
      [3e9, '3G'],
      [0.01, '0.01'],
      [NaN, 'NaN'],
    ];
    for (const [value, text] of cases) assert.equal(formatCompact(value), text, String(value));
  });

  it('formatTick labels tell neighbouring ticks apart and read back as their values', () => {
    const ranges: [number, number][] = [
      [0, 5000],
      [1000, 1001],
      [0.001, 0.0042],
      [-2e6, 3e6],
      [0, 0.93],
      [99990, 100020],
      [-1e-9, 1e-9],
      [0, 2e16],
    ];
    for (const [a, b] of ranges) {
      const t = niceTicks(a, b);
      const labels = tickLabels(t);
      assert.equal(new Set(labels).size, labels.length, `unique: ${labels.join(' ')}`);
      labels.forEach((label, i) => assert.ok(Math.abs(parseLabel(label) - t.values[i]) <= t.step * 1e-6, `${label} vs ${t.values[i]}`));
    }
    assert.deepEqual(tickLabels(niceTicks(0, 5000)), ['0', '1k', '2k', '3k', '4k', '5k']);
    assert.equal(formatTick(0.0025, 0.0005), '2.5e-3');
    assert.equal(formatTick(1500, 500), '1.5k');
  });
});
