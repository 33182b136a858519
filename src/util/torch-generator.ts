/**
 * Bit-exact port of PyTorch 1.13's CPU random generator (`at::CPUGeneratorImpl`)
 * for `torch.randn`, `torch.rand` and `torch.randint` on float32 / int64 CPU tensors.
 *
 * Reproduces `g = torch.Generator('cpu').manual_seed(seed)` and equally the global
 * generator after `torch.manual_seed(seed)` (same engine). Code paths:
 * - engine: MT19937 seeded with the low 32 bits of the uint64 seed; `random64()`
 *   is `(first << 32) | second` of two 32-bit draws.
 * - `rand` (float32): `(random() & (2^24 - 1)) * 2^-24` per element.
 * - `randn` with numel >= 16: torch's `normal_fill_AVX2` (the kernel torch 1.13 runs on
 *   x86-64 CPUs with AVX2): fill every element with a float32 uniform, then Box–Muller
 *   on blocks of 16, pairing j with j+8 (cos half, sin half) using the float32 AVX
 *   approximations of log/sin/cos; a ragged tail redraws 16 uniforms for the last 16
 *   elements. The cached normal below is neither used nor changed.
 * - `randn` with numel < 16: scalar `normal_distribution<double>` per element: two
 *   53-bit uniforms, Box–Muller in float64, returning r·cos and caching r·sin for the
 *   next scalar-path element (the cache survives across calls until reseeded).
 * - `randint` (int64): `low + random() % range` for range < 2^32, else `random64() % range`.
 *
 * Not reproduced: torch's portable `normal_fill` (kernels built without AVX2, e.g.
 * `ATEN_CPU_CAPABILITY=default`), which uses libm `logf`/`cosf`/`sinf`; its output
 * differs from this one by a few ulps in about a third of the elements.
 */
import { UserError } from './user-error.js';
import { logAvx, sincosAvx, type SinCos } from './avx-mathfun.js';
import { MT19937 } from './mt19937.js';

/** Tensor shape (list of non-negative integer dimensions). */
export type Shape = readonly number[];

/** JSON-serialisable snapshot of a {@link TorchGenerator}, for resumable checkpoints. */
export interface TorchGeneratorState {
  /** Format tag. */
  kind: 'torch-cpu-mt19937';
  /** The uint64 seed last passed to manualSeed, as a decimal string. */
  seed: string;
  /** MT19937 draws left before the next twist (1..624). */
  left: number;
  /** MT19937 index of the next state word (0..624). */
  next: number;
  /** MT19937 state: 624 unsigned 32-bit words. */
  state: number[];
  /** Cached second Box–Muller sample of the scalar randn path, or null. */
  nextDoubleNormal: number | null;
}

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;
const TWO_POW_64 = 1n << 64n;
const TWO_PI_F32 = Math.fround(2 * Math.PI);

/** Number of elements of `shape`, validating every dimension. */
function numelOf(shape: Shape, argName = 'shape'): number {
  if (!Array.isArray(shape)) throw new TypeError(`${argName} must be an array of dimensions`);
  let n = 1;
  shape.forEach((d, i) => {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(`${argName}[${i}] must be a non-negative integer, got ${String(d)}`);
    }
    n *= d;
  });
  if (!Number.isSafeInteger(n)) throw new RangeError(`${argName} has too many elements`);
  return n;
}

/** Reduces a seed to torch's uint64 (negative seeds wrap like torch's int64 fallback). */
function toUint64(seed: number | bigint): bigint {
  if (typeof seed === 'number' && !Number.isSafeInteger(seed)) {
    throw new UserError(`seed must be a safe integer (use a bigint beyond 2^53), got ${seed}`);
  }
  if (typeof seed !== 'number' && typeof seed !== 'bigint') {
    throw new UserError(`seed must be a number or bigint, got ${typeof seed}`);
  }
  const s = BigInt(seed);
  if (s < -(1n << 63n) || s >= TWO_POW_64) throw new UserError(`seed must be in [-2^63, 2^64), got ${s}`);
  return s < 0n ? s + TWO_POW_64 : s;
}

/** Bit-exact port of torch 1.13's CPU generator; see the module comment for the paths. */
export class TorchGenerator {
  private readonly engine = new MT19937();
  private seedValue = 0n;
  private nextDoubleNormal: number | null = null;
  private readonly sc: SinCos = { sin: 0, cos: 0 };

  /**
   * @param seed uint64 seed (negative values wrap modulo 2^64, as in torch).
   *   Defaults to 0 — torch's own default generator is seeded nondeterministically,
   *   so pass a seed explicitly when reproducing torch output.
   */
  constructor(seed: number | bigint = 0) {
    this.manualSeed(seed);
  }

  /** `manual_seed`: reseeds the engine and clears the cached normal sample. */
  manualSeed(seed: number | bigint): this {
    this.seedValue = toUint64(seed);
    // at::mt19937 keeps only the low 32 bits of its uint64 seed.
    this.engine.seed(Number(this.seedValue & 0xffffffffn));
    this.nextDoubleNormal = null;
    return this;
  }

  /** torch `random()`: one 32-bit draw. */
  private random(): number {
    return this.engine.nextUint32();
  }

  /** Uniform float32 in [0, 1): `uniform_real_distribution<float>`. */
  private uniformFloat(): number {
    return (this.random() & 0xffffff) / 16777216;
  }

  /** Uniform float64 in [0, 1) from the low 53 bits of `random64()`. */
  private uniformDouble(): number {
    const hi = this.random(); // random64() puts the first draw in the high word
    const lo = this.random();
    return ((hi & 0x1fffff) * TWO_POW_32 + lo) / TWO_POW_53;
  }

  /** `torch.randn(shape, generator=g)` as float32 (row-major). */
  randn(shape: Shape): Float32Array {
    const n = numelOf(shape);
    const out = new Float32Array(n);
    if (n >= 16) {
      for (let i = 0; i < n; i++) out[i] = this.uniformFloat();
      for (let i = 0; i + 16 <= n; i += 16) this.boxMuller16(out, i);
      if (n % 16 !== 0) {
        // torch redraws the last 16 (overlapping) elements and transforms them again.
        for (let i = n - 16; i < n; i++) out[i] = this.uniformFloat();
        this.boxMuller16(out, n - 16);
      }
    } else {
      for (let i = 0; i < n; i++) out[i] = this.normalDouble();
    }
    return out;
  }

  /** `normal_fill_16_AVX2`: Box–Muller on out[o..o+16) in float32 AVX arithmetic. */
  private boxMuller16(out: Float32Array, o: number): void {
    const f = Math.fround;
    const sc = this.sc;
    for (let j = 0; j < 8; j++) {
      const u1 = f(1 - out[o + j]); // (0, 1] so the log is finite
      const radius = f(Math.sqrt(f(-2 * logAvx(u1))));
      sincosAvx(f(TWO_PI_F32 * out[o + j + 8]), sc);
      // fmadd(n, std=1, mean=+0) only rounds the product, but turns -0 into +0 (u1 = 1).
      out[o + j] = f(radius * sc.cos) + 0;
      out[o + j + 8] = f(radius * sc.sin) + 0;
    }
  }

  /** `normal_distribution<double>(0, 1)` with torch's one-sample cache. */
  private normalDouble(): number {
    // Both results go through `x * std + mean` (std 1, mean +0): exact except -0 -> +0.
    if (this.nextDoubleNormal !== null) {
      const cached = this.nextDoubleNormal;
      this.nextDoubleNormal = null;
      return cached + 0;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = 2 * Math.PI * u1;
    this.nextDoubleNormal = r * Math.sin(theta);
    return r * Math.cos(theta) + 0;
  }

  /** `torch.rand(shape, generator=g)` as float32, values in [0, 1). */
  rand(shape: Shape): Float32Array {
    const n = numelOf(shape);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uniformFloat();
    return out;
  }

  /**
   * `torch.randint(low, high, shape, generator=g)` (int64), values in [low, high).
   * Results are JS numbers, so `low` and `high` must be safe integers and
   * `high - low` at most 2^53 - 1; wider ranges are rejected (torch allows up to 2^64).
   */
  randint(low: number, high: number, shape: Shape): number[] {
    if (!Number.isSafeInteger(low)) throw new RangeError(`low must be a safe integer, got ${low}`);
    if (!Number.isSafeInteger(high)) throw new RangeError(`high must be a safe integer, got ${high}`);
    if (!(low < high)) throw new RangeError(`randint: low (${low}) must be less than high (${high})`);
    const range = high - low;
    if (!Number.isSafeInteger(range)) {
      throw new RangeError(`randint: high - low must be at most 2^53 - 1 (JS number precision), got ${high} - ${low}`);
    }
    const n = numelOf(shape);
    const out = new Array<number>(n);
    if (range < TWO_POW_32) {
      for (let i = 0; i < n; i++) out[i] = low + (this.random() % range);
    } else {
      const r = BigInt(range);
      for (let i = 0; i < n; i++) {
        const hi = BigInt(this.random());
        const v = ((hi << 32n) | BigInt(this.random())) % r;
        out[i] = low + Number(v);
      }
    }
    return out;
  }

  /** Snapshot of the full generator state (plain JSON-serialisable object). */
  getState(): TorchGeneratorState {
    const { left, next, state } = this.engine.getState();
    return {
      kind: 'torch-cpu-mt19937',
      seed: this.seedValue.toString(),
      left,
      next,
      state,
      nextDoubleNormal: this.nextDoubleNormal,
    };
  }

  /** Restores a snapshot from {@link getState} (validated; throws on a malformed state). */
  setState(s: TorchGeneratorState): void {
    if (s === null || typeof s !== 'object' || s.kind !== 'torch-cpu-mt19937') {
      throw new TypeError(`state must be a TorchGeneratorState (kind 'torch-cpu-mt19937')`);
    }
    if (typeof s.seed !== 'string' || !/^\d+$/.test(s.seed) || BigInt(s.seed) >= TWO_POW_64) {
      throw new RangeError(`state.seed must be a decimal uint64 string, got ${String(s.seed)}`);
    }
    const cached = s.nextDoubleNormal;
    if (cached !== null && !(typeof cached === 'number' && Number.isFinite(cached))) {
      throw new RangeError(`state.nextDoubleNormal must be a finite number or null, got ${String(cached)}`);
    }
    this.engine.setState(s); // validates left / next / state
    this.seedValue = BigInt(s.seed);
    this.nextDoubleNormal = cached;
  }
}
