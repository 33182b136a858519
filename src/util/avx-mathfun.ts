/**
 * Bit-exact float32 emulation of the `log256_ps` / `sincos256_ps` routines of
 * PyTorch's aten/src/ATen/native/cpu/avx_mathfun.h (Cephes polynomials, after
 * Pommier's sse_mathfun), as compiled into torch 1.13's AVX2 kernels.
 *
 * Those kernels are built with `-mavx2 -mfma` and GCC's default
 * `-ffp-contract=fast`, so several multiply/add pairs became fused FMAs. Which
 * ones were fused was established against torch 1.13 output (see
 * test/util/torch-generator.test.ts); `fmaf` marks them. Every other operation
 * is one float32 op: `Math.fround` of the exact double result (double rounding
 * is harmless for single +, -, *, sqrt of float32 operands).
 */

const f = Math.fround;

import { fmaf } from './float32.js';

export { fmaf };

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

const SQRTHF = f(0.707106781186547524);
const LOG_P = [
  7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
  3.3333331174e-1,
].map(f);
const LOG_Q1 = f(-2.1219444e-4);
const LOG_Q2 = f(0.693359375);
const MIN_NORM_POS = 1.1754943508222875e-38; // 0x00800000

/** `log256_ps` on one lane: natural log of a float32 (NaN for x <= 0). */
export function logAvx(x: number): number {
  if (!(x > 0)) return NaN; // the kernel ORs an all-ones mask in: NaN
  x = Math.max(x, MIN_NORM_POS);
  f32[0] = x;
  const exponent = (i32[0] >>> 23) - 0x7f;
  // Keep the mantissa, force the exponent so that x lies in [0.5, 1).
  i32[0] = (i32[0] & ~0x7f800000) | 0x3f000000;
  x = f32[0];
  let e = f(exponent + 1);
  const below = x < SQRTHF;
  x = f(x - 1);
  if (below) {
    e = f(e - 1);
    x = f(x + f32[0]); // x + x - 1 as two ops, like the kernel
  }
  const z = f(x * x);
  let y = LOG_P[0];
  for (let k = 1; k < LOG_P.length; k++) y = fmaf(y, x, LOG_P[k]);
  y = f(y * x);
  // GCC fused (y*z) + (e*q1), not (e*q1) + y*z: verified against torch.
  y = fmaf(y, z, f(e * LOG_Q1));
  y = f(y - f(z * 0.5));
  x = f(x + y);
  return fmaf(e, LOG_Q2, x);
}

const FOPI = f(1.27323954473516); // 4/pi
const DP1 = f(-0.78515625);
const DP2 = f(-2.4187564849853515625e-4);
const DP3 = f(-3.77489497744594108e-8);
const SIN_P0 = f(-1.9515295891e-4);
const SIN_P1 = f(8.3321608736e-3);
const SIN_P2 = f(-1.6666654611e-1);
const COS_P0 = f(2.443315711809948e-5);
const COS_P1 = f(-1.388731625493765e-3);
const COS_P2 = f(4.166664568298827e-2);

/** Result holder for {@link sincosAvx} (reused to avoid allocation). */
export interface SinCos {
  sin: number;
  cos: number;
}

/** `sincos256_ps` on one lane; writes sin(x) and cos(x) of a float32 into `out`. */
export function sincosAvx(x: number, out: SinCos): SinCos {
  const negative = x < 0 || Object.is(x, -0);
  x = Math.abs(x);
  // Octant j, rounded up to even (cephes); the truncation is cvttps_epi32.
  let j = Math.trunc(f(x * FOPI));
  j = (j + 1) & ~1;
  const y = f(j);
  const flipSin = ((j & 4) !== 0) !== negative;
  const flipCos = (~(j - 2) & 4) !== 0;
  const sinPolyForSin = (j & 2) === 0;
  // Extended-precision range reduction x - y*pi/4 in three parts.
  x = fmaf(y, DP1, x);
  x = fmaf(y, DP2, x);
  x = fmaf(y, DP3, x);
  const z = f(x * x);
  let yc = fmaf(COS_P0, z, COS_P1);
  yc = fmaf(yc, z, COS_P2);
  yc = f(yc * z);
  yc = fmaf(yc, z, -f(z * 0.5)); // fused as (yc*z) - z/2
  yc = f(yc + 1);
  let ys = fmaf(SIN_P0, z, SIN_P1);
  ys = fmaf(ys, z, SIN_P2);
  ys = f(ys * z);
  ys = fmaf(ys, x, x);
  const s = sinPolyForSin ? ys : yc;
  const c = sinPolyForSin ? yc : ys;
  out.sin = flipSin ? -s : s;
  out.cos = flipCos ? -c : c;
  return out;
}
