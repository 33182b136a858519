import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TorchGenerator, type Shape, type TorchGeneratorState } from '../../src/util/torch-generator.js';
import { loadSharedJson, toFloat32Array } from '../helpers/shared.js';
import { assertAllClose } from '../helpers/assert-close.js';

type GoldenNum = number | string;
interface FloatRecord {
  shape: number[];
  dtype: string;
  first64: GoldenNum[];
  last16: GoldenNum[];
  sum: number;
  sum_sq: number;
  values?: GoldenNum[];
}
interface TorchRngGolden {
  randn: (FloatRecord & { seed: number })[];
  randn_consecutive: { seed: number; calls: FloatRecord[] }[];
  rand: (FloatRecord & { seed: number })[];
  randint: { seed: number; low: number; high: number; shape: number[]; values: number[] }[];
}

const golden = loadSharedJson<TorchRngGolden>('golden', 'torch_rng.json');

/** Bit-exact float32 comparison (Object.is, so -0 and +0 differ); reports the first mismatches. */
function assertExactF32(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      count++;
      if (bad.length < 5) bad.push(`[${i}] ${actual[i]} != ${expected[i]}`);
    }
  }
  assert.equal(count, 0, `${label}: ${count}/${expected.length} differ: ${bad.join(', ')}`);
}

/** Checks one golden float record (first64, last16, sum, sum_sq, values) against `actual`. */
function checkFloatRecord(actual: Float32Array, rec: FloatRecord, label: string): void {
  assert.equal(rec.dtype, 'float32');
  assert.equal(
    actual.length,
    rec.shape.reduce((a, b) => a * b, 1),
    `${label}: numel`,
  );
  const first = toFloat32Array(rec.first64);
  const last = toFloat32Array(rec.last16);
  assertExactF32(actual.subarray(0, first.length), first, `${label} first64`);
  assertExactF32(actual.subarray(actual.length - last.length), last, `${label} last16`);
  let sum = 0;
  let sumSq = 0;
  for (const v of actual) {
    sum += v;
    sumSq += v * v;
  }
  assertAllClose([sum, sumSq], [rec.sum, rec.sum_sq], { rtol: 1e-9 }, `${label} sum/sum_sq`);
  if (rec.values) assertExactF32(actual, toFloat32Array(rec.values), `${label} values`);
}

describe('TorchGenerator vs torch_rng.json (torch 1.13, x86-64 CPU)', () => {
  for (const rec of golden.randn) {
    it(`randn seed ${rec.seed} shape [${rec.shape}]`, () => {
      checkFloatRecord(new TorchGenerator(rec.seed).randn(rec.shape), rec, `randn ${rec.seed} [${rec.shape}]`);
    });
  }

  for (const rec of golden.randn_consecutive) {
    it(`consecutive randn seed ${rec.seed}: ${rec.calls.map((c) => `[${c.shape}]`).join(' then ')}`, () => {
      const g = new TorchGenerator(rec.seed);
      rec.calls.forEach((call, k) => checkFloatRecord(g.randn(call.shape), call, `call ${k} [${call.shape}]`));
    });
  }

  for (const rec of golden.rand) {
    it(`rand seed ${rec.seed} shape [${rec.shape}]`, () => {
      checkFloatRecord(new TorchGenerator(rec.seed).rand(rec.shape), rec, `rand ${rec.seed} [${rec.shape}]`);
    });
  }

  for (const rec of golden.randint) {
    it(`randint seed ${rec.seed} [${rec.low}, ${rec.high}) shape [${rec.shape}]`, () => {
      assert.deepEqual(new TorchGenerator(rec.seed).randint(rec.low, rec.high, rec.shape), rec.values);
    });
  }
});

describe('TorchGenerator as the global generator (tdd_training.json select_s_seeded)', () => {
  interface SelectS {
    timestep: number;
    candidates: number[];
  }
  interface Solver {
    config: { ddim_timesteps: number };
    select_s: SelectS[];
    select_s_seeded: { global_seed: number; s_ratio: number; timesteps: number[]; timesteps_s: number[] };
  }
  const training = loadSharedJson<{ solvers: Solver[] }>('golden', 'tdd_training.json');
  const f = Math.fround;
  for (const solver of training.solvers) {
    it(`select_s draws, ddim_timesteps ${solver.config.ddim_timesteps}`, () => {
      // Candidate sets come from the golden file; only the RNG draws are ours.
      const seeded = solver.select_s_seeded;
      const g = new TorchGenerator(seeded.global_seed); // torch.manual_seed(global_seed)
      const picks = seeded.timesteps.map((t) => {
        const rec = solver.select_s.find((r) => r.timestep === t);
        assert.ok(rec, `no select_s record for timestep ${t}`);
        return rec.candidates[g.randint(0, rec.candidates.length, [1])[0]];
      });
      const u = g.rand([seeded.timesteps.length]);
      // README section 5: floor((1 - u*s_ratio) * c) in float32 arithmetic.
      const ts = picks.map((c, i) => Math.floor(f(f(1 - f(u[i] * f(seeded.s_ratio))) * c)));
      assert.deepEqual(ts, seeded.timesteps_s);
    });
  }
});

// Spot values captured from Debian's torch 1.13.1 (python3-torch, AVX2 kernels); they cover
// paths the golden file does not: random64() ranges, seed wrapping and the cached normal.
describe('TorchGenerator spot values from torch 1.13.1', () => {
  it('randint with ranges >= 2^32 uses random64()', () => {
    assert.deepEqual(new TorchGenerator(42).randint(0, 2 ** 40, [4]), [441507790259, 395924837646, 458615280711, 810017303572]);
    const g = new TorchGenerator(7);
    assert.deepEqual(g.randint(-(2 ** 40), 2 ** 33, [3]), [-724873059132, -1068076881418, -498309738285]);
    assert.deepEqual(g.randint(-5, 5, [4]), [2, 4, 3, -4]);
  });

  it('seeds are uint64 (negative wraps) and only the low 32 bits reach mt19937', () => {
    for (const seed of [-1, 2n ** 64n - 1n, 2 ** 32 - 1]) {
      assert.deepEqual(new TorchGenerator(seed).randint(0, 1000, [4]), [371, 978, 476, 639], `seed ${seed}`);
    }
    assert.equal(new TorchGenerator(-1).getState().seed, '18446744073709551615');
  });

  it('the scalar-path cached normal survives consecutive calls and numel >= 16 calls', () => {
    const g = new TorchGenerator(5);
    assertExactF32(g.randn([3]), Float32Array.of(-0.4867807626724243, -0.6038215756416321, -0.5580962300300598), 'a');
    assertExactF32(g.randn([3]), Float32Array.of(0.6675242781639099, -0.19741509854793549, 1.9427834749221802), 'b');
    const h = new TorchGenerator(5);
    h.randn([3]);
    assertExactF32(h.randn([16]).subarray(0, 2), Float32Array.of(0.2582516372203827, -1.8833262920379639), 'c');
    assertExactF32(h.randn([1]), Float32Array.of(0.6675242781639099), 'cached');
  });

  it('AVX2 sincos range reduction uses a fused multiply-add for the third pi/4 part', () => {
    // The only element among 27M compared with torch where an unfused x + y*DP3 differs.
    const v = new TorchGenerator(39598).randn([973232]);
    assertExactF32(v.subarray(973221, 973223), Float32Array.of(-0.6163552403450012, 1.3219565744293504e-6), 'v');
  });

  it('global generator: torch.manual_seed(3); randint(0, 10, (3,)); rand(2)', () => {
    const g = new TorchGenerator(3);
    assert.deepEqual(g.randint(0, 10, [3]), [6, 8, 7]);
    assertExactF32(g.rand([2]), Float32Array.of(0.026954829692840576, 0.47161436080932617), 'rand');
  });
});

describe('TorchGenerator state and validation', () => {
  const drawAll = (g: TorchGenerator): number[] => [...g.randn([5]), ...g.randn([37]), ...g.rand([700]), ...g.randint(0, 2 ** 35, [3])];

  it('getState/setState round-trips through JSON mid-stream (cached normal included)', () => {
    const g = new TorchGenerator(546237);
    g.randn([3]); // leaves a cached normal
    g.rand([650]); // crosses a twist
    const saved = JSON.parse(JSON.stringify(g.getState())) as TorchGeneratorState;
    assert.equal(typeof saved.nextDoubleNormal, 'number');
    const expected = drawAll(g);
    const restored = new TorchGenerator(1);
    restored.setState(saved);
    assert.deepEqual(drawAll(restored), expected);
    assert.deepEqual(restored.getState(), g.getState());
  });

  it('manualSeed resets the stream and clears the cached normal', () => {
    const g = new TorchGenerator(0);
    g.randn([1]);
    assert.notEqual(g.getState().nextDoubleNormal, null);
    assert.equal(g.manualSeed(42), g);
    assert.equal(g.getState().nextDoubleNormal, null);
    assert.deepEqual(drawAll(g), drawAll(new TorchGenerator(42)));
  });

  it('default seed is 0', () => {
    assert.deepEqual(drawAll(new TorchGenerator()), drawAll(new TorchGenerator(0)));
  });

  it('empty shapes draw nothing; [] is a scalar', () => {
    const g = new TorchGenerator(0);
    assert.equal(g.randn([0, 3]).length, 0);
    assert.deepEqual(g.getState(), new TorchGenerator(0).getState());
    assert.equal(g.rand([]).length, 1);
  });

  it('rejects bad arguments with errors naming the argument', () => {
    const g = new TorchGenerator(0);
    const bad: [() => unknown, RegExp][] = [
      [() => g.randn([2, -1]), /shape\[1\]/],
      [() => g.rand([1.5]), /shape\[0\]/],
      [() => g.randn([Number.NaN]), /shape\[0\]/],
      [() => g.randn('3' as unknown as Shape), /shape/],
      [() => g.randint(5, 5, [1]), /low .* high/],
      [() => g.randint(0.5, 5, [1]), /low/],
      [() => g.randint(0, Infinity, [1]), /high/],
      [() => g.randint(-(2 ** 52), 2 ** 52, [1]), /2\^53/],
      [() => g.randint(0, 3, [-2]), /shape\[0\]/],
      [() => g.manualSeed(1.5), /seed/],
      [() => g.manualSeed(2n ** 64n), /seed/],
      [() => g.setState({ ...g.getState(), left: 0 }), /left/],
      [() => g.setState({ ...g.getState(), state: [1, 2] }), /state/],
      [() => g.setState({ ...g.getState(), seed: '-3' }), /seed/],
      [() => g.setState({ ...g.getState(), nextDoubleNormal: Number.NaN }), /nextDoubleNormal/],
    ];
    for (const [fn, message] of bad) assert.throws(fn, message);
  });
});
