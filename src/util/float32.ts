// Float32 arithmetic helpers for code that must reproduce float32 kernels bit-for-bit.

const f = Math.fround;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little-endian: u32[0] low word, u32[1] high word

/** Single-rounded float32 `a*b + c` (what `vfmadd` computes). */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b; // exact: a product of two float32 fits in 48 bits
  const s = p + c;
  // TwoSum: err is the exact rounding error of s.
  const bb = s - p;
  const err = p - (s - bb) + (c - bb);
  if (err !== 0 && Number.isFinite(s)) {
    // Round to odd in double so the final rounding to float32 is correct.
    f64[0] = s;
    if ((u32[0] & 1) === 0) {
      const awayFromZero = err > 0 === s > 0;
      if (awayFromZero) {
        if (++u32[0] === 0) u32[1]++;
      } else {
        if (u32[0]-- === 0) u32[1]--;
      }
      return f(f64[0]);
    }
  }
  return f(s);
}

/** The arrays one after another in a new Float32Array (torch.cat along the first axis). */
export function concatFloat32(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
