/**
 * 32-bit Mersenne Twister (MT19937) laid out like PyTorch's `at::mt19937`
 * (aten/src/ATen/core/MT19937RNGEngine.h), so that the whole engine state
 * (`left`, `next`, the 624 words) can be saved and restored exactly.
 */

/** Number of 32-bit words in the MT19937 state. */
export const MT_STATE_N = 624;
const MT_M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** Plain snapshot of an {@link MT19937} (JSON-serialisable). */
export interface MT19937State {
  /** Draws left before the next twist, 1..624 (torch's `left_`). */
  left: number;
  /** Index of the next state word to temper, 0..624 (torch's `next_`). */
  next: number;
  /** The 624 state words as unsigned 32-bit integers. */
  state: number[];
}

/** MT19937 engine; `nextUint32()` equals torch's `CPUGeneratorImpl::random()`. */
export class MT19937 {
  private readonly mt = new Uint32Array(MT_STATE_N);
  private left = 1;
  private next = 0;

  /** @param seed32 seed, already reduced to an unsigned 32-bit integer. */
  constructor(seed32 = 5489) {
    this.seed(seed32);
  }

  /**
   * Knuth-style initialisation (`init_genrand`). torch passes its uint64 seed
   * and keeps only the low 32 bits, so callers reduce it first.
   */
  seed(seed32: number): void {
    const mt = this.mt;
    mt[0] = seed32 >>> 0;
    for (let j = 1; j < MT_STATE_N; j++) {
      const prev = mt[j - 1];
      mt[j] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + j) >>> 0;
    }
    // left = 1 makes the very first draw twist the freshly seeded state.
    this.left = 1;
    this.next = 0;
  }

  /** Next tempered 32-bit output as an unsigned integer in [0, 2^32). */
  nextUint32(): number {
    if (--this.left === 0) this.twist();
    let y = this.mt[this.next++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Regenerates all 624 words (torch's `next_state`). */
  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < MT_STATE_N; k++) {
      const k1 = k + 1 === MT_STATE_N ? 0 : k + 1;
      const km = k + MT_M < MT_STATE_N ? k + MT_M : k + MT_M - MT_STATE_N;
      const y = (mt[k] & UPPER_MASK) | (mt[k1] & LOWER_MASK);
      mt[k] = (mt[km] ^ (y >>> 1) ^ (mt[k1] & 1 ? MATRIX_A : 0)) >>> 0;
    }
    this.left = MT_STATE_N;
    this.next = 0;
  }

  /** Copy of the engine state. */
  getState(): MT19937State {
    return { left: this.left, next: this.next, state: Array.from(this.mt) };
  }

  /** Restores a state from {@link getState}; validated like torch's `is_valid()`. */
  setState(s: MT19937State): void {
    if (!Number.isInteger(s?.left) || s.left < 1 || s.left > MT_STATE_N) {
      throw new RangeError(`MT19937 state: left must be an integer in [1, ${MT_STATE_N}], got ${s?.left}`);
    }
    if (!Number.isInteger(s.next) || s.next < 0 || s.next > MT_STATE_N) {
      throw new RangeError(`MT19937 state: next must be an integer in [0, ${MT_STATE_N}], got ${s.next}`);
    }
    // The next draw reads word `next` unless it twists first (left === 1).
    if (s.left > 1 && s.next >= MT_STATE_N) {
      throw new RangeError(`MT19937 state: next ${s.next} is past the end while left is ${s.left}`);
    }
    if (!Array.isArray(s.state) || s.state.length !== MT_STATE_N) {
      throw new RangeError(`MT19937 state: state must be an array of ${MT_STATE_N} words`);
    }
    s.state.forEach((w, i) => {
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
        throw new RangeError(`MT19937 state: state[${i}] is not an unsigned 32-bit integer: ${w}`);
      }
    });
    this.mt.set(s.state);
    this.left = s.left;
    this.next = s.next;
  }
}
