// Timestep placement, written to match numpy bit-for-bit (linspace, interp, round-half-even),
// because diffusers builds every schedule with numpy.

/** numpy.round: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** numpy.linspace in float64: i*step + start, with the end point pinned when included. */
export function linspace(start: number, stop: number, num: number, endpoint = true): number[] {
  const div = endpoint ? num - 1 : num;
  // numpy multiplies by the full span when there is nothing to divide (num = 1 with the end point).
  const step = div > 0 ? (stop - start) / div : stop - start;
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  if (endpoint && num > 1) out[num - 1] = stop;
  return out;
}

/** numpy.arange(start, stop, step) for a float step. */
export function arange(start: number, stop: number, step: number): number[] {
  const n = Math.max(0, Math.ceil((stop - start) / step));
  return Array.from({ length: n }, (_, i) => start + i * step);
}

/** numpy.interp(x, [0..table.length-1], table) in float64. */
export function interpTable(x: number, table: ArrayLike<number>): number {
  const last = table.length - 1;
  if (x <= 0) return table[0];
  if (x >= last) return table[last];
  const j = Math.floor(x);
  if (j === x) return table[j];
  // The grid spacing is 1, so the slope is the difference of neighbours (as numpy computes it).
  return (table[j + 1] - table[j]) * (x - j) + table[j];
}

export type Spacing = 'leading' | 'trailing' | 'linspace';

/**
 * The DDIM/Euler placement of `n` steps over `numTrain` training steps, largest first, before any
 * integer cast (Euler keeps float32 values for "linspace"; DDIM rounds).
 */
export function spacedTimesteps(spacing: Spacing, n: number, numTrain: number, stepsOffset: number): number[] {
  switch (spacing) {
    case 'linspace':
      return linspace(0, numTrain - 1, n).reverse();
    case 'leading': {
      const ratio = Math.floor(numTrain / n);
      return Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + stepsOffset);
    }
    case 'trailing':
      return arange(numTrain, 0, -(numTrain / n)).map((t) => roundHalfEven(t) - 1);
  }
}

/**
 * LCM/TCD/TDD placement: a coarse grid of `originalSteps` points (k·i − 1, i = 1..originalSteps),
 * reversed, sampled at floor(linspace(0, len, n, endpoint=false)).
 */
export function skippingGrid(originalSteps: number, k: number, n: number): number[] {
  const grid = Array.from({ length: originalSteps }, (_, i) => (originalSteps - i) * k - 1);
  return linspace(0, grid.length, n, false).map((p) => grid[Math.floor(p)]);
}
